using KafkaCompat.Records;
using Xunit;

namespace KafkaCompat.Storage.Tests;

/// <summary>The .timeindex: lookups by timestamp agree with a scan of every record, across segments, after a
/// clean reopen, and after the index is lost or damaged (it is rebuilt).</summary>
public sealed class TimeIndexTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kc-timeindex-" + Guid.NewGuid().ToString("N")[..10]);
    private static readonly LogConfig Small = new() { SegmentBytes = 64 * 1024, IndexIntervalBytes = 512, SegmentIndexBytes = 4096 };

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    /// <summary>(offset, timestamp) of every record; timestamps mostly rise, with some going backwards.</summary>
    private static List<(long Offset, long Ts)> Fill(PartitionLog log)
    {
        var rng = new Random(11);
        var all = new List<(long, long)>();
        long ts = 1_000_000;
        for (int b = 0; b < 400; b++)
        {
            var builder = new RecordBatchBuilder();
            int n = rng.Next(1, 6);
            var tss = new List<long>();
            for (int i = 0; i < n; i++)
            {
                ts += rng.Next(0, 50);
                long t = rng.Next(10) == 0 ? ts - rng.Next(0, 2000) : ts; // an occasional late record
                tss.Add(t);
                builder.Add(BitConverter.GetBytes(b), new byte[rng.Next(10, 300)], t);
            }
            long baseOffset = log.Append(builder.Build()).BaseOffset;
            for (int i = 0; i < n; i++) all.Add((baseOffset + i, tss[i]));
        }
        return all;
    }

    /// <summary>What ListOffsets by time answers: the first record (in offset order) with timestamp at or after target.</summary>
    private static long ByIndex(PartitionLog log, long target)
    {
        if (log.FindBatchByTimestamp(target) is not { } at) return -1;
        Assert.True(at.Segment.TryEnterRead());
        byte[] batch;
        try
        {
            var header = at.Segment.Span(at.Position, RecordBatch.HeaderSize);
            batch = at.Segment.Span(at.Position, RecordBatch.TotalSize(header)).ToArray();
        }
        finally
        {
            at.Segment.ExitRead();
        }
        foreach (var r in RecordReader.ReadBatch(batch))
            if (r.Timestamp >= target) return r.Offset;
        return -2;
    }

    private static void AgreesWithAScan(PartitionLog log, List<(long Offset, long Ts)> all)
    {
        var rng = new Random(5);
        long min = all.Min(x => x.Ts), max = all.Max(x => x.Ts);
        for (int i = 0; i < 500; i++)
        {
            long target = rng.NextInt64(min - 100, max + 100);
            long expected = all.FirstOrDefault(x => x.Ts >= target, (-1, 0)).Offset;
            Assert.Equal(expected, ByIndex(log, target));
        }
    }

    [Fact]
    public void LookupsMatchAScanAcrossSegmentsAndAfterReopen()
    {
        List<(long, long)> all;
        using (var log = PartitionLog.Open(_dir, "t", 0, Small, clean: true))
        {
            all = Fill(log);
            Assert.True(log.Segments.Count > 3, $"only {log.Segments.Count} segments");
            Assert.All(log.Segments, s => Assert.True(s.TimeIndex.Count > 0));
            AgreesWithAScan(log, all);
        }
        using (var log = PartitionLog.Open(_dir, "t", 0, Small, clean: true))
            AgreesWithAScan(log, all);
    }

    [Fact]
    public void MissingOrDamagedIndexesAreRebuilt()
    {
        List<(long, long)> all;
        using (var log = PartitionLog.Open(_dir, "t", 0, Small, clean: true)) all = Fill(log);
        var dir = Directory.GetDirectories(_dir).Single();
        var files = Directory.GetFiles(dir, "*.timeindex").Order().ToList();
        File.Delete(files[0]);
        // entries that go backwards in time
        var bytes = File.ReadAllBytes(files[1]);
        Array.Fill(bytes, (byte)0x7F, 0, 8); // the first entry's timestamp now exceeds the next ones
        File.WriteAllBytes(files[1], bytes);
        // and the offset index: one missing, one pointing past the end of its log
        var indexes = Directory.GetFiles(dir, "*.index").Order().ToList();
        File.Delete(indexes[2]);
        var idx = File.ReadAllBytes(indexes[3]);
        Array.Fill(idx, (byte)0x7F, 0, 16);
        File.WriteAllBytes(indexes[3], idx);
        var messages = new List<string>();
        using (var log = PartitionLog.Open(_dir, "t", 0, Small, clean: true, messages.Add))
        {
            Assert.Contains(messages, m => m.Contains("rebuilding", StringComparison.Ordinal));
            AgreesWithAScan(log, all);
            Assert.True(File.Exists(files[0]));
            Assert.True(File.Exists(indexes[2]));
            Assert.True(messages.Count(m => m.Contains("rebuilding", StringComparison.Ordinal)) >= 4, string.Join("\n", messages) + "\nindexes: " + string.Join(",", indexes.Select(Path.GetFileName)) + " lens " + string.Join(",", indexes.Select(f => File.Exists(f) ? new FileInfo(f).Length : -1)));
            // reads by offset go through the rebuilt offset indexes
            long next = 0;
            foreach (var (offset, _) in all)
            {
                if (offset < next) continue;
                var r = log.Read(offset, 1, minOneBatch: true);
                using var lease = r.Lease;
                Assert.True(RecordBatch.BaseOffset(r.Records.Span) <= offset && RecordBatch.LastOffset(r.Records.Span) >= offset);
                next = RecordBatch.LastOffset(r.Records.Span) + 1;
            }
        }
    }
}
