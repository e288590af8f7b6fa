using System.Diagnostics;
using Xunit;
using Xunit.Abstractions;

namespace KafkaCompat.TestSupport;

/// <summary>Runs one script of tests/clients as a process with PORT and a random topic suffix; its exit code decides.</summary>
internal static class ClientScripts
{
    private static string ClientsDir => Path.Combine(RepoPaths.Root, "tests", "clients");

    /// <param name="suffix">Topic name suffix (default: a random one).</param>
    /// <param name="extra">Arguments after the port and suffix.</param>
    public static Task RunAsync(ITestOutputHelper output, int port, string program, string script, string? suffix = null, params string[] extra) =>
        RunAsync(output, port, program, script, null, suffix, extra);

    /// <param name="environment">Variables added to the script's environment (e.g. LD_LIBRARY_PATH).</param>
    public static async Task RunAsync(ITestOutputHelper output, int port, string program, string script, IReadOnlyDictionary<string, string>? environment,
        string? suffix = null, params string[] extra)
    {
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = ClientsDir,
        };
        psi.ArgumentList.Add(Path.Combine(ClientsDir, script));
        psi.ArgumentList.Add(port.ToString());
        psi.ArgumentList.Add(suffix ?? Guid.NewGuid().ToString("N")[..8]);
        foreach (var a in extra) psi.ArgumentList.Add(a);
        psi.Environment["KAFKACOMPAT_DLL"] = RepoPaths.BrokerDll; // the admin scripts cross-check with the kafkacompat CLI
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        Process proc;
        try
        {
            proc = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Assert.Fail($"{program} is not installed ({ex.Message}); run ./scripts/test.sh to install the clients");
            return;
        }
        using var p = proc;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{script} did not finish in 3 minutes");
        }
        string o = await stdout, e = await stderr;
        output.WriteLine(o);
        if (e.Length > 0) output.WriteLine("stderr:\n" + e[^Math.Min(e.Length, 4000)..]);
        Assert.True(p.ExitCode == 0, $"{script} exited with {p.ExitCode}:\n{o}\n{e[^Math.Min(e.Length, 4000)..]}");
    }
}
