using KafkaCompat.Records;
using Xunit;

namespace KafkaCompat.Storage.Tests;

[CollectionDefinition("map budget", DisableParallelization = true)]
public sealed class MapBudgetCollection;

/// <summary>The process-wide memory-map budget: segments map their files while used and give them back, so the
/// number of maps stays bounded whatever the number of segments. The budget is process-wide, so these tests run
/// alone.</summary>
[Collection("map budget")]
public sealed class MapBudgetTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kc-maps-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly int _limit = MapBudget.Limit;
    private readonly int _hard = MapBudget.HardLimit;

    public void Dispose()
    {
        MapBudget.Limit = _limit;
        MapBudget.HardLimit = _hard;
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private static readonly LogConfig Small = new() { SegmentBytes = 4096, IndexIntervalBytes = 512, SegmentIndexBytes = 4096 };

    /// <summary>Maps of this test's files, as the kernel counts them.</summary>
    private int OurMaps() => File.ReadLines("/proc/self/maps").Count(l => l.Contains(_dir, StringComparison.Ordinal));

    private static byte[] Batch(int partition, long offset)
    {
        var b = new RecordBatchBuilder();
        var value = new byte[900];
        new Random((int)(partition * 100_000 + offset)).NextBytes(value);
        b.Add(BitConverter.GetBytes(offset), value, 1_000 + offset);
        return b.Build();
    }

    private static void CheckRecord(PartitionLog log, int partition, long offset)
    {
        var r = log.Read(offset, 1, minOneBatch: true);
        using var lease = r.Lease;
        var rec = RecordReader.ReadBatch(r.Records.ToArray()).First();
        Assert.Equal(offset, rec.Offset);
        var expected = RecordReader.ReadBatch(Batch(partition, offset)).Single().Value!.Value.ToArray();
        Assert.True(rec.Value!.Value.Span.SequenceEqual(expected), $"partition {partition} offset {offset} differs");
    }

    [Fact]
    public async Task ThousandsOfSegmentsStayWithinTheBudgetAndReadBackIntact()
    {
        MapBudget.Limit = 60;
        const int partitions = 12, perPartition = 120; // about 4 batches a segment: 360 segments, 1,080 files
        var logs = Enumerable.Range(0, partitions).Select(p => PartitionLog.Open(_dir, "t", p, Small, clean: true)).ToArray();
        long evictionsBefore = MapBudget.Evictions;
        int peak = 0;
        try
        {
            for (long o = 0; o < perPartition; o++)
                for (int p = 0; p < partitions; p++)
                {
                    Assert.Equal(o, logs[p].Append(Batch(p, o)).BaseOffset);
                    if (o % 16 == 0) peak = Math.Max(peak, OurMaps());
                }
            Assert.True(logs.Sum(l => l.Segments.Count) > 300, $"{logs.Sum(l => l.Segments.Count)} segments");

            // readers on two threads at random offsets while a writer goes on
            var readers = Enumerable.Range(0, 2).Select(t => Task.Run(() =>
            {
                var rng = new Random(t);
                for (int i = 0; i < 1500; i++)
                {
                    int p = rng.Next(partitions);
                    CheckRecord(logs[p], p, rng.NextInt64(0, perPartition));
                }
            })).ToArray();
            for (int i = 0; i < 200; i++) peak = Math.Max(peak, OurMaps());
            await Task.WhenAll(readers);
            Assert.True(MapBudget.Evictions > evictionsBefore, "nothing was unmapped");
            // the limit, plus what the segments being used at that moment held (three files each, at most four in use)
            Assert.True(peak <= 60 + 12, $"{peak} maps of the log's files at the peak, budget 60 (now {OurMaps()} ours, {MapBudget.Mapped} counted, {MapBudget.ResidentSegments} resident, {MapBudget.Evictions - evictionsBefore} evictions)");
            Assert.True(OurMaps() <= 60, $"{OurMaps()} maps after the readers finished, budget 60");
        }
        finally
        {
            foreach (var l in logs) l.Dispose();
        }
        Assert.Equal(0, OurMaps());

        // reopened after a clean stop: everything is there, and opening stayed within the budget too
        logs = Enumerable.Range(0, partitions).Select(p => PartitionLog.Open(_dir, "t", p, Small, clean: true)).ToArray();
        try
        {
            Assert.True(OurMaps() <= 60, $"{OurMaps()} maps after opening");
            for (int p = 0; p < partitions; p++)
            {
                Assert.Equal(perPartition, logs[p].HighWatermark);
                for (long o = 0; o < perPartition; o += 7) CheckRecord(logs[p], p, o);
            }
        }
        finally
        {
            foreach (var l in logs) l.Dispose();
        }
    }

    [Fact]
    public void PastTheHardLimitAReadGetsAStorageErrorAndTheLogGoesOn()
    {
        using var log = PartitionLog.Open(_dir, "h", 0, Small, clean: true);
        for (long o = 0; o < 200; o++) log.Append(Batch(0, o));
        Assert.True(log.Segments.Count > 40);
        log.ReleaseColdSegments(Environment.TickCount64 + 60_000, 1);
        MapBudget.Limit = 16;
        MapBudget.HardLimit = MapBudget.Mapped + 20;
        var messages = new List<string>();
        var previousLog = MapBudget.Log;
        MapBudget.Log = m => { lock (messages) messages.Add(m); };
        // responses still being sent hold their maps: reads that keep their leases use the maps up
        var held = new List<IDisposable>();
        StorageException? refused = null;
        try
        {
            for (long o = 0; o < 200 && refused is null; o += 4)
            {
                try
                {
                    var r = log.Read(o, 1, minOneBatch: true);
                    if (r.Lease is { } l) held.Add(l);
                }
                catch (StorageException e)
                {
                    refused = e;
                }
            }
            Assert.NotNull(refused);
            Assert.Contains("memory maps", refused.Message);
            Assert.Contains(messages, m => m.Contains("cannot map", StringComparison.Ordinal));
        }
        finally
        {
            foreach (var l in held) l.Dispose();
            MapBudget.Log = previousLog;
        }
        // the responses went out: the maps are free again and every record reads back
        for (long o = 0; o < 200; o++) CheckRecord(log, 0, o);
        log.Append(Batch(0, 200));
        CheckRecord(log, 0, 200);
    }
}
