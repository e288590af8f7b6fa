using System.Text;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using KafkaCompat.Testing;
using Xunit;

namespace KafkaCompat.Compat.Tests;

/// <summary>Confluent.Kafka 1.9.3 on Debian's librdkafka 2.0.2 against one in-process broker.</summary>
public sealed class ConfluentKafkaTests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    private IProducer<string, string> Producer(CompressionType compression = CompressionType.None) =>
        new ProducerBuilder<string, string>(new ProducerConfig
        {
            BootstrapServers = _b.BootstrapServers,
            CompressionType = compression,
            Acks = Acks.All,
            LingerMs = 5,
        }).Build();

    private IConsumer<string, string> Consumer() =>
        new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = _b.BootstrapServers,
            GroupId = "unused-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Error,
        }).Build();

    private static List<ConsumeResult<string, string>> ConsumeN(IConsumer<string, string> c, int n)
    {
        var got = new List<ConsumeResult<string, string>>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (got.Count < n && DateTime.UtcNow < deadline)
        {
            var r = c.Consume(TimeSpan.FromMilliseconds(500));
            if (r != null && !r.IsPartitionEOF) got.Add(r);
        }
        return got;
    }

    [Theory]
    [InlineData(CompressionType.None)]
    [InlineData(CompressionType.Gzip)]
    [InlineData(CompressionType.Snappy)]
    [InlineData(CompressionType.Lz4)]
    [InlineData(CompressionType.Zstd)]
    public async Task KeysHeadersAndEveryCodecRoundTrip(CompressionType codec)
    {
        string topic = "cc-" + codec.ToString().ToLowerInvariant();
        using (var p = Producer(codec))
        {
            var tasks = Enumerable.Range(0, 200).Select(i => p.ProduceAsync(topic, new Message<string, string>
            {
                Key = "key-" + i,
                Value = new string('x', i % 50) + "value-" + i,
                Headers = new Headers { { "h", Encoding.UTF8.GetBytes("hv" + i) }, { "second", Encoding.UTF8.GetBytes("2") } },
            })).ToList();
            var results = await Task.WhenAll(tasks);
            Assert.All(results, r => Assert.Equal(PersistenceStatus.Persisted, r.Status));
            Assert.Equal(Enumerable.Range(0, 200).Select(i => (long)i), results.Select(r => r.Offset.Value).Order());
        }
        using var c = Consumer();
        c.Assign(new TopicPartitionOffset(topic, 0, Offset.Beginning));
        var got = ConsumeN(c, 200);
        Assert.Equal(200, got.Count);
        for (int i = 0; i < 200; i++)
        {
            Assert.Equal(i, got[i].Offset.Value);
            Assert.Equal("key-" + i, got[i].Message.Key);
            Assert.Equal(new string('x', i % 50) + "value-" + i, got[i].Message.Value);
            Assert.Equal("hv" + i, Encoding.UTF8.GetString(got[i].Message.Headers.GetLastBytes("h")));
            Assert.Equal(2, got[i].Message.Headers.Count);
        }
    }

    [Fact]
    public async Task AssignSeekByOffsetAndByTime()
    {
        const string topic = "cc-seek";
        var baseTime = DateTimeOffset.UtcNow.AddMinutes(-10).ToUnixTimeMilliseconds();
        using (var p = Producer())
        {
            for (int i = 0; i < 30; i++)
                await p.ProduceAsync(topic, new Message<string, string>
                {
                    Key = "k", Value = "v" + i, Timestamp = new Timestamp(baseTime + i * 1000, TimestampType.CreateTime),
                });
        }
        using var c = Consumer();
        c.Assign(new TopicPartitionOffset(topic, 0, 17));
        var fromOffset = ConsumeN(c, 13);
        Assert.Equal(Enumerable.Range(17, 13).Select(i => "v" + i), fromOffset.Select(r => r.Message.Value));
        Assert.Equal(baseTime + 17_000, fromOffset[0].Message.Timestamp.UnixTimestampMs);

        var byTime = c.OffsetsForTimes([new TopicPartitionTimestamp(topic, 0, new Timestamp(baseTime + 9_500, TimestampType.CreateTime))], TimeSpan.FromSeconds(10));
        Assert.Equal(10, byTime[0].Offset.Value);
        c.Assign(byTime);
        Assert.Equal("v10", ConsumeN(c, 1)[0].Message.Value);

        var future = c.OffsetsForTimes([new TopicPartitionTimestamp(topic, 0, new Timestamp(baseTime + 999_000, TimestampType.CreateTime))], TimeSpan.FromSeconds(10));
        Assert.Equal(Offset.End, future[0].Offset);

        var w = c.QueryWatermarkOffsets(new TopicPartition(topic, 0), TimeSpan.FromSeconds(10));
        Assert.Equal((0L, 30L), (w.Low.Value, w.High.Value));
    }

    [Fact]
    public async Task AdminCreatesAndDeletesTopics()
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = _b.BootstrapServers }).Build();
        await admin.CreateTopicsAsync([new TopicSpecification { Name = "cc-admin", NumPartitions = 3, ReplicationFactor = 1, Configs = new() { ["cleanup.policy"] = "delete" } }]);
        var meta = admin.GetMetadata("cc-admin", TimeSpan.FromSeconds(10));
        Assert.Equal(3, meta.Topics.Single().Partitions.Count);
        var dup = await Assert.ThrowsAsync<CreateTopicsException>(() => admin.CreateTopicsAsync([new TopicSpecification { Name = "cc-admin", NumPartitions = 1, ReplicationFactor = 1 }]));
        Assert.Equal(ErrorCode.TopicAlreadyExists, dup.Results[0].Error.Code);
        var badCfg = await Assert.ThrowsAsync<CreateTopicsException>(() => admin.CreateTopicsAsync([new TopicSpecification { Name = "cc-admin2", NumPartitions = 1, ReplicationFactor = 1, Configs = new() { ["max.message.bytes"] = "lots" } }]));
        Assert.Equal(ErrorCode.InvalidConfig, badCfg.Results[0].Error.Code);

        using (var p = Producer())
            await p.ProduceAsync(new TopicPartition("cc-admin", 2), new Message<string, string> { Key = "a", Value = "b" });
        await admin.DeleteTopicsAsync(["cc-admin"]);
        var after = admin.GetMetadata(TimeSpan.FromSeconds(10));
        Assert.DoesNotContain(after.Topics, t => t.Topic == "cc-admin");
        var missing = await Assert.ThrowsAsync<DeleteTopicsException>(() => admin.DeleteTopicsAsync(["cc-never"]));
        Assert.Equal(ErrorCode.UnknownTopicOrPart, missing.Results[0].Error.Code);
    }

    [Fact]
    public async Task LogAppendTimeTopicsCarryBrokerTime()
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = _b.BootstrapServers }).Build();
        await admin.CreateTopicsAsync([new TopicSpecification { Name = "cc-lat", NumPartitions = 1, ReplicationFactor = 1, Configs = new() { ["message.timestamp.type"] = "LogAppendTime" } }]);
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using (var p = Producer())
            await p.ProduceAsync("cc-lat", new Message<string, string> { Key = "k", Value = "v", Timestamp = new Timestamp(1000, TimestampType.CreateTime) });
        using var c = Consumer();
        c.Assign(new TopicPartitionOffset("cc-lat", 0, Offset.Beginning));
        var r = ConsumeN(c, 1).Single();
        Assert.Equal(TimestampType.LogAppendTime, r.Message.Timestamp.Type);
        Assert.InRange(r.Message.Timestamp.UnixTimestampMs, before - 1000, before + 60_000);
    }

    [Theory]
    [InlineData(KafkaCompat.Records.CompressionType.Gzip)]
    [InlineData(KafkaCompat.Records.CompressionType.Snappy)]
    [InlineData(KafkaCompat.Records.CompressionType.Lz4)]
    [InlineData(KafkaCompat.Records.CompressionType.Zstd)]
    public async Task BatchesTheBrokerCompressesAreReadByLibrdkafka(KafkaCompat.Records.CompressionType codec)
    {
        // what compaction will write: a batch encoded by our codecs, consumed by a stock client
        string topic = "ours-" + codec.ToString().ToLowerInvariant();
        using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = _b.BootstrapServers }).Build())
            await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = 1, ReplicationFactor = 1 }]);
        var builder = new KafkaCompat.Records.RecordBatchBuilder();
        for (int i = 0; i < 2000; i++)
            builder.Add(Encoding.UTF8.GetBytes($"k{i}"), Encoding.UTF8.GetBytes($"value-{i}-{new string('z', i % 97)}"), 1_700_000_000_000 + i);
        _b.Broker.Logs.Get(topic)!.Partitions[0].Append(builder.Build(compression: codec));

        using var c = Consumer();
        c.Assign(new TopicPartitionOffset(topic, 0, Offset.Beginning));
        var got = ConsumeN(c, 2000);
        Assert.Equal(2000, got.Count);
        for (int i = 0; i < 2000; i++)
        {
            Assert.Equal(i, got[i].Offset.Value);
            Assert.Equal($"k{i}", got[i].Message.Key);
            Assert.Equal($"value-{i}-{new string('z', i % 97)}", got[i].Message.Value);
        }
    }
}
