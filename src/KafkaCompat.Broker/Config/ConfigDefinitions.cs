using System.Globalization;

namespace KafkaCompat.Broker.Config;

public enum ConfigType { String, Int, Long, Double, Boolean, List }

/// <summary>A Kafka topic config key with its broker-level synonym, default and validation.</summary>
public sealed record TopicConfigDef(string Name, string? BrokerKey, ConfigType Type, string Default, Func<string, string?>? Validate = null)
{
    /// <summary>Null when <paramref name="value"/> is acceptable, else the reason.</summary>
    public string? Check(string? value)
    {
        if (value is null) return $"Null value not supported for topic configs: {Name}";
        switch (Type)
        {
            case ConfigType.Int when !int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _):
                return $"Invalid value {value} for configuration {Name}: Not a number of type INT";
            case ConfigType.Long when !long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _):
                return $"Invalid value {value} for configuration {Name}: Not a number of type LONG";
            case ConfigType.Double when !double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _):
                return $"Invalid value {value} for configuration {Name}: Not a number of type DOUBLE";
            case ConfigType.Boolean when !bool.TryParse(value, out _):
                return $"Invalid value {value} for configuration {Name}: Expected value to be either true or false";
        }
        return Validate?.Invoke(value);
    }
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
        new("cleanup.policy", "log.cleanup.policy", ConfigType.List, "delete", CleanupPolicy),
        new("compression.type", "compression.type", ConfigType.String, "producer",
            OneOf("compression.type", "uncompressed", "zstd", "lz4", "snappy", "gzip", "producer")),
        new("delete.retention.ms", "log.cleaner.delete.retention.ms", ConfigType.Long, "86400000", AtLeast(0, "delete.retention.ms")),
        new("file.delete.delay.ms", "log.segment.delete.delay.ms", ConfigType.Long, "60000", AtLeast(0, "file.delete.delay.ms")),
        new("flush.messages", "log.flush.interval.messages", ConfigType.Long, "9223372036854775807", AtLeast(1, "flush.messages")),
        new("flush.ms", "log.flush.interval.ms", ConfigType.Long, "9223372036854775807", AtLeast(0, "flush.ms")),
        new("index.interval.bytes", "log.index.interval.bytes", ConfigType.Int, "4096", AtLeast(0, "index.interval.bytes")),
        new("max.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms", ConfigType.Long, "9223372036854775807", AtLeast(1, "max.compaction.lag.ms")),
        new("max.message.bytes", "message.max.bytes", ConfigType.Int, "1048588", AtLeast(0, "max.message.bytes")),
        new("message.timestamp.type", "log.message.timestamp.type", ConfigType.String, "CreateTime",
            OneOf("message.timestamp.type", "CreateTime", "LogAppendTime")),
        new("message.timestamp.before.max.ms", "log.message.timestamp.before.max.ms", ConfigType.Long, "9223372036854775807", AtLeast(0, "message.timestamp.before.max.ms")),
        new("message.timestamp.after.max.ms", "log.message.timestamp.after.max.ms", ConfigType.Long, "3600000", AtLeast(0, "message.timestamp.after.max.ms")),
        new("min.cleanable.dirty.ratio", "log.cleaner.min.cleanable.ratio", ConfigType.Double, "0.5", Ratio),
        new("min.compaction.lag.ms", "log.cleaner.min.compaction.lag.ms", ConfigType.Long, "0", AtLeast(0, "min.compaction.lag.ms")),
        new("min.insync.replicas", "min.insync.replicas", ConfigType.Int, "1", AtLeast(1, "min.insync.replicas")),
        new("preallocate", "log.preallocate", ConfigType.Boolean, "false"),
        new("retention.bytes", "log.retention.bytes", ConfigType.Long, "-1"),
        new("retention.ms", "log.retention.ms", ConfigType.Long, "604800000", AtLeast(-1, "retention.ms")),
        new("segment.bytes", "log.segment.bytes", ConfigType.Int, "1073741824", AtLeast(14, "segment.bytes")),
        new("segment.index.bytes", "log.index.size.max.bytes", ConfigType.Int, "10485760", AtLeast(4, "segment.index.bytes")),
        new("segment.jitter.ms", "log.roll.jitter.ms", ConfigType.Long, "0", AtLeast(0, "segment.jitter.ms")),
        new("segment.ms", "log.roll.ms", ConfigType.Long, "604800000", AtLeast(1, "segment.ms")),
        new("unclean.leader.election.enable", "unclean.leader.election.enable", ConfigType.Boolean, "false"),
    ];

    private static readonly Dictionary<string, TopicConfigDef> ByName = All.ToDictionary(d => d.Name, StringComparer.Ordinal);

    public static TopicConfigDef? Find(string name) => ByName.GetValueOrDefault(name);

    /// <summary>Null when all configs are known and valid, else a message naming the first bad one.</summary>
    public static string? Validate(IEnumerable<KeyValuePair<string, string?>> configs)
    {
        foreach (var (k, v) in configs)
        {
            var def = Find(k);
            if (def is null) return $"Unknown topic config name: {k}";
            if (def.Check(v) is { } err) return err;
        }
        return null;
    }
}
