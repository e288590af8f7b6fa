using System.Globalization;

namespace KafkaCompat.Storage;

/// <summary>
/// The process-wide budget of memory maps. Linux caps a process at vm.max_map_count maps (65,530 by default), and
/// the .NET runtime needs maps of its own to live: past the cap it dies ("Failed to create RW mapping for RX
/// memory"). Segments therefore map their files only while they are used, and the least recently used segments
/// give their maps back once more than <see cref="Limit"/> are open (a clock sweep: a segment used since the last
/// sweep gets a second chance). A map is refused outright (<see cref="StorageException"/>, which the request that
/// needed it answers with KAFKA_STORAGE_ERROR) only when the maps held by readers alone would pass
/// <see cref="HardLimit"/>.
/// </summary>
public static class MapBudget
{
    /// <summary>Maps the runtime keeps for itself (code, heaps, threads, loaded libraries): measured around 1,000-2,000.</summary>
    private const int RuntimeReserve = 12_288;

    private static readonly object RingLock = new();
    private static readonly object ReclaimLock = new();
    private static readonly List<LogSegment> Ring = [];
    private static int _hand;
    private static int _mapped;
    private static long _evictions;
    private static long _refusals;
    private static long _refusalsLogged;
    private static long _lastRefusalLog = long.MinValue / 2;

    /// <summary>Where a refused map is reported (the broker's storage log).</summary>
    public static Action<string>? Log { get; set; }

    /// <summary>The kernel's per-process cap (vm.max_map_count), or 65,530 when it cannot be read.</summary>
    public static int SystemMaxMapCount { get; } = ReadMaxMapCount();

    /// <summary>Maps past which nothing new is mapped: the system cap less what the runtime needs.</summary>
    public static int HardLimit { get; set; } = Math.Max(1024, SystemMaxMapCount - RuntimeReserve);

    /// <summary>Maps the log keeps open before it unmaps the least recently used segments (log.max.memory.maps; by
    /// default a quarter of vm.max_map_count, at most 16,384).</summary>
    public static int Limit { get; set; } = DefaultLimit;

    public static int DefaultLimit => Math.Clamp(SystemMaxMapCount / 4, 256, 16_384);

    /// <summary>Maps open now (including those a response still holds after their segment let them go).</summary>
    public static int Mapped => Volatile.Read(ref _mapped);

    /// <summary>Segments holding at least one map.</summary>
    public static int ResidentSegments
    {
        get { lock (RingLock) return Ring.Count; }
    }

    /// <summary>How many times a segment gave its maps back to stay within <see cref="Limit"/>.</summary>
    public static long Evictions => Interlocked.Read(ref _evictions);

    /// <summary>How many maps were refused because the hard limit was reached.</summary>
    public static long Refusals => Interlocked.Read(ref _refusals);

    private static int ReadMaxMapCount()
    {
        try
        {
            var text = File.ReadAllText("/proc/sys/vm/max_map_count").Trim();
            return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : 65_530;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 65_530;
        }
    }

    /// <summary>Called before a map is made: makes room, and refuses when even that cannot keep under the hard limit.</summary>
    internal static void BeforeMap(string path)
    {
        if (Mapped < Limit) return;
        Reclaim();
        if (Mapped < HardLimit) return;
        long refusals = Interlocked.Increment(ref _refusals);
        var message = $"{path}: cannot map the file: {Mapped} memory maps are open (hard limit {HardLimit}, " +
            $"vm.max_map_count {SystemMaxMapCount}) and readers hold them";
        // one line a second at most, with the count since the last one
        long now = Environment.TickCount64;
        long last = Volatile.Read(ref _lastRefusalLog);
        if (now - last >= 1000 && Interlocked.CompareExchange(ref _lastRefusalLog, now, last) == last)
            Log?.Invoke($"{message} (refused {refusals - Interlocked.Exchange(ref _refusalsLogged, refusals)} map(s) since the last report)");
        throw new StorageException(message);
    }

    internal static void OnMapped() => Interlocked.Increment(ref _mapped);
    internal static void OnUnmapped() => Interlocked.Decrement(ref _mapped);

    internal static void Register(LogSegment segment)
    {
        lock (RingLock)
        {
            segment.RingSlot = Ring.Count;
            Ring.Add(segment);
        }
    }

    internal static void Unregister(LogSegment segment)
    {
        lock (RingLock)
        {
            int slot = segment.RingSlot;
            if (slot < 0 || slot >= Ring.Count || !ReferenceEquals(Ring[slot], segment)) return;
            var last = Ring[^1];
            Ring[slot] = last;
            last.RingSlot = slot;
            Ring.RemoveAt(Ring.Count - 1);
            segment.RingSlot = -1;
        }
    }

    /// <summary>Unmaps least recently used segments until the open maps are an eighth below the limit. One thread
    /// reclaims at a time and the others wait for it (it holds no segment while it waits on nothing: candidates in
    /// use are skipped).</summary>
    public static void Reclaim()
    {
        lock (ReclaimLock)
        {
            if (Mapped < Limit) return; // another thread made room meanwhile
            Sweep();
        }
    }

    private static void Sweep()
    {
        int target = Limit - Limit / 8;
        int steps;
        lock (RingLock) steps = Ring.Count * 2 + 1;
        while (Mapped > target && steps-- > 0)
        {
            LogSegment candidate;
            lock (RingLock)
            {
                if (Ring.Count == 0) return;
                if (_hand >= Ring.Count) _hand = 0;
                candidate = Ring[_hand++];
            }
            if (candidate.TakeReferenced()) continue; // used since the last sweep: a second chance
            if (candidate.TryUnmap()) Interlocked.Increment(ref _evictions);
        }
    }
}

/// <summary>
/// One file of a segment, mapped on first use and unmapped when the segment gives its maps back. Only the owning
/// segment unmaps it, and only while nobody is inside the segment (see <see cref="LogSegment.TryEnterRead"/>).
/// </summary>
internal sealed class LazyMap(string path, long capacity)
{
    private MappedFile? _file;
    private readonly object _lock = new();

    public string Path { get; private set; } = path;
    public long Capacity { get; } = capacity;
    public bool IsMapped => Volatile.Read(ref _file) != null;

    public MappedFile File => Volatile.Read(ref _file) ?? Map();

    private MappedFile Map()
    {
        lock (_lock)
        {
            if (_file is { } f) return f;
            // never created here: a segment's files exist from its roll, and opening by a name that was just renamed
            // away must fail rather than map a new empty file
            var opened = MappedFile.Open(Path, Capacity, create: false);
            Volatile.Write(ref _file, opened);
            return opened;
        }
    }

    /// <summary>Lets the map go (it stays until the last lease on it is released); the file is cut to
    /// <paramref name="truncateTo"/> bytes when that is not negative, mapped or not.</summary>
    public void Unmap(long truncateTo = -1)
    {
        MappedFile? f;
        lock (_lock)
        {
            f = _file;
            Volatile.Write(ref _file, null);
        }
        if (f != null) f.Close(truncateTo);
        else if (truncateTo >= 0) TruncateFile(truncateTo);
    }

    /// <summary>Cuts the file to <paramref name="length"/> (through the map when there is one, so it knows).</summary>
    public void Trim(long length)
    {
        if (Volatile.Read(ref _file) is { } f) f.Trim(length);
        else TruncateFile(length);
    }

    private void TruncateFile(long length)
    {
        if (!System.IO.File.Exists(Path)) return;
        using var h = System.IO.File.OpenHandle(Path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        if (RandomAccess.GetLength(h) > length) RandomAccess.SetLength(h, length);
    }

    /// <summary>fdatasync of the file: the pages written through an earlier map are in the page cache.</summary>
    public void SyncFile()
    {
        using var h = System.IO.File.OpenHandle(Path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        if (Native.FdataSync(h.DangerousGetHandle()) != 0)
            throw new StorageException($"{Path}: fdatasync failed (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()})");
    }

    /// <summary>Renames the file to <c>*.deleted</c> under the map's lock, so a reader mapping it meanwhile opens it by
    /// one name or the other, never a vanished one. Returns the new path.</summary>
    public string MarkDeleted()
    {
        lock (_lock)
        {
            if (!System.IO.File.Exists(Path)) return Path;
            string to = Path + ".deleted";
            System.IO.File.Move(Path, to, overwrite: true);
            Path = to;
            _file?.Renamed(to);
            return to;
        }
    }
}
