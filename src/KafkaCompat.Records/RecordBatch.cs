using System.Buffers.Binary;

namespace KafkaCompat.Records;

public enum CompressionType { None = 0, Gzip = 1, Snappy = 2, Lz4 = 3, Zstd = 4 }

public enum TimestampType { CreateTime = 0, LogAppendTime = 1 }

/// <summary>Why a batch was refused.</summary>
public enum BatchError { None, TooShort, BadLength, BadMagic, BadCrc, BadCount, Truncated, MissingKey, Undecodable }

/// <summary>
/// Offsets and accessors of the RecordBatch v2 header. All integers are big-endian.
/// <code>
/// baseOffset:int64 batchLength:int32 partitionLeaderEpoch:int32 magic:int8 crc:uint32 attributes:int16
/// lastOffsetDelta:int32 baseTimestamp:int64 maxTimestamp:int64 producerId:int64 producerEpoch:int16
/// baseSequence:int32 recordCount:int32 records...
/// </code>
/// The CRC covers attributes to the end of the batch, so baseOffset and partitionLeaderEpoch can be rewritten.
/// </summary>
public static class RecordBatch
{
    public const int BaseOffsetPos = 0;
    public const int LengthPos = 8;
    public const int LeaderEpochPos = 12;
    public const int MagicPos = 16;
    public const int CrcPos = 17;
    public const int AttributesPos = 21;
    public const int LastOffsetDeltaPos = 23;
    public const int BaseTimestampPos = 27;
    public const int MaxTimestampPos = 35;
    public const int ProducerIdPos = 43;
    public const int ProducerEpochPos = 51;
    public const int BaseSequencePos = 53;
    public const int RecordCountPos = 57;
    public const int HeaderSize = 61;
    /// <summary>Bytes before batchLength starts counting (baseOffset + batchLength).</summary>
    public const int LogOverhead = 12;

    public static long BaseOffset(ReadOnlySpan<byte> b) => BinaryPrimitives.ReadInt64BigEndian(b);
    public static int BatchLength(ReadOnlySpan<byte> b) => BinaryPrimitives.ReadInt32BigEndian(b[LengthPos..]);
    public static int TotalSize(ReadOnlySpan<byte> b) => LogOverhead + BatchLength(b);
    public static sbyte Magic(ReadOnlySpan<byte> b) => (sbyte)b[MagicPos];
    public static uint Crc(ReadOnlySpan<byte> b) => BinaryPrimitives.ReadUInt32BigEndian(b[CrcPos..]);
    public static short Attributes(ReadOnlySpan<byte> b) => BinaryPrimitives.ReadInt16BigEndian(b[AttributesPos..]);
    public static CompressionType Compression(ReadOnlySpan<byte> b) => (CompressionType)(Attributes(b) & 0x7);
    public static TimestampType TimestampType(ReadOnlySpan<byte> b) => (Attributes(b) & 0x8) != 0 ? Records.TimestampType.LogAppendTime : Records.TimestampType.CreateTime;
    public static bool IsTransactional(ReadOnlySpan<byte> b) => (Attributes(b) & 0x10) != 0;
    public static bool IsControl(ReadOnlySpan<byte> b) => (Attributes(b) & 0x20) != 0;
    public static int LastOffsetDelta(ReadOnlySpan<byte> b) => BinaryPrimitives.ReadInt32BigEndian(b[LastOffsetDeltaPos..]);
    public static long LastOffset(ReadOnlySpan<byte> b) => BaseOffset(b) + LastOffsetDelta(b);
    public static long BaseTimestamp(ReadOnlySpan<byte> b) => BinaryPrimitives.ReadInt64BigEndian(b[BaseTimestampPos..]);
    public static long MaxTimestamp(ReadOnlySpan<byte> b) => BinaryPrimitives.ReadInt64BigEndian(b[MaxTimestampPos..]);
    public static long ProducerId(ReadOnlySpan<byte> b) => BinaryPrimitives.ReadInt64BigEndian(b[ProducerIdPos..]);
    public static short ProducerEpoch(ReadOnlySpan<byte> b) => BinaryPrimitives.ReadInt16BigEndian(b[ProducerEpochPos..]);
    public static int BaseSequence(ReadOnlySpan<byte> b) => BinaryPrimitives.ReadInt32BigEndian(b[BaseSequencePos..]);
    public static int RecordCount(ReadOnlySpan<byte> b) => BinaryPrimitives.ReadInt32BigEndian(b[RecordCountPos..]);

    public static void SetBaseOffset(Span<byte> b, long offset) => BinaryPrimitives.WriteInt64BigEndian(b, offset);
    public static void SetLeaderEpoch(Span<byte> b, int epoch) => BinaryPrimitives.WriteInt32BigEndian(b[LeaderEpochPos..], epoch);
    public static int LeaderEpoch(ReadOnlySpan<byte> b) => BinaryPrimitives.ReadInt32BigEndian(b[LeaderEpochPos..]);

    public static uint ComputeCrc(ReadOnlySpan<byte> batch) => Crc32C.Compute(batch[AttributesPos..]);

    /// <summary>Marks the batch as LogAppendTime with the given time and rewrites its CRC.</summary>
    public static void SetLogAppendTime(Span<byte> batch, long timestampMs)
    {
        short attrs = (short)(Attributes(batch) | 0x8);
        BinaryPrimitives.WriteInt16BigEndian(batch[AttributesPos..], attrs);
        BinaryPrimitives.WriteInt64BigEndian(batch[MaxTimestampPos..], timestampMs);
        BinaryPrimitives.WriteUInt32BigEndian(batch[CrcPos..], ComputeCrc(batch));
    }

    /// <summary>
    /// Checks the batch at the start of <paramref name="data"/>: header, size, magic 2, record count, CRC.
    /// Returns the batch size in <paramref name="size"/>.
    /// </summary>
    public static BatchError Validate(ReadOnlySpan<byte> data, out int size, bool checkCrc = true)
    {
        size = 0;
        if (data.Length < HeaderSize) return data.Length < LogOverhead ? BatchError.Truncated : BatchError.TooShort;
        int len = BatchLength(data);
        if (len < HeaderSize - LogOverhead) return BatchError.BadLength;
        if ((long)len + LogOverhead > data.Length) return BatchError.Truncated;
        size = len + LogOverhead;
        var batch = data[..size];
        if (Magic(batch) != 2) return BatchError.BadMagic;
        int lastDelta = LastOffsetDelta(batch);
        int count = RecordCount(batch);
        if (lastDelta < 0 || count < 0 || count > lastDelta + 1) return BatchError.BadCount;
        if (checkCrc && ComputeCrc(batch) != Crc(batch)) return BatchError.BadCrc;
        return BatchError.None;
    }
}
