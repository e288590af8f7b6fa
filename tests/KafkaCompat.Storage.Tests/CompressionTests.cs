using KafkaCompat.TestSupport;
using System.Text;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using KafkaCompat.Records;
using Xunit;

namespace KafkaCompat.Storage.Tests;

/// <summary>The four codecs: batches compressed by kafka-python, librdkafka and kafkajs (captured Produce frames)
/// decode record by record, and what we compress decodes back to the same records.</summary>
public class CompressionTests
{
    private static string FixtureDir => Path.Combine(RepoPaths.Root, "tests", "KafkaCompat.Protocol.Tests", "Fixtures");

    public static IEnumerable<object[]> CompressedProduceFixtures() =>
        Directory.GetFiles(FixtureDir, "*.*-Produce-v*-1.bin").Select(Path.GetFileName)
            // the labels named after a codec ("librdkafka.lz4"), not e.g. "librdkafka.idempotent"
            .Where(f => Enum.TryParse<CompressionType>(f!.Split('-')[^4].Split('.')[^1], ignoreCase: true, out _))
            .Order().Select(f => new object[] { f! });

    [Theory]
    [MemberData(nameof(CompressedProduceFixtures))]
    public void ClientBatchesDecode(string file)
    {
        string codec = file.Split('-')[^4].Split('.')[^1]; // "librdkafka.lz4-Produce-v7-1.bin" -> "lz4"
        var expected = Enum.Parse<CompressionType>(codec, ignoreCase: true);
        var bytes = File.ReadAllBytes(Path.Combine(FixtureDir, file));
        var r = new KafkaReader(bytes);
        RequestHeader.Read(ref r, 1);
        var req = ProduceRequest.Read(ref r, 7);
        var batch = req.TopicData[0].PartitionData[0].Records!.Value;
        Assert.Equal(BatchError.None, RecordBatch.Validate(batch.Span, out int size));
        Assert.Equal(expected, RecordBatch.Compression(batch.Span));
        Assert.True(RecordCompression.CanDecompress(expected));
        var records = RecordReader.ReadBatch(batch[..size]);
        Assert.Equal(RecordBatch.RecordCount(batch.Span), records.Count);
        Assert.All(records, rec => Assert.True(rec.Value is { Length: > 0 }));
    }

    [Theory]
    [InlineData(CompressionType.Gzip)]
    [InlineData(CompressionType.Snappy)]
    [InlineData(CompressionType.Lz4)]
    [InlineData(CompressionType.Zstd)]
    public void OurBatchesRoundTrip(CompressionType codec)
    {
        var rng = new Random(7);
        var b = new RecordBatchBuilder();
        var values = new List<string>();
        for (int i = 0; i < 3000; i++)
        {
            // big enough for several snappy (32 KiB) and lz4 (64 KiB) blocks, partly compressible
            string v = $"value-{i}-" + new string((char)('a' + rng.Next(26)), rng.Next(1, 120));
            values.Add(v);
            b.Add(Encoding.UTF8.GetBytes($"k{i % 50}"), Encoding.UTF8.GetBytes(v), 1_700_000_000_000 + i);
        }
        var batch = b.Build(baseOffset: 100, compression: codec);
        Assert.Equal(BatchError.None, RecordBatch.Validate(batch, out _));
        Assert.Equal(codec, RecordBatch.Compression(batch));
        var records = RecordReader.ReadBatch(batch);
        Assert.Equal(values, records.Select(x => Encoding.UTF8.GetString(x.Value!.Value.Span)));
        Assert.Equal(100 + 2999, records[^1].Offset);
        Assert.True(batch.Length < 3000 * 60, $"{codec} did not compress: {batch.Length} bytes");
    }

    [Theory]
    [InlineData(CompressionType.Gzip)]
    [InlineData(CompressionType.Snappy)]
    [InlineData(CompressionType.Lz4)]
    [InlineData(CompressionType.Zstd)]
    public void CorruptPayloadsAreRefusedNotCrashed(CompressionType codec)
    {
        var packed = RecordCompression.Compress(codec, Encoding.UTF8.GetBytes(new string('x', 10_000)));
        var corrupt = packed.ToArray();
        for (int i = corrupt.Length / 3; i < corrupt.Length; i += 7) corrupt[i] ^= 0x5A;
        Assert.ThrowsAny<Exception>(() => RecordCompression.Decompress(codec, corrupt));
        // a cut-off frame is an error too (gzip excepted: .NET's GZipStream returns what it decoded so far)
        if (codec != CompressionType.Gzip)
            Assert.ThrowsAny<Exception>(() => RecordCompression.Decompress(codec, packed.AsMemory(0, packed.Length / 2)));
    }
}

/// <summary>Hostile sizes inside a batch are refused before anything is allocated from them.</summary>
public class HostileBatchTests
{
    [Fact]
    public void ARecordCountTheBodyCannotHoldIsRefused()
    {
        var batch = new RecordBatchBuilder().Add("k"u8, "v"u8, 1000).Build();
        var s = batch.AsSpan();
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(s[RecordBatch.LastOffsetDeltaPos..], int.MaxValue - 1);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(s[RecordBatch.RecordCountPos..], int.MaxValue - 1);
        Assert.Throws<ProtocolException>(() => RecordReader.ReadBatch(batch));
    }

    [Fact]
    public void ASnappyBlockClaimingGigabytesIsRefused()
    {
        // an unframed snappy block whose preamble claims 4 GiB - 1
        byte[] body = [0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00];
        Assert.Throws<InvalidDataException>(() => RecordCompression.Decompress(CompressionType.Snappy, body));
    }
}
