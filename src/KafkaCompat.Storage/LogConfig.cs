using KafkaCompat.Records;

namespace KafkaCompat.Storage;

/// <summary>The per-topic settings the log engine acts on (Kafka topic config keys in comments).</summary>
public sealed record LogConfig
{
    /// <summary>segment.bytes</summary>
    public int SegmentBytes { get; init; } = 1 << 30;
    /// <summary>segment.index.bytes</summary>
    public int SegmentIndexBytes { get; init; } = 10 * 1024 * 1024;
    /// <summary>index.interval.bytes</summary>
    public int IndexIntervalBytes { get; init; } = 4096;
    /// <summary>max.message.bytes</summary>
    public int MaxMessageBytes { get; init; } = 1048588;
    /// <summary>message.timestamp.type</summary>
    public TimestampType TimestampType { get; init; } = TimestampType.CreateTime;
    /// <summary>retention.ms (-1: keep forever)</summary>
    public long RetentionMs { get; init; } = 604_800_000;
    /// <summary>retention.bytes (-1: no size limit)</summary>
    public long RetentionBytes { get; init; } = -1;
    /// <summary>segment.ms: roll the active segment once its first batch is this old</summary>
    public long SegmentMs { get; init; } = 604_800_000;
    /// <summary>cleanup.policy contains "delete"</summary>
    public bool DeletePolicy { get; init; } = true;
    /// <summary>cleanup.policy contains "compact"</summary>
    public bool CompactPolicy { get; init; }
    /// <summary>delete.retention.ms: how long a tombstone survives compaction</summary>
    public long DeleteRetentionMs { get; init; } = 86_400_000;
    /// <summary>min.compaction.lag.ms: records younger than this are not compacted</summary>
    public long MinCompactionLagMs { get; init; }
    /// <summary>min.cleanable.dirty.ratio: compact once this share of the cleanable log is new since the last pass</summary>
    public double MinCleanableDirtyRatio { get; init; } = 0.5;
    /// <summary>flush.messages: fsync after this many records (1: every acknowledged write is on disk first)</summary>
    public long FlushMessages { get; init; } = long.MaxValue;
    /// <summary>flush.ms: fsync when the oldest unflushed write is this old (checked by the flush scheduler)</summary>
    public long FlushMs { get; init; } = long.MaxValue;
    /// <summary>file.delete.delay.ms: how long a removed segment's files stay (renamed *.deleted) for readers still on them</summary>
    public long FileDeleteDelayMs { get; init; } = 60_000;
    /// <summary>min.insync.replicas: the in-sync replicas an acks=all write needs (checked by the broker's Produce)</summary>
    public int MinInSyncReplicas { get; init; } = 1;
}
