using Confluent.Kafka;
using Confluent.Kafka.Admin;
using KafkaCompat.Testing;
using Xunit;

namespace KafkaCompat.Compat.Tests;

/// <summary>Retention and DeleteRecords seen through Confluent.Kafka 1.9.3 (librdkafka 2.0.2): watermarks move,
/// consumers start at the new log start, and an offset below it resets as configured.</summary>
public sealed class ConfluentLogTests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(settings: new Dictionary<string, string>
        {
            ["log.retention.check.interval.ms"] = "200",
            ["log.cleaner.backoff.ms"] = "200",
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    private IAdminClient Admin() => new AdminClientBuilder(new AdminClientConfig { BootstrapServers = _b.BootstrapServers }).Build();

    private async Task Produce(string topic, int count, string prefix, DateTime? timestamp = null)
    {
        using var p = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = _b.BootstrapServers, Acks = Acks.All }).Build();
        for (int i = 0; i < count; i++)
            await p.ProduceAsync(new TopicPartition(topic, 0), new Message<string, string>
            {
                Key = "k", Value = $"{prefix}-{i}",
                Timestamp = timestamp is { } t ? new Timestamp(t) : Timestamp.Default,
            });
    }

    private List<ConsumeResult<string, string>> ConsumeFrom(string topic, Offset start, AutoOffsetReset reset, int expected)
    {
        using var c = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = _b.BootstrapServers, GroupId = "log-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false, AutoOffsetReset = reset,
        }).Build();
        c.Assign(new TopicPartitionOffset(topic, 0, start));
        var got = new List<ConsumeResult<string, string>>();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (got.Count < expected && DateTime.UtcNow < deadline)
            if (c.Consume(TimeSpan.FromMilliseconds(200)) is { IsPartitionEOF: false } r) got.Add(r);
        return got;
    }

    [Fact]
    public async Task DeleteRecordsMovesTheLowWatermarkAndConsumersStartThere()
    {
        const string topic = "log-delete-records";
        using var admin = Admin();
        await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = 1, ReplicationFactor = 1 }]);
        await Produce(topic, 10, "r");
        var result = await admin.DeleteRecordsAsync([new TopicPartitionOffset(topic, 0, 4)]);
        Assert.Equal(4, result.Single().Offset.Value);

        using var probe = new ConsumerBuilder<string, string>(new ConsumerConfig { BootstrapServers = _b.BootstrapServers, GroupId = "probe" }).Build();
        var wm = probe.QueryWatermarkOffsets(new TopicPartition(topic, 0), TimeSpan.FromSeconds(10));
        Assert.Equal((4L, 10L), (wm.Low.Value, wm.High.Value));

        var fromBeginning = ConsumeFrom(topic, Offset.Beginning, AutoOffsetReset.Earliest, 6);
        Assert.Equal(Enumerable.Range(4, 6).Select(i => (long)i), fromBeginning.Select(r => r.Offset.Value));
        // an offset below the log start is out of range: the consumer resets as configured
        var reset = ConsumeFrom(topic, new Offset(1), AutoOffsetReset.Earliest, 6);
        Assert.Equal(4, reset[0].Offset.Value);

        // deleting up to the high watermark (-1) empties the partition
        var all = await admin.DeleteRecordsAsync([new TopicPartitionOffset(topic, 0, Offset.End)]);
        Assert.Equal(10, all.Single().Offset.Value);
        var beyond = await Assert.ThrowsAsync<DeleteRecordsException>(() => admin.DeleteRecordsAsync([new TopicPartitionOffset(topic, 0, 50)]));
        Assert.Equal(ErrorCode.OffsetOutOfRange, beyond.Results.Single().Error.Code);
    }

    [Fact]
    public async Task RetentionMsDeletesOldRecordsInTheBackground()
    {
        const string topic = "log-retention";
        using var admin = Admin();
        await admin.CreateTopicsAsync([new TopicSpecification
        {
            Name = topic, NumPartitions = 1, ReplicationFactor = 1,
            Configs = new() { ["retention.ms"] = "60000", ["segment.ms"] = "60000" },
        }]);
        await Produce(topic, 20, "old", DateTime.UtcNow.AddHours(-1));
        await Produce(topic, 5, "new");

        using var probe = new ConsumerBuilder<string, string>(new ConsumerConfig { BootstrapServers = _b.BootstrapServers, GroupId = "probe" }).Build();
        WatermarkOffsets wm;
        var until = DateTime.UtcNow.AddSeconds(20);
        do
        {
            await Task.Delay(100);
            wm = probe.QueryWatermarkOffsets(new TopicPartition(topic, 0), TimeSpan.FromSeconds(10));
        } while (wm.Low.Value < 20 && DateTime.UtcNow < until);
        Assert.Equal((20L, 25L), (wm.Low.Value, wm.High.Value));
        var left = ConsumeFrom(topic, Offset.Beginning, AutoOffsetReset.Earliest, 5);
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"new-{i}"), left.Select(r => r.Message.Value));
    }

    [Fact]
    public async Task ACompactedTopicShowsTheLatestValuePerKeyToAConsumerFromTheBeginning()
    {
        const string topic = "log-compacted";
        using var admin = Admin();
        await admin.CreateTopicsAsync([new TopicSpecification
        {
            Name = topic, NumPartitions = 1, ReplicationFactor = 1,
            Configs = new() { ["cleanup.policy"] = "compact", ["segment.bytes"] = "2048" },
        }]);
        var expected = new Dictionary<string, string?>();
        using (var p = new ProducerBuilder<string, string?>(new ProducerConfig { BootstrapServers = _b.BootstrapServers, Acks = Acks.All, CompressionType = CompressionType.Lz4 }).Build())
        {
            for (int round = 0; round < 20; round++)
                for (int k = 0; k < 10; k++)
                {
                    // in the last round keys 0 and 5 are deleted (tombstones)
                    string? value = round == 19 && k % 5 == 0 ? null : $"v{round}-{k}";
                    await p.ProduceAsync(new TopicPartition(topic, 0), new Message<string, string?> { Key = $"key{k}", Value = value });
                    expected[$"key{k}"] = value;
                }
            // more writes under other keys roll the segments holding the keys above, so they can be cleaned
            for (int i = 0; i < 100; i++)
                await p.ProduceAsync(new TopicPartition(topic, 0), new Message<string, string?> { Key = $"filler{i}", Value = new string('f', 50) });
        }

        List<ConsumeResult<string, string?>> view = [];
        var until = DateTime.UtcNow.AddSeconds(30);
        do
        {
            await Task.Delay(200);
            using var c = new ConsumerBuilder<string, string?>(new ConsumerConfig
            {
                BootstrapServers = _b.BootstrapServers, GroupId = "compact-" + Guid.NewGuid().ToString("N"),
                EnableAutoCommit = false, AutoOffsetReset = AutoOffsetReset.Earliest, EnablePartitionEof = true,
            }).Build();
            c.Assign(new TopicPartitionOffset(topic, 0, Offset.Beginning));
            view = [];
            while (c.Consume(TimeSpan.FromSeconds(5)) is { } r && !r.IsPartitionEOF) view.Add(r);
        } while (view.Count(r => r.Message.Key.StartsWith("key", StringComparison.Ordinal)) > 10 && DateTime.UtcNow < until);

        var keyed = view.Where(r => r.Message.Key.StartsWith("key", StringComparison.Ordinal)).ToList();
        // one record per key: its latest value, or the tombstone (kept for delete.retention.ms)
        Assert.Equal(10, keyed.Count);
        Assert.Equal(expected.OrderBy(x => x.Key), keyed.Select(r => new KeyValuePair<string, string?>(r.Message.Key, r.Message.Value)).OrderBy(x => x.Key));
        // offsets are the original ones: gaps, increasing
        Assert.True(keyed.Zip(keyed.Skip(1)).All(x => x.First.Offset.Value < x.Second.Offset.Value));
        Assert.Equal(190 + 9, keyed[^1].Offset.Value);
    }

    [Fact]
    public async Task ACompactedTopicRefusesRecordsWithoutAKey()
    {
        const string topic = "log-compacted-keys";
        using var admin = Admin();
        await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = 1, ReplicationFactor = 1, Configs = new() { ["cleanup.policy"] = "compact" } }]);
        using var p = new ProducerBuilder<string?, string>(new ProducerConfig { BootstrapServers = _b.BootstrapServers, Acks = Acks.All, MessageSendMaxRetries = 0 }).Build();
        var e = await Assert.ThrowsAsync<ProduceException<string?, string>>(() =>
            p.ProduceAsync(new TopicPartition(topic, 0), new Message<string?, string> { Key = null, Value = "no key" }));
        Assert.Equal(ErrorCode.InvalidRecord, e.Error.Code);
        var ok = await p.ProduceAsync(new TopicPartition(topic, 0), new Message<string?, string> { Key = "k", Value = "keyed" });
        Assert.Equal(0, ok.Offset.Value); // the refused record took no offset
    }
}
