using KafkaCompat.Records;
using Xunit;

namespace KafkaCompat.Storage.Tests;

/// <summary>retention.ms, retention.bytes, segment.ms, DeleteRecords and the log start offset.</summary>
public sealed class RetentionTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kc-retention-" + Guid.NewGuid().ToString("N")[..10]);
    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private static byte[] Batch(long ts, int records = 10, int valueSize = 100)
    {
        var b = new RecordBatchBuilder();
        for (int i = 0; i < records; i++) b.Add(BitConverter.GetBytes(i), new byte[valueSize], ts);
        return b.Build();
    }

    private static LogConfig Config(long retentionMs = -1, long retentionBytes = -1, long segmentMs = 604_800_000, long deleteDelayMs = 60_000) => new()
    {
        SegmentBytes = 4096, IndexIntervalBytes = 1024, SegmentIndexBytes = 4096,
        RetentionMs = retentionMs, RetentionBytes = retentionBytes, SegmentMs = segmentMs, FileDeleteDelayMs = deleteDelayMs,
    };

    private string PartitionDir => Path.Combine(_dir, "t-0");

    [Fact]
    public void OldSegmentsGoByTimeAndTheLogStartMovesUp()
    {
        using var log = PartitionLog.Open(_dir, "t", 0, Config(retentionMs: 3_600_000), clean: true);
        for (int i = 0; i < 20; i++) log.Append(Batch(Now - 7_200_000)); // two hours old
        long oldEnd = log.HighWatermark;
        for (int i = 0; i < 10; i++) log.Append(Batch(Now));
        int before = log.Segments.Count;
        int deleted = log.ApplyRetention(Now);
        Assert.True(deleted > 0);
        Assert.Equal(before - deleted, log.Segments.Count);
        // what is left starts at or before the first fresh record and nothing old remains readable
        Assert.InRange(log.LogStartOffset, oldEnd - 20, oldEnd);
        Assert.Equal(log.Segments[0].BaseOffset, log.LogStartOffset);
        Assert.All(log.Segments.Take(log.Segments.Count - 1), s => Assert.True(s.MaxTimestamp >= Now - 3_600_000));
        Assert.Throws<OffsetOutOfRangeException>(() => log.Read(0, 1000, true));
        Assert.NotEmpty(Directory.GetFiles(PartitionDir, "*.log.deleted"));
        Assert.Equal(0, log.ApplyRetention(Now));
    }

    [Fact]
    public void RetentionBytesKeepsTheNewestSegmentsWithinTheLimit()
    {
        using var log = PartitionLog.Open(_dir, "t", 0, Config(retentionBytes: 8192), clean: true);
        for (int i = 0; i < 60; i++) log.Append(Batch(Now));
        Assert.True(log.SizeInBytes > 8192);
        Assert.True(log.ApplyRetention(Now) > 0);
        // Kafka's rule: only whole segments that fit in the excess go, so at least retention.bytes stay,
        // and dropping the oldest remaining segment too would go below the limit
        Assert.True(log.SizeInBytes >= 8192, $"{log.SizeInBytes} bytes left");
        Assert.True(log.SizeInBytes - log.Segments[0].Size < 8192, $"{log.SizeInBytes} bytes left");
        Assert.Equal(log.Segments[0].BaseOffset, log.LogStartOffset);
    }

    [Fact]
    public void WhenEverythingExpiresAnEmptySegmentContinuesAtTheLogEnd()
    {
        using (var log = PartitionLog.Open(_dir, "t", 0, Config(retentionMs: 1000), clean: true))
        {
            for (int i = 0; i < 5; i++) log.Append(Batch(Now - 60_000));
            long end = log.HighWatermark;
            Assert.True(log.ApplyRetention(Now) > 0);
            Assert.Equal(end, log.LogStartOffset);
            Assert.Equal(end, log.HighWatermark);
            Assert.Single(log.Segments);
            Assert.Equal(end, log.Append(Batch(Now)).BaseOffset);
        }
        // reopening removes the *.deleted files and keeps the offsets
        using var again = PartitionLog.Open(_dir, "t", 0, Config(retentionMs: 1000), clean: true);
        Assert.Empty(Directory.GetFiles(PartitionDir, "*.deleted"));
        Assert.Equal(50, again.LogStartOffset);
        Assert.Equal(60, again.HighWatermark);
    }

    [Fact]
    public async Task RemovedSegmentFilesAreDeletedAfterTheDelay()
    {
        using var log = PartitionLog.Open(_dir, "t", 0, Config(retentionMs: 1000, deleteDelayMs: 100), clean: true);
        for (int i = 0; i < 10; i++) log.Append(Batch(Now - 60_000));
        log.Append(Batch(Now));
        Assert.True(log.ApplyRetention(Now) > 0);
        var until = DateTime.UtcNow.AddSeconds(10);
        while (Directory.GetFiles(PartitionDir, "*.deleted").Length > 0 && DateTime.UtcNow < until) await Task.Delay(20);
        Assert.Empty(Directory.GetFiles(PartitionDir, "*.deleted"));
    }

    [Fact]
    public void SegmentMsRollsTheActiveSegment()
    {
        using var log = PartitionLog.Open(_dir, "t", 0, Config(segmentMs: 1000) with { SegmentBytes = 1 << 20 }, clean: true);
        log.Append(Batch(Now - 5000, records: 1));
        log.Append(Batch(Now, records: 1));
        Assert.Equal(2, log.Segments.Count);
        log.Append(Batch(Now, records: 1));
        Assert.Equal(2, log.Segments.Count);
    }

    [Fact]
    public void DeleteRecordsMovesTheStartInsideASegmentAndTheCheckpointKeepsIt()
    {
        var mgr = new LogManager(_dir, _ => Config());
        var t = mgr.Create("t", 1, new())!;
        var log = t.Partitions[0];
        for (int i = 0; i < 30; i++) log.Append(Batch(Now));
        long mid = log.Segments[2].BaseOffset + 3;
        Assert.Equal(mid, log.DeleteRecordsBefore(mid));
        Assert.Equal(mid, log.LogStartOffset);
        Assert.Equal(log.Segments[0].BaseOffset, mid - 3); // segments wholly below went, the one holding mid stays
        Assert.Throws<OffsetOutOfRangeException>(() => log.Read(mid - 1, 1000, true));
        Assert.False(log.Read(mid, 1000, true).Records.IsEmpty);
        Assert.Throws<OffsetOutOfRangeException>(() => log.DeleteRecordsBefore(log.HighWatermark + 1));
        Assert.Equal(mid, log.DeleteRecordsBefore(5)); // never moves back
        mgr.CheckpointLogStartOffsets();
        mgr.Dispose();

        using (var reopened = new LogManager(_dir, _ => Config()))
            Assert.Equal(mid, reopened.Get("t")!.Partitions[0].LogStartOffset);

        // a damaged checkpoint line is named in the log, not ignored in silence; the other lines still count
        string checkpoint = Path.Combine(_dir, "log-start-offset-checkpoint");
        File.WriteAllLines(checkpoint, ["0", "2", $"t 0 {mid}", "t zero garbage"]);
        var problems = new List<string>();
        using (var damaged = new LogManager(_dir, _ => Config(), problems.Add))
            Assert.Equal(mid, damaged.Get("t")!.Partitions[0].LogStartOffset);
        Assert.Contains(problems, p => p.Contains("log-start-offset-checkpoint line 4 is damaged"));
    }
}

/// <summary>Segments nobody uses give their maps back; reading them again maps them and still works.</summary>
[Collection("map budget")]
public sealed class ColdSegmentTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kc-cold-" + Guid.NewGuid().ToString("N")[..10]);

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    /// <summary>Resident kB of this test's .log mappings (from /proc/self/smaps, so other tests' memory does not count).</summary>
    private long RssKb()
    {
        long total = 0;
        bool ours = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            if (line.Length > 0 && char.IsAsciiHexDigit(line[0]) && line.Contains('-'))
                ours = line.Contains(_dir, StringComparison.Ordinal) && line.TrimEnd().EndsWith(".log", StringComparison.Ordinal);
            else if (ours && line.StartsWith("Rss:", StringComparison.Ordinal))
                total += long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        }
        return total;
    }

    /// <summary>Maps of this test's files (from /proc/self/maps).</summary>
    private int MapsOfOurFiles() => File.ReadLines("/proc/self/maps").Count(l => l.Contains(_dir, StringComparison.Ordinal));

    [Fact]
    public void ColdSegmentsGiveTheirMapsBackAndReadBackIntact()
    {
        var cfg = new LogConfig { SegmentBytes = 8 << 20 };
        using var log = PartitionLog.Open(_dir, "t", 0, cfg, clean: true);
        var value = new byte[100_000];
        new Random(3).NextBytes(value);
        for (int i = 0; i < 400; i++) // 40 MB over 5+ segments
        {
            var b = new RecordBatchBuilder();
            b.Add(BitConverter.GetBytes(i), value, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            log.Append(b.Build());
        }
        Assert.True(log.Segments.Count >= 5);
        // appends go through the file, not the maps: a consumer reading the whole log maps its pages in
        for (long offset = 0; offset < 400; offset++)
        {
            var r = log.Read(offset, 1, minOneBatch: true);
            using var lease = r.Lease;
            long sum = 0;
            foreach (byte x in r.Records.Span) sum += x;
            Assert.True(sum > 0);
        }
        long before = RssKb();
        int mapsBefore = MapsOfOurFiles();
        int released = log.ReleaseColdSegments(Environment.TickCount64 + 60_000, 30_000);
        // a sweep of the process-wide budget (test classes outside this collection map files too) may hold a
        // segment's map lock for a moment, and a busy segment is skipped: ask again, a bounded number of times
        for (int i = 0; i < 50 && MapsOfOurFiles() > 0; i++)
        {
            Thread.Sleep(10);
            released += log.ReleaseColdSegments(Environment.TickCount64 + 60_000, 30_000);
        }
        // every one still mapped, the active one too: nothing used it for a minute (the process-wide budget may
        // have unmapped some already)
        Assert.True(released >= 1 && released <= log.Segments.Count, $"{released} of {log.Segments.Count} released");
        long after = RssKb();
        Assert.True(before > 30_000, $"the log's mappings hold only {before} kB");
        Assert.True(mapsBefore >= log.Segments.Count, $"{mapsBefore} maps of the log's files before");
        Assert.Equal(0, MapsOfOurFiles()); // unmapped entirely, not only their pages dropped
        Assert.Equal(0, after);
        Assert.Equal(0, log.ReleaseColdSegments(Environment.TickCount64 + 60_000, 30_000)); // nothing mapped since
        // reading faults the pages back in
        for (long offset = 0; offset < 400; offset += 37)
        {
            var r = log.Read(offset, 1, minOneBatch: true);
            using var lease = r.Lease;
            var rec = RecordReader.ReadBatch(r.Records.ToArray()).Single();
            Assert.Equal(offset, rec.Offset);
            Assert.True(rec.Value!.Value.Span.SequenceEqual(value));
        }
        Assert.True(log.ReleaseColdSegments(Environment.TickCount64 + 60_000, 30_000) > 0);
    }
}
