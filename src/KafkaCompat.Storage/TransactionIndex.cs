using System.Buffers.Binary;

namespace KafkaCompat.Storage;

/// <summary>An aborted transaction on one partition: the producer, the offsets of its first record and of its ABORT
/// marker, and the last stable offset once it ended. A read_committed consumer drops the producer's records in
/// [FirstOffset, LastOffset].</summary>
public readonly record struct AbortedTxn(long ProducerId, long FirstOffset, long LastOffset, long LastStableOffset);

/// <summary>
/// The aborted-transaction index of a partition: one <c>&lt;baseOffset:20 digits&gt;.txnindex</c> per segment in Kafka's
/// layout (entries of version int16 = 0, producer_id int64, first_offset int64, last_offset int64,
/// last_stable_offset int64), each entry in the file of the segment holding its ABORT marker. Every segment gets a
/// file (empty when nothing aborted there), so a missing one means the index must be rebuilt. All entries are also
/// held in memory, in marker order, for Fetch. Not thread-safe: the partition calls it under its append lock, and
/// readers take the published array.
/// </summary>
public sealed class TransactionIndex
{
    public const string Suffix = ".txnindex";
    public const int EntrySize = 34;
    private readonly string _dir;
    private AbortedTxn[] _entries = [];

    public TransactionIndex(string dir) => _dir = dir;

    public static string PathFor(string dir, long segmentBase) => Path.Combine(dir, LogSegment.FileStem(segmentBase) + Suffix);

    /// <summary>Every entry, oldest marker first.</summary>
    public IReadOnlyList<AbortedTxn> Entries => Volatile.Read(ref _entries);

    /// <summary>Reads the files of <paramref name="segmentBases"/>; false when one is missing or damaged (then the
    /// caller rebuilds the index from the log).</summary>
    public bool Load(IEnumerable<long> segmentBases, Action<string>? log)
    {
        var all = new List<AbortedTxn>();
        bool whole = true;
        foreach (long b in segmentBases)
        {
            string p = PathFor(_dir, b);
            if (!File.Exists(p))
            {
                whole = false;
                continue;
            }
            var bytes = File.ReadAllBytes(p);
            int usable = bytes.Length - bytes.Length % EntrySize;
            if (usable != bytes.Length)
            {
                log?.Invoke($"{p}: {bytes.Length - usable} trailing bytes of a partial entry; rebuilding the transaction index");
                whole = false;
            }
            for (int pos = 0; pos < usable; pos += EntrySize)
            {
                var s = bytes.AsSpan(pos, EntrySize);
                if (BinaryPrimitives.ReadInt16BigEndian(s) != 0)
                {
                    log?.Invoke($"{p}: unknown entry version at {pos}; rebuilding the transaction index");
                    whole = false;
                    break;
                }
                all.Add(new AbortedTxn(BinaryPrimitives.ReadInt64BigEndian(s[2..]), BinaryPrimitives.ReadInt64BigEndian(s[10..]),
                    BinaryPrimitives.ReadInt64BigEndian(s[18..]), BinaryPrimitives.ReadInt64BigEndian(s[26..])));
            }
        }
        all.Sort((a, b) => a.LastOffset.CompareTo(b.LastOffset));
        Volatile.Write(ref _entries, all.ToArray());
        return whole;
    }

    /// <summary>Replaces the index with <paramref name="entries"/>, rewriting one file per segment.</summary>
    public void Rebuild(IReadOnlyList<long> segmentBases, List<AbortedTxn> entries)
    {
        entries.Sort((a, b) => a.LastOffset.CompareTo(b.LastOffset));
        for (int i = 0; i < segmentBases.Count; i++)
        {
            long lo = segmentBases[i], hi = i + 1 < segmentBases.Count ? segmentBases[i + 1] : long.MaxValue;
            var mine = entries.Where(e => e.LastOffset >= lo && e.LastOffset < hi).ToList();
            var bytes = new byte[mine.Count * EntrySize];
            for (int j = 0; j < mine.Count; j++) Write(bytes.AsSpan(j * EntrySize), mine[j]);
            File.WriteAllBytes(PathFor(_dir, lo), bytes);
        }
        Volatile.Write(ref _entries, entries.ToArray());
    }

    /// <summary>An empty file for a new segment.</summary>
    public void CreateFor(long segmentBase)
    {
        using var _ = new FileStream(PathFor(_dir, segmentBase), FileMode.Create, FileAccess.Write);
    }

    /// <summary>Records an aborted transaction in the file of the segment holding its marker.</summary>
    public void Append(long segmentBase, AbortedTxn entry)
    {
        var bytes = new byte[EntrySize];
        Write(bytes, entry);
        using (var f = new FileStream(PathFor(_dir, segmentBase), FileMode.Append, FileAccess.Write))
            f.Write(bytes);
        Volatile.Write(ref _entries, [.. _entries, entry]);
    }

    /// <summary>Forgets entries of segments that were deleted (their markers are below <paramref name="logStart"/>).</summary>
    public void RemoveBelow(long logStart, IEnumerable<long> removedSegmentBases)
    {
        foreach (long b in removedSegmentBases)
        {
            try { File.Delete(PathFor(_dir, b)); }
            catch (IOException) { }
        }
        var kept = _entries.Where(e => e.LastOffset >= logStart).ToArray();
        if (kept.Length != _entries.Length) Volatile.Write(ref _entries, kept);
    }

    /// <summary>The aborted transactions a read_committed fetch of [<paramref name="fetchOffset"/>,
    /// <paramref name="upperBound"/>) must know: those whose records overlap that range.</summary>
    public List<AbortedTxn> Collect(long fetchOffset, long upperBound)
    {
        var list = new List<AbortedTxn>();
        foreach (var e in Volatile.Read(ref _entries))
            if (e.LastOffset >= fetchOffset && e.FirstOffset < upperBound) list.Add(e);
        return list;
    }

    private static void Write(Span<byte> s, AbortedTxn e)
    {
        BinaryPrimitives.WriteInt16BigEndian(s, 0);
        BinaryPrimitives.WriteInt64BigEndian(s[2..], e.ProducerId);
        BinaryPrimitives.WriteInt64BigEndian(s[10..], e.FirstOffset);
        BinaryPrimitives.WriteInt64BigEndian(s[18..], e.LastOffset);
        BinaryPrimitives.WriteInt64BigEndian(s[26..], e.LastStableOffset);
    }
}
