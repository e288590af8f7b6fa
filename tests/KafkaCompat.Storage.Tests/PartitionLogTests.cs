using KafkaCompat.Records;
using Xunit;
using Record = KafkaCompat.Records.Record;

namespace KafkaCompat.Storage.Tests;

public sealed class PartitionLogTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kc-storage-" + Guid.NewGuid().ToString("N")[..10]);

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private static byte[] Batch(int records, int valueSize = 10, long ts = 1000)
    {
        var b = new RecordBatchBuilder();
        for (int i = 0; i < records; i++) b.Add(BitConverter.GetBytes(i), new byte[valueSize], ts + i);
        return b.Build();
    }

    private static List<Record> ReadAll(PartitionLog log, long from = 0)
    {
        var result = new List<Record>();
        long next = from;
        while (next < log.HighWatermark)
        {
            var r = log.Read(next, 1 << 20, minOneBatch: true);
            using var lease = r.Lease;
            var mem = r.Records.ToArray();
            for (int pos = 0; pos < mem.Length;)
            {
                int size = RecordBatch.TotalSize(mem.AsSpan(pos));
                Assert.Equal(BatchError.None, RecordBatch.Validate(mem.AsSpan(pos), out _));
                result.AddRange(RecordReader.ReadBatch(mem.AsMemory(pos, size)).Where(x => x.Offset >= from));
                pos += size;
            }
            next = result.Count > 0 ? result[^1].Offset + 1 : next;
        }
        return result;
    }

    [Fact]
    public void AppendsAssignOffsetsAndReadsBack()
    {
        using var log = PartitionLog.Open(_dir, "t", 0, new LogConfig(), clean: true);
        Assert.Equal(0, log.Append(Batch(3)).BaseOffset);
        Assert.Equal(3, log.Append(Batch(2)).BaseOffset);
        Assert.Equal(5, log.HighWatermark);
        var all = ReadAll(log);
        Assert.Equal(Enumerable.Range(0, 5).Select(i => (long)i), all.Select(r => r.Offset));
        Assert.Equal(3, ReadAll(log, 3)[0].Offset);
        Assert.Throws<OffsetOutOfRangeException>(() => log.Read(6, 100, true));
        Assert.Equal(0, log.Read(5, 100, true).Records.Length);
    }

    [Fact]
    public void RollsSegmentsAndUsesTheIndex()
    {
        var cfg = new LogConfig { SegmentBytes = 4096, IndexIntervalBytes = 256 };
        using (var log = PartitionLog.Open(_dir, "t", 0, cfg, clean: true))
        {
            for (int i = 0; i < 200; i++) log.Append(Batch(2, 50));
            Assert.True(log.Segments.Count > 5, $"{log.Segments.Count} segments");
            Assert.Equal(400, log.HighWatermark);
            Assert.True(log.Segments[0].Index.Count > 1);
            Assert.Equal(400, ReadAll(log).Count);
            Assert.Equal(Enumerable.Range(123, 277).Select(i => (long)i), ReadAll(log, 123).Select(r => r.Offset));
        }
        var files = Directory.GetFiles(Path.Combine(_dir, "t-0"), "*.log").Select(Path.GetFileName).Order().ToList();
        Assert.Equal("00000000000000000000.log", files[0]);
        // reopen cleanly: everything is still there
        using var again = PartitionLog.Open(_dir, "t", 0, cfg, clean: true);
        Assert.Equal(400, again.HighWatermark);
        Assert.Equal(400, ReadAll(again).Count);
        Assert.Equal(400, again.Append(Batch(1)).BaseOffset);
    }

    [Fact]
    public void MaxBytesReturnsWholeBatchesAndAtLeastOne()
    {
        using var log = PartitionLog.Open(_dir, "t", 0, new LogConfig(), clean: true);
        var b = Batch(1, 1000);
        for (int i = 0; i < 5; i++) log.Append(b);
        var r = log.Read(0, 2 * b.Length + 10, minOneBatch: false);
        Assert.Equal(2 * b.Length, r.Records.Length);
        r.Lease?.Dispose();
        var one = log.Read(0, 10, minOneBatch: true);
        Assert.Equal(b.Length, one.Records.Length);
        one.Lease?.Dispose();
        Assert.Equal(0, log.Read(0, 10, minOneBatch: false).Records.Length);
    }

    [Fact]
    public void RejectsBadBatchesWithoutChangingTheLog()
    {
        using var log = PartitionLog.Open(_dir, "t", 0, new LogConfig { MaxMessageBytes = 500 }, clean: true);
        var good = Batch(1);
        var bad = Batch(1);
        bad[^1] ^= 1;
        Assert.Throws<InvalidBatchException>(() => log.Append([.. good, .. bad]));
        Assert.Equal(0, log.HighWatermark);
        Assert.Throws<RecordTooLargeException>(() => log.Append(Batch(1, 600)));
        Assert.Throws<InvalidBatchException>(() => log.Append([]));
    }

    [Fact]
    public void UncleanRestartTruncatesATornTail()
    {
        string segPath;
        using (var log = PartitionLog.Open(_dir, "t", 0, new LogConfig(), clean: true))
        {
            for (int i = 0; i < 10; i++) log.Append(Batch(3));
            segPath = log.Segments[^1].LogPath;
            // simulate a crash: no clean close; leave half a batch after the valid data
            var half = Batch(3);
            using var fs = new FileStream(segPath, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
            fs.Position = log.Segments[^1].Size;
            fs.Write(half, 0, half.Length / 2);
        }
        using var reopened = PartitionLog.Open(_dir, "t", 0, new LogConfig(), clean: false);
        Assert.Equal(30, reopened.HighWatermark);
        Assert.Equal(30, ReadAll(reopened).Count);
        Assert.Equal(30, reopened.Append(Batch(1)).BaseOffset);
    }

    [Fact]
    public void UncleanRestartDropsACorruptBatchAndEverythingAfter()
    {
        using (var log = PartitionLog.Open(_dir, "t", 0, new LogConfig(), clean: true))
        {
            for (int i = 0; i < 4; i++) log.Append(Batch(2));
        }
        var path = Path.Combine(_dir, "t-0", "00000000000000000000.log");
        var bytes = File.ReadAllBytes(path);
        int third = 2 * RecordBatch.TotalSize(bytes);
        bytes[third + RecordBatch.HeaderSize + 2] ^= 0xFF; // inside the third batch's records
        File.WriteAllBytes(path, bytes);
        File.Delete(Path.Combine(_dir, "t-0", "00000000000000000000.index"));
        using var reopened = PartitionLog.Open(_dir, "t", 0, new LogConfig(), clean: false);
        Assert.Equal(4, reopened.HighWatermark);
        Assert.Equal(4, ReadAll(reopened).Count);
    }

    [Fact]
    public async Task WaitersWakeOnAppend()
    {
        using var log = PartitionLog.Open(_dir, "t", 0, new LogConfig(), clean: true);
        var wait = log.WaitForAppendAsync();
        Assert.False(wait.IsCompleted);
        log.Append(Batch(1));
        await wait.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void LogManagerPersistsTopicsAndMarksCleanShutdown()
    {
        Guid id;
        using (var m = new LogManager(_dir, _ => new LogConfig()))
        {
            var t = m.Create("orders", 3, new() { ["retention.ms"] = "1000" })!;
            id = t.Id;
            Assert.Null(m.Create("orders", 1, new()));
            t.Partitions[2].Append(Batch(5));
        }
        Assert.True(File.Exists(Path.Combine(_dir, LogManager.CleanShutdownFile)));
        using (var m = new LogManager(_dir, _ => new LogConfig()))
        {
            Assert.False(m.RecoveredFromUncleanShutdown);
            var t = m.Get("orders")!;
            Assert.Equal(id, t.Id);
            Assert.Same(t, m.Get(id));
            Assert.Equal("1000", t.Record.Configs["retention.ms"]);
            Assert.Equal(5, t.Partitions[2].HighWatermark);
            Assert.True(m.Delete("orders"));
            Assert.False(Directory.Exists(Path.Combine(_dir, "orders-0")));
        }
    }
}

/// <summary>Reads racing the closing of a log (a topic deletion, or retention removing a segment): they end with
/// ObjectDisposedException or finish first; they never touch unmapped memory (which would kill the process).</summary>
public sealed class ReadRaceTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kc-race-" + Guid.NewGuid().ToString("N")[..10]);

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    [Fact]
    public async Task ReadersRacingDisposeNeverTouchUnmappedMemory()
    {
        for (int round = 0; round < 30; round++)
        {
            var log = PartitionLog.Open(_dir, "race" + round, 0, new LogConfig { SegmentBytes = 4096 }, clean: true);
            for (int i = 0; i < 50; i++) log.Append(new RecordBatchBuilder().Add("k"u8, new byte[100], 1000 + i).Build());
            using var stop = new CancellationTokenSource();
            var readers = Enumerable.Range(0, 2).Select(n => Task.Run(() =>
            {
                var rng = new Random(round * 10 + n);
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        var r = log.Read(rng.Next(0, 50), 1 << 16, minOneBatch: true);
                        r.Lease?.Dispose();
                        log.FindBatchByTimestamp(1000 + rng.Next(0, 50));
                    }
                    catch (ObjectDisposedException) { return; }
                    catch (OffsetOutOfRangeException) { }
                }
            })).ToArray();
            await Task.Delay(5);
            log.Dispose();
            stop.Cancel();
            await Task.WhenAll(readers);
        }
    }
}
