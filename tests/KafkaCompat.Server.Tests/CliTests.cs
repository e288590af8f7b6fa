using System.Diagnostics;
using System.Text.Json;
using KafkaCompat.Client;
using KafkaCompat.Testing;
using KafkaCompat.TestSupport;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>The kafkacompat client commands, run as the user runs them (a process, stdin, stdout, exit code)
/// against one in-process broker.</summary>
public sealed class CliTests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    private async Task<(int Exit, string Out, string Err)> Cli(string? stdin, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        psi.ArgumentList.Add(RepoPaths.BrokerDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (!args.Contains("--bootstrap-server") && !args.Contains("-b"))
        {
            psi.ArgumentList.Add("--bootstrap-server");
            psi.ArgumentList.Add(_b.BootstrapServers);
        }
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (stdin != null) await p.StandardInput.WriteAsync(stdin);
        p.StandardInput.Close();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task TopicCommandsCreateListDescribeAlterGrowAndDelete()
    {
        var created = await Cli(null, "topic", "create", "orders", "--partitions", "3");
        Assert.Equal((0, "Created topic orders.\n"), (created.Exit, created.Out));

        var again = await Cli(null, "topic", "create", "orders", "--partitions", "3");
        Assert.Equal(1, again.Exit);
        Assert.StartsWith("ERROR TOPIC_ALREADY_EXISTS", again.Err);
        Assert.Equal(0, (await Cli(null, "topic", "create", "orders", "--if-not-exists")).Exit);

        var list = await Cli(null, "topic", "list", "--output", "json");
        Assert.Equal(0, list.Exit);
        var listed = JsonDocument.Parse(list.Out).RootElement.EnumerateArray().Single(t => t.GetProperty("topic").GetString() == "orders");
        Assert.Equal(3, listed.GetProperty("partitions").GetInt32());

        var alter = await Cli(null, "topic", "alter-config", "orders", "--set", "retention.ms=3600000", "--set", "cleanup.policy=compact,delete");
        Assert.Equal(0, alter.Exit);
        var log = _b.Broker.Logs.Get("orders")!.Partitions[0];
        Assert.Equal(3_600_000, log.Config.RetentionMs);
        Assert.True(log.Config.CompactPolicy);
        Assert.Equal(0, (await Cli(null, "topic", "alter-config", "orders", "--delete", "cleanup.policy")).Exit);
        Assert.False(_b.Broker.Logs.Get("orders")!.Partitions[0].Config.CompactPolicy);

        var grow = await Cli(null, "topic", "add-partitions", "orders", "--partitions", "5");
        Assert.Equal((0, "Topic orders now has 5 partitions.\n"), (grow.Exit, grow.Out));
        Assert.Equal(5, _b.Broker.Logs.Get("orders")!.Partitions.Length);

        var describe = await Cli(null, "topic", "describe", "orders", "-o", "json");
        Assert.Equal(0, describe.Exit);
        var d = JsonDocument.Parse(describe.Out).RootElement.EnumerateArray().Single();
        Assert.Equal(5, d.GetProperty("partitions").GetArrayLength());
        Assert.Equal("3600000", d.GetProperty("configs").GetProperty("retention.ms").GetString());
        Assert.False(d.GetProperty("configs").TryGetProperty("cleanup.policy", out _));
        var table = await Cli(null, "topic", "describe", "orders");
        Assert.Contains("PartitionCount: 5", table.Out);
        Assert.Contains("Configs: retention.ms=3600000", table.Out);

        var deleted = await Cli(null, "topic", "delete", "orders");
        Assert.Equal(0, deleted.Exit);
        Assert.Null(_b.Broker.Logs.Get("orders"));
    }

    [Fact]
    public async Task BadInputGivesTheKafkaErrorNameAndANonZeroExit()
    {
        Assert.Equal(0, (await Cli(null, "topic", "create", "strict", "--partitions", "2")).Exit);
        var cases = new (string[] Args, int Exit, string Error)[]
        {
            (["topic", "create", "zero", "--partitions", "0"], 1, "ERROR INVALID_PARTITIONS"),
            (["topic", "create", "bad name!"], 1, "ERROR INVALID_TOPIC_EXCEPTION"),
            (["topic", "create", "cfg", "--config", "retention.ms=soon"], 1, "ERROR INVALID_CONFIG"),
            (["topic", "alter-config", "strict", "--set", "retention.ms=soon"], 1, "ERROR INVALID_CONFIG"),
            (["topic", "alter-config", "strict", "--set", "no.such.config=1"], 1, "ERROR INVALID_CONFIG"),
            (["topic", "alter-config", "missing", "--set", "retention.ms=1"], 1, "ERROR UNKNOWN_TOPIC_OR_PARTITION"),
            (["topic", "add-partitions", "strict", "--partitions", "1"], 1, "ERROR INVALID_PARTITIONS"),
            (["topic", "add-partitions", "missing", "--partitions", "4"], 1, "ERROR UNKNOWN_TOPIC_OR_PARTITION"),
            (["topic", "delete", "missing"], 1, "ERROR UNKNOWN_TOPIC_OR_PARTITION"),
            (["topic", "describe", "missing"], 1, "ERROR UNKNOWN_TOPIC_OR_PARTITION"),
            (["consume", "missing", "--from-beginning"], 1, "ERROR UNKNOWN_TOPIC_OR_PARTITION"),
            (["topic", "alter-config", "strict", "--set", "novalue"], 2, "ERROR --set expects key=value"),
            (["consume", "strict", "--offset", "3"], 2, "ERROR --offset needs --partition"),
            (["consume", "strict", "--partition", "9"], 2, "ERROR topic 'strict' has no partition 9"),
            (["topic", "list", "--bootstrap-server", "127.0.0.1:1"], 3, "ERROR cannot connect to 127.0.0.1:1"),
        };
        foreach (var (args, exit, error) in cases)
        {
            var r = await Cli(null, args);
            Assert.True(r.Exit == exit && r.Err.StartsWith(error, StringComparison.Ordinal),
                $"{string.Join(' ', args)}: exit {r.Exit}, stderr {r.Err}");
        }
        var noSeparator = await Cli("k1:v1\nno separator here\n", "produce", "strict", "--key-separator", ":");
        Assert.Equal(2, noSeparator.Exit);
        Assert.StartsWith("ERROR line 2 has no key separator", noSeparator.Err);
    }

    [Fact]
    public async Task ProduceLinesThenConsumeThemBack()
    {
        Assert.Equal(0, (await Cli(null, "topic", "create", "lines", "--partitions", "3")).Exit);
        var produced = await Cli(string.Concat(Enumerable.Range(1, 50).Select(i => $"{i}\n")), "produce", "lines");
        Assert.Equal(0, produced.Exit);
        Assert.StartsWith("Produced 50 record(s) to lines", produced.Err);

        var consumed = await Cli(null, "consume", "lines", "--from-beginning", "--count", "50");
        Assert.Equal(0, consumed.Exit);
        Assert.Equal(Enumerable.Range(1, 50).Select(i => i.ToString()), consumed.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).Order().Select(i => i.ToString()));

        // without --follow or --count, reading stops at the end
        var all = await Cli(null, "consume", "lines", "--from-beginning");
        Assert.Equal(50, all.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        // the default start is the end, as with Kafka's console consumer
        Assert.Equal((0, ""), ((await Cli(null, "consume", "lines")).Exit, (await Cli(null, "consume", "lines")).Out));
    }

    [Theory]
    [InlineData("none")]
    [InlineData("gzip")]
    [InlineData("snappy")]
    [InlineData("lz4")]
    [InlineData("zstd")]
    public async Task KeysHeadersAndCodecsRoundTripAndKeysLandWhereJavaPutsThem(string codec)
    {
        string topic = "keyed-" + codec;
        Assert.Equal(0, (await Cli(null, "topic", "create", topic, "--partitions", "3")).Exit);
        var produced = await Cli("a:1\nb:2\na:3\nkey-1:4\n", "produce", topic, "-K", ":", "-H", "src=cli", "-H", "n=1", "--compression", codec, "-o", "json");
        Assert.Equal(0, produced.Exit);
        var summary = JsonDocument.Parse(produced.Out).RootElement;
        Assert.Equal(4, summary.GetProperty("records").GetInt32());

        var lines = (await Cli(null, "consume", topic, "--from-beginning", "--format", "%p|%k|%s|%h\\n")).Out
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Order().ToArray();
        // murmur2 placement as kafka-python computes it: a -> 1, b -> 2, key-1 -> 0 (of 3 partitions)
        Assert.Equal(["0|key-1|4|src=cli,n=1", "1|a|1|src=cli,n=1", "1|a|3|src=cli,n=1", "2|b|2|src=cli,n=1"], lines);

        // batches are stored as sent: the codec is the one asked for
        var batch = _b.Broker.Logs.Get(topic)!.Partitions[1].Read(0, 1 << 20, true).Records;
        Assert.Equal(codec, KafkaCompat.Records.RecordBatch.Compression(batch.Span).ToString().ToLowerInvariant());
    }

    [Fact]
    public async Task ConsumeFromAnOffsetOrATimeAndAsJson()
    {
        Assert.Equal(0, (await Cli(null, "topic", "create", "timed", "--partitions", "1")).Exit);
        Assert.Equal(0, (await Cli("one\ntwo\n", "produce", "timed")).Exit);
        long between = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 1;
        await Task.Delay(20);
        Assert.Equal(0, (await Cli("three\nfour\n", "produce", "timed")).Exit);

        Assert.Equal("three\nfour\n", (await Cli(null, "consume", "timed", "--from-time", between.ToString())).Out);
        Assert.Equal("two\nthree\n", (await Cli(null, "consume", "timed", "--partition", "0", "--offset", "1", "--count", "2")).Out);
        var json = (await Cli(null, "consume", "timed", "--from-beginning", "-n", "1", "-o", "json")).Out.Trim();
        var rec = JsonDocument.Parse(json).RootElement;
        Assert.Equal(("timed", 0, 0, "one"), (rec.GetProperty("topic").GetString(), rec.GetProperty("partition").GetInt32(),
            rec.GetProperty("offset").GetInt64(), rec.GetProperty("value").GetString()));
        Assert.Equal(JsonValueKind.Null, rec.GetProperty("key").ValueKind);
    }

    [Fact]
    public void Murmur2MatchesTheJavaPartitioner()
    {
        // values from kafka-python's kafka.partitioner.default.murmur2, a port of the Java client's
        Assert.Equal(2731586172u, (uint)TopicIo.Murmur2("a"u8));
        Assert.Equal(2441875444u, (uint)TopicIo.Murmur2("b"u8));
        Assert.Equal(193331640u, (uint)TopicIo.Murmur2("key-1"u8));
        Assert.Equal(1221641059u, (uint)TopicIo.Murmur2("hello world"u8));
        Assert.Equal(275646681u, (uint)TopicIo.Murmur2(""u8));
    }
}
