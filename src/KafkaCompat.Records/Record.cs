using System.Buffers;
using System.Buffers.Binary;
using KafkaCompat.Protocol;

namespace KafkaCompat.Records;

public readonly record struct RecordHeader(string Key, ReadOnlyMemory<byte>? Value);

/// <summary>One record of a batch, with absolute offset and timestamp.</summary>
public sealed record Record(long Offset, long Timestamp, ReadOnlyMemory<byte>? Key, ReadOnlyMemory<byte>? Value, IReadOnlyList<RecordHeader> Headers);

public static class RecordReader
{
    /// <summary>
    /// Decodes the records of one batch. Only uncompressed and gzip batches are decoded here;
    /// other codecs throw <see cref="NotSupportedException"/>.
    /// </summary>
    public static List<Record> ReadBatch(ReadOnlyMemory<byte> batch)
    {
        var span = batch.Span;
        long baseOffset = RecordBatch.BaseOffset(span);
        long baseTs = RecordBatch.BaseTimestamp(span);
        bool logAppend = RecordBatch.TimestampType(span) == TimestampType.LogAppendTime;
        long maxTs = RecordBatch.MaxTimestamp(span);
        int count = RecordBatch.RecordCount(span);
        int size = RecordBatch.TotalSize(span);
        ReadOnlyMemory<byte> body = batch[RecordBatch.HeaderSize..size];
        body = RecordCompression.Decompress(RecordBatch.Compression(span), body);
        var reader = new KafkaReader(body);
        // a record takes at least 7 bytes: a count the body cannot hold is refused before anything is allocated for it
        if (count < 0 || count > body.Length / 7 + 1) throw new ProtocolException($"record count {count} does not fit in {body.Length} bytes");
        var result = new List<Record>(count);
        for (int i = 0; i < count; i++)
        {
            int len = reader.ReadVarInt();
            int start = reader.Position;
            reader.ReadInt8(); // attributes
            long tsDelta = reader.ReadVarLong();
            int offDelta = reader.ReadVarInt();
            var key = ReadVarBytes(ref reader);
            var value = ReadVarBytes(ref reader);
            int nh = reader.ReadVarInt();
            if (nh < 0 || nh > reader.Remaining) throw new ProtocolException("bad header count");
            var headers = new List<RecordHeader>(nh);
            for (int h = 0; h < nh; h++)
            {
                var hk = ReadVarBytes(ref reader) ?? throw new ProtocolException("null header key");
                headers.Add(new RecordHeader(System.Text.Encoding.UTF8.GetString(hk.Span), ReadVarBytes(ref reader)));
            }
            if (reader.Position - start != len) throw new ProtocolException("record length mismatch");
            result.Add(new Record(baseOffset + offDelta, logAppend ? maxTs : baseTs + tsDelta, key, value, headers));
        }
        return result;
    }

    private static ReadOnlyMemory<byte>? ReadVarBytes(ref KafkaReader r)
    {
        int len = r.ReadVarInt();
        if (len < 0) return null;
        return r.ReadRaw(len);
    }
}

/// <summary>Builds an uncompressed RecordBatch v2 (used by tools, tests and benchmarks).</summary>
public sealed class RecordBatchBuilder
{
    private readonly KafkaWriter _records = new();
    private long _baseTs = -1, _maxTs = -1;
    private int _count;
    private int _lastOffsetDelta = -1;

    public long ProducerId { get; init; } = -1;
    public short ProducerEpoch { get; init; } = -1;
    public int BaseSequence { get; init; } = -1;
    /// <summary>The transactional attribute (0x10): the batch belongs to a transaction.</summary>
    public bool Transactional { get; init; }
    /// <summary>The control attribute (0x20): the batch holds a transaction marker.</summary>
    public bool Control { get; init; }

    public int Count => _count;

    /// <param name="offsetDelta">the record's offset relative to the batch base (default: its position); compaction
    /// keeps the original offsets, so its batches have gaps</param>
    public RecordBatchBuilder Add(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long timestamp, IReadOnlyList<RecordHeader>? headers = null,
        bool nullKey = false, bool nullValue = false, int? offsetDelta = null)
    {
        int delta = offsetDelta ?? (_lastOffsetDelta + 1);
        if (delta <= _lastOffsetDelta) throw new ArgumentException("offset deltas must increase", nameof(offsetDelta));
        _lastOffsetDelta = delta;
        if (_count == 0) _baseTs = timestamp;
        _maxTs = Math.Max(_maxTs, timestamp);
        using var body = new KafkaWriter();
        body.WriteInt8(0);
        body.WriteVarLong(timestamp - _baseTs);
        body.WriteVarInt(delta);
        WriteVarBytes(body, key, nullKey);
        WriteVarBytes(body, value, nullValue);
        body.WriteVarInt(headers?.Count ?? 0);
        if (headers != null)
            foreach (var h in headers)
            {
                WriteVarBytes(body, System.Text.Encoding.UTF8.GetBytes(h.Key), false);
                WriteVarBytes(body, h.Value is { } v ? v.Span : default, h.Value is null);
            }
        _records.WriteVarInt(body.Length);
        body.CopyTo(_records);
        _count++;
        return this;
    }

    private static void WriteVarBytes(KafkaWriter w, ReadOnlySpan<byte> b, bool isNull)
    {
        if (isNull) { w.WriteVarInt(-1); return; }
        w.WriteVarInt(b.Length);
        w.Write(b);
    }

    /// <summary>The batch, with its records compressed by <paramref name="compression"/>.</summary>
    public byte[] Build(long baseOffset = 0, CompressionType compression = CompressionType.None)
    {
        var records = compression == CompressionType.None ? _records.ToArray() : RecordCompression.Compress(compression, _records.ToArray());
        var batch = new byte[RecordBatch.HeaderSize + records.Length];
        var s = batch.AsSpan();
        BinaryPrimitives.WriteInt64BigEndian(s, baseOffset);
        BinaryPrimitives.WriteInt32BigEndian(s[RecordBatch.LengthPos..], batch.Length - RecordBatch.LogOverhead);
        BinaryPrimitives.WriteInt32BigEndian(s[RecordBatch.LeaderEpochPos..], -1);
        s[RecordBatch.MagicPos] = 2;
        BinaryPrimitives.WriteInt16BigEndian(s[RecordBatch.AttributesPos..], (short)((int)compression | (Transactional ? 0x10 : 0) | (Control ? 0x20 : 0)));
        BinaryPrimitives.WriteInt32BigEndian(s[RecordBatch.LastOffsetDeltaPos..], Math.Max(_lastOffsetDelta, 0));
        BinaryPrimitives.WriteInt64BigEndian(s[RecordBatch.BaseTimestampPos..], _baseTs);
        BinaryPrimitives.WriteInt64BigEndian(s[RecordBatch.MaxTimestampPos..], _maxTs);
        BinaryPrimitives.WriteInt64BigEndian(s[RecordBatch.ProducerIdPos..], ProducerId);
        BinaryPrimitives.WriteInt16BigEndian(s[RecordBatch.ProducerEpochPos..], ProducerEpoch);
        BinaryPrimitives.WriteInt32BigEndian(s[RecordBatch.BaseSequencePos..], BaseSequence);
        BinaryPrimitives.WriteInt32BigEndian(s[RecordBatch.RecordCountPos..], _count);
        records.CopyTo(s[RecordBatch.HeaderSize..]);
        BinaryPrimitives.WriteUInt32BigEndian(s[RecordBatch.CrcPos..], RecordBatch.ComputeCrc(s));
        _records.Dispose();
        return batch;
    }
}
