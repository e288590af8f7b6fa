using System.Buffers;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace KafkaCompat.Storage;

/// <summary>Raised when the disk refuses space or a write; produce answers KAFKA_STORAGE_ERROR.</summary>
public sealed class StorageException(string message, Exception? inner = null) : IOException(message, inner);

internal static partial class Native
{
    [LibraryImport("libc", EntryPoint = "posix_fallocate64")]
    internal static partial int PosixFallocate(nint fd, long offset, long len);

    [LibraryImport("libc", EntryPoint = "msync", SetLastError = true)]
    internal static unsafe partial int MSync(void* addr, nuint length, int flags);

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    internal static partial int FdataSync(nint fd);

    internal const int MS_SYNC = 4;
}

/// <summary>
/// A file mapped into memory with a fixed capacity. Space is reserved with posix_fallocate ahead of the writes,
/// so a full disk shows up as an error on append instead of a SIGBUS on a page fault. Readers take a lease
/// (<see cref="Retain"/>) so the mapping outlives any response still holding a slice of it.
/// </summary>
public sealed unsafe class MappedFile : MemoryManager<byte>
{
    private const long AllocationChunk = 4 << 20;
    private readonly FileStream _file;
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _pointer;
    private long _allocated;
    private long _syncedAllocation;
    private int _refs = 1;
    private long _truncateTo = -1;

    public string Path { get; }
    public long Capacity { get; }

    private MappedFile(string path, FileStream file, long capacity, long allocated)
    {
        Path = path;
        _file = file;
        Capacity = capacity;
        _allocated = allocated;
        _map = MemoryMappedFile.CreateFromFile(file, null, capacity, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: true);
        _view = _map.CreateViewAccessor(0, capacity, MemoryMappedFileAccess.ReadWrite);
        byte* p = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _pointer = p + _view.PointerOffset;
    }

    /// <summary>Opens (creating if needed) and maps <paramref name="capacity"/> bytes; bytes past the file's
    /// current length are a sparse hole until <see cref="EnsureAllocated"/> reserves them.</summary>
    public static MappedFile Open(string path, long capacity)
    {
        var fs = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.None);
        try
        {
            long length = fs.Length;
            capacity = Math.Max(Math.Max(capacity, length), 4096);
            return new MappedFile(path, fs, capacity, length);
        }
        catch
        {
            fs.Dispose();
            throw;
        }
    }

    public long FileLength => _file.Length;

    public Span<byte> Span(long offset, int length)
    {
        if (offset < 0 || length < 0 || offset + length > Capacity) throw new ArgumentOutOfRangeException(nameof(offset));
        return new Span<byte>(_pointer + offset, length);
    }

    /// <summary>Reserves disk blocks up to <paramref name="end"/> (in 4 MiB steps) before bytes are copied there.</summary>
    public void EnsureAllocated(long end)
    {
        if (end <= _allocated) return;
        if (end > Capacity) throw new StorageException($"{Path}: write past the mapped capacity");
        long target = Math.Min(Capacity, Math.Max(end, _allocated + AllocationChunk));
        int rc = Native.PosixFallocate(_file.SafeFileHandle.DangerousGetHandle(), _allocated, target - _allocated);
        if (rc != 0)
        {
            // retry with exactly what is needed before giving up
            rc = Native.PosixFallocate(_file.SafeFileHandle.DangerousGetHandle(), _allocated, end - _allocated);
            if (rc != 0) throw new StorageException($"{Path}: cannot reserve disk space (errno {rc})");
            target = end;
        }
        _allocated = target;
    }

    /// <summary>Cuts the file to <paramref name="length"/> while keeping the mapping (nothing past it is read).</summary>
    public void Trim(long length)
    {
        _file.SetLength(length);
        _allocated = Math.Min(_allocated, length);
    }

    /// <summary>Writes dirty pages of the whole mapping to disk.</summary>
    public void Flush()
    {
        _view.Flush();
        SyncMetadata();
    }

    /// <summary>Writes the dirty pages of [offset, offset+length) to disk and waits for them (msync MS_SYNC), then
    /// makes sure the file's size and block allocation are durable too.</summary>
    public void FlushRange(long offset, long length)
    {
        if (length <= 0) return;
        long start = offset & ~(Environment.SystemPageSize - 1L);
        long end = Math.Min(Capacity, offset + length);
        if (Native.MSync(_pointer + start, (nuint)(end - start), Native.MS_SYNC) != 0)
            throw new StorageException($"{Path}: msync failed (errno {Marshal.GetLastPInvokeError()})");
        SyncMetadata();
    }

    private void SyncMetadata()
    {
        // fallocate changed the file's size: that metadata must reach the disk for the data to be found again
        if (_syncedAllocation == _allocated) return;
        if (Native.FdataSync(_file.SafeFileHandle.DangerousGetHandle()) != 0)
            throw new StorageException($"{Path}: fdatasync failed (errno {Marshal.GetLastPInvokeError()})");
        _syncedAllocation = _allocated;
    }

    public bool Retain()
    {
        while (true)
        {
            int r = Volatile.Read(ref _refs);
            if (r <= 0) return false;
            if (Interlocked.CompareExchange(ref _refs, r + 1, r) == r) return true;
        }
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _refs) == 0) Unmap();
    }

    /// <summary>Drops the owner's reference; the map goes when the last reader lets go. The file is cut to
    /// <paramref name="truncateTo"/> bytes if it is not negative.</summary>
    public void Close(long truncateTo = -1)
    {
        _truncateTo = truncateTo;
        Release();
    }

    private void Unmap()
    {
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
        try
        {
            if (_truncateTo >= 0 && File.Exists(Path)) _file.SetLength(_truncateTo);
        }
        catch (IOException) { }
        _file.Dispose();
    }

    public override Span<byte> GetSpan() => new(_pointer, (int)Math.Min(Capacity, int.MaxValue));
    public override MemoryHandle Pin(int elementIndex = 0) => new(_pointer + elementIndex);
    public override void Unpin() { }
    protected override void Dispose(bool disposing) { }
}

/// <summary>A lease on a mapped file, released once the response that holds its bytes is sent.</summary>
public sealed class MappedFileLease(MappedFile file) : IDisposable
{
    private MappedFile? _file = file;
    public void Dispose() => Interlocked.Exchange(ref _file, null)?.Release();
}
