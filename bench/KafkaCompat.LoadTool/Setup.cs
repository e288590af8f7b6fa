using System.Diagnostics;

namespace KafkaCompat.LoadTool;

internal static class Setup
{
    /// <summary>The nearest directory holding KafkaCompat.sln, above the tool's binary or the current directory.</summary>
    public static string? FindRepoRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "KafkaCompat.sln"))) return dir.FullName;
        }
        return null;
    }

    /// <summary>Builds the broker host in Release (only ever Release: the machine is shared with Debug builds).</summary>
    public static async Task BuildBrokerAsync(string repo)
    {
        Console.WriteLine("building the broker: dotnet build -c Release src/KafkaCompat");
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = repo, UseShellExecute = false };
        foreach (var a in new[] { "build", "-c", "Release", "src/KafkaCompat", "-nologo", "-v", "quiet" }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not run dotnet build");
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new InvalidOperationException($"dotnet build -c Release src/KafkaCompat failed with exit code {p.ExitCode}");
    }
}
