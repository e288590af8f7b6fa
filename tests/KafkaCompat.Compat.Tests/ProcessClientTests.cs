using KafkaCompat.TestSupport;
using System.Diagnostics;
using KafkaCompat.Testing;
using Xunit;
using Xunit.Abstractions;

namespace KafkaCompat.Compat.Tests;

/// <summary>
/// Runs the stock-client scripts in tests/clients (kafka-python and confluent-kafka-python under Debian's
/// /usr/bin/python3, kcat, kafkajs) against one in-process broker. A missing client makes the script, and so
/// the test, fail.
/// </summary>
public sealed class ProcessClientTests(ITestOutputHelper output) : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    private Task Run(string program, string script) => ClientScripts.RunAsync(output, _b.Port, program, script);

    [Fact]
    public Task KafkaPython() => Run("/usr/bin/python3", "kafka_python_test.py");

    [Fact]
    public Task ConfluentKafkaPython() => Run("/usr/bin/python3", "confluent_kafka_test.py");

    [Fact]
    public Task Kcat() => Run("bash", "kcat_test.sh");

    [Fact]
    public Task KafkaJs() => Run("node", "kafkajs_test.js");
}

/// <summary>Short runs of scripts/crash_torture.py: kill -9 during acks=all produce with fsync on, three times, in each
/// mode: plain (every acknowledged record read back), idempotent (and none stored twice), transactional (committed
/// transactions whole, aborted and cut ones invisible, the group's transactional offset kept). Run 100+ cycles by hand.</summary>
public sealed class CrashTortureTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("plain")]
    [InlineData("idempotent")]
    [InlineData("transactional")]
    public async Task ThreeKillNineCycles(string mode)
    {
        string dll = RepoPaths.BrokerDll;
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(RepoPaths.Root, "scripts", "crash_torture.py"), "3", "--mode", mode, "--dll", dll }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await p.WaitForExitAsync(cts.Token);
        string o = await stdout;
        output.WriteLine(o);
        Assert.True(p.ExitCode == 0, $"crash_torture.py exited {p.ExitCode}: {o}\n{await stderr}");
        Assert.StartsWith($"PASS crash_torture ({mode})", o);
    }
}


/// <summary>The consumer-group scripts, against a broker with short group timings (no initial rebalance delay,
/// session timeouts from 1 s) so that failover and rebalances finish quickly.</summary>
public sealed class ProcessGroupClientTests(ITestOutputHelper output) : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(settings: ConfluentGroupTests.FastGroups);
        return _b.Broker.Groups.WaitLoadedAsync();
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    private Task Run(string program, string script) => ClientScripts.RunAsync(output, _b.Port, program, script);

    [Fact]
    public Task KafkaPythonGroups() => Run("/usr/bin/python3", "kafka_python_group_test.py");

    [Fact]
    public Task ConfluentKafkaPythonGroups() => Run("/usr/bin/python3", "confluent_group_test.py");

    [Fact]
    public Task KafkaJsGroups() => Run("node", "kafkajs_group_test.js");
}

/// <summary>The admin/config scripts (each stock admin client cross-checked with the kafkacompat command line), against
/// a broker whose retention check and cleaner run every 200 ms and whose removed segments are unlinked at once, so
/// that config changes are seen to act within seconds.</summary>
public sealed class ProcessConfigClientTests(ITestOutputHelper output) : IAsyncLifetime
{
    internal static readonly Dictionary<string, string> FastLogWork = new()
    {
        ["log.retention.check.interval.ms"] = "200",
        ["log.cleaner.backoff.ms"] = "200",
        ["log.segment.delete.delay.ms"] = "0",
    };

    private EmbeddedBroker _b = null!;

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(settings: FastLogWork);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    private Task Run(string program, string script) => ClientScripts.RunAsync(output, _b.Port, program, script);

    [Fact]
    public Task ConfluentKafkaPythonConfigs() => Run("/usr/bin/python3", "confluent_config_test.py");

    [Fact]
    public Task KafkaPythonAdminAndCli() => Run("/usr/bin/python3", "kafka_python_admin_test.py");

    [Fact]
    public Task KafkaJsAdminAndCli() => Run("node", "kafkajs_admin_test.js");
}

/// <summary>Dynamic broker configs (per broker and the cluster-wide default "") and Kafka 3.x-era topic configs through
/// kafka-python, on a broker of its own: the script changes broker-wide defaults.</summary>
public sealed class ProcessBrokerConfigClientTests(ITestOutputHelper output) : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    [Fact]
    public Task KafkaPythonBrokerConfigs() => ClientScripts.RunAsync(output, _b.Port, "/usr/bin/python3", "kafka_python_broker_config_test.py");
}

/// <summary>A full disk as confluent-kafka sees it: the broker's data lives on a 24 MiB tmpfs of the test's own (mounting
/// needs root, as CI has), 8 MiB of it taken by a file. The script fills the rest until KAFKA_STORAGE_ERROR and reads
/// every acknowledged record back; the file is deleted; the script then writes again at the next offset.</summary>
public sealed class ProcessDiskFullTests(ITestOutputHelper output)
{
    private static void Run(string program, params string[] args)
    {
        using var p = Process.Start(program, args);
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{program} {string.Join(' ', args)} exited {p.ExitCode}");
    }

    [Fact]
    public async Task ConfluentKafkaSeesStorageErrorThenWritesResume()
    {
        string mnt = Path.Combine(Path.GetTempPath(), "kafkacompat-full-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(mnt);
        Run("mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", mnt);
        try
        {
            string filler = Path.Combine(mnt, "filler");
            await File.WriteAllBytesAsync(filler, new byte[8 << 20]);
            var b = EmbeddedBroker.Start(Path.Combine(mnt, "data"));
            try
            {
                string suffix = Guid.NewGuid().ToString("N")[..8];
                await ClientScripts.RunAsync(output, b.Port, "/usr/bin/python3", "confluent_disk_full_test.py", suffix, "fill");
                File.Delete(filler);
                await ClientScripts.RunAsync(output, b.Port, "/usr/bin/python3", "confluent_disk_full_test.py", suffix, "resume");
            }
            finally
            {
                await b.DisposeAsync();
            }
        }
        finally
        {
            Run("umount", mnt);
            Directory.Delete(mnt);
        }
    }
}

/// <summary>A short run of tests/tools/frame_fuzzer.py: 10,000 mutated client frames against a live broker, which
/// must stay up and keep serving confluent-kafka (checked every 5,000 frames). Run 1,000,000 frames by hand.</summary>
public sealed class FrameFuzzerTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TenThousandMutatedFramesLeaveTheBrokerServing()
    {
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(RepoPaths.Root, "tests", "tools", "frame_fuzzer.py"), "--frames", "10000", "--check-every", "5000", "--seed", "1", "--dll", RepoPaths.BrokerDll })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await p.WaitForExitAsync(cts.Token);
        string o = await stdout;
        output.WriteLine(o);
        Assert.True(p.ExitCode == 0, $"frame_fuzzer.py exited {p.ExitCode}: {o}\n{(await stderr)[^Math.Min((await stderr).Length, 3000)..]}");
        Assert.StartsWith("PASS frame_fuzzer", o);
    }
}
