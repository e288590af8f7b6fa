using System.Collections.Concurrent;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using KafkaCompat.Testing;
using Xunit;
using Xunit.Abstractions;

namespace KafkaCompat.TestSupport;

/// <summary>Three brokers in one process with Confluent.Kafka, linked into the test project of each Confluent.Kafka
/// version (1.9.3 on Debian's librdkafka 2.0.2, 2.16.0 on its own): leaders spread over the brokers, and a producer
/// (idempotent, acks=all) and a consumer group that keep going while the broker leading a partition (and coordinating
/// the group) is stopped and started again: no acknowledged record lost, none twice. Each project derives a class
/// naming its librdkafka version.</summary>
public abstract class ClusterScenarioTests(ITestOutputHelper output, string librdkafkaVersion, bool validatesPositions) : IAsyncLifetime
{
    private protected EmbeddedBroker Kafka { get; private set; } = null!;

    public Task InitializeAsync()
    {
        Kafka = EmbeddedBroker.Start(brokers: 3, settings: ClusterScenarios.Settings);
        return Kafka.Broker.Groups.WaitLoadedAsync();
    }

    public async Task DisposeAsync() => await Kafka.DisposeAsync();

    [Fact]
    public async Task ThreeBrokersListedAndLeadersSpread()
    {
        Assert.StartsWith(librdkafkaVersion, Library.VersionString);
        await ClusterScenarios.ThreeBrokersListedAndLeadersSpread(Kafka);
    }

    [Fact]
    public Task ProducerAndGroupContinueWhileTheLeadersBrokerIsStoppedAndRestarted() =>
        ClusterScenarios.ProducerAndGroupContinueWhileTheLeadersBrokerIsStoppedAndRestarted(Kafka, output, validatesPositions);
}

/// <summary>Three brokers and the admin HTTP API, for the stock-client scripts of tests/clients that drive the cluster
/// through it (one cluster per test class, as the other process tests).</summary>
public abstract class ClusterProcessTests : IAsyncLifetime
{
    private protected EmbeddedBroker Kafka { get; private set; } = null!;
    protected string AdminUrl { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Kafka = EmbeddedBroker.Start(brokers: 3, settings: ClusterScenarios.Settings);
        AdminUrl = (await Kafka.StartAdminAsync()).Url;
        await Kafka.Broker.Groups.WaitLoadedAsync();
    }

    public async Task DisposeAsync() => await Kafka.DisposeAsync();
}

internal static class ClusterScenarios
{
    /// <summary>The broker settings the cluster tests use: fast group steps, offsets replicated on every broker (the
    /// default, capped at three brokers).</summary>
    public static readonly Dictionary<string, string> Settings = new()
    {
        ["group.initial.rebalance.delay.ms"] = "0",
        ["group.min.session.timeout.ms"] = "1000",
        ["offsets.topic.replication.factor"] = "3",
    };

    public static async Task CreateTopic(EmbeddedBroker b, string name, int partitions, short rf, Dictionary<string, string>? configs = null)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = b.BootstrapServers }).Build();
        await admin.CreateTopicsAsync([new TopicSpecification { Name = name, NumPartitions = partitions, ReplicationFactor = rf, Configs = configs }]);
    }

    public static async Task ThreeBrokersListedAndLeadersSpread(EmbeddedBroker _b)
    {
        await CreateTopic(_b, "spread", 6, 3);
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = _b.BootstrapServers }).Build();
        var md = admin.GetMetadata("spread", TimeSpan.FromSeconds(10));
        Assert.Equal([1, 2, 3], md.Brokers.Select(b => b.BrokerId).Order());
        var parts = md.Topics.Single().Partitions;
        Assert.Equal(6, parts.Count);
        Assert.All(parts, p => Assert.Equal([1, 2, 3], p.Replicas.Order()));
        Assert.All(parts, p => Assert.Equal(p.Replicas[0], p.Leader));
        Assert.Equal([1, 2, 3], parts.Select(p => p.Leader).Distinct().Order()); // every broker leads two
        // a replication factor above the number of brokers
        var e = await Assert.ThrowsAsync<CreateTopicsException>(() => CreateTopic(_b, "too-many", 1, 4));
        Assert.Equal(ErrorCode.InvalidReplicationFactor, e.Results.Single().Error.Code);
    }

    /// <param name="validatesPositions">The client validates its fetch positions with OffsetForLeaderEpoch after a leader
    /// change (KIP-320: librdkafka 2.1 and later; 2.0.2 does not).</param>
    public static async Task ProducerAndGroupContinueWhileTheLeadersBrokerIsStoppedAndRestarted(EmbeddedBroker _b, ITestOutputHelper output, bool validatesPositions)
    {
        const string topic = "failover";
        await CreateTopic(_b, topic, 3, 3, new() { ["min.insync.replicas"] = "2" });
        var acked = new ConcurrentDictionary<string, Offset>();
        var consumed = new ConcurrentDictionary<string, int>();
        using var stop = new CancellationTokenSource();
        var flushed = new TaskCompletionSource(); // every record produced has its delivery report

        var producing = Task.Run(async () =>
        {
            using var p = new ProducerBuilder<string, string>(new ProducerConfig
            {
                BootstrapServers = _b.BootstrapServers, EnableIdempotence = true, Acks = Acks.All, LingerMs = 5,
                ReconnectBackoffMs = 50, ReconnectBackoffMaxMs = 500, RetryBackoffMs = 50,
            }).Build();
            for (int i = 0; !stop.IsCancellationRequested; i++)
            {
                string v = $"v{i}";
                p.Produce(topic, new Message<string, string> { Key = $"k{i % 12}", Value = v }, r =>
                {
                    if (r.Error.IsError) output.WriteLine($"delivery failed: {v}: {r.Error}");
                    else acked[v] = r.Offset;
                });
                await Task.Delay(2);
            }
            Assert.Equal(0, p.Flush(TimeSpan.FromSeconds(30)));
            flushed.SetResult();
        });

        var consuming = Task.Run(() =>
        {
            using var c = new ConsumerBuilder<string, string>(new ConsumerConfig
            {
                BootstrapServers = _b.BootstrapServers, GroupId = "failover-group", AutoOffsetReset = AutoOffsetReset.Earliest,
                SessionTimeoutMs = 6000, HeartbeatIntervalMs = 500, ReconnectBackoffMs = 50, ReconnectBackoffMaxMs = 500,
            }).Build();
            c.Subscribe(topic);
            var deadline = DateTime.UtcNow.AddSeconds(90);
            while (DateTime.UtcNow < deadline)
            {
                var r = c.Consume(TimeSpan.FromMilliseconds(200));
                if (r?.Message != null) consumed.AddOrUpdate(r.Message.Value, 1, (_, n) => n + 1);
                if (flushed.Task.IsCompleted && acked.Keys.All(consumed.ContainsKey)) break;
            }
            c.Close();
        });

        async Task WaitAcked(int more)
        {
            int target = acked.Count + more;
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (acked.Count < target && DateTime.UtcNow < deadline) await Task.Delay(50);
            Assert.True(acked.Count >= target, $"{acked.Count} acknowledged, wanted {target}");
        }

        await WaitAcked(300);
        long validations = _b.Broker.RequestCount(KafkaCompat.Protocol.ApiKey.OffsetForLeaderEpoch);
        var t = _b.Broker.Logs.Get(topic)!;
        int leader = _b.Broker.Cluster.Partition(t, 0).Leader;
        int epochBefore = _b.Broker.Cluster.Partition(t, 0).LeaderEpoch;
        output.WriteLine($"stopping broker {leader} (leads {topic}-0 at epoch {epochBefore}; group coordinator {_b.Broker.Groups.CoordinatorNode("failover-group")})");
        Assert.True(await _b.Cluster.StopBrokerAsync(leader));
        var after = _b.Broker.Cluster.Partition(t, 0);
        Assert.NotEqual(leader, after.Leader);
        Assert.Equal(epochBefore + 1, after.LeaderEpoch);
        Assert.DoesNotContain(leader, after.Isr);
        await WaitAcked(300); // the producer moved to the new leader

        Assert.True(await _b.Cluster.StartBrokerAsync(leader));
        Assert.Contains(leader, _b.Broker.Cluster.Partition(t, 0).Isr);
        await WaitAcked(300);

        stop.Cancel();
        await producing;
        await consuming;
        // the consumer saw new leader epochs and validated its positions, as librdkafka 2.1+ does against Kafka
        long validated = _b.Broker.RequestCount(KafkaCompat.Protocol.ApiKey.OffsetForLeaderEpoch) - validations;
        if (validatesPositions) Assert.True(validated > 0, "no OffsetForLeaderEpoch after the failover");
        else Assert.Equal(0, validated);
        var missing = acked.Keys.Where(v => !consumed.ContainsKey(v)).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} acknowledged record(s) never consumed, e.g. {string.Join(", ", missing.Take(5))}");
        // idempotence: each acknowledged record is in the log once (the consumer may see some twice after a rebalance)
        var logged = new Dictionary<string, int>();
        foreach (var log in t.Partitions)
            foreach (var rec in ReadAll(log))
                logged[rec] = logged.GetValueOrDefault(rec) + 1;
        Assert.DoesNotContain(logged, kv => kv.Value > 1);
        Assert.True(acked.Keys.All(logged.ContainsKey));
        output.WriteLine($"{acked.Count} acknowledged, {logged.Count} in the log, {consumed.Count} consumed");
    }

    private static List<string> ReadAll(KafkaCompat.Storage.PartitionLog log)
    {
        var values = new List<string>();
        for (long offset = log.LogStartOffset; offset < log.HighWatermark;)
        {
            var read = log.Read(offset, 1 << 20, minOneBatch: true);
            using var lease = read.Lease;
            var bytes = read.Records.ToArray();
            if (bytes.Length == 0) break;
            for (int pos = 0; pos + KafkaCompat.Records.RecordBatch.HeaderSize <= bytes.Length;)
            {
                int size = KafkaCompat.Records.RecordBatch.TotalSize(bytes.AsSpan(pos));
                var batch = bytes.AsMemory(pos, size);
                offset = KafkaCompat.Records.RecordBatch.LastOffset(batch.Span) + 1;
                if (!KafkaCompat.Records.RecordBatch.IsControl(batch.Span))
                    foreach (var r in KafkaCompat.Records.RecordReader.ReadBatch(batch))
                        values.Add(System.Text.Encoding.UTF8.GetString(r.Value!.Value.Span));
                pos += size;
            }
        }
        return values;
    }
}
