using System.Buffers.Binary;

namespace KafkaCompat.Storage;

/// <summary>
/// Sparse time index of one segment, Kafka's <c>.timeindex</c> layout: 12-byte entries (timestamp int64, offset
/// relative to the segment base int32), big-endian, memory-mapped. An entry (T, O) is written when the batch at
/// offset O raises the segment's largest timestamp to T, so every batch before O has only timestamps below T.
/// Appends happen under the partition lock; lookups run concurrently and see published entries only.
/// </summary>
public sealed class TimeIndex : IDisposable
{
    public const int EntrySize = 12;
    private readonly LazyMap _map;
    private MappedFile File => _map.File;
    private readonly long _baseOffset;
    private int _count;

    public TimeIndex(string path, long baseOffset, int maxBytes, int existingEntries)
    {
        long capacity = Math.Max(Math.Max(maxBytes / EntrySize * EntrySize, EntrySize), Math.Max((long)existingEntries * EntrySize, 4096));
        _map = new LazyMap(path, capacity);
        _baseOffset = baseOffset;
        MaxEntries = (int)(capacity / EntrySize);
        _count = Math.Min(existingEntries, MaxEntries);
    }

    public int Count => Volatile.Read(ref _count);
    public int MaxEntries { get; }
    public bool IsFull => Count >= MaxEntries;

    public (long Timestamp, long Offset) Entry(int i)
    {
        var s = File.Span((long)i * EntrySize, EntrySize);
        return (BinaryPrimitives.ReadInt64BigEndian(s), _baseOffset + BinaryPrimitives.ReadInt32BigEndian(s[8..]));
    }

    /// <summary>Largest timestamp recorded (-1 when empty); remembered, so a segment closing or sealing does not map
    /// its index again only to read it.</summary>
    public long LastTimestamp
    {
        get
        {
            long known = Volatile.Read(ref _lastTimestamp);
            if (known != Unknown) return known;
            long t = Count == 0 ? -1 : Entry(Count - 1).Timestamp;
            Volatile.Write(ref _lastTimestamp, t);
            return t;
        }
    }

    private const long Unknown = long.MinValue;
    private long _lastTimestamp = Unknown;

    /// <summary>Records that the batch at <paramref name="offset"/> raised the largest timestamp to <paramref name="timestamp"/>.</summary>
    public void Append(long timestamp, long offset)
    {
        int n = _count;
        if (n >= MaxEntries) return;
        if (n > 0)
        {
            var last = Entry(n - 1);
            if (timestamp <= last.Timestamp || offset <= last.Offset) return;
        }
        File.EnsureAllocated((long)(n + 1) * EntrySize);
        var s = File.Span((long)n * EntrySize, EntrySize);
        BinaryPrimitives.WriteInt64BigEndian(s, timestamp);
        BinaryPrimitives.WriteInt32BigEndian(s[8..], checked((int)(offset - _baseOffset)));
        Volatile.Write(ref _count, n + 1);
        Volatile.Write(ref _lastTimestamp, timestamp);
    }

    /// <summary>The offset to start searching from for the first timestamp at or after <paramref name="target"/>:
    /// that of the last entry with a timestamp at or below it (the segment base when there is none).</summary>
    public long Lookup(long target)
    {
        int lo = 0, hi = Count - 1, best = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (Entry(mid).Timestamp <= target) { best = mid; lo = mid + 1; }
            else hi = mid - 1;
        }
        return best < 0 ? _baseOffset : Entry(best).Offset;
    }

    public void Reset()
    {
        Volatile.Write(ref _count, 0);
        Volatile.Write(ref _lastTimestamp, -1);
    }

    /// <summary>Drops entries for offsets at or after <paramref name="offset"/>.</summary>
    public void TruncateToOffset(long offset)
    {
        int n = Count;
        if (n == 0 || Entry(n - 1).Offset < offset) return;
        while (n > 0 && Entry(n - 1).Offset >= offset) n--;
        Volatile.Write(ref _count, n);
        Volatile.Write(ref _lastTimestamp, Unknown);
    }

    public void Flush()
    {
        if (_map.IsMapped) File.Flush();
    }

    /// <summary>Renames the file to *.deleted (a segment being deleted); returns the new path.</summary>
    public string MarkDeleted() => _map.MarkDeleted();

    public void Trim() => _map.Trim((long)Count * EntrySize);

    /// <summary>Entries ascend in both timestamp and offset and stay below <paramref name="nextOffset"/>.</summary>
    public bool IsSane(long nextOffset)
    {
        long prevTs = long.MinValue, prevOff = _baseOffset - 1;
        for (int i = 0; i < Count; i++)
        {
            var (t, o) = Entry(i);
            if (t <= prevTs || o <= prevOff || o >= nextOffset) return false;
            prevTs = t;
            prevOff = o;
        }
        return true;
    }

    /// <summary>Gives the map back (the segment is not in use); the next access maps the file again.</summary>
    public void Unmap() => _map.Unmap();

    public void Dispose() => _map.Unmap(truncateTo: (long)Count * EntrySize);
}
