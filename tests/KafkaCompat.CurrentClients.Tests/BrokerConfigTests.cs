using Confluent.Kafka;
using Confluent.Kafka.Admin;
using KafkaCompat.Testing;
using Xunit;

namespace KafkaCompat.CurrentClients.Tests;

/// <summary>IncrementalAlterConfigs on the broker resource and DescribeConfigs of what it set, through Confluent.Kafka
/// 2.16.0 on librdkafka 2.16.0.</summary>
public sealed class BrokerConfigTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kafkacompat-cfgd-" + Guid.NewGuid().ToString("N")[..8]);
    private EmbeddedBroker _b = null!;

    public Task InitializeAsync()
    {
        // librdkafka addresses a broker resource by id only (it refuses the cluster-wide "" before sending), so the
        // cluster default this class needs is one the broker finds in its data directory, as after a restart
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, "dynamic-configs.json"), """{ "cluster_default": { "log.retention.ms": "7200000" } }""");
        _b = EmbeddedBroker.Start(_dir);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _b.DisposeAsync();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private IAdminClient Admin() => new AdminClientBuilder(new AdminClientConfig { BootstrapServers = _b.BootstrapServers }).Build();

    private static ConfigResource Resource(ResourceType type, string name) => new() { Type = type, Name = name };

    private static async Task<Dictionary<string, ConfigEntryResult>> Describe(IAdminClient admin, ResourceType type, string name) =>
        (await admin.DescribeConfigsAsync([Resource(type, name)], new DescribeConfigsOptions { RequestTimeout = TimeSpan.FromSeconds(10) })).Single().Entries;

    private static Task Incremental(IAdminClient admin, ResourceType type, string name, params (string Key, AlterConfigOpType Op, string? Value)[] ops) =>
        admin.IncrementalAlterConfigsAsync(new Dictionary<ConfigResource, List<ConfigEntry>>
        {
            [Resource(type, name)] = ops.Select(o => new ConfigEntry { Name = o.Key, Value = o.Value, IncrementalOperation = o.Op }).ToList(),
        });

    [Fact]
    public async Task IncrementalAlterSetsAndDeletesBrokerValuesWithKafkasSourcesAndSynonyms()
    {
        using var admin = Admin();
        await admin.CreateTopicsAsync([new TopicSpecification { Name = "follows", NumPartitions = 1, ReplicationFactor = 1 }]);
        var start = (await Describe(admin, ResourceType.Topic, "follows"))["retention.ms"];
        Assert.Equal(("7200000", ConfigSource.DynamicDefaultBrokerConfig), (start.Value, start.Source));

        await Incremental(admin, ResourceType.Broker, "1", ("log.retention.ms", AlterConfigOpType.Set, "3600000"),
            ("log.cleanup.policy", AlterConfigOpType.Append, "compact"));

        var broker = await Describe(admin, ResourceType.Broker, "1");
        var retention = broker["log.retention.ms"];
        Assert.Equal(("3600000", ConfigSource.DynamicBrokerConfig, false), (retention.Value, retention.Source, retention.IsReadOnly));
        // Kafka's order: per-broker dynamic, cluster-default dynamic, static, default
        Assert.Equal([("log.retention.ms", "3600000", ConfigSource.DynamicBrokerConfig), ("log.retention.ms", "7200000", ConfigSource.DynamicDefaultBrokerConfig),
                      ("log.retention.hours", "168", ConfigSource.DefaultConfig)],
            retention.Synonyms.Select(s => (s.Name, s.Value, s.Source)));
        Assert.Equal(("delete,compact", ConfigSource.DynamicBrokerConfig), (broker["log.cleanup.policy"].Value, broker["log.cleanup.policy"].Source));

        // a topic without overrides follows, and says where its value comes from
        var topic = await Describe(admin, ResourceType.Topic, "follows");
        Assert.Equal(("3600000", ConfigSource.DynamicBrokerConfig), (topic["retention.ms"].Value, topic["retention.ms"].Source));
        Assert.Equal([("log.retention.ms", "3600000", ConfigSource.DynamicBrokerConfig), ("log.retention.ms", "7200000", ConfigSource.DynamicDefaultBrokerConfig),
                      ("log.retention.hours", "168", ConfigSource.DefaultConfig)],
            topic["retention.ms"].Synonyms.Select(s => (s.Name, s.Value, s.Source)));
        var log = _b.Broker.Logs.Get("follows")!.Partitions[0];
        Assert.Equal(3_600_000, log.Config.RetentionMs);
        Assert.True(log.Config.CompactPolicy && log.Config.DeletePolicy);

        // DELETE: the cluster default shows through
        await Incremental(admin, ResourceType.Broker, "1", ("log.retention.ms", AlterConfigOpType.Delete, null),
            ("log.cleanup.policy", AlterConfigOpType.Delete, null));
        topic = await Describe(admin, ResourceType.Topic, "follows");
        Assert.Equal(("7200000", ConfigSource.DynamicDefaultBrokerConfig), (topic["retention.ms"].Value, topic["retention.ms"].Source));
        Assert.Equal(7_200_000, log.Config.RetentionMs);
        Assert.False(log.Config.CompactPolicy);
        broker = await Describe(admin, ResourceType.Broker, "1");
        Assert.Equal(("7200000", ConfigSource.DynamicDefaultBrokerConfig), (broker["log.retention.ms"].Value, broker["log.retention.ms"].Source));

        // not dynamic in Kafka: INVALID_REQUEST, and nothing changes
        var e = await Assert.ThrowsAsync<IncrementalAlterConfigsException>(() =>
            Incremental(admin, ResourceType.Broker, "1", ("default.replication.factor", AlterConfigOpType.Set, "3")));
        Assert.Equal(ErrorCode.InvalidRequest, e.Results.Single().Error.Code);
        Assert.Equal(ConfigSource.DefaultConfig, (await Describe(admin, ResourceType.Broker, "1"))["default.replication.factor"].Source);
    }

    [Fact]
    public async Task IncrementalAlterOnATopicAcceptsMessageFormatVersion()
    {
        using var admin = Admin();
        await admin.CreateTopicsAsync([new TopicSpecification
        {
            Name = "legacy-incremental", NumPartitions = 1, ReplicationFactor = 1, Configs = new() { ["message.format.version"] = "3.0-IV1" },
        }]);
        await Incremental(admin, ResourceType.Topic, "legacy-incremental", ("message.format.version", AlterConfigOpType.Set, "2.8"),
            ("retention.ms", AlterConfigOpType.Set, "60000"));
        var topic = await Describe(admin, ResourceType.Topic, "legacy-incremental");
        Assert.Equal(("60000", ConfigSource.DynamicTopicConfig), (topic["retention.ms"].Value, topic["retention.ms"].Source));
        Assert.False(topic.ContainsKey("message.format.version"));
        using var p = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = _b.BootstrapServers }).Build();
        var r = await p.ProduceAsync("legacy-incremental", new Message<Null, string> { Value = "works" });
        Assert.Equal((PersistenceStatus.Persisted, 0L), (r.Status, r.Offset.Value));
    }
}
