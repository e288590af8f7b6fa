using System.Buffers.Binary;

namespace KafkaCompat.Storage;

/// <summary>
/// Sparse offset index of one segment: 8-byte entries (offset relative to the segment base as int32, file
/// position as int32), big-endian, in ascending order; memory-mapped. Appends happen under the partition lock,
/// lookups run concurrently and see only entries published through <see cref="Count"/>.
/// </summary>
public sealed class OffsetIndex : IDisposable
{
    public const int EntrySize = 8;
    private readonly LazyMap _map;
    private MappedFile File => _map.File;
    private readonly long _baseOffset;
    private int _count;

    public OffsetIndex(string path, long baseOffset, int maxBytes, int existingEntries)
    {
        // the capacity a map of the file gets (at least a page, at least the file), known before it is mapped
        long capacity = Math.Max(Math.Max(maxBytes, EntrySize), Math.Max((long)existingEntries * EntrySize, 4096));
        _map = new LazyMap(path, capacity);
        _baseOffset = baseOffset;
        _count = existingEntries;
        MaxEntries = (int)(capacity / EntrySize);
    }

    public int Count => Volatile.Read(ref _count);
    public int MaxEntries { get; }
    public bool IsFull => Count >= MaxEntries;

    public (long Offset, int Position) Entry(int i)
    {
        var s = File.Span((long)i * EntrySize, EntrySize);
        return (_baseOffset + BinaryPrimitives.ReadInt32BigEndian(s), BinaryPrimitives.ReadInt32BigEndian(s[4..]));
    }

    public void Append(long offset, int position)
    {
        int n = _count;
        if (n >= MaxEntries) return;
        if (n > 0 && Entry(n - 1).Offset >= offset) return;
        File.EnsureAllocated((long)(n + 1) * EntrySize);
        var s = File.Span((long)n * EntrySize, EntrySize);
        BinaryPrimitives.WriteInt32BigEndian(s, checked((int)(offset - _baseOffset)));
        BinaryPrimitives.WriteInt32BigEndian(s[4..], position);
        Volatile.Write(ref _count, n + 1);
    }

    /// <summary>File position of the last indexed batch starting at or before <paramref name="offset"/> (0 if none).</summary>
    public int Lookup(long offset)
    {
        int lo = 0, hi = Count - 1, best = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (Entry(mid).Offset <= offset) { best = mid; lo = mid + 1; }
            else hi = mid - 1;
        }
        return best < 0 ? 0 : Entry(best).Position;
    }

    /// <summary>Drops entries at or past <paramref name="position"/>.</summary>
    public void TruncateToPosition(int position)
    {
        int n = Count;
        while (n > 0 && Entry(n - 1).Position >= position) n--;
        Volatile.Write(ref _count, n);
    }

    public void Reset() => Volatile.Write(ref _count, 0);

    public void Flush()
    {
        if (_map.IsMapped) File.Flush();
    }

    /// <summary>Maps every entry in one call, so the lookups of a segment being read do not fault page by page.</summary>
    public void Populate() => File.Populate(0, (long)Count * EntrySize);

    /// <summary>Renames the file to *.deleted (a segment being deleted); returns the new path.</summary>
    public string MarkDeleted() => _map.MarkDeleted();

    public void Trim() => _map.Trim((long)Count * EntrySize);

    /// <summary>Checks that entries ascend and point inside a log of <paramref name="logSize"/> bytes.</summary>
    public bool IsSane(int logSize)
    {
        long prevOff = -1;
        int prevPos = -1;
        for (int i = 0; i < Count; i++)
        {
            var (o, p) = Entry(i);
            if (o <= prevOff || p <= prevPos || p >= logSize) return false;
            prevOff = o;
            prevPos = p;
        }
        return true;
    }

    /// <summary>Gives the map back (the segment is not in use); the next access maps the file again.</summary>
    public void Unmap() => _map.Unmap();

    public void Dispose() => _map.Unmap(truncateTo: (long)Count * EntrySize);
}
