using System.Text.Json;
using KafkaCompat.Records;

namespace KafkaCompat.Storage;

/// <summary>What one compaction pass did.</summary>
public sealed record CompactionResult(int SegmentsIn, int SegmentsOut, long BytesIn, long BytesOut, long RecordsIn, long RecordsOut);

/// <summary>
/// Log compaction (cleanup.policy=compact): keeps the latest record of each key in the inactive segments, drops
/// tombstones older than delete.retention.ms, leaves records younger than min.compaction.lag.ms and the active
/// segment alone, keeps every retained record's offset (gaps are fine) and re-encodes batches that lose records
/// with their original codec. Transactions as in Kafka: records of aborted transactions are dropped (they never
/// compete for a key), markers stay, re-encoded batches keep their transactional flag, and nothing at or past the
/// last stable offset is cleaned (an open transaction's outcome is not known yet). Cleaned segments replace the
/// old ones through a crash-safe swap
/// (<c>cleaning/swap.json</c>), and the old files go after file.delete.delay.ms.
/// </summary>
public sealed partial class PartitionLog
{
    private const string CleaningDir = "cleaning";
    private long _firstDirtyOffset;

    private sealed class SwapInfo
    {
        public List<long> Replaces { get; set; } = new();
        public List<long> Creates { get; set; } = new();
        public bool OldRemoved { get; set; }
    }

    [System.Text.Json.Serialization.JsonSerializable(typeof(SwapInfo))]
    private sealed partial class SwapJsonContext : System.Text.Json.Serialization.JsonSerializerContext;

    private sealed class KeyComparer : IEqualityComparer<byte[]>
    {
        public static readonly KeyComparer Instance = new();
        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);
        public int GetHashCode(byte[] obj)
        {
            var h = new HashCode();
            h.AddBytes(obj);
            return h.ToHashCode();
        }
    }

    private static readonly string[] SegmentExtensions = [".log", ".index", ".timeindex"];

    /// <summary>Finishes or discards a compaction interrupted by a crash; runs before the segments are opened.</summary>
    internal static void RecoverCleaning(string dir, Action<string>? log)
    {
        string tmp = Path.Combine(dir, CleaningDir);
        if (!System.IO.Directory.Exists(tmp)) return;
        string swapPath = Path.Combine(tmp, "swap.json");
        if (File.Exists(swapPath) && JsonSerializer.Deserialize(File.ReadAllText(swapPath), SwapJsonContext.Default.SwapInfo) is { } info)
        {
            if (!info.OldRemoved)
                foreach (var b in info.Replaces)
                    foreach (var ext in SegmentExtensions)
                    {
                        string p = Path.Combine(dir, LogSegment.FileStem(b) + ext);
                        if (File.Exists(p)) File.Move(p, p + ".deleted", overwrite: true);
                    }
            foreach (var b in info.Creates)
                foreach (var ext in SegmentExtensions)
                {
                    string from = Path.Combine(tmp, LogSegment.FileStem(b) + ext);
                    if (File.Exists(from)) File.Move(from, Path.Combine(dir, LogSegment.FileStem(b) + ext), overwrite: true);
                }
            log?.Invoke($"{dir}: completed a compaction interrupted by a stop");
        }
        else log?.Invoke($"{dir}: discarded an unfinished compaction");
        System.IO.Directory.Delete(tmp, recursive: true);
    }

    /// <summary>Share of the cleanable log written since the last compaction (0 when there is nothing to clean).</summary>
    public double DirtyRatio(long nowMs) => Sizes(Cleanable(Volatile.Read(ref _segments), nowMs)).Ratio;

    /// <summary>Bytes of the cleanable segments, and of those holding records written since the last pass.</summary>
    private (long Total, long Dirty, double Ratio) Sizes(List<LogSegment> cleanable)
    {
        long total = cleanable.Sum(x => (long)x.Size);
        long dirty = cleanable.Where(x => x.NextOffset > _firstDirtyOffset).Sum(x => (long)x.Size);
        return (total, dirty, cleanable.Count == 0 ? 0 : (double)dirty / Math.Max(1, total));
    }

    private List<LogSegment> Cleanable(LogSegment[] segs, long nowMs)
    {
        var result = new List<LogSegment>();
        long lastStable = LastStableOffset;
        for (int i = 0; i < segs.Length - 1; i++) // never the active segment
        {
            var s = segs[i];
            if (Config.MinCompactionLagMs > 0 && s.MaxTimestamp > nowMs - Config.MinCompactionLagMs) break;
            if (s.NextOffset > lastStable) break; // holds records of a transaction still open
            result.Add(s);
        }
        return result;
    }

    /// <summary>One compaction pass if the dirty ratio calls for it (or <paramref name="force"/>); null when nothing ran.</summary>
    public CompactionResult? Compact(long nowMs, bool force = false)
    {
        lock (_maintenanceLock)
        {
            if (_closed || !Config.CompactPolicy) return null;
            var segs = Volatile.Read(ref _segments);
            var cleanable = Cleanable(segs, nowMs);
            if (cleanable.Count == 0) return null;
            var (total, dirty, ratio) = Sizes(cleanable);
            if (!force && (dirty == 0 || ratio < Config.MinCleanableDirtyRatio)) return null;

            // 1. the latest offset of every key in the cleanable part (records of aborted transactions do not count)
            var aborted = _txnIndex.Entries;
            var latest = new Dictionary<byte[], long>(KeyComparer.Instance);
            long recordsIn = 0;
            foreach (var seg in cleanable)
                ForEachBatch(seg, batch =>
                {
                    if (RecordBatch.IsControl(batch.Span)) return;
                    if (IsAborted(batch.Span, aborted))
                    {
                        recordsIn += RecordBatch.RecordCount(batch.Span);
                        return;
                    }
                    foreach (var r in RecordReader.ReadBatch(batch))
                    {
                        recordsIn++;
                        if (r.Key is { } k) latest[k.ToArray()] = r.Offset;
                    }
                });

            // 2. write the cleaned groups into cleaning/
            string tmp = Path.Combine(Directory, CleaningDir);
            if (System.IO.Directory.Exists(tmp)) System.IO.Directory.Delete(tmp, recursive: true);
            System.IO.Directory.CreateDirectory(tmp);
            var groups = Group(cleanable);
            var info = new SwapInfo { Replaces = cleanable.Select(x => x.BaseOffset).ToList() };
            long bytesOut = 0, recordsOut = 0;
            long tombstoneHorizon = nowMs - Config.DeleteRetentionMs;
            foreach (var group in groups)
            {
                // a segment written under a larger segment.bytes forms a group of its own; its copy gets room for all of it
                var output = LogSegment.Create(tmp, group[0].BaseOffset, Config, (int)Math.Min(int.MaxValue, group.Sum(g => (long)g.Size)));
                try
                {
                    foreach (var seg in group)
                        ForEachBatch(seg, batch =>
                        {
                            int count = 0;
                            var kept = IsAborted(batch.Span, aborted) ? null : Filter(batch, latest, tombstoneHorizon, out count);
                            if (kept is null) return;
                            output.Append(kept, RecordBatch.BaseOffset(kept), -1, RecordBatch.LeaderEpoch(kept));
                            recordsOut += count;
                        });
                    output.FlushAppended();
                    output.Seal();
                    bytesOut += output.Size;
                }
                finally
                {
                    output.Dispose();
                }
                info.Creates.Add(group[0].BaseOffset);
            }
            string swapPath = Path.Combine(tmp, "swap.json");
            WriteDurably(swapPath, info);

            // 3. swap: old files out (renamed *.deleted), new files in, then the segment list
            lock (_appendLock)
            {
                if (_closed) return null;
                foreach (var seg in cleanable) seg.MarkDeleted();
                info.OldRemoved = true;
                WriteDurably(swapPath, info);
                var fresh = new List<LogSegment>();
                foreach (var b in info.Creates)
                {
                    foreach (var ext in SegmentExtensions)
                    {
                        string from = Path.Combine(tmp, LogSegment.FileStem(b) + ext);
                        if (File.Exists(from)) File.Move(from, Path.Combine(Directory, LogSegment.FileStem(b) + ext), overwrite: true);
                    }
                    var opened = LogSegment.Open(Directory, b, Config, verify: false, _log);
                    opened.Seal();
                    fresh.Add(opened);
                }
                var now = _segments;
                Volatile.Write(ref _segments, [.. fresh, .. now[cleanable.Count..]]);
                System.IO.Directory.Delete(tmp, recursive: true);
                _firstDirtyOffset = now[^1].BaseOffset;
            }
            DeleteLater(cleanable.ToArray());
            var result = new CompactionResult(cleanable.Count, groups.Count, total, bytesOut, recordsIn, recordsOut);
            (Activity ?? _log)?.Invoke($"{Topic}-{Partition}: compacted {result.SegmentsIn} segment(s) into {result.SegmentsOut}: " +
                $"{result.RecordsIn} records to {result.RecordsOut}, {result.BytesIn} bytes to {result.BytesOut}");
            return result;
        }
    }

    private static void WriteDurably(string path, SwapInfo info)
    {
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write);
        JsonSerializer.Serialize(fs, info, SwapJsonContext.Default.SwapInfo);
        fs.Flush(flushToDisk: true);
    }

    /// <summary>Consecutive segments whose sizes and index entries fit in one segment together.</summary>
    private List<List<LogSegment>> Group(List<LogSegment> segs)
    {
        var groups = new List<List<LogSegment>>();
        List<LogSegment>? current = null;
        long size = 0, entries = 0, timeEntries = 0;
        int maxEntries = Config.SegmentIndexBytes / OffsetIndex.EntrySize;
        int maxTimeEntries = Config.SegmentIndexBytes / TimeIndex.EntrySize;
        foreach (var s in segs)
        {
            if (current is null || size + s.Size > Config.SegmentBytes || entries + s.Index.Count + 1 > maxEntries
                || timeEntries + s.TimeIndex.Count + 1 > maxTimeEntries
                || s.NextOffset - current[0].BaseOffset > int.MaxValue)
            {
                current = new List<LogSegment>();
                groups.Add(current);
                size = entries = timeEntries = 0;
            }
            current.Add(s);
            size += s.Size;
            entries += s.Index.Count + 1;
            timeEntries += s.TimeIndex.Count + 1;
        }
        return groups;
    }

    private static void ForEachBatch(LogSegment seg, Action<ReadOnlyMemory<byte>> visit)
    {
        int limit = seg.Size;
        for (int pos = 0; pos + RecordBatch.HeaderSize <= limit;)
        {
            byte[] copy;
            if (!seg.TryEnterRead()) throw new ObjectDisposedException(seg.LogPath, "the segment was closed");
            try
            {
                int size = RecordBatch.TotalSize(seg.Span(pos, RecordBatch.HeaderSize));
                // a copy: the re-encoder and the reader both want memory they own
                copy = seg.Span(pos, size).ToArray();
            }
            finally
            {
                seg.ExitRead();
            }
            visit(copy);
            pos += copy.Length;
        }
    }

    /// <summary>A transactional data batch whose transaction was aborted (its offsets lie in an aborted transaction of its producer).</summary>
    private static bool IsAborted(ReadOnlySpan<byte> batch, IReadOnlyList<AbortedTxn> aborted)
    {
        if (aborted.Count == 0 || !RecordBatch.IsTransactional(batch) || RecordBatch.IsControl(batch)) return false;
        long pid = RecordBatch.ProducerId(batch), offset = RecordBatch.BaseOffset(batch);
        foreach (var a in aborted)
            if (a.ProducerId == pid && a.FirstOffset <= offset && offset <= a.LastOffset) return true;
        return false;
    }

    /// <summary>The batch as it should stay: unchanged, re-encoded without the records that go, or null if none stay.</summary>
    private static byte[]? Filter(ReadOnlyMemory<byte> batch, Dictionary<byte[], long> latest, long tombstoneHorizon, out int kept)
    {
        var span = batch.Span;
        kept = RecordBatch.RecordCount(span);
        if (RecordBatch.IsControl(span)) return batch.ToArray();
        var records = RecordReader.ReadBatch(batch);
        bool tombstonesExpired = RecordBatch.MaxTimestamp(span) < tombstoneHorizon;
        var keep = records.Where(r =>
            r.Key is not { } k || latest.TryGetValue(k.ToArray(), out var last) && last == r.Offset && !(r.Value is null && tombstonesExpired)).ToList();
        kept = keep.Count;
        if (keep.Count == records.Count) return batch.ToArray();
        if (keep.Count == 0) return null;
        var builder = new RecordBatchBuilder
        {
            ProducerId = RecordBatch.ProducerId(span),
            ProducerEpoch = System.Buffers.Binary.BinaryPrimitives.ReadInt16BigEndian(span[RecordBatch.ProducerEpochPos..]),
            BaseSequence = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(span[RecordBatch.BaseSequencePos..]),
            Transactional = RecordBatch.IsTransactional(span),
        };
        long baseOffset = keep[0].Offset;
        foreach (var r in keep)
            builder.Add(r.Key is { } k ? k.Span : default, r.Value is { } v ? v.Span : default, r.Timestamp, r.Headers,
                nullKey: r.Key is null, nullValue: r.Value is null, offsetDelta: checked((int)(r.Offset - baseOffset)));
        var rebuilt = builder.Build(baseOffset, RecordBatch.Compression(span));
        if (RecordBatch.TimestampType(span) == TimestampType.LogAppendTime) RecordBatch.SetLogAppendTime(rebuilt, RecordBatch.MaxTimestamp(span));
        return rebuilt;
    }
}
