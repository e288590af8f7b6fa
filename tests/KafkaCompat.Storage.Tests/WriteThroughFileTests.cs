using KafkaCompat.Records;
using KafkaCompat.Storage;
using Xunit;

namespace KafkaCompat.Storage.Tests;

/// <summary>Appends are written through the file (pwritev) into the page cache the maps read: the bytes are the ones
/// readers see at once and after a reopen, the maps do not take the written pages into the process, and the
/// descriptors kept for writing stay within the writer cache's limit however many partitions are written.</summary>
[Collection(WriterCacheCollection.Name)]
public sealed class WriteThroughFileTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kc-pwrite-" + Guid.NewGuid().ToString("N")[..10]);

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private int DescriptorsIntoOurDir() =>
        new DirectoryInfo("/proc/self/fd").EnumerateFileSystemInfos().Count(f =>
        {
            try { return f.LinkTarget?.StartsWith(_dir, StringComparison.Ordinal) == true; }
            catch (IOException) { return false; } // closed meanwhile
        });

    private static byte[] Batch(int i, int size)
    {
        var b = new RecordBatchBuilder();
        var value = new byte[size];
        new Random(i).NextBytes(value);
        b.Add(BitConverter.GetBytes(i), value, 1_000 + i);
        return b.Build();
    }

    [Fact]
    public void WritesAreReadBackThroughTheMapsAndAfterAReopen()
    {
        var cfg = new LogConfig { SegmentBytes = 1 << 20 };
        var written = new List<byte[]>();
        using (var log = PartitionLog.Open(_dir, "t", 0, cfg, clean: true))
        {
            for (int i = 0; i < 60; i++) // 60 x 50 KB over three segments; sizes not page-aligned
            {
                var batch = Batch(i, 50_000 + i);
                written.Add(batch);
                Assert.Equal(i, log.Append(batch).BaseOffset);
                var r = log.Read(i, 1, minOneBatch: true);
                using var lease = r.Lease;
                var rec = RecordReader.ReadBatch(r.Records.ToArray()).Single();
                Assert.Equal(i, rec.Offset);
                Assert.Equal(RecordReader.ReadBatch(batch).Single().Value!.Value.ToArray(), rec.Value!.Value.ToArray());
            }
            Assert.True(log.Segments.Count >= 3);
        }
        using var reopened = PartitionLog.Open(_dir, "t", 0, cfg, clean: false);
        Assert.Equal(60, reopened.HighWatermark);
        for (int i = 0; i < 60; i++)
        {
            var r = reopened.Read(i, 1, minOneBatch: true);
            using var lease = r.Lease;
            var stored = r.Records.ToArray();
            Assert.Equal(i, RecordBatch.BaseOffset(stored));
            Assert.Equal(RecordBatch.Crc(written[i]), RecordBatch.Crc(stored)); // the client's CRC: the body is as sent
            Assert.Equal(written[i][RecordBatch.HeaderSize..], stored[RecordBatch.HeaderSize..]);
        }
    }

    [Fact]
    public void LogAppendTimeIsWrittenWithItsNewCrc()
    {
        var cfg = new LogConfig { TimestampType = TimestampType.LogAppendTime };
        using var log = PartitionLog.Open(_dir, "lat", 0, cfg, clean: true);
        var result = log.Append(Batch(1, 3_000));
        var r = log.Read(0, 1, minOneBatch: true);
        using var lease = r.Lease;
        Assert.Equal(BatchError.None, RecordBatch.Validate(r.Records.Span, out _));
        Assert.Equal(result.LogAppendTime, RecordBatch.MaxTimestamp(r.Records.Span));
    }

    [Fact]
    public void TheDescriptorsKeptForWritingStayWithinTheLimit()
    {
        int limit = WriterCache.Limit;
        WriterCache.Limit = 8;
        var logs = new List<PartitionLog>();
        try
        {
            for (int p = 0; p < 40; p++)
            {
                var log = PartitionLog.Open(_dir, "many", p, new LogConfig(), clean: true);
                logs.Add(log);
                log.Append(Batch(p, 100));
                Assert.True(DescriptorsIntoOurDir() <= 8, $"{DescriptorsIntoOurDir()} descriptors open after {p + 1} partitions");
            }
            // every partition still appends (its writer is opened again) and reads back
            for (int p = 0; p < 40; p++)
            {
                Assert.Equal(1, logs[p].Append(Batch(100 + p, 100)).BaseOffset);
                var r = logs[p].Read(1, 1, minOneBatch: true);
                using var lease = r.Lease;
                Assert.Equal(RecordBatch.Crc(Batch(100 + p, 100)), RecordBatch.Crc(r.Records.Span));
            }
            Assert.True(DescriptorsIntoOurDir() <= 8);
        }
        finally
        {
            WriterCache.Limit = limit;
            foreach (var l in logs) l.Dispose();
        }
        Assert.Equal(0, DescriptorsIntoOurDir()); // closed with their logs
    }
}

/// <summary>Tests that change the process-wide writer cache's limit run alone: other test classes write files too.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class WriterCacheCollection
{
    public const string Name = "writer cache";
}
