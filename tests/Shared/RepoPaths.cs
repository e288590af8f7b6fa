namespace KafkaCompat.TestSupport;

/// <summary>Where the test suites find the repository and the built broker. One source file, linked into every test
/// project (see their .csproj), so the lookup is written once.</summary>
internal static class RepoPaths
{
    /// <summary>The directory holding KafkaCompat.sln, found upwards from the test assembly.</summary>
    public static string Root
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir != null && !File.Exists(Path.Combine(dir.FullName, "KafkaCompat.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
        }
    }

    /// <summary>The most recently built kafkacompat.dll (Release or Debug).</summary>
    public static string BrokerDll =>
        new[] { "Release", "Debug" }
            .Select(c => Path.Combine(Root, "src", "KafkaCompat", "bin", c, "net10.0", "kafkacompat.dll"))
            .Where(File.Exists).OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault()
        ?? throw new InvalidOperationException("build src/KafkaCompat first (dotnet build -c Release src/KafkaCompat)");
}
