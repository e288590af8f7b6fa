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
}
