using Confluent.Kafka;
using Confluent.Kafka.Admin;
using KafkaCompat.Testing;
using Xunit;

namespace KafkaCompat.Compat.Tests;

/// <summary>Topic configs a Kafka 3.x client may still send, through Confluent.Kafka 1.9.3's AdminClient on Debian's
/// librdkafka 2.0.2.</summary>
public sealed class ConfluentConfigTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kafkacompat-cfgc-" + Guid.NewGuid().ToString("N")[..8]);
    private EmbeddedBroker _b = null!;

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(_dir);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _b.DisposeAsync();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private IAdminClient Admin() => new AdminClientBuilder(new AdminClientConfig { BootstrapServers = _b.BootstrapServers }).Build();

    private static ConfigResource TopicResource(string name) => new() { Type = ResourceType.Topic, Name = name };

    private static async Task<Dictionary<string, ConfigEntryResult>> Describe(IAdminClient admin, ConfigResource resource) =>
        (await admin.DescribeConfigsAsync([resource])).Single().Entries;

    private async Task<DeliveryResult<Null, byte[]>> Produce(string topic, int size)
    {
        using var p = new ProducerBuilder<Null, byte[]>(new ProducerConfig { BootstrapServers = _b.BootstrapServers, Acks = Acks.All, MessageTimeoutMs = 10000 }).Build();
        return await p.ProduceAsync(topic, new Message<Null, byte[]> { Value = new byte[size] });
    }

    [Fact]
    public async Task ATopicCreatedWithConfigsKafka4RemovedWorks()
    {
        using var admin = Admin();
        // a Kafka 3.x-era client still sends these; they have no effect since Kafka 4.0
        await admin.CreateTopicsAsync([new TopicSpecification
        {
            Name = "legacy", NumPartitions = 1, ReplicationFactor = 1,
            Configs = new() { ["message.format.version"] = "2.8-IV1", ["message.timestamp.difference.max.ms"] = "3600000", ["retention.ms"] = "86400000" },
        }]);
        var topic = await Describe(admin, TopicResource("legacy"));
        Assert.Equal(("86400000", ConfigSource.DynamicTopicConfig), (topic["retention.ms"].Value, topic["retention.ms"].Source));
        Assert.False(topic.ContainsKey("message.format.version"));
        Assert.Equal(["retention.ms"], _b.Broker.Logs.Get("legacy")!.Record.Configs.Keys);

        // AlterConfigs on the topic may name them too
        await admin.AlterConfigsAsync(new Dictionary<ConfigResource, List<ConfigEntry>>
        {
            [TopicResource("legacy")] = [new() { Name = "message.format.version", Value = "3.0" }, new() { Name = "retention.ms", Value = "7200000" },
                                         new() { Name = "message.downconversion.enable", Value = "false" }],
        });
        topic = await Describe(admin, TopicResource("legacy"));
        Assert.Equal("7200000", topic["retention.ms"].Value);
        Assert.Equal(("false", ConfigSource.DynamicTopicConfig), (topic["message.downconversion.enable"].Value, topic["message.downconversion.enable"].Source));

        // and the topic works
        var delivered = await Produce("legacy", 100);
        Assert.Equal((PersistenceStatus.Persisted, 0L), (delivered.Status, delivered.Offset.Value));
        using var c = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig { BootstrapServers = _b.BootstrapServers, GroupId = "unused-legacy", EnableAutoCommit = false }).Build();
        c.Assign(new TopicPartitionOffset("legacy", 0, Offset.Beginning));
        var got = c.Consume(TimeSpan.FromSeconds(20));
        Assert.NotNull(got);
        Assert.Equal((0L, 100), (got.Offset.Value, got.Message.Value.Length));
    }
}
