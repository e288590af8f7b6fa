using System.Text;
using KafkaCompat.Records;
using Xunit;
using Record = KafkaCompat.Records.Record;

namespace KafkaCompat.Storage.Tests;

/// <summary>cleanup.policy=compact: the latest value per key survives with its offset, tombstones go after
/// delete.retention.ms, the active segment and young records are left alone, every codec is re-encoded, and an
/// interrupted swap is completed or discarded at the next open.</summary>
public sealed class CompactionTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kc-compact-" + Guid.NewGuid().ToString("N")[..10]);
    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private static LogConfig Config(long deleteRetentionMs = 86_400_000, long minLagMs = 0) => new()
    {
        SegmentBytes = 8192, IndexIntervalBytes = 512, SegmentIndexBytes = 4096,
        CompactPolicy = true, DeletePolicy = false, DeleteRetentionMs = deleteRetentionMs, MinCompactionLagMs = minLagMs,
        FileDeleteDelayMs = 0,
    };

    /// <summary>Writes rounds of key=value with the given codec; key k{i} gets value "r{round}-{i}"; returns the expected latest offsets.</summary>
    private static Dictionary<string, (long Offset, string? Value)> Write(PartitionLog log, int rounds, int keys, CompressionType codec, long ts, Func<int, int, bool>? tombstone = null)
    {
        var latest = new Dictionary<string, (long, string?)>();
        var rng = new Random(rounds * 31 + keys); // incompressible values, so every codec still fills several segments
        for (int round = 0; round < rounds; round++)
        {
            var b = new RecordBatchBuilder();
            var batchKeys = new List<(string, string?)>();
            for (int i = 0; i < keys; i++)
            {
                string key = $"k{i}";
                bool dead = tombstone?.Invoke(round, i) == true;
                string? value = dead ? null : $"r{round}-{i}-" + Convert.ToHexString(BitConverter.GetBytes(rng.NextInt64())) + Convert.ToHexString(BitConverter.GetBytes(rng.NextInt64()));
                b.Add(Encoding.UTF8.GetBytes(key), value is null ? default : Encoding.UTF8.GetBytes(value), ts, nullValue: value is null);
                batchKeys.Add((key, value));
            }
            long baseOffset = log.Append(b.Build(compression: codec)).BaseOffset;
            for (int i = 0; i < batchKeys.Count; i++) latest[batchKeys[i].Item1] = (baseOffset + i, batchKeys[i].Item2);
        }
        return latest;
    }

    private static List<Record> ReadAll(PartitionLog log)
    {
        var result = new List<Record>();
        long next = log.LogStartOffset;
        while (next < log.HighWatermark)
        {
            var r = log.Read(next, 1 << 20, minOneBatch: true);
            using var lease = r.Lease;
            if (r.Records.IsEmpty) break;
            var mem = r.Records.ToArray();
            for (int pos = 0; pos < mem.Length;)
            {
                Assert.Equal(BatchError.None, RecordBatch.Validate(mem.AsSpan(pos), out int size));
                result.AddRange(RecordReader.ReadBatch(mem.AsMemory(pos, size)).Where(x => x.Offset >= next));
                next = RecordBatch.LastOffset(mem.AsSpan(pos)) + 1;
                pos += size;
            }
        }
        return result;
    }

    [Theory]
    [InlineData(CompressionType.None)]
    [InlineData(CompressionType.Gzip)]
    [InlineData(CompressionType.Snappy)]
    [InlineData(CompressionType.Lz4)]
    [InlineData(CompressionType.Zstd)]
    public void KeepsTheLatestValuePerKeyWithItsOffset(CompressionType codec)
    {
        using var log = PartitionLog.Open(_dir, "t", 0, Config(), clean: true);
        var latest = Write(log, rounds: 30, keys: 20, codec, Now);
        long end = log.HighWatermark;
        var active = log.Segments[^1];
        int activeRecords = ReadAll(log).Count(r => r.Offset >= active.BaseOffset);
        var result = log.Compact(Now, force: true);
        Assert.NotNull(result);
        Assert.True(result!.RecordsOut < result.RecordsIn);

        var after = ReadAll(log);
        Assert.Equal(end, log.HighWatermark);
        // inactive part: exactly one record per key, the latest one before the active segment, same offset and value
        var cleaned = after.Where(r => r.Offset < active.BaseOffset).ToList();
        Assert.Equal(cleaned.Count, cleaned.Select(r => Encoding.UTF8.GetString(r.Key!.Value.Span)).Distinct().Count());
        // the active segment is untouched
        Assert.Equal(activeRecords, after.Count(r => r.Offset >= active.BaseOffset));
        // the compacted view: the latest value of every key, at its original offset
        var view = new Dictionary<string, (long, string?)>();
        foreach (var r in after) view[Encoding.UTF8.GetString(r.Key!.Value.Span)] = (r.Offset, r.Value is { } v ? Encoding.UTF8.GetString(v.Span) : null);
        Assert.Equal(latest.OrderBy(x => x.Key), view.OrderBy(x => x.Key));
        // offsets only go up, batches kept their codec
        Assert.True(after.Zip(after.Skip(1)).All(p => p.First.Offset < p.Second.Offset));
        Assert.All(log.Segments, s => Assert.False(Directory.Exists(Path.Combine(_dir, "t-0", "cleaning"))));
        Assert.True(log.Segments.Count < 30);
    }

    [Fact]
    public void TombstonesStayUntilDeleteRetentionPassesThenGo()
    {
        using (var log = PartitionLog.Open(_dir, "t", 0, Config(deleteRetentionMs: 60_000), clean: true))
        {
            // an old round with every key, then tombstones for the even keys, then filler so both are inactive
            Write(log, 5, 10, CompressionType.None, Now - 600_000);
            Write(log, 1, 10, CompressionType.None, Now - 600_000, tombstone: (_, i) => i % 2 == 0);
            Write(log, 20, 10, CompressionType.None, Now, tombstone: (_, i) => i % 2 == 0);
            log.Compact(Now, force: true);
            var view = ReadAll(log).GroupBy(r => Encoding.UTF8.GetString(r.Key!.Value.Span)).ToDictionary(g => g.Key, g => g.Last());
            // recent tombstones (written now) stay, so consumers catching up still see the delete
            Assert.All(Enumerable.Range(0, 10).Where(i => i % 2 == 0), i => Assert.Null(view[$"k{i}"].Value));
        }
        // a later pass, with delete.retention.ms over for all of them: the tombstones themselves go
        using (var log = PartitionLog.Open(_dir, "t", 0, Config(deleteRetentionMs: 1), clean: true))
        {
            long activeBase = log.Segments[^1].BaseOffset;
            log.Compact(Now + 10, force: true);
            var inactive = ReadAll(log).Where(r => r.Offset < activeBase).ToList();
            Assert.DoesNotContain(inactive, r => r.Value is null);
            Assert.All(inactive, r => Assert.Equal(1, int.Parse(Encoding.UTF8.GetString(r.Key!.Value.Span)[1..]) % 2));
        }
    }

    [Fact]
    public void RecordsYoungerThanTheMinimumLagAreNotCompacted()
    {
        using var log = PartitionLog.Open(_dir, "t", 0, Config(minLagMs: 3_600_000), clean: true);
        Write(log, 30, 10, CompressionType.None, Now);
        Assert.Null(log.Compact(Now, force: true));
        Assert.Equal(300, ReadAll(log).Count);
    }

    [Fact]
    public void TheDirtyRatioDecidesWhenToRun()
    {
        using var log = PartitionLog.Open(_dir, "t", 0, Config(), clean: true);
        Write(log, 30, 10, CompressionType.None, Now);
        Assert.True(log.DirtyRatio(Now) > 0.5);
        Assert.NotNull(log.Compact(Now));
        Assert.Equal(0, log.DirtyRatio(Now));
        Assert.Null(log.Compact(Now)); // nothing new since
    }

    [Fact]
    public void AnInterruptedSwapIsCompletedAtTheNextOpen()
    {
        Dictionary<string, (long, string?)> latest;
        using (var log = PartitionLog.Open(_dir, "t", 0, Config(), clean: true))
        {
            latest = Write(log, 30, 10, CompressionType.None, Now);
            log.Compact(Now, force: true);
        }
        // simulate a stop after the commit point: move the cleaned files back into cleaning/ and put old-looking
        // (here: the current) files where the replaced segments were, with swap.json saying the old ones are still there
        string dir = Path.Combine(_dir, "t-0");
        string tmp = Path.Combine(dir, "cleaning");
        Directory.CreateDirectory(tmp);
        var first = Directory.GetFiles(dir, "*.log").Order().First();
        long b = long.Parse(Path.GetFileNameWithoutExtension(first));
        foreach (var ext in new[] { ".log", ".index", ".timeindex" })
        {
            var f = Path.Combine(dir, LogSegment.FileStem(b) + ext);
            File.Copy(f, Path.Combine(tmp, Path.GetFileName(f)));
            File.WriteAllBytes(f, [1, 2, 3]); // the "old" file, which must not survive
        }
        File.WriteAllText(Path.Combine(tmp, "swap.json"), $"{{\"Replaces\":[{b}],\"Creates\":[{b}],\"OldRemoved\":false}}");
        var messages = new List<string>();
        using (var log = PartitionLog.Open(_dir, "t", 0, Config(), clean: true, messages.Add))
        {
            Assert.Contains(messages, m => m.Contains("completed a compaction", StringComparison.Ordinal));
            Assert.False(Directory.Exists(tmp));
            var view = new Dictionary<string, (long, string?)>();
            foreach (var r in ReadAll(log)) view[Encoding.UTF8.GetString(r.Key!.Value.Span)] = (r.Offset, Encoding.UTF8.GetString(r.Value!.Value.Span));
            Assert.Equal(latest.OrderBy(x => x.Key), view.OrderBy(x => x.Key));
        }
        // an unfinished pass (no swap.json) is thrown away
        Directory.CreateDirectory(tmp);
        File.WriteAllBytes(Path.Combine(tmp, LogSegment.FileStem(b) + ".log"), [9, 9]);
        messages.Clear();
        using (var log = PartitionLog.Open(_dir, "t", 0, Config(), clean: true, messages.Add))
        {
            Assert.Contains(messages, m => m.Contains("discarded", StringComparison.Ordinal));
            Assert.Equal(10, ReadAll(log).Select(r => r.Key!.Value.ToArray()).Distinct(new BytesComparer()).Count());
        }
    }

    private sealed class BytesComparer : IEqualityComparer<byte[]>
    {
        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);
        public int GetHashCode(byte[] o) => o.Length == 0 ? 0 : o[^1];
    }
}
