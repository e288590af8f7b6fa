using System.Globalization;

namespace KafkaCompat.Broker.Config;

/// <summary>Config value types, numbered as DescribeConfigs v3+ sends them.</summary>
public enum ConfigType : sbyte { Unknown = 0, Boolean = 1, String = 2, Int = 3, Short = 4, Long = 5, Double = 6, List = 7, Class = 8, Password = 9 }

/// <summary>Where a config value comes from, numbered as DescribeConfigs v1+ sends them.</summary>
public enum ConfigSource : sbyte
{
    Unknown = 0, DynamicTopic = 1, DynamicBroker = 2, DynamicDefaultBroker = 3, StaticBroker = 4, Default = 5,
}

public readonly record struct ConfigSynonym(string Name, string? Value, ConfigSource Source);

/// <summary>One config as DescribeConfigs reports it: its effective value, where that comes from, and the synonyms
/// (the same setting under other names, highest precedence first).</summary>
public sealed record DescribedConfig(string Name, string? Value, ConfigSource Source, bool ReadOnly, bool Sensitive,
    ConfigType Type, string? Documentation, IReadOnlyList<ConfigSynonym> Synonyms);

/// <summary>A Kafka topic config key with its broker-level synonym, default and validation.</summary>
public sealed record TopicConfigDef(string Name, string? BrokerKey, ConfigType Type, string Default, string Doc, Func<string, string?>? Validate = null)
{
    /// <summary>Null when <paramref name="value"/> is acceptable, else the reason.</summary>
    public string? Check(string? value)
    {
        if (value is null) return $"Null value not supported for topic configs: {Name}";
        return CheckType(Type, Name, value) ?? Validate?.Invoke(value);
    }

    /// <summary>Null when <paramref name="value"/> reads as <paramref name="type"/>, else Kafka's message for it.</summary>
    public static string? CheckType(ConfigType type, string name, string value) => type switch
    {
        ConfigType.Int when !int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _) =>
            $"Invalid value {value} for configuration {name}: Not a number of type INT",
        ConfigType.Long when !long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _) =>
            $"Invalid value {value} for configuration {name}: Not a number of type LONG",
        ConfigType.Double when !double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _) =>
            $"Invalid value {value} for configuration {name}: Not a number of type DOUBLE",
        ConfigType.Boolean when !bool.TryParse(value, out _) =>
            $"Invalid value {value} for configuration {name}: Expected value to be either true or false",
        _ => null,
    };
}

public static class TopicConfigs
{
    private static Func<string, string?> AtLeast(long min, string name) => v =>
        long.Parse(v, CultureInfo.InvariantCulture) < min ? $"Invalid value {v} for configuration {name}: Value must be at least {min}" : null;

    private static Func<string, string?> OneOf(string name, params string[] allowed) => v =>
        allowed.Contains(v, StringComparer.Ordinal) ? null : $"Invalid value {v} for configuration {name}: String must be one of: {string.Join(", ", allowed)}";

    private static string? CleanupPolicy(string v)
    {
        var parts = v.Split(',', StringSplitOptions.TrimEntries);
        return parts.All(p => p is "delete" or "compact") ? null
            : $"Invalid value {v} for configuration cleanup.policy: [{v}] contains invalid values; allowed: [delete, compact]";
    }

    private static string? Ratio(string v)
    {
        double d = double.Parse(v, CultureInfo.InvariantCulture);
        return d is >= 0 and <= 1 ? null : $"Invalid value {v} for configuration min.cleanable.dirty.ratio: Value must be between 0 and 1";
    }

    public static readonly IReadOnlyList<TopicConfigDef> All =
    [
        new("cleanup.policy", "log.cleanup.policy", ConfigType.List, "delete",
            "What happens to old segments: delete (retention by time and size), compact (keep the latest record per key), or both.", CleanupPolicy),
        new("compression.type", "compression.type", ConfigType.String, "producer",
            "Codec batches are stored with; producer keeps whatever the producer sent.",
            OneOf("compression.type", "uncompressed", "zstd", "lz4", "snappy", "gzip", "producer")),
        new("delete.retention.ms", "log.cleaner.delete.retention.ms", ConfigType.Long, "86400000",
            "How long a tombstone stays in a compacted log after compaction reached it.", AtLeast(0, "delete.retention.ms")),
        new("file.delete.delay.ms", "log.segment.delete.delay.ms", ConfigType.Long, "60000",
            "How long the files of a removed segment are kept (renamed .deleted) before they are unlinked.", AtLeast(0, "file.delete.delay.ms")),
        new("flush.messages", "log.flush.interval.messages", ConfigType.Long, "9223372036854775807",
            "Force an fsync after this many records; 1 syncs every write before it is acknowledged.", AtLeast(1, "flush.messages")),
        new("flush.ms", "log.flush.interval.ms", ConfigType.Long, "9223372036854775807",
            "Force an fsync when the oldest unsynced write is this old.", AtLeast(0, "flush.ms")),
        new("index.interval.bytes", "log.index.interval.bytes", ConfigType.Int, "4096",
            "Bytes of log between two offset index entries.", AtLeast(0, "index.interval.bytes")),
        new("max.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms", ConfigType.Long, "9223372036854775807",
            "Longest time a record may stay uncompacted.", AtLeast(1, "max.compaction.lag.ms")),
        new("max.message.bytes", "message.max.bytes", ConfigType.Int, "1048588",
            "Largest record batch the topic accepts.", AtLeast(0, "max.message.bytes")),
        // deprecated in Kafka 4.0 and without effect there (down-conversion went with message formats v0/v1), but still a
        // topic config Kafka 4.x accepts and describes; it has no effect here either
        new("message.downconversion.enable", "log.message.downconversion.enable", ConfigType.Boolean, "true",
            "No effect: records are never down-converted (Kafka 4.0 made this a no-op); kept so clients that set it work."),
        new("message.timestamp.type", "log.message.timestamp.type", ConfigType.String, "CreateTime",
            "CreateTime keeps the producer's timestamps; LogAppendTime stamps batches with the broker's clock.",
            OneOf("message.timestamp.type", "CreateTime", "LogAppendTime")),
        new("message.timestamp.before.max.ms", "log.message.timestamp.before.max.ms", ConfigType.Long, "9223372036854775807",
            "How far in the past a CreateTime timestamp may be.", AtLeast(0, "message.timestamp.before.max.ms")),
        new("message.timestamp.after.max.ms", "log.message.timestamp.after.max.ms", ConfigType.Long, "3600000",
            "How far in the future a CreateTime timestamp may be.", AtLeast(0, "message.timestamp.after.max.ms")),
        new("min.cleanable.dirty.ratio", "log.cleaner.min.cleanable.ratio", ConfigType.Double, "0.5",
            "Compact once this share of the compactable log was written since the last pass.", Ratio),
        new("min.compaction.lag.ms", "log.cleaner.min.compaction.lag.ms", ConfigType.Long, "0",
            "Records younger than this are never compacted.", AtLeast(0, "min.compaction.lag.ms")),
        new("min.insync.replicas", "min.insync.replicas", ConfigType.Int, "1",
            "In-sync replicas an acks=all write needs (NOT_ENOUGH_REPLICAS with fewer).", AtLeast(1, "min.insync.replicas")),
        new("preallocate", "log.preallocate", ConfigType.Boolean, "false",
            "Reserve a new segment's disk space when it is created."),
        new("retention.bytes", "log.retention.bytes", ConfigType.Long, "-1",
            "Largest size of a partition before its oldest segments are deleted; -1 for no limit."),
        new("retention.ms", "log.retention.ms", ConfigType.Long, "604800000",
            "Age after which a segment is deleted (measured from its newest record); -1 keeps data forever.", AtLeast(-1, "retention.ms")),
        new("segment.bytes", "log.segment.bytes", ConfigType.Int, "1073741824",
            "Size at which a new segment is started.", AtLeast(14, "segment.bytes")),
        new("segment.index.bytes", "log.index.size.max.bytes", ConfigType.Int, "10485760",
            "Size of each segment's offset and time index files.", AtLeast(4, "segment.index.bytes")),
        new("segment.jitter.ms", "log.roll.jitter.ms", ConfigType.Long, "0",
            "Random amount taken off segment.ms so segments do not all roll at once.", AtLeast(0, "segment.jitter.ms")),
        new("segment.ms", "log.roll.ms", ConfigType.Long, "604800000",
            "Age of a segment's first record after which a new segment is started.", AtLeast(1, "segment.ms")),
        new("unclean.leader.election.enable", "unclean.leader.election.enable", ConfigType.Boolean, "false",
            "Whether an out-of-sync replica may become leader; there are no other replicas here."),
    ];

    /// <summary>Topic configs Kafka 3.x accepted and Kafka 4.0 removed (KIP-724: message.format.version; KIP-937:
    /// message.timestamp.difference.max.ms). Kafka 4.0 refuses them as unknown; this broker accepts them from 3.x-era
    /// clients, checks their type, logs that they are ignored and does not keep them: a 4.x broker has nothing they
    /// could change, and storing them would show a setting in DescribeConfigs that does nothing (the 4.x choice: they
    /// are not listed at all). See <see cref="KafkaBroker"/>.CreateTopic and ChangeTopicConfigs.</summary>
    public static readonly IReadOnlyList<TopicConfigDef> RemovedInKafka4 =
    [
        new("message.format.version", "log.message.format.version", ConfigType.String, "3.0-IV1",
            "Removed in Kafka 4.0 (message formats v0 and v1 are gone); ignored."),
        new("message.timestamp.difference.max.ms", "log.message.timestamp.difference.max.ms", ConfigType.Long, "9223372036854775807",
            "Removed in Kafka 4.0 (use message.timestamp.before.max.ms and message.timestamp.after.max.ms); ignored.",
            AtLeast(0, "message.timestamp.difference.max.ms")),
    ];

    private static readonly Dictionary<string, TopicConfigDef> ByName = All.ToDictionary(d => d.Name, StringComparer.Ordinal);
    private static readonly Dictionary<string, TopicConfigDef> RemovedByName = RemovedInKafka4.ToDictionary(d => d.Name, StringComparer.Ordinal);

    public static TopicConfigDef? Find(string name) => ByName.GetValueOrDefault(name);

    /// <summary>A topic config Kafka 4.0 removed (accepted, ignored, not kept), or null.</summary>
    public static TopicConfigDef? FindRemoved(string name) => RemovedByName.GetValueOrDefault(name);

    /// <summary>Null when all configs are known and valid, else a message naming the first bad one. The keys Kafka 4.0
    /// removed pass when their value has the right type (the caller drops them).</summary>
    public static string? Validate(IEnumerable<KeyValuePair<string, string?>> configs)
    {
        foreach (var (k, v) in configs)
        {
            var def = Find(k) ?? FindRemoved(k);
            if (def is null) return $"Unknown topic config name: {k}";
            if (def.Check(v) is { } err) return err;
        }
        return null;
    }

    /// <summary>Removes the keys Kafka 4.0 removed from <paramref name="configs"/>; returns the ones it removed.</summary>
    public static List<string> DropRemoved<TValue>(IDictionary<string, TValue> configs)
    {
        var dropped = configs.Keys.Where(RemovedByName.ContainsKey).Order(StringComparer.Ordinal).ToList();
        foreach (var k in dropped) configs.Remove(k);
        return dropped;
    }
}

/// <summary>A broker config key this broker knows, with its type, default (null: unset) and a short description.</summary>
public sealed record BrokerConfigDef(string Name, ConfigType Type, string? Default, string Doc);

public static class BrokerConfigs
{
    /// <summary>The broker's own keys. The broker-level names of topic configs (log.segment.bytes, ...) are added
    /// from <see cref="TopicConfigs.All"/>.</summary>
    private static readonly BrokerConfigDef[] Own =
    [
        new("node.id", ConfigType.Int, "1", "This broker's id."),
        new("broker.id", ConfigType.Int, null, "Older name of node.id."),
        new("broker.rack", ConfigType.String, null, "The rack of this broker (with --brokers N: of the first; --racks gives each its own)."),
        new("offsets.topic.replication.factor", ConfigType.Short, "3", "Replication factor of __consumer_offsets (at most the number of brokers)."),
        new("transaction.state.log.replication.factor", ConfigType.Short, "3", "Replication factor of __transaction_state (at most the number of brokers)."),
        new("num.partitions", ConfigType.Int, "1", "Partitions of a topic created without a partition count."),
        new("broker.session.timeout.ms", ConfigType.Int, "9000", "With several brokers: how long a killed broker (no controlled shutdown) keeps its partitions before it is fenced and they move."),
        new("auto.leader.rebalance.enable", ConfigType.Boolean, "true", "With several brokers: preferred leaders take their partitions back when a broker's imbalance passes leader.imbalance.per.broker.percentage."),
        new("leader.imbalance.check.interval.seconds", ConfigType.Long, "300", "How often leader imbalance is checked."),
        new("leader.imbalance.per.broker.percentage", ConfigType.Int, "10", "Share of a broker's preferred partitions led elsewhere that triggers a rebalance."),
        new("default.replication.factor", ConfigType.Int, "1", "Replication factor of a topic created without one."),
        new("auto.create.topics.enable", ConfigType.Boolean, "true", "Create a topic when a client asks for metadata of or produces to an unknown one."),
        new("delete.topic.enable", ConfigType.Boolean, "true", "Whether DeleteTopics is allowed."),
        new("socket.request.max.bytes", ConfigType.Int, "104857600", "Largest request frame accepted."),
        new("listener.security.protocol.map", ConfigType.String, Listeners.DefaultProtocolMap, "The security protocol of each listener name, as NAME:PROTOCOL,..."),
        new("inter.broker.listener.name", ConfigType.String, null, "Accepted for server.properties files: the brokers of one process share their state and send each other nothing."),
        new("ssl.keystore.type", ConfigType.String, "JKS", "PKCS12 or PEM (JKS files are Java's own: convert them with keytool -importkeystore -deststoretype PKCS12)."),
        new("ssl.keystore.location", ConfigType.String, null, "The server's certificate and private key: a PKCS12 file, or a PEM file holding the key and the certificate chain."),
        new("ssl.keystore.password", ConfigType.Password, null, "The password of a PKCS12 keystore."),
        new("ssl.key.password", ConfigType.Password, null, "The password of an encrypted private key (PEM: encrypted PKCS#8)."),
        new("ssl.keystore.certificate.chain", ConfigType.Password, null, "The server's certificate chain as PEM text (with ssl.keystore.type=PEM)."),
        new("ssl.keystore.key", ConfigType.Password, null, "The server's private key as PEM text (with ssl.keystore.type=PEM)."),
        new("ssl.truststore.type", ConfigType.String, "JKS", "PKCS12 or PEM: the certificates client certificates are checked against."),
        new("ssl.truststore.location", ConfigType.String, null, "The trusted certificates (CAs) for client certificates."),
        new("ssl.truststore.password", ConfigType.Password, null, "The password of a PKCS12 truststore."),
        new("ssl.truststore.certificates", ConfigType.Password, null, "Trusted certificates as PEM text (with ssl.truststore.type=PEM)."),
        new("sasl.enabled.mechanisms", ConfigType.List, "GSSAPI", "SASL mechanisms a SASL listener offers (PLAIN is served; Kafka's default GSSAPI is not)."),
        new("sasl.jaas.config", ConfigType.Password, null, "A JAAS login module entry; for PLAIN its user_NAME=\"password\" options are the users (listener.name.NAME.plain.sasl.jaas.config first)."),
        new("connections.max.reauth.ms", ConfigType.Long, "0", "How long a SASL authentication holds before the client must re-authenticate on its connection (0: for the connection's life)."),
        new("ssl.client.auth", ConfigType.String, "none", "none, requested (a client certificate is asked for and checked when given) or required."),
        new("ssl.enabled.protocols", ConfigType.List, "TLSv1.2,TLSv1.3", "TLS versions a TLS listener accepts."),
        new("connections.max.idle.ms", ConfigType.Long, "600000", "A connection that sends nothing for this long is closed."),
        new("max.connections", ConfigType.Int, "2147483647", "Most connections the broker holds; past it, new ones wait to be accepted until one closes."),
        new("max.connections.per.ip", ConfigType.Int, "2147483647", "Most connections from one address; more are closed as they arrive."),
        new("max.connections.per.ip.overrides", ConfigType.String, "", "Per-address exceptions to max.connections.per.ip, as host:count,host:count."),
        new("queued.max.request.bytes", ConfigType.Long, "-1", "Bytes of requests being read or served at once across all connections (-1: no bound); past it, connections wait before reading more."),
        // not a Kafka key: Kafka maps only indexes and leaves vm.max_map_count to the operator
        new("log.max.memory.maps", ConfigType.Int, null, "Memory maps the log keeps open before unmapping the least recently used segments (default: a quarter of vm.max_map_count, at most 16384)."),
        new("log.retention.hours", ConfigType.Int, "168", "Default retention, in hours (log.retention.ms and log.retention.minutes take precedence)."),
        new("log.retention.minutes", ConfigType.Int, null, "Default retention, in minutes (log.retention.ms takes precedence)."),
        new("log.roll.hours", ConfigType.Int, "168", "Default segment age before a roll, in hours (log.roll.ms takes precedence)."),
        new("log.retention.check.interval.ms", ConfigType.Long, "300000", "How often retention runs."),
        new("log.cleaner.backoff.ms", ConfigType.Long, "15000", "How often the cleaner looks for logs to compact."),
        new("log.cleaner.enable", ConfigType.Boolean, "true", "Whether compaction runs."),
        new("log.flush.scheduler.interval.ms", ConfigType.Long, "9223372036854775807", "How often flush.ms is checked."),
        new("group.initial.rebalance.delay.ms", ConfigType.Int, "3000", "How long the first rebalance of an empty group waits for more members."),
        new("group.min.session.timeout.ms", ConfigType.Int, "6000", "Smallest session timeout a member may ask for."),
        new("group.max.session.timeout.ms", ConfigType.Int, "1800000", "Largest session timeout a member may ask for."),
        new("group.max.size", ConfigType.Int, "2147483647", "Most members a group may have."),
        new("group.coordinator.rebalance.protocols", ConfigType.List, "classic,consumer", "The group protocols served: classic (JoinGroup/SyncGroup) and consumer (KIP-848, ConsumerGroupHeartbeat)."),
        new("group.consumer.session.timeout.ms", ConfigType.Int, "45000", "Session timeout of consumer-protocol members: a member without a heartbeat for this long is removed."),
        new("group.consumer.min.session.timeout.ms", ConfigType.Int, "45000", "Smallest group.consumer.session.timeout.ms allowed."),
        new("group.consumer.max.session.timeout.ms", ConfigType.Int, "60000", "Largest group.consumer.session.timeout.ms allowed."),
        new("group.consumer.heartbeat.interval.ms", ConfigType.Int, "5000", "How often consumer-protocol members are told to heartbeat."),
        new("group.consumer.min.heartbeat.interval.ms", ConfigType.Int, "5000", "Smallest group.consumer.heartbeat.interval.ms allowed."),
        new("group.consumer.max.heartbeat.interval.ms", ConfigType.Int, "15000", "Largest group.consumer.heartbeat.interval.ms allowed."),
        new("group.consumer.max.size", ConfigType.Int, "2147483647", "Most members a consumer-protocol group may have."),
        new("group.consumer.assignors", ConfigType.List, "uniform,range", "Server-side assignors of consumer-protocol groups (uniform, range, or Kafka's class names); the first is the default."),
        new("offsets.retention.minutes", ConfigType.Int, "10080", "How long committed offsets of an empty group are kept."),
        new("offsets.retention.check.interval.ms", ConfigType.Long, "600000", "How often expired offsets are removed."),
        new("offset.metadata.max.bytes", ConfigType.Int, "4096", "Largest metadata string of a committed offset."),
        // Kafka uses 50; one partition keeps a local broker's disk and memory footprint small
        new("offsets.topic.num.partitions", ConfigType.Int, "1", "Partitions of __consumer_offsets (Kafka's default is 50)."),
        new("offsets.topic.segment.bytes", ConfigType.Int, "104857600", "segment.bytes of __consumer_offsets."),
        new("transaction.max.timeout.ms", ConfigType.Int, "900000", "Largest transaction.timeout.ms a producer may ask for."),
        // Kafka uses 50; one partition keeps a local broker small
        new("transaction.state.log.num.partitions", ConfigType.Int, "1", "Partitions of __transaction_state (Kafka's default is 50)."),
        new("transaction.state.log.segment.bytes", ConfigType.Int, "104857600", "segment.bytes of __transaction_state."),
        new("transaction.abort.timed.out.transaction.cleanup.interval.ms", ConfigType.Int, "10000", "How often transactions past their timeout are aborted."),
        new("transactional.id.expiration.ms", ConfigType.Int, "604800000", "How long an idle transactional id is kept."),
        new("transaction.remove.expired.transaction.cleanup.interval.ms", ConfigType.Int, "3600000", "How often idle transactional ids are removed."),
        new("producer.id.expiration.ms", ConfigType.Int, "86400000", "How long a partition keeps the state of a producer id after its last write."),
        new("producer.id.expiration.check.interval.ms", ConfigType.Int, "600000", "How often expired producer ids are removed."),
    ];

    public static readonly IReadOnlyList<BrokerConfigDef> All = Own
        .Concat(TopicConfigs.All.Where(t => t.BrokerKey != null && Own.All(o => o.Name != t.BrokerKey))
            .Select(t => new BrokerConfigDef(t.BrokerKey!, t.Type, t.Name == "retention.ms" || t.Name == "segment.ms" ? null : t.Default,
                $"Default {t.Name} of topics: {t.Doc}")))
        .OrderBy(d => d.Name, StringComparer.Ordinal).ToList();

    private static readonly Dictionary<string, BrokerConfigDef> ByName = All.ToDictionary(d => d.Name, StringComparer.Ordinal);

    public static BrokerConfigDef? Find(string name) => ByName.GetValueOrDefault(name);

    /// <summary>Broker-level names of a topic config, highest precedence first (retention.ms has three).</summary>
    public static IReadOnlyList<string> SynonymsOf(TopicConfigDef def) => def.Name switch
    {
        "retention.ms" => ["log.retention.ms", "log.retention.minutes", "log.retention.hours"],
        "segment.ms" => ["log.roll.ms", "log.roll.hours"],
        _ => def.BrokerKey is null ? [] : [def.BrokerKey],
    };

    /// <summary>Broker names that are one setting (Kafka's DynamicBrokerConfig.brokerConfigSynonyms), highest precedence
    /// first: the retention and roll groups; any other key is its own only synonym.</summary>
    public static IReadOnlyList<string> BrokerSynonyms(string name) => name switch
    {
        "log.retention.ms" or "log.retention.minutes" or "log.retention.hours" => ["log.retention.ms", "log.retention.minutes", "log.retention.hours"],
        "log.roll.ms" or "log.roll.hours" => ["log.roll.ms", "log.roll.hours"],
        _ => [name],
    };

    /// <summary>The keys of ours Kafka lets AlterConfigs change on a running broker, per broker or cluster-wide (its
    /// DynamicBrokerConfig.AllDynamicConfigs): the broker names of the topic configs (only the first of a group:
    /// log.retention.ms is dynamic, log.retention.hours and .minutes are not), the connection limits, the cleaner's
    /// backoff and producer.id.expiration.ms. Each takes effect at once here.</summary>
    private static readonly HashSet<string> Dynamic = new(
        TopicConfigs.All.Where(t => t.BrokerKey != null).Select(t => t.BrokerKey!)
            .Concat(["max.connections", "max.connections.per.ip", "max.connections.per.ip.overrides", "log.cleaner.backoff.ms", "producer.id.expiration.ms"]),
        StringComparer.Ordinal);

    /// <summary>Keys set at start that are not in <see cref="All"/> but decide where the broker listens and keeps data.</summary>
    private static readonly HashSet<string> StartupOnly = new(["listeners", "advertised.listeners", "log.dirs", "log.dir", "port", "host.name"], StringComparer.Ordinal);

    public static bool IsDynamic(string name) => Dynamic.Contains(name);

    /// <summary>A key this broker knows that a running broker cannot change (num.partitions, log.retention.hours, ...).
    /// Keys it does not know are neither: Kafka keeps unknown keys set dynamically as given, and so does this broker.</summary>
    public static bool IsStatic(string name) => !Dynamic.Contains(name) && (ByName.ContainsKey(name) || StartupOnly.Contains(name));

    /// <summary>Kafka treats password-typed configs as sensitive and never returns their values.</summary>
    public static bool IsSensitive(string name) =>
        name.Contains("password", StringComparison.OrdinalIgnoreCase) || name.Contains("secret", StringComparison.OrdinalIgnoreCase)
        || name.EndsWith(".jaas.config", StringComparison.Ordinal) || name.EndsWith("ssl.keystore.key", StringComparison.Ordinal);
}
