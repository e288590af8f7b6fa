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

    private Task<(int Exit, string Out, string Err)> Cli(string? stdin, params string[] args) => CliRunner.RunAsync(_b, stdin, args);

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

    [Theory]
    [InlineData("0")]
    [InlineData("1")]
    [InlineData("all")]
    public async Task EveryAcksSettingDelivers(string acks)
    {
        string topic = "acks-" + acks;
        Assert.Equal(0, (await Cli(null, "topic", "create", topic, "--partitions", "1")).Exit);
        var produced = await Cli("x\ny\nz\n", "produce", topic, "--acks", acks, "-o", "json");
        Assert.Equal(0, produced.Exit);
        var part = JsonDocument.Parse(produced.Out).RootElement.GetProperty("partitions").GetProperty("0");
        // acks=0 gets no answer, so no offsets to report
        Assert.Equal(acks != "0", part.TryGetProperty("lastOffset", out _));
        var until = DateTime.UtcNow.AddSeconds(10);
        while (_b.Broker.Logs.Get(topic)!.Partitions[0].HighWatermark < 3 && DateTime.UtcNow < until) await Task.Delay(50);
        Assert.Equal("x\ny\nz\n", (await Cli(null, "consume", topic, "--from-beginning")).Out);
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
    public void RangeAssignmentFollowsKafkasMemberOrder()
    {
        var members = new List<GroupConsumer.RangeMember>
        {
            new("a-member", null, ["t", "u"]),
            new("b-member", "zz-static", ["t"]),
            new("c-member", "aa-static", ["t", "u"]),
        };
        var owned = GroupConsumer.AssignRange(members, new Dictionary<string, int> { ["t"] = 7, ["u"] = 3, ["unsubscribed"] = 4 });
        // t: static members first by instance id (c, b), then a; 7 = 3 + 2 + 2
        Assert.Equal([("t", new[] { 0, 1, 2 }), ("u", new[] { 0, 1 })], owned["c-member"].Select(o => (o.Topic, o.Partitions.ToArray())));
        Assert.Equal([("t", new[] { 3, 4 })], owned["b-member"].Select(o => (o.Topic, o.Partitions.ToArray())));
        Assert.Equal([("t", new[] { 5, 6 }), ("u", new[] { 2 })], owned["a-member"].Select(o => (o.Topic, o.Partitions.ToArray())));
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

/// <summary>The group commands and consume --group, against a broker with fast group timings.</summary>
public sealed class CliGroupTests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(settings: GroupProtocolTests.FastGroups);
        return _b.Broker.Groups.WaitLoadedAsync();
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    private Task<(int Exit, string Out, string Err)> Cli(string? stdin, params string[] args) => CliRunner.RunAsync(_b, stdin, args);

    private static long TotalLag(string json) => JsonDocument.Parse(json).RootElement.GetProperty("totalLag").GetInt64();

    /// <summary>A KIP-848 consumer group (made on the coordinator directly) beside a classic one: the CLI lists both
    /// with their type, describes the consumer group through ConsumerGroupDescribe, and deletes it once it is empty.</summary>
    [Fact]
    public async Task ConsumerProtocolGroupsAreListedDescribedAndDeleted()
    {
        Assert.Equal(0, (await Cli(null, "topic", "create", "cg848", "--partitions", "2")).Exit);
        Assert.Equal(0, (await Cli("a\nb\n", "produce", "cg848")).Exit);
        Assert.Equal(0, (await Cli(null, "consume", "cg848", "--group", "classic-readers", "--from-beginning", "--count", "2")).Exit);
        var groups = _b.Broker.Groups;
        var joined = groups.ConsumerHeartbeat(new KafkaCompat.Broker.Groups.ConsumerHeartbeatRequest("kip848-readers", "member-1", 0, null, null, 30000,
            ["cg848"], null, null, new KafkaCompat.Broker.Groups.TopicPartitions(), "cli-test", "/127.0.0.1", 1));
        Assert.Equal(KafkaCompat.Protocol.ErrorCode.None, joined.Error);
        // a committed offset keeps the group once it is empty (this broker removes empty groups without offsets at once)
        groups.Commit("kip848-readers", joined.MemberEpoch, "member-1", null, -1, [new KafkaCompat.Broker.Groups.CommitEntry("cg848", 0, 1, -1, null, -1)], 9);

        var listed = JsonDocument.Parse((await Cli(null, "group", "list", "-o", "json")).Out).RootElement.EnumerateArray().ToList();
        Assert.Equal("consumer", listed.Single(g => g.GetProperty("group").GetString() == "kip848-readers").GetProperty("type").GetString());
        Assert.Equal("classic", listed.Single(g => g.GetProperty("group").GetString() == "classic-readers").GetProperty("type").GetString());

        var described = JsonDocument.Parse((await Cli(null, "group", "describe", "kip848-readers", "-o", "json")).Out).RootElement;
        Assert.Equal("consumer", described.GetProperty("type").GetString());
        Assert.Equal("Stable", described.GetProperty("state").GetString());
        Assert.Equal("uniform", described.GetProperty("protocol").GetString());
        var member = described.GetProperty("members").EnumerateArray().Single();
        Assert.Equal("member-1", member.GetProperty("memberId").GetString());
        Assert.Equal(["cg848-0", "cg848-1"], member.GetProperty("assignment").EnumerateArray().Select(x => x.GetString()!).Order().ToArray());
        Assert.Contains("(consumer protocol) is Stable", (await Cli(null, "group", "describe", "kip848-readers")).Out);
        Assert.Equal("classic", JsonDocument.Parse((await Cli(null, "group", "describe", "classic-readers", "-o", "json")).Out).RootElement.GetProperty("type").GetString());

        var busy = await Cli(null, "group", "delete", "kip848-readers");
        Assert.Equal(1, busy.Exit);
        Assert.StartsWith("ERROR NON_EMPTY_GROUP", busy.Err);
        groups.ConsumerHeartbeat(new KafkaCompat.Broker.Groups.ConsumerHeartbeatRequest("kip848-readers", "member-1", -1, null, null, -1,
            null, null, null, null, "cli-test", "/127.0.0.1", 1));
        var deleted = await Cli(null, "group", "delete", "kip848-readers");
        Assert.True(deleted.Exit == 0, deleted.Err);
        Assert.Equal(1, (await Cli(null, "group", "describe", "kip848-readers")).Exit);
    }

    [Fact]
    public async Task ConsumeInAGroupShowLagResetAndDelete()
    {
        Assert.Equal(0, (await Cli(null, "topic", "create", "gt", "--partitions", "3")).Exit);
        var input = string.Concat(Enumerable.Range(1, 60).Select(i => $"k{i}:{i}\n"));
        Assert.Equal(0, (await Cli(input, "produce", "gt", "-K", ":")).Exit);

        var first = await Cli(null, "consume", "gt", "--group", "readers", "--from-beginning", "--count", "20");
        Assert.Equal(0, first.Exit);
        var firstValues = first.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(20, firstValues.Length);

        var listed = JsonDocument.Parse((await Cli(null, "group", "list", "-o", "json")).Out).RootElement.EnumerateArray()
            .Single(g => g.GetProperty("group").GetString() == "readers");
        Assert.Equal("Empty", listed.GetProperty("state").GetString());
        var described = await Cli(null, "group", "describe", "readers", "-o", "json");
        Assert.Equal(0, described.Exit);
        Assert.Equal(40, TotalLag(described.Out));
        Assert.Contains("total lag 40", (await Cli(null, "group", "describe", "readers")).Out);

        // the next member of the group resumes at the committed offsets: every record exactly once across both runs
        var rest = await Cli(null, "consume", "gt", "--group", "readers");
        var restValues = rest.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Enumerable.Range(1, 60).Select(i => i.ToString()).Order(), firstValues.Concat(restValues).Order());
        Assert.Equal(0, TotalLag((await Cli(null, "group", "describe", "readers", "-o", "json")).Out));

        var dry = await Cli(null, "group", "reset-offsets", "readers", "--topic", "gt", "--to-earliest");
        Assert.Equal(0, dry.Exit);
        Assert.Contains("Dry run", dry.Out);
        Assert.Equal(0, TotalLag((await Cli(null, "group", "describe", "readers", "-o", "json")).Out));
        Assert.Equal(0, (await Cli(null, "group", "reset-offsets", "readers", "--topic", "gt", "--to-earliest", "--execute")).Exit);
        Assert.Equal(60, TotalLag((await Cli(null, "group", "describe", "readers", "-o", "json")).Out));
        Assert.Equal(0, (await Cli(null, "group", "reset-offsets", "readers", "--topic", "gt", "--to-latest", "--execute")).Exit);
        Assert.Equal(0, (await Cli(null, "group", "reset-offsets", "readers", "--topic", "gt", "--shift-by", "-2", "--execute")).Exit);
        Assert.Equal(6, TotalLag((await Cli(null, "group", "describe", "readers", "-o", "json")).Out));
        var badReset = await Cli(null, "group", "reset-offsets", "readers", "--topic", "gt");
        Assert.Equal(2, badReset.Exit);

        Assert.Equal(0, (await Cli(null, "group", "delete", "readers")).Exit);
        var gone = await Cli(null, "group", "describe", "readers");
        Assert.Equal(1, gone.Exit);
        Assert.StartsWith("ERROR GROUP_ID_NOT_FOUND", gone.Err);
        var missing = await Cli(null, "group", "delete", "readers");
        Assert.Equal(1, missing.Exit);
        Assert.StartsWith("ERROR GROUP_ID_NOT_FOUND", missing.Err);
    }

    [Fact]
    public async Task AFollowingGroupConsumerCommitsAndLeavesOnSigterm()
    {
        Assert.Equal(0, (await Cli(null, "topic", "create", "followed", "--partitions", "2")).Exit);
        Assert.Equal(0, (await Cli(string.Concat(Enumerable.Range(1, 10).Select(i => $"k{i}:{i}\n")), "produce", "followed", "-K", ":")).Exit);
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { RepoPaths.BrokerDll, "consume", "followed", "--group", "followers", "--from-beginning", "--follow", "-b", _b.BootstrapServers })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        for (int i = 0; i < 10; i++) Assert.NotNull(await p.StandardOutput.ReadLineAsync());
        // still a member while it follows
        Assert.Equal("Stable", JsonDocument.Parse((await Cli(null, "group", "describe", "followers", "-o", "json")).Out).RootElement.GetProperty("state").GetString());
        using (var kill = Process.Start("kill", ["-TERM", p.Id.ToString()])) await kill.WaitForExitAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await p.WaitForExitAsync(cts.Token);
        Assert.True(p.ExitCode == 0, $"exit {p.ExitCode}: {await stderr}");
        // it left (no session timeout to wait for) and committed what it printed
        var view = JsonDocument.Parse((await Cli(null, "group", "describe", "followers", "-o", "json")).Out).RootElement;
        Assert.Equal(("Empty", 0L), (view.GetProperty("state").GetString(), view.GetProperty("totalLag").GetInt64()));
    }

    [Fact]
    public async Task TwoMembersShareThePartitionsAndAResetNeedsAnIdleGroup()
    {
        Assert.Equal(0, (await Cli(null, "topic", "create", "shared", "--partitions", "3")).Exit);
        await using var client = await KafkaClient.ConnectAsync(_b.BootstrapServers);
        await using var a = new GroupConsumer(client, "sharing", "shared", sessionTimeoutMs: 3000);
        Assert.Equal([0, 1, 2], await a.JoinAsync(default));

        await using var client2 = await KafkaClient.ConnectAsync(_b.BootstrapServers);
        await using var b = new GroupConsumer(client2, "sharing", "shared", sessionTimeoutMs: 3000);
        var bJoin = b.JoinAsync(default);
        // a learns of the rebalance from its heartbeat and joins again, as a client's poll loop does
        var until = DateTime.UtcNow.AddSeconds(20);
        while (!a.RejoinNeeded && DateTime.UtcNow < until) await Task.Delay(50);
        Assert.True(a.RejoinNeeded, "a never saw the rebalance");
        var aParts = await a.JoinAsync(default);
        var bParts = await bJoin;
        Assert.Equal([0, 1, 2], aParts.Concat(bParts).Order());
        Assert.Empty(aParts.Intersect(bParts));
        Assert.Equal(2, Math.Max(aParts.Count, bParts.Count)); // range: 2 + 1

        var view = JsonDocument.Parse((await Cli(null, "group", "describe", "sharing", "-o", "json")).Out).RootElement;
        Assert.Equal("Stable", view.GetProperty("state").GetString());
        Assert.Equal(2, view.GetProperty("members").GetArrayLength());
        var reset = await Cli(null, "group", "reset-offsets", "sharing", "--topic", "shared", "--to-earliest", "--execute");
        Assert.Equal(1, reset.Exit);
        Assert.StartsWith("ERROR NON_EMPTY_GROUP", reset.Err);
    }
}

/// <summary>Runs kafkacompat (the built dll) as a process and returns its exit code and output.</summary>
internal static class CliRunner
{
    /// <summary>A client command against <paramref name="broker"/> (its address is added unless the args name one).</summary>
    public static Task<(int Exit, string Out, string Err)> RunAsync(EmbeddedBroker broker, string? stdin, params string[] args) =>
        args.Contains("--bootstrap-server") || args.Contains("-b")
            ? RunDllAsync(stdin, args)
            : RunDllAsync(stdin, [.. args, "--bootstrap-server", broker.BootstrapServers]);

    public static async Task<(int Exit, string Out, string Err)> RunDllAsync(string? stdin, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        psi.ArgumentList.Add(RepoPaths.BrokerDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (stdin != null) await p.StandardInput.WriteAsync(stdin);
        p.StandardInput.Close();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, await stdout, await stderr);
    }
}
