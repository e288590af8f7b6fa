using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using KafkaCompat.Records;
using KafkaCompat.Testing;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>DescribeConfigs, AlterConfigs and IncrementalAlterConfigs on the wire, against one broker whose static
/// settings change some topic defaults.</summary>
public sealed class ConfigProtocolTests : IAsyncLifetime
{
    private const sbyte TopicType = 2, BrokerType = 4;
    private const sbyte DynamicTopic = 1, DynamicBroker = 2, DynamicDefaultBroker = 3, StaticBroker = 4, Default = 5;
    private const sbyte OpSet = 0, OpDelete = 1, OpAppend = 2, OpSubtract = 3;

    private static readonly Dictionary<string, string> Settings = new()
    {
        ["log.retention.hours"] = "48",
        ["log.segment.bytes"] = "4194304",
        ["ssl.keystore.password"] = "hunter2",
    };

    private EmbeddedBroker _b = null!;
    private RawClient _c = null!;

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(settings: Settings);
        _c = new RawClient(_b.Port);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _c.Dispose();
        await _b.DisposeAsync();
    }

    private void CreateTopic(string name, params (string Key, string Value)[] configs)
    {
        var r = _c.Call<CreateTopicsRequest, CreateTopicsResponse>(new CreateTopicsRequest
        {
            Topics = [new()
            {
                Name = name, NumPartitions = 1, ReplicationFactor = 1,
                Configs = configs.Select(c => new CreateTopicsRequest.CreatableTopicConfig { Name = c.Key, Value = c.Value }).ToList(),
            }],
        }, 5);
        Assert.Equal(ErrorCode.None, r.Topics[0].ErrorCode);
    }

    private DescribeConfigsResponse.DescribeConfigsResult Describe(sbyte type, string name, short version = 4, bool synonyms = true,
        bool docs = false, List<string>? keys = null) =>
        _c.Call<DescribeConfigsRequest, DescribeConfigsResponse>(new DescribeConfigsRequest
        {
            Resources = [new() { ResourceType = type, ResourceName = name, ConfigurationKeys = keys }],
            IncludeSynonyms = synonyms,
            IncludeDocumentation = docs,
        }, version).Results.Single();

    private static DescribeConfigsResponse.DescribeConfigsResourceResult Entry(DescribeConfigsResponse.DescribeConfigsResult r, string name) =>
        r.Configs.Single(c => c.Name == name);

    private Dictionary<string, string?> TopicValues(string topic) =>
        Describe(TopicType, topic).Configs.ToDictionary(c => c.Name, c => c.Value);

    private AlterConfigsResponse.AlterConfigsResourceResponse Alter(string topic, bool validateOnly, short version, params (string Key, string? Value)[] configs) =>
        _c.Call<AlterConfigsRequest, AlterConfigsResponse>(new AlterConfigsRequest
        {
            Resources = [new()
            {
                ResourceType = TopicType, ResourceName = topic,
                Configs = configs.Select(c => new AlterConfigsRequest.AlterableConfig { Name = c.Key, Value = c.Value }).ToList(),
            }],
            ValidateOnly = validateOnly,
        }, version).Responses.Single();

    private IncrementalAlterConfigsResponse.AlterConfigsResourceResponse Incremental(string topic, short version,
        params (string Key, sbyte Op, string? Value)[] configs) =>
        _c.Call<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>(new IncrementalAlterConfigsRequest
        {
            Resources = [new()
            {
                ResourceType = TopicType, ResourceName = topic,
                Configs = configs.Select(c => new IncrementalAlterConfigsRequest.AlterableConfig { Name = c.Key, ConfigOperation = c.Op, Value = c.Value }).ToList(),
            }],
        }, version).Responses.Single();

    [Fact]
    public void TopicConfigsShowValueSourceSynonymsTypeAndDocumentation()
    {
        CreateTopic("described", ("cleanup.policy", "compact"));
        var r = Describe(TopicType, "described", docs: true);
        Assert.Equal(ErrorCode.None, r.ErrorCode);
        Assert.Null(r.ErrorMessage);
        Assert.Equal("described", r.ResourceName);

        var policy = Entry(r, "cleanup.policy");
        Assert.Equal("compact", policy.Value);
        Assert.Equal(DynamicTopic, policy.ConfigSource);
        Assert.Equal(7, policy.ConfigType); // LIST
        Assert.False(policy.ReadOnly);
        Assert.Equal([("cleanup.policy", "compact", DynamicTopic), ("log.cleanup.policy", "delete", Default)],
            policy.Synonyms.Select(s => (s.Name, s.Value, s.Source)));

        // the broker sets log.retention.hours=48: retention.ms follows it, and the default is named under the hours key
        var retention = Entry(r, "retention.ms");
        Assert.Equal("172800000", retention.Value);
        Assert.Equal(StaticBroker, retention.ConfigSource);
        Assert.Equal(5, retention.ConfigType); // LONG
        Assert.Equal([("log.retention.hours", "48", StaticBroker), ("log.retention.hours", "168", Default)],
            retention.Synonyms.Select(s => (s.Name, s.Value, s.Source)));

        var segment = Entry(r, "segment.bytes");
        Assert.Equal(("4194304", StaticBroker, (sbyte)3), (segment.Value, segment.ConfigSource, segment.ConfigType));

        var maxBytes = Entry(r, "max.message.bytes");
        Assert.Equal(("1048588", Default), (maxBytes.Value, maxBytes.ConfigSource));
        Assert.Equal([("message.max.bytes", "1048588", Default)], maxBytes.Synonyms.Select(s => (s.Name, s.Value, s.Source)));

        Assert.All(r.Configs, c => Assert.False(string.IsNullOrEmpty(c.Documentation), c.Name));
        Assert.All(r.Configs, c => Assert.False(c.IsSensitive));
        Assert.Contains(r.Configs, c => c.Name == "message.timestamp.type");
    }

    [Fact]
    public void OlderVersionsKeysFilterAndNoSynonymsUnlessAsked()
    {
        CreateTopic("older", ("retention.ms", "1000"));
        // v0: is_default instead of a source; the encoding decides which fields travel
        var v0 = Describe(TopicType, "older", version: 0, keys: ["retention.ms", "max.message.bytes", "no.such.key"]);
        Assert.Equal(["max.message.bytes", "retention.ms"], v0.Configs.Select(c => c.Name).Order());
        Assert.False(Entry(v0, "retention.ms").IsDefault);
        Assert.True(Entry(v0, "max.message.bytes").IsDefault);
        Assert.Equal("1000", Entry(v0, "retention.ms").Value);

        var v1 = Describe(TopicType, "older", version: 1, synonyms: false);
        Assert.All(v1.Configs, c => Assert.Empty(c.Synonyms));
        Assert.Equal(DynamicTopic, Entry(v1, "retention.ms").ConfigSource);
        // documentation only when asked for
        Assert.All(Describe(TopicType, "older", version: 3).Configs, c => Assert.Null(c.Documentation));
    }

    [Fact]
    public void DescribeErrorsArePerResource()
    {
        var resp = _c.Call<DescribeConfigsRequest, DescribeConfigsResponse>(new DescribeConfigsRequest
        {
            Resources =
            [
                new() { ResourceType = TopicType, ResourceName = "no-such-topic" },
                new() { ResourceType = TopicType, ResourceName = "bad name!" },
                new() { ResourceType = BrokerType, ResourceName = "7" },
                new() { ResourceType = 8, ResourceName = "1" },
                new() { ResourceType = 99, ResourceName = "x" },
                new() { ResourceType = BrokerType, ResourceName = "1" },
            ],
        }, 4);
        Assert.Equal([ErrorCode.UnknownTopicOrPartition, ErrorCode.InvalidTopicException, ErrorCode.InvalidRequest,
            ErrorCode.InvalidRequest, ErrorCode.InvalidRequest, (short)0], resp.Results.Select(r => r.ErrorCode));
        Assert.All(resp.Results.Take(5), r => Assert.False(string.IsNullOrEmpty(r.ErrorMessage)));
        Assert.All(resp.Results.Take(5), r => Assert.Empty(r.Configs));
        Assert.Contains("expected 1", resp.Results[2].ErrorMessage);
    }

    [Fact]
    public void BrokerConfigShowsEffectiveSettingsAndHidesSecrets()
    {
        var r = Describe(BrokerType, "1", docs: true);
        Assert.Equal(ErrorCode.None, r.ErrorCode);
        var hours = Entry(r, "log.retention.hours");
        Assert.Equal(("48", StaticBroker, true), (hours.Value, hours.ConfigSource, hours.ReadOnly));
        Assert.Equal([("log.retention.hours", "48", StaticBroker), ("log.retention.hours", "168", Default)],
            hours.Synonyms.Select(s => (s.Name, s.Value, s.Source)));
        var partitions = Entry(r, "num.partitions");
        Assert.Equal(("1", Default), (partitions.Value, partitions.ConfigSource));
        Assert.Equal($"PLAINTEXT://127.0.0.1:{_b.Broker.Config.Port}", Entry(r, "listeners").Value);
        Assert.Equal(Path.GetFullPath(_b.DataDir), Entry(r, "log.dirs").Value);
        Assert.Equal("1", Entry(r, "node.id").Value);

        var secret = Entry(r, "ssl.keystore.password");
        Assert.True(secret.IsSensitive);
        Assert.Null(secret.Value);
        Assert.Equal(9, secret.ConfigType); // PASSWORD
        Assert.All(secret.Synonyms, s => Assert.Null(s.Value));

        // the empty name is the cluster-wide dynamic defaults: there are none
        var defaults = Describe(BrokerType, "");
        Assert.Equal(ErrorCode.None, defaults.ErrorCode);
        Assert.Empty(defaults.Configs);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void AlterConfigsReplacesTheWholeSetAndTakesEffect(short version)
    {
        string topic = $"alter-v{version}";
        CreateTopic(topic, ("cleanup.policy", "compact"), ("retention.ms", "5000"));
        var log = _b.Broker.Logs.Get(topic)!.Partitions[0];
        Assert.True(log.Config.CompactPolicy);

        // validate_only changes nothing
        Assert.Equal(ErrorCode.None, Alter(topic, validateOnly: true, version, ("retention.ms", "1000")).ErrorCode);
        Assert.Equal("5000", TopicValues(topic)["retention.ms"]);

        var ok = Alter(topic, validateOnly: false, version, ("retention.ms", "1000"), ("message.timestamp.type", "LogAppendTime"));
        Assert.Equal((ErrorCode.None, topic, TopicType), (ok.ErrorCode, ok.ResourceName, ok.ResourceType));
        var values = TopicValues(topic);
        Assert.Equal("1000", values["retention.ms"]);
        Assert.Equal("delete", values["cleanup.policy"]); // not named, so back to the default
        Assert.Equal(1000, log.Config.RetentionMs);
        Assert.False(log.Config.CompactPolicy);
        Assert.True(log.Config.DeletePolicy);

        // message.timestamp.type took effect: the next produce is stamped by the broker
        var produced = _c.Call<ProduceRequest, ProduceResponse>(new ProduceRequest
        {
            Acks = -1, TimeoutMs = 5000,
            TopicData = [new() { Name = topic, PartitionData = [new() { Index = 0, Records = OneRecord(timestamp: 1) }] }],
        }, 8).Responses[0].PartitionResponses[0];
        Assert.Equal(ErrorCode.None, produced.ErrorCode);
        Assert.True(produced.LogAppendTimeMs > 1_600_000_000_000, $"log append time {produced.LogAppendTimeMs}");
    }

    [Fact]
    public void AlterConfigsRefusesBadInputAndChangesNothing()
    {
        CreateTopic("alter-bad", ("retention.ms", "5000"));
        var bad = Alter("alter-bad", false, 1, ("retention.ms", "soon"));
        Assert.Equal(ErrorCode.InvalidConfig, bad.ErrorCode);
        Assert.Contains("retention.ms", bad.ErrorMessage);
        var unknown = Alter("alter-bad", false, 1, ("retention.forever", "1"));
        Assert.Equal(ErrorCode.InvalidConfig, unknown.ErrorCode);
        Assert.Contains("retention.forever", unknown.ErrorMessage);
        Assert.Equal(ErrorCode.InvalidConfig, Alter("alter-bad", false, 1, ("cleanup.policy", "compact,shred")).ErrorCode);
        Assert.Equal(ErrorCode.InvalidConfig, Alter("alter-bad", false, 1, ("min.cleanable.dirty.ratio", "1.5")).ErrorCode);
        Assert.Equal(ErrorCode.InvalidRequest, Alter("alter-bad", false, 1, ("retention.ms", null)).ErrorCode);
        Assert.Equal(ErrorCode.InvalidRequest, Alter("alter-bad", false, 1, ("retention.ms", "1"), ("retention.ms", "2")).ErrorCode);
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, Alter("alter-missing", false, 1, ("retention.ms", "1")).ErrorCode);
        Assert.Equal("5000", TopicValues("alter-bad")["retention.ms"]);

        var broker = _c.Call<AlterConfigsRequest, AlterConfigsResponse>(new AlterConfigsRequest
        {
            Resources = [new() { ResourceType = BrokerType, ResourceName = "1", Configs = [new() { Name = "num.partitions", Value = "3" }] }],
        }, 1).Responses.Single();
        Assert.Equal(ErrorCode.InvalidRequest, broker.ErrorCode);
        Assert.Contains("restart", broker.ErrorMessage);
        Assert.Equal(1, _b.Broker.Config.NumPartitions);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void IncrementalAlterSetsDeletesAppendsAndSubtracts(short version)
    {
        string topic = $"incremental-v{version}";
        CreateTopic(topic, ("retention.ms", "5000"), ("segment.ms", "60000"));
        Assert.Equal(ErrorCode.None, Incremental(topic, version, ("retention.bytes", OpSet, "1048576"), ("segment.ms", OpDelete, null)).ErrorCode);
        var values = TopicValues(topic);
        Assert.Equal(("5000", "1048576", "604800000"), (values["retention.ms"], values["retention.bytes"], values["segment.ms"]));
        Assert.Equal(1048576, _b.Broker.Logs.Get(topic)!.Partitions[0].Config.RetentionBytes);

        // APPEND starts from the topic default (delete) and does not repeat values; SUBTRACT removes
        Assert.Equal(ErrorCode.None, Incremental(topic, version, ("cleanup.policy", OpAppend, "compact,delete")).ErrorCode);
        Assert.Equal("delete,compact", TopicValues(topic)["cleanup.policy"]);
        Assert.True(_b.Broker.Logs.Get(topic)!.Partitions[0].Config.CompactPolicy);
        Assert.Equal(ErrorCode.None, Incremental(topic, version, ("cleanup.policy", OpSubtract, "delete")).ErrorCode);
        Assert.Equal("compact", TopicValues(topic)["cleanup.policy"]);
        Assert.False(_b.Broker.Logs.Get(topic)!.Partitions[0].Config.DeletePolicy);

        Assert.Equal(ErrorCode.InvalidConfig, Incremental(topic, version, ("retention.ms", OpAppend, "1")).ErrorCode);
        Assert.Equal(ErrorCode.InvalidConfig, Incremental(topic, version, ("segment.bytes", OpSet, "1")).ErrorCode);
        Assert.Equal(ErrorCode.InvalidConfig, Incremental(topic, version, ("no.such.config", OpDelete, null)).ErrorCode);
        Assert.Equal(ErrorCode.InvalidRequest, Incremental(topic, version, ("retention.ms", 7, "1")).ErrorCode);
        Assert.Equal(ErrorCode.InvalidRequest,
            Incremental(topic, version, ("retention.ms", OpSet, "1"), ("retention.ms", OpDelete, null)).ErrorCode);
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, Incremental("incremental-missing", version, ("retention.ms", OpSet, "1")).ErrorCode);
        Assert.Equal(ErrorCode.InvalidRequest, Incremental(topic, version, ("cleanup.policy", OpAppend, null)).ErrorCode);
        var twice = _c.Call<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>(new IncrementalAlterConfigsRequest
        {
            Resources =
            [
                new() { ResourceType = TopicType, ResourceName = topic, Configs = [new() { Name = "retention.ms", ConfigOperation = OpSet, Value = "1" }] },
                new() { ResourceType = TopicType, ResourceName = topic, Configs = [new() { Name = "retention.ms", ConfigOperation = OpSet, Value = "2" }] },
            ],
        }, version);
        Assert.All(twice.Responses, r => Assert.Equal((ErrorCode.InvalidRequest, "Each resource must appear at most once."), (r.ErrorCode, r.ErrorMessage)));
        Assert.Equal("5000", TopicValues(topic)["retention.ms"]);
    }

    [Fact]
    public async Task ChangesPersistAcrossRestartAndSegmentBytesRollsTheActiveSegment()
    {
        string dir = Path.Combine(Path.GetTempPath(), "kafkacompat-cfg-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            await using (var b = EmbeddedBroker.Start(dir))
            {
                using var c = new RawClient(b.Port);
                GroupProtocolTests.CreateTopic(c, "kept", 1);
                var r = c.Call<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>(new IncrementalAlterConfigsRequest
                {
                    Resources = [new()
                    {
                        ResourceType = TopicType, ResourceName = "kept",
                        Configs = [new() { Name = "segment.bytes", ConfigOperation = OpSet, Value = "2048" },
                                   new() { Name = "cleanup.policy", ConfigOperation = OpSet, Value = "compact,delete" }],
                    }],
                }, 1);
                Assert.Equal(ErrorCode.None, r.Responses[0].ErrorCode);
                // the active segment was created for 1 GiB; the smaller segment.bytes applies to it right away
                for (int i = 0; i < 6; i++)
                {
                    var p = c.Call<ProduceRequest, ProduceResponse>(new ProduceRequest
                    {
                        Acks = -1, TimeoutMs = 5000,
                        TopicData = [new() { Name = "kept", PartitionData = [new() { Index = 0, Records = OneRecord(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), 900) }] }],
                    }, 8);
                    Assert.Equal(ErrorCode.None, p.Responses[0].PartitionResponses[0].ErrorCode);
                }
                Assert.True(b.Broker.Logs.Get("kept")!.Partitions[0].Segments.Count >= 3,
                    $"{b.Broker.Logs.Get("kept")!.Partitions[0].Segments.Count} segments");
            }
            await using (var again = EmbeddedBroker.Start(dir))
            {
                var log = again.Broker.Logs.Get("kept")!.Partitions[0];
                Assert.Equal(2048, log.Config.SegmentBytes);
                Assert.True(log.Config.CompactPolicy && log.Config.DeletePolicy);
                using var c = new RawClient(again.Port);
                var d = c.Call<DescribeConfigsRequest, DescribeConfigsResponse>(new DescribeConfigsRequest
                {
                    Resources = [new() { ResourceType = TopicType, ResourceName = "kept", ConfigurationKeys = ["segment.bytes", "cleanup.policy"] }],
                }, 4).Results.Single();
                Assert.Equal([("cleanup.policy", "compact,delete", DynamicTopic), ("segment.bytes", "2048", DynamicTopic)],
                    d.Configs.OrderBy(x => x.Name).Select(x => (x.Name, x.Value, x.ConfigSource)));
            }
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    private IncrementalAlterConfigsResponse.AlterConfigsResourceResponse IncrementalBroker(string name, bool validateOnly,
        params (string Key, sbyte Op, string? Value)[] configs) =>
        _c.Call<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>(new IncrementalAlterConfigsRequest
        {
            Resources = [new()
            {
                ResourceType = BrokerType, ResourceName = name,
                Configs = configs.Select(c => new IncrementalAlterConfigsRequest.AlterableConfig { Name = c.Key, ConfigOperation = c.Op, Value = c.Value }).ToList(),
            }],
            ValidateOnly = validateOnly,
        }, 1).Responses.Single();

    private static List<(string, string?, sbyte)> Synonyms(DescribeConfigsResponse.DescribeConfigsResourceResult e) =>
        e.Synonyms.Select(s => (s.Name, s.Value, s.Source)).ToList();

    [Fact]
    public void BrokerResourcesTakeDynamicConfigsPerBrokerAndClusterWide()
    {
        CreateTopic("follows-broker");
        Assert.Equal(ErrorCode.None, IncrementalBroker("", false, ("log.retention.ms", OpSet, "7200000")).ErrorCode);
        Assert.Equal(ErrorCode.None, IncrementalBroker("1", false, ("message.max.bytes", OpSet, "5000"), ("custom.key", OpSet, "x"),
            ("log.cleanup.policy", OpAppend, "compact")).ErrorCode);

        // "" describes the cluster-wide defaults that are set, and only them
        var defaults = Describe(BrokerType, "");
        var only = Assert.Single(defaults.Configs);
        Assert.Equal(("log.retention.ms", "7200000", DynamicDefaultBroker, false), (only.Name, only.Value, only.ConfigSource, only.ReadOnly));
        Assert.Equal([("log.retention.ms", "7200000", DynamicDefaultBroker)], Synonyms(only));

        var broker = Describe(BrokerType, "1");
        Assert.Equal(("5000", DynamicBroker, false), (Entry(broker, "message.max.bytes").Value, Entry(broker, "message.max.bytes").ConfigSource, Entry(broker, "message.max.bytes").ReadOnly));
        Assert.Equal(("delete,compact", DynamicBroker), (Entry(broker, "log.cleanup.policy").Value, Entry(broker, "log.cleanup.policy").ConfigSource));
        // a key this broker does not know is kept as given (Kafka keeps custom keys); Kafka reports it read-only
        Assert.Equal(("x", DynamicBroker, true), (Entry(broker, "custom.key").Value, Entry(broker, "custom.key").ConfigSource, Entry(broker, "custom.key").ReadOnly));
        var retention = Entry(broker, "log.retention.ms");
        Assert.Equal(("7200000", DynamicDefaultBroker), (retention.Value, retention.ConfigSource));
        Assert.Equal([("log.retention.ms", "7200000", DynamicDefaultBroker), ("log.retention.hours", "48", StaticBroker), ("log.retention.hours", "168", Default)],
            Synonyms(retention));
        // log.retention.hours is not dynamic in Kafka and keeps its own value and source
        var hours = Entry(broker, "log.retention.hours");
        Assert.Equal(("48", StaticBroker, true), (hours.Value, hours.ConfigSource, hours.ReadOnly));

        // a topic without overrides follows the dynamic values, with Kafka's synonym order
        var topic = Describe(TopicType, "follows-broker");
        Assert.Equal(("7200000", DynamicDefaultBroker), (Entry(topic, "retention.ms").Value, Entry(topic, "retention.ms").ConfigSource));
        Assert.Equal([("log.retention.ms", "7200000", DynamicDefaultBroker), ("log.retention.hours", "48", StaticBroker), ("log.retention.hours", "168", Default)],
            Synonyms(Entry(topic, "retention.ms")));
        Assert.Equal([("message.max.bytes", "5000", DynamicBroker), ("message.max.bytes", "1048588", Default)], Synonyms(Entry(topic, "max.message.bytes")));
        var log = _b.Broker.Logs.Get("follows-broker")!.Partitions[0].Config;
        Assert.Equal((7_200_000L, 5000, true), (log.RetentionMs, log.MaxMessageBytes, log.CompactPolicy));

        // stored apart, per broker id and cluster-wide
        using (var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(_b.DataDir, "dynamic-configs.json"))))
        {
            Assert.Equal("7200000", doc.RootElement.GetProperty("cluster_default").GetProperty("log.retention.ms").GetString());
            var mine = doc.RootElement.GetProperty("brokers").GetProperty("1");
            Assert.Equal(["custom.key", "log.cleanup.policy", "message.max.bytes"], mine.EnumerateObject().Select(p => p.Name).Order());
        }

        // DELETE: back to what lies under
        Assert.Equal(ErrorCode.None, IncrementalBroker("1", false, ("message.max.bytes", OpDelete, null), ("custom.key", OpDelete, null),
            ("log.cleanup.policy", OpSubtract, "compact")).ErrorCode);
        broker = Describe(BrokerType, "1");
        Assert.Equal(("1048588", Default), (Entry(broker, "message.max.bytes").Value, Entry(broker, "message.max.bytes").ConfigSource));
        Assert.Equal(("delete", DynamicBroker), (Entry(broker, "log.cleanup.policy").Value, Entry(broker, "log.cleanup.policy").ConfigSource));
        Assert.DoesNotContain(broker.Configs, c => c.Name == "custom.key");
        Assert.Equal(1048588, _b.Broker.Logs.Get("follows-broker")!.Partitions[0].Config.MaxMessageBytes);

        // AlterConfigs (v0-2) replaces the cluster-wide set
        foreach (short v in new short[] { 0, 1, 2 })
        {
            var replaced = _c.Call<AlterConfigsRequest, AlterConfigsResponse>(new AlterConfigsRequest
            {
                Resources = [new() { ResourceType = BrokerType, ResourceName = "", Configs = [new() { Name = "log.segment.bytes", Value = $"{2_000_000 + v}" }] }],
            }, v).Responses.Single();
            Assert.Equal(ErrorCode.None, replaced.ErrorCode);
        }
        Assert.Equal(["log.segment.bytes"], Describe(BrokerType, "").Configs.Select(c => c.Name));
        Assert.Equal(2_000_002, _b.Broker.Logs.Get("follows-broker")!.Partitions[0].Config.SegmentBytes);
        // the cluster-wide log.retention.ms is gone with it: the static log.retention.hours=48 shows through
        Assert.Equal("172800000", TopicValues("follows-broker")["retention.ms"]);
    }

    [Fact]
    public void BrokerResourcesRefuseWhatKafkaRefuses()
    {
        var wrongId = IncrementalBroker("7", false, ("message.max.bytes", OpSet, "5000"));
        Assert.Equal((ErrorCode.InvalidRequest, "Unexpected broker id, expected 1, but received 7"), (wrongId.ErrorCode, wrongId.ErrorMessage));
        var notAnId = IncrementalBroker("one", false, ("message.max.bytes", OpSet, "5000"));
        Assert.Equal((ErrorCode.InvalidRequest, "Node id must be an integer, but it is: one"), (notAnId.ErrorCode, notAnId.ErrorMessage));

        var fixedKeys = IncrementalBroker("", false, ("num.partitions", OpSet, "3"), ("log.retention.hours", OpSet, "1"), ("message.max.bytes", OpSet, "5000"));
        Assert.Equal(ErrorCode.InvalidRequest, fixedKeys.ErrorCode);
        Assert.StartsWith("Cannot update these configs dynamically: log.retention.hours, num.partitions", fixedKeys.ErrorMessage);
        Assert.Equal(ErrorCode.InvalidRequest, IncrementalBroker("1", false, ("listeners", OpSet, "PLAINTEXT://:9999")).ErrorCode);
        Assert.Equal(ErrorCode.InvalidRequest, IncrementalBroker("1", false, ("ssl.truststore.password", OpSet, "hunter3")).ErrorCode);
        // bad values: INVALID_REQUEST, as Kafka answers for broker resources
        var small = IncrementalBroker("1", false, ("log.segment.bytes", OpSet, "10"));
        Assert.Equal((ErrorCode.InvalidRequest, "Invalid value 10 for configuration log.segment.bytes: Value must be at least 14"), (small.ErrorCode, small.ErrorMessage));
        Assert.Equal(ErrorCode.InvalidRequest, IncrementalBroker("1", false, ("log.cleanup.policy", OpSet, "shred")).ErrorCode);
        Assert.Equal(ErrorCode.InvalidRequest, IncrementalBroker("1", false, ("max.connections.per.ip", OpSet, "0")).ErrorCode); // needs overrides
        Assert.Equal(ErrorCode.InvalidRequest, IncrementalBroker("1", false, ("message.max.bytes", OpSet, null)).ErrorCode);
        var append = IncrementalBroker("1", false, ("message.max.bytes", OpAppend, "1"));
        Assert.Equal((ErrorCode.InvalidConfig, "Config value append is not allowed for config key: message.max.bytes"), (append.ErrorCode, append.ErrorMessage));
        Assert.Equal(ErrorCode.InvalidConfig, IncrementalBroker("1", false, ("custom.list", OpAppend, "a")).ErrorCode);

        // validate_only: accepted, nothing changes or is written
        Assert.Equal(ErrorCode.None, IncrementalBroker("1", true, ("message.max.bytes", OpSet, "5000")).ErrorCode);
        Assert.Equal(ErrorCode.None, IncrementalBroker("", true, ("log.retention.ms", OpSet, "1000")).ErrorCode);
        Assert.Equal(Default, Entry(Describe(BrokerType, "1"), "message.max.bytes").ConfigSource);
        Assert.Empty(Describe(BrokerType, "").Configs);
        Assert.False(File.Exists(Path.Combine(_b.DataDir, "dynamic-configs.json")));
        Assert.Empty(_b.Broker.Config.Dynamic.PerBroker);
        Assert.Empty(_b.Broker.Config.Dynamic.ClusterDefault);
    }

    [Fact]
    public async Task DynamicBrokerConfigsSurviveARestartAndADamagedFileStopsTheStart()
    {
        string dir = Path.Combine(Path.GetTempPath(), "kafkacompat-dyn-" + Guid.NewGuid().ToString("N")[..8]);
        string file = Path.Combine(dir, "dynamic-configs.json");
        try
        {
            await using (var b = EmbeddedBroker.Start(dir))
            {
                b.Broker.CreateTopic("kept", 1, 1, new(), validateOnly: false);
                Assert.True(b.Broker.ChangeBrokerConfigs("", false, _ => (new() { ["log.retention.ms"] = "7200000", ["log.segment.bytes"] = "2000000" }, default)).Ok);
                Assert.True(b.Broker.ChangeBrokerConfigs("1", false, _ => (new() { ["log.retention.ms"] = "3600000" }, default)).Ok);
            }
            Assert.False(File.Exists(file + ".tmp"));
            await using (var again = EmbeddedBroker.Start(dir))
            {
                var cfg = again.Broker.Logs.Get("kept")!.Partitions[0].Config;
                Assert.Equal((3_600_000L, 2_000_000), (cfg.RetentionMs, cfg.SegmentBytes));
                using var c = new RawClient(again.Port);
                var d = c.Call<DescribeConfigsRequest, DescribeConfigsResponse>(new DescribeConfigsRequest
                {
                    Resources = [new() { ResourceType = BrokerType, ResourceName = "1", ConfigurationKeys = ["log.retention.ms", "log.segment.bytes"] }],
                    IncludeSynonyms = true,
                }, 4).Results.Single();
                Assert.Equal([("log.retention.ms", "3600000", DynamicBroker), ("log.segment.bytes", "2000000", DynamicDefaultBroker)],
                    d.Configs.OrderBy(x => x.Name).Select(x => (x.Name, x.Value, x.ConfigSource)));
                Assert.Equal([("log.retention.ms", "3600000", DynamicBroker), ("log.retention.ms", "7200000", DynamicDefaultBroker), ("log.retention.hours", "168", Default)],
                    Synonyms(d.Configs.Single(x => x.Name == "log.retention.ms")));
            }
            // another node id does not take broker 1's values, only the cluster default
            await using (var other = EmbeddedBroker.Start(dir, new Dictionary<string, string> { ["node.id"] = "2" }))
            {
                var cfg = other.Broker.Logs.Get("kept")!.Partitions[0].Config;
                Assert.Equal(7_200_000L, cfg.RetentionMs);
                Assert.True(other.Broker.ChangeBrokerConfigs("2", false, _ => (new() { ["message.max.bytes"] = "3000" }, default)).Ok);
            }
            using (var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(file)))
                Assert.Equal(["1", "2"], doc.RootElement.GetProperty("brokers").EnumerateObject().Select(p => p.Name).Order());

            File.WriteAllText(file, "{ \"cluster_default\": ");
            var e = Assert.ThrowsAny<IOException>(() => EmbeddedBroker.Start(dir));
            Assert.Contains("dynamic-configs.json is damaged", e.Message);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void TopicConfigsKafka4RemovedAreAcceptedAndNotKept()
    {
        CreateTopic("legacy-raw", ("message.format.version", "2.8-IV1"), ("message.timestamp.difference.max.ms", "1000"), ("retention.ms", "5000"));
        Assert.Equal(["retention.ms"], _b.Broker.Logs.Get("legacy-raw")!.Record.Configs.Keys);
        var values = TopicValues("legacy-raw");
        Assert.DoesNotContain("message.format.version", values.Keys);
        Assert.Equal("true", values["message.downconversion.enable"]);
        // their type is still checked
        var bad = _c.Call<CreateTopicsRequest, CreateTopicsResponse>(new CreateTopicsRequest
        {
            Topics = [new() { Name = "legacy-bad", NumPartitions = 1, ReplicationFactor = 1, Configs = [new() { Name = "message.timestamp.difference.max.ms", Value = "-5" }] }],
        }, 5).Topics.Single();
        Assert.Equal(ErrorCode.InvalidConfig, bad.ErrorCode);

        Assert.Equal(ErrorCode.None, Incremental("legacy-raw", 1, ("message.format.version", OpSet, "3.0"), ("message.downconversion.enable", OpSet, "false")).ErrorCode);
        Assert.Equal(ErrorCode.None, Incremental("legacy-raw", 1, ("message.format.version", OpDelete, null)).ErrorCode);
        Assert.Equal(ErrorCode.None, Alter("legacy-raw", false, 2, ("message.format.version", "3.0"), ("retention.ms", "6000")).ErrorCode);
        Assert.Equal(["retention.ms"], _b.Broker.Logs.Get("legacy-raw")!.Record.Configs.Keys);
        Assert.Equal("6000", TopicValues("legacy-raw")["retention.ms"]);
    }

    private static byte[] OneRecord(long timestamp, int valueSize = 10)
    {
        var b = new RecordBatchBuilder();
        b.Add("k"u8.ToArray(), new byte[valueSize], timestamp);
        return b.Build();
    }
}
