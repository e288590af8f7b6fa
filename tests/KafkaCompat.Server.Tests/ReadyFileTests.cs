using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using KafkaCompat.Protocol.Messages;
using KafkaCompat.TestSupport;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>
/// What a CI script in any language relies on: `serve --ready-file` writes the bound ports, node ids and admin URL once
/// every listener accepts connections; `--ephemeral` keeps the log in a temporary directory removed on stop; the exit
/// codes say what went wrong (0 a clean stop, 1 the broker could not run, 2 a command line that makes no sense).
/// </summary>
public sealed class ReadyFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kc-ready-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private static Process Serve(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(RepoPaths.BrokerDll);
        psi.ArgumentList.Add("serve");
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    private static async Task<int> StopAsync(Process p)
    {
        using (var kill = Process.Start("kill", ["-TERM", p.Id.ToString()])) await kill.WaitForExitAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await p.WaitForExitAsync(cts.Token);
        return p.ExitCode;
    }

    [Fact]
    public async Task TheReadyFileNamesEveryListenerOnceItAcceptsAndTheEphemeralLogGoesOnStop()
    {
        string ready = Path.Combine(_dir, "ready.json");
        using var p = Serve("--port", "0", "--brokers", "2", "--ephemeral", "--admin-port", "0", "--ready-file", ready);
        var stderr = p.StandardError.ReadToEndAsync();
        var until = DateTime.UtcNow.AddSeconds(60);
        while (!File.Exists(ready) && !p.HasExited && DateTime.UtcNow < until) await Task.Delay(20);
        Assert.True(File.Exists(ready), $"no ready file; exited: {p.HasExited}; {(p.HasExited ? await stderr : "")}");
        var info = JsonDocument.Parse(await File.ReadAllTextAsync(ready)).RootElement;
        Assert.Equal(p.Id, info.GetProperty("pid").GetInt32());
        var brokers = info.GetProperty("brokers").EnumerateArray().ToList();
        Assert.Equal([1, 2], brokers.Select(b => b.GetProperty("id").GetInt32()));
        Assert.Equal(string.Join(",", brokers.Select(b => $"127.0.0.1:{b.GetProperty("port").GetInt32()}")), info.GetProperty("bootstrap_servers").GetString());
        // every listener named answers at once: the file is written only after all of them accept
        foreach (var b in brokers)
        {
            using var client = new RawClient(b.GetProperty("port").GetInt32());
            client.Send(new ApiVersionsRequest(), 0);
            Assert.NotEmpty(client.ReadFrame(flexibleHeader: false).Body);
        }
        using (var http = new HttpClient())
        {
            var cluster = await http.GetAsync(info.GetProperty("admin_url").GetString() + "/v1/cluster");
            Assert.Equal(HttpStatusCode.OK, cluster.StatusCode);
        }
        string data = info.GetProperty("data_dir").GetString()!;
        Assert.True(Directory.Exists(data), data);
        Assert.StartsWith(Path.GetTempPath().TrimEnd('/'), data);

        Assert.Equal(0, await StopAsync(p));
        Assert.False(File.Exists(ready), "the ready file outlived the broker");
        Assert.False(Directory.Exists(data), "the ephemeral data directory outlived the broker");
    }

    [Fact]
    public async Task ExitCodesSayWhetherTheCommandLineOrTheMachineWasWrong()
    {
        // 2: a command line that makes no sense
        using (var both = Serve("--ephemeral", "--data-dir", _dir, "--port", "0"))
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await both.WaitForExitAsync(cts.Token);
            Assert.Equal(2, both.ExitCode);
            Assert.Contains("--ephemeral and --data-dir", await both.StandardError.ReadToEndAsync());
        }
        // 1: the broker cannot run (its port is taken)
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        int port = ((IPEndPoint)taken.LocalEndPoint!).Port;
        using (var busy = Serve("--port", port.ToString(), "--ephemeral"))
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await busy.WaitForExitAsync(cts.Token);
            Assert.Equal(1, busy.ExitCode);
        }
    }
}
