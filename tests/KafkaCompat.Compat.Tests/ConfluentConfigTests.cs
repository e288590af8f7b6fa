using Confluent.Kafka;
using Confluent.Kafka.Admin;
using KafkaCompat.Testing;
using Xunit;

namespace KafkaCompat.Compat.Tests;

/// <summary>Broker configs changed while the broker runs (AlterConfigs on the broker resource), and topic configs a
/// Kafka 3.x client may still send, through Confluent.Kafka 1.9.3's AdminClient on Debian's librdkafka 2.0.2.</summary>
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

    private static readonly ConfigResource Broker1 = new() { Type = ResourceType.Broker, Name = "1" };
    private static ConfigResource TopicResource(string name) => new() { Type = ResourceType.Topic, Name = name };

    private static async Task<Dictionary<string, ConfigEntryResult>> Describe(IAdminClient admin, ConfigResource resource) =>
        (await admin.DescribeConfigsAsync([resource])).Single().Entries;

    private static Task AlterBroker(IAdminClient admin, bool validateOnly, params (string Key, string Value)[] configs) =>
        admin.AlterConfigsAsync(new Dictionary<ConfigResource, List<ConfigEntry>>
        {
            [Broker1] = configs.Select(c => new ConfigEntry { Name = c.Key, Value = c.Value }).ToList(),
        }, new AlterConfigsOptions { ValidateOnly = validateOnly });

    private async Task<DeliveryResult<Null, byte[]>> Produce(string topic, int size)
    {
        using var p = new ProducerBuilder<Null, byte[]>(new ProducerConfig { BootstrapServers = _b.BootstrapServers, Acks = Acks.All, MessageTimeoutMs = 10000 }).Build();
        return await p.ProduceAsync(topic, new Message<Null, byte[]> { Value = new byte[size] });
    }

    [Fact]
    public async Task AlterConfigsOnTheBrokerActsAtOnceAndSurvivesARestart()
    {
        using (var admin = Admin())
        {
            await admin.CreateTopicsAsync([new TopicSpecification { Name = "plain", NumPartitions = 1, ReplicationFactor = 1 }]);
            await AlterBroker(admin, validateOnly: false, ("message.max.bytes", "2000"), ("log.retention.ms", "3600000"));

            // the topic has no overrides: it follows the broker's new values, reported as dynamic broker configs
            var topic = await Describe(admin, TopicResource("plain"));
            Assert.Equal(("3600000", ConfigSource.DynamicBrokerConfig), (topic["retention.ms"].Value, topic["retention.ms"].Source));
            Assert.Equal(("2000", ConfigSource.DynamicBrokerConfig), (topic["max.message.bytes"].Value, topic["max.message.bytes"].Source));
            Assert.Equal(3_600_000, _b.Broker.Logs.Get("plain")!.Partitions[0].Config.RetentionMs);

            var broker = await Describe(admin, Broker1);
            var maxBytes = broker["message.max.bytes"];
            Assert.Equal(("2000", ConfigSource.DynamicBrokerConfig, false), (maxBytes.Value, maxBytes.Source, maxBytes.IsReadOnly));
            Assert.Equal([("message.max.bytes", "2000", ConfigSource.DynamicBrokerConfig), ("message.max.bytes", "1048588", ConfigSource.DefaultConfig)],
                maxBytes.Synonyms.Select(s => (s.Name, s.Value, s.Source)));
            Assert.True(broker["log.retention.hours"].IsReadOnly);
        }

        // produce sees the new message.max.bytes at once
        var tooLarge = await Assert.ThrowsAsync<ProduceException<Null, byte[]>>(() => Produce("plain", 3000));
        Assert.Equal(ErrorCode.MsgSizeTooLarge, tooLarge.Error.Code);
        Assert.Equal(PersistenceStatus.Persisted, (await Produce("plain", 500)).Status);

        // a restart keeps the dynamic values
        await _b.StopAsync();
        _b = EmbeddedBroker.Start(_dir);
        using (var admin = Admin())
        {
            var broker = await Describe(admin, Broker1);
            Assert.Equal(("2000", ConfigSource.DynamicBrokerConfig), (broker["message.max.bytes"].Value, broker["message.max.bytes"].Source));
            Assert.Equal(("3600000", ConfigSource.DynamicBrokerConfig), (broker["log.retention.ms"].Value, broker["log.retention.ms"].Source));
            Assert.Equal("3600000", (await Describe(admin, TopicResource("plain")))["retention.ms"].Value);
            await Assert.ThrowsAsync<ProduceException<Null, byte[]>>(() => Produce("plain", 3000));

            // AlterConfigs replaces the whole set: message.max.bytes goes back to its default
            await AlterBroker(admin, validateOnly: false, ("log.retention.ms", "3600000"));
            broker = await Describe(admin, Broker1);
            Assert.Equal(("1048588", ConfigSource.DefaultConfig), (broker["message.max.bytes"].Value, broker["message.max.bytes"].Source));
        }
        Assert.Equal(PersistenceStatus.Persisted, (await Produce("plain", 3000)).Status);
    }

    [Fact]
    public async Task TheBrokerRefusesWhatKafkaRefusesAndValidateOnlyChangesNothing()
    {
        using var admin = Admin();
        async Task<AlterConfigsReport> Refused(params (string, string)[] configs)
        {
            var e = await Assert.ThrowsAsync<AlterConfigsException>(() => AlterBroker(admin, false, configs));
            return e.Results.Single();
        }
        // not dynamic in Kafka: INVALID_REQUEST
        var partitions = await Refused(("num.partitions", "3"));
        Assert.Equal(ErrorCode.InvalidRequest, partitions.Error.Code);
        Assert.Contains("num.partitions", partitions.Error.Reason);
        Assert.Equal(ErrorCode.InvalidRequest, (await Refused(("log.retention.hours", "1"))).Error.Code);
        // a bad value: Kafka answers INVALID_REQUEST for broker resources too
        var bad = await Refused(("log.segment.bytes", "10"));
        Assert.Equal(ErrorCode.InvalidRequest, bad.Error.Code);
        Assert.Contains("log.segment.bytes", bad.Error.Reason);
        Assert.Equal(ErrorCode.InvalidRequest, (await Refused(("message.max.bytes", "lots"))).Error.Code);

        // validate_only accepts a dynamic key and changes nothing
        await AlterBroker(admin, validateOnly: true, ("message.max.bytes", "5000"));
        var broker = await Describe(admin, Broker1);
        Assert.Equal(("1048588", ConfigSource.DefaultConfig), (broker["message.max.bytes"].Value, broker["message.max.bytes"].Source));
        Assert.False(File.Exists(Path.Combine(_dir, "dynamic-configs.json")));
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
