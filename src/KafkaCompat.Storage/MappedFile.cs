using System.Buffers;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace KafkaCompat.Storage;

/// <summary>Raised when the disk refuses space or a write; produce answers KAFKA_STORAGE_ERROR.</summary>
public sealed class StorageException(string message, Exception? inner = null) : IOException(message, inner);

internal static unsafe partial class Native
{
    [LibraryImport("libc", EntryPoint = "posix_fallocate64")]
    internal static partial int PosixFallocate(nint fd, long offset, long len);

    [LibraryImport("libc", EntryPoint = "msync", SetLastError = true)]
    internal static partial int MSync(void* addr, nuint length, int flags);

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    internal static partial int FdataSync(nint fd);

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    internal static partial nint MMap(nint addr, nuint length, int prot, int flags, nint fd, long offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    internal static partial int MUnmap(nint addr, nuint length);

    [LibraryImport("libc", EntryPoint = "pwritev", SetLastError = true)]
    internal static partial nint PWriteV(nint fd, IoVec* iov, int iovcnt, long offset);

    [StructLayout(LayoutKind.Sequential)]
    internal struct IoVec
    {
        public byte* Base;
        public nuint Length;
    }

    internal const int EINTR = 4;

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    internal static partial int MAdvise(nint addr, nuint length, int advice);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close")]
    internal static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "syncfs", SetLastError = true)]
    internal static partial int SyncFs(int fd);

    internal const int O_RDONLY = 0, O_DIRECTORY = 0x10000;

    /// <summary>Writes every dirty page of the file system holding <paramref name="dir"/> to disk in one call (syncfs):
    /// a clean stop of thousands of partitions syncs once instead of once per file.</summary>
    internal static void SyncFileSystem(string dir)
    {
        int fd = Open(dir, O_RDONLY | O_DIRECTORY);
        if (fd < 0) throw new StorageException($"{dir}: cannot open to sync (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            if (SyncFs(fd) != 0) throw new StorageException($"{dir}: syncfs failed (errno {Marshal.GetLastPInvokeError()})");
        }
        finally
        {
            Close(fd);
        }
    }

    internal const int MS_SYNC = 4;
    internal const int MADV_DONTNEED = 4;
    internal const int MADV_POPULATE_READ = 22; // Linux 5.14+
    internal const int PROT_READ = 1, PROT_WRITE = 2, MAP_SHARED = 1;
}

/// <summary>
/// A file mapped into memory with a fixed capacity (mmap, MAP_SHARED). No file descriptor stays open: the mapping
/// keeps the file, and the few operations that need one (reserving space, trimming, syncing metadata) open it
/// briefly, so tens of thousands of partitions do not run into the descriptor limit. Space is reserved with
/// posix_fallocate ahead of the writes, so a full disk shows up as an error on append instead of a SIGBUS on a
/// page fault. Readers take a lease (<see cref="Retain"/>) so the mapping outlives any response still holding a
/// slice of it.
/// </summary>
public sealed unsafe class MappedFile : MemoryManager<byte>
{
    private const long AllocationChunk = 4 << 20;
    private const long FirstChunk = 64 << 10;
    private readonly byte* _pointer;
    private long _allocated;
    private long _syncedAllocation;
    private int _refs = 1;
    private long _truncateTo = -1;

    /// <summary>Where the file is now (segments renamed to *.deleted keep their mapping).</summary>
    public string Path { get; private set; }
    public long Capacity { get; }

    private MappedFile(string path, byte* pointer, long capacity, long allocated)
    {
        Path = path;
        _pointer = pointer;
        Capacity = capacity;
        _allocated = allocated;
        _syncedAllocation = allocated;
    }

    /// <summary>Opens (creating if needed) and maps <paramref name="capacity"/> bytes; bytes past the file's
    /// current length are a sparse hole until <see cref="EnsureAllocated"/> reserves them.</summary>
    public static MappedFile Open(string path, long capacity, bool create = true)
    {
        MapBudget.BeforeMap(path);
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, create ? FileMode.OpenOrCreate : FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (IOException e) when (e is not StorageException)
        {
            // EMFILE (the descriptor limit), a vanished directory: the request that needed the file gets the error
            throw new StorageException($"{path}: cannot open: {e.Message}", e);
        }
        using (handle)
        {
            long length = RandomAccess.GetLength(handle);
            capacity = Math.Max(Math.Max(capacity, length), 4096);
            nint p = Native.MMap(0, (nuint)capacity, Native.PROT_READ | Native.PROT_WRITE, Native.MAP_SHARED, handle.DangerousGetHandle(), 0);
            if (p == -1) throw new StorageException($"{path}: mmap of {capacity} bytes failed (errno {Marshal.GetLastPInvokeError()})");
            MapBudget.OnMapped();
            return new MappedFile(path, (byte*)p, capacity, length);
        }
    }

    private SafeFileHandle OpenHandle() =>
        File.OpenHandle(Path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);

    public long FileLength
    {
        get
        {
            using var h = OpenHandle();
            return RandomAccess.GetLength(h);
        }
    }

    /// <summary>Follows a rename of the file (the mapping itself is unaffected).</summary>
    public void Renamed(string newPath) => Path = newPath;

    public Span<byte> Span(long offset, int length)
    {
        if (offset < 0 || length < 0 || offset + length > Capacity) throw new ArgumentOutOfRangeException(nameof(offset));
        return new Span<byte>(_pointer + offset, length);
    }

    /// <summary>Reserves disk blocks up to <paramref name="end"/> before bytes are copied there: 64 KiB at first,
    /// then doubling up to 4 MiB steps, so small and idle files stay small.</summary>
    public void EnsureAllocated(long end)
    {
        if (end <= _allocated) return;
        if (end > Capacity) throw new StorageException($"{Path}: write past the mapped capacity");
        long chunk = Math.Clamp(_allocated, FirstChunk, AllocationChunk);
        long target = Math.Min(Capacity, Math.Max(end, _allocated + chunk));
        try
        {
            using var h = OpenHandle();
            int rc = Native.PosixFallocate(h.DangerousGetHandle(), _allocated, target - _allocated);
            if (rc != 0)
            {
                // retry with exactly what is needed before giving up
                rc = Native.PosixFallocate(h.DangerousGetHandle(), _allocated, end - _allocated);
                if (rc != 0) throw new StorageException($"{Path}: cannot reserve disk space (errno {rc})");
                target = end;
            }
        }
        catch (IOException e) when (e is not StorageException)
        {
            throw new StorageException($"{Path}: {e.Message}", e);
        }
        _allocated = target;
    }

    // ------------------------------------------------------------------ writes through the file

    // one descriptor per file, for appends (pwritev) and for fetches (sendfile); the writer cache bounds how many
    // files keep one. A stream lent to a send is closed only when the last send gives it back.
    private FileStream? _stream;
    // the stream's descriptor, kept apart: FileStream.SafeFileHandle seeks the file to the stream's position on every
    // call (an lseek per append)
    private nint _fd;
    private int _senders;
    private bool _closeWhenIdle;
    private readonly object _writerLock = new();
    /// <summary>Used since the writer cache last looked (its second chance).</summary>
    internal volatile bool WriterUsed;

    /// <summary>The file's descriptor, opened if needed (caller holds the writer lock).</summary>
    private FileStream Stream()
    {
        if (_stream is { } open) return open;
        try
        {
            // asynchronous: a socket's SendPacketsAsync takes only such streams for its sendfile regions
            var handle = File.OpenHandle(Path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, FileOptions.Asynchronous);
            _stream = new FileStream(handle, FileAccess.ReadWrite, bufferSize: 0, isAsync: true);
            _fd = handle.DangerousGetHandle();
        }
        catch (IOException e) when (e is not StorageException)
        {
            throw new StorageException($"{Path}: cannot open: {e.Message}", e);
        }
        WriterCache.Opened(this);
        return _stream;
    }

    /// <summary>The file as a stream for sending a range of it with sendfile (the kernel copies from the page cache to
    /// the socket; the pages are never mapped in here). Give it back with <see cref="ReleaseForSending"/>; it stays
    /// open until then even if the writer cache wants it closed. Null when the file cannot be opened any more.</summary>
    public FileStream? AcquireForSending()
    {
        lock (_writerLock)
        {
            try
            {
                var stream = Stream();
                _senders++;
                WriterUsed = true;
                return stream;
            }
            catch (StorageException)
            {
                return null;
            }
        }
    }

    public void ReleaseForSending()
    {
        FileStream? close = null;
        lock (_writerLock)
        {
            if (--_senders == 0 && _closeWhenIdle)
            {
                (close, _stream, _closeWhenIdle) = (_stream, null, false);
            }
        }
        close?.Dispose();
    }

    /// <summary>
    /// Writes <paramref name="head"/> then <paramref name="tail"/> at <paramref name="offset"/> with one pwritev into the
    /// page cache, not through the map: a store into a mapped page that was never written takes a page fault, a
    /// zero-fill and a filesystem callback per 4 KiB, which cost more than the copy itself (the mapping still reads
    /// the same pages). The file stays open for the next write while the process-wide <see cref="WriterCache"/> keeps
    /// it among the recently written files. Space must have been reserved with <see cref="EnsureAllocated"/>.
    /// </summary>
    public void Write(long offset, ReadOnlySpan<byte> head, ReadOnlySpan<byte> tail)
    {
        long total = (long)head.Length + tail.Length;
        if (offset < 0 || offset + total > Capacity) throw new ArgumentOutOfRangeException(nameof(offset));
        lock (_writerLock)
        {
            Stream();
            WriterUsed = true;
            nint fd = _fd;
            fixed (byte* h = head)
            fixed (byte* t = tail)
            {
                var iov = stackalloc Native.IoVec[2];
                iov[0] = new Native.IoVec { Base = h, Length = (nuint)head.Length };
                iov[1] = new Native.IoVec { Base = t, Length = (nuint)tail.Length };
                int first = head.IsEmpty ? 1 : 0;
                long done = 0;
                while (done < total)
                {
                    nint n = Native.PWriteV(fd, iov + first, 2 - first, offset + done);
                    if (n < 0)
                    {
                        int errno = Marshal.GetLastPInvokeError();
                        if (errno == Native.EINTR) continue;
                        throw new StorageException($"{Path}: write of {total - done} bytes at {offset + done} failed (errno {errno})");
                    }
                    done += n;
                    // a short write: step past what was written
                    while (first < 2 && n >= (nint)iov[first].Length)
                    {
                        n -= (nint)iov[first].Length;
                        first++;
                    }
                    if (first < 2)
                    {
                        iov[first].Base += n;
                        iov[first].Length -= (nuint)n;
                    }
                }
            }
        }
    }

    /// <summary>Closes the descriptor kept for writes and sends (the writer cache evicts it, or the file is unmapped).
    /// Returns false, leaving it open, when a write or a send holds it and <paramref name="wait"/> is false; with
    /// <paramref name="wait"/>, a stream lent to a send is closed when the send gives it back.</summary>
    internal bool CloseWriter(bool wait)
    {
        if (wait) Monitor.Enter(_writerLock);
        else if (!Monitor.TryEnter(_writerLock)) return false;
        try
        {
            if (_senders > 0)
            {
                if (!wait) return false;
                _closeWhenIdle = true;
                return true;
            }
            _stream?.Dispose();
            _stream = null;
            return true;
        }
        finally
        {
            Monitor.Exit(_writerLock);
        }
    }


    /// <summary>Cuts the file to <paramref name="length"/> while keeping the mapping (nothing past it is read).</summary>
    public void Trim(long length)
    {
        using (var h = OpenHandle()) RandomAccess.SetLength(h, length);
        _allocated = Math.Min(_allocated, length);
        _syncedAllocation = Math.Min(_syncedAllocation, _allocated);
    }

    /// <summary>Writes dirty pages of the reserved part of the mapping to disk.</summary>
    public void Flush() => FlushRange(0, _allocated);

    /// <summary>Writes the dirty pages of [offset, offset+length) to disk and waits for them (msync MS_SYNC), then
    /// makes sure the file's size and block allocation are durable too.</summary>
    public void FlushRange(long offset, long length)
    {
        if (length > 0)
        {
            long start = offset & ~(Environment.SystemPageSize - 1L);
            long end = Math.Min(Capacity, offset + length);
            if (end > start && Native.MSync(_pointer + start, (nuint)(end - start), Native.MS_SYNC) != 0)
                throw new StorageException($"{Path}: msync failed (errno {Marshal.GetLastPInvokeError()})");
        }
        SyncMetadata();
    }

    private void SyncMetadata()
    {
        // fallocate changed the file's size: that metadata must reach the disk for the data to be found again
        if (_syncedAllocation == _allocated) return;
        using var h = OpenHandle();
        if (Native.FdataSync(h.DangerousGetHandle()) != 0)
            throw new StorageException($"{Path}: fdatasync failed (errno {Marshal.GetLastPInvokeError()})");
        _syncedAllocation = _allocated;
    }

    /// <summary>Drops this mapping's resident pages (they stay in the page cache and fault back in on the next
    /// read), so a long log that is not being read does not count toward the broker's memory.</summary>
    public void DropResidentPages(long upTo = long.MaxValue)
    {
        if (!Retain()) return;
        try
        {
            long page = Environment.SystemPageSize;
            long end = Math.Min(Math.Max(_allocated, 1), upTo);
            // the whole file: round up to cover its last page; a prefix: round down so the page holding upTo stays
            long len = upTo == long.MaxValue ? (end + page - 1) & ~(page - 1) : end & ~(page - 1);
            if (len > 0) Native.MAdvise((nint)_pointer, (nuint)Math.Min(len, Capacity), Native.MADV_DONTNEED);
        }
        finally
        {
            Release();
        }
    }

    /// <summary>Maps the pages of a range in one call (MADV_POPULATE_READ) instead of one fault at a time; a range
    /// about to be sent from a segment whose pages were dropped. Ignored where the kernel lacks it.</summary>
    public void Populate(long offset, long length)
    {
        long start = offset & ~(Environment.SystemPageSize - 1L);
        long end = Math.Min(Capacity, offset + length);
        if (end > start) Native.MAdvise((nint)(_pointer + start), (nuint)(end - start), Native.MADV_POPULATE_READ);
    }

    private MappedFileLease? _lease;
    /// <summary>The lease that gives back one reference taken by <see cref="Retain"/>.</summary>
    public MappedFileLease Lease => _lease ??= new MappedFileLease(this);

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
        CloseWriter(wait: true);
        WriterCache.Closed(this);
        Native.MUnmap((nint)_pointer, (nuint)Capacity);
        MapBudget.OnUnmapped();
        try
        {
            if (_truncateTo >= 0 && File.Exists(Path))
            {
                using var h = OpenHandle();
                RandomAccess.SetLength(h, _truncateTo);
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    public override Span<byte> GetSpan() => new(_pointer, (int)Math.Min(Capacity, int.MaxValue));
    public override MemoryHandle Pin(int elementIndex = 0) => new(_pointer + elementIndex);
    public override void Unpin() { }
    protected override void Dispose(bool disposing) { }
}

/// <summary>
/// The descriptors kept open for writing (<see cref="MappedFile.Write"/>): at most <see cref="Limit"/> files, the least
/// recently written closed first (a second chance for one written since the last look), so tens of thousands of
/// partitions never hold as many descriptors while the few being written keep theirs.
/// </summary>
public static class WriterCache
{
    public static int Limit { get; set; } = 256;
    private static readonly LinkedList<MappedFile> Open = new();
    private static readonly object Gate = new();


    /// <summary>A file opened its writer (called under that file's writer lock): the least recently written files close
    /// theirs until the limit holds. A file being written at this moment is passed over (its lock is only tried, so
    /// two writers evicting each other cannot deadlock), so the limit can be exceeded by the files in the middle of a
    /// write.</summary>
    public static void Opened(MappedFile file)
    {
        lock (Gate)
        {
            Open.AddLast(file);
            int budget = 2 * Open.Count; // one pass clears the second chances, the next finds a victim
            for (var node = Open.First; Open.Count > Limit && node != null && budget-- > 0;)
            {
                var next = node.Next ?? Open.First;
                var candidate = node.Value;
                if (candidate != file)
                {
                    if (candidate.WriterUsed) candidate.WriterUsed = false;
                    else if (candidate.CloseWriter(wait: false)) Open.Remove(node);
                }
                node = next == node ? null : next;
            }
        }
    }

    /// <summary>A file closed its writer itself (unmapped).</summary>
    public static void Closed(MappedFile file)
    {
        lock (Gate) Open.Remove(file);
    }
}

/// <summary>A lease on a mapped file, released once the response that holds its bytes is sent: one object per file, handed
/// out with each reference <see cref="MappedFile.Retain"/> took (a read allocates nothing); each Dispose gives back one, so
/// whoever holds a lease disposes it exactly once.</summary>
public sealed class MappedFileLease(MappedFile file) : IDisposable
{
    public void Dispose() => file.Release();
}
