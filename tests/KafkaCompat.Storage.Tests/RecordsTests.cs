using System.Text;
using KafkaCompat.Records;
using Xunit;

namespace KafkaCompat.Storage.Tests;

public class RecordsTests
{
    [Fact]
    public void Crc32CMatchesKnownVectors()
    {
        // RFC 3720 / iSCSI check value for "123456789"
        Assert.Equal(0xE3069283u, Crc32C.Compute(Encoding.ASCII.GetBytes("123456789")));
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
        var data = new byte[10_007];
        new Random(1).NextBytes(data);
        Assert.Equal(~Crc32C.AppendSoftware(0xFFFFFFFF, data), Crc32C.Compute(data));
    }

    [Fact]
    public void Crc32CInThreeStreamsMatchesTheTableForEveryLengthAndSplit()
    {
        // lengths around the 3 x 256 and 3 x 8192 block boundaries, and appends split at odd places (the state carries)
        var rng = new Random(3);
        var data = new byte[3 * 8192 * 2 + 3 * 256 + 17];
        rng.NextBytes(data);
        int[] lengths = [0, 1, 7, 8, 767, 768, 769, 3 * 256 * 2 + 5, 24_575, 24_576, 24_577, 3 * 8192 + 3 * 256 + 9, data.Length];
        foreach (int n in lengths)
        {
            var span = data.AsSpan(0, n);
            uint expected = Crc32C.AppendSoftware(0xFFFFFFFF, span);
            Assert.Equal(expected, Crc32C.Append(0xFFFFFFFF, span));
            int split = rng.Next(0, n + 1);
            Assert.Equal(expected, Crc32C.Append(Crc32C.Append(0xFFFFFFFF, span[..split]), span[split..]));
        }
    }

    [Fact]
    public void BuiltBatchValidatesAndDecodes()
    {
        var b = new RecordBatchBuilder()
            .Add("k1"u8, "v1"u8, 1000, [new RecordHeader("h", "x"u8.ToArray())])
            .Add("k2"u8, default, 1005, nullValue: true)
            .Build(baseOffset: 42);
        Assert.Equal(BatchError.None, RecordBatch.Validate(b, out int size));
        Assert.Equal(b.Length, size);
        var records = RecordReader.ReadBatch(b);
        Assert.Equal(2, records.Count);
        Assert.Equal(42, records[0].Offset);
        Assert.Equal("k1", Encoding.UTF8.GetString(records[0].Key!.Value.Span));
        Assert.Equal("h", records[0].Headers[0].Key);
        Assert.Null(records[1].Value);
        Assert.Equal(1005, records[1].Timestamp);
    }

    [Fact]
    public void CorruptionIsDetected()
    {
        var b = new RecordBatchBuilder().Add("k"u8, "value"u8, 1).Build();
        var bad = (byte[])b.Clone();
        bad[^1] ^= 0x55;
        Assert.Equal(BatchError.BadCrc, RecordBatch.Validate(bad, out _));
        var magic = (byte[])b.Clone();
        magic[RecordBatch.MagicPos] = 1;
        Assert.Equal(BatchError.BadMagic, RecordBatch.Validate(magic, out _));
        Assert.Equal(BatchError.Truncated, RecordBatch.Validate(b.AsSpan(0, b.Length - 1), out _));
        // base offset and leader epoch sit outside the CRC
        var moved = (byte[])b.Clone();
        RecordBatch.SetBaseOffset(moved, 1234);
        RecordBatch.SetLeaderEpoch(moved, 7);
        Assert.Equal(BatchError.None, RecordBatch.Validate(moved, out _));
    }

    [Fact]
    public void LogAppendTimeRewritesTimeAndCrc()
    {
        var b = new RecordBatchBuilder().Add("k"u8, "v"u8, 5).Build();
        RecordBatch.SetLogAppendTime(b, 99999);
        Assert.Equal(BatchError.None, RecordBatch.Validate(b, out _));
        Assert.Equal(TimestampType.LogAppendTime, RecordBatch.TimestampType(b));
        Assert.Equal(99999, RecordReader.ReadBatch(b)[0].Timestamp);
    }
}
