using KafkaCompat.Records;

namespace KafkaCompat.Storage;

/// <summary>
/// One segment: <c>&lt;baseOffset:20 digits&gt;.log</c> with its sparse <c>.index</c> and <c>.timeindex</c>. The log file is mapped
/// with the segment's full capacity for reading; appends are written through the file (pwritev into the same page
/// cache pages, see <see cref="MappedFile.Write"/>) and the logical size is published afterwards.
/// Files are mapped on first use and unmapped again when the segment goes cold or the process-wide
/// <see cref="MapBudget"/> needs the maps back; every use of them happens between <see cref="TryEnterRead"/> and
/// <see cref="ExitRead"/> (the write paths enter by themselves), and maps are only let go with nobody inside.
/// </summary>
public sealed class LogSegment : IDisposable
{
    private LogConfig _config;
    /// <summary>Bytes the log file was mapped for; a later, larger segment.bytes applies from the next segment.</summary>
    private readonly int _capacity;
    private readonly LazyMap _logMap;
    /// <summary>The log file's map (mapped on first use); only inside an entered section.</summary>
    private MappedFile _log => Volatile.Read(ref _readers) > 0 ? _logMap.File
        : throw new InvalidOperationException($"{LogPath}: the segment's map was used outside TryEnterRead/ExitRead");
    private int _size;
    private int _bytesSinceIndexEntry;
    /// <summary>Base offset of the batch that first reached <see cref="MaxTimestamp"/> (for the time index).</summary>
    private long _offsetOfMaxTimestamp = -1;

    public long BaseOffset { get; }
    public string LogPath { get; private set; }
    public string IndexPath { get; private set; }
    public OffsetIndex Index { get; }
    public string TimeIndexPath { get; private set; }
    public TimeIndex TimeIndex { get; }

    /// <summary>Bytes of valid batches in the file.</summary>
    public int Size => Volatile.Read(ref _size);

    /// <summary>Offset after the last batch of this segment (BaseOffset when empty).</summary>
    public long NextOffset { get; private set; }

    public long MaxTimestamp { get; private set; } = -1;

    /// <summary>Largest timestamp of the first batch: segment.ms counts from it, as in Kafka (-1 when empty).</summary>
    public long RollingBaseTimestamp { get; private set; } = -1;

    public static string FileStem(long baseOffset) => baseOffset.ToString("D20");

    private LogSegment(string dir, long baseOffset, LogConfig config, int size, int indexEntries, int timeIndexEntries, int minCapacity = 0)
    {
        _config = config;
        BaseOffset = baseOffset;
        NextOffset = baseOffset;
        LogPath = Path.Combine(dir, FileStem(baseOffset) + ".log");
        IndexPath = Path.Combine(dir, FileStem(baseOffset) + ".index");
        TimeIndexPath = Path.Combine(dir, FileStem(baseOffset) + ".timeindex");
        // room for the largest batch the topic accepts even when segment.bytes is smaller (Kafka lets one batch
        // overflow a segment), and for a compacted copy of a segment written under a larger segment.bytes
        _capacity = Math.Max(Math.Max(config.SegmentBytes, size), Math.Max(minCapacity, config.MaxMessageBytes + RecordBatch.LogOverhead));
        _logMap = new LazyMap(LogPath, _capacity);
        _size = size;
        Index = new OffsetIndex(IndexPath, baseOffset, config.SegmentIndexBytes, indexEntries);
        TimeIndex = new TimeIndex(TimeIndexPath, baseOffset, config.SegmentIndexBytes, timeIndexEntries);
    }

    /// <summary>A topic config change: segment.bytes and index.interval.bytes apply to this segment from now on
    /// (a larger segment.bytes only up to the size the file was mapped for).</summary>
    public void UseConfig(LogConfig config) => Volatile.Write(ref _config, config);

    public static LogSegment Create(string dir, long baseOffset, LogConfig config, int minCapacity = 0)
    {
        foreach (var ext in new[] { ".log", ".index", ".timeindex" })
        {
            // empty files now (they are mapped on first use), so the segment exists on disk from its roll
            var p = Path.Combine(dir, FileStem(baseOffset) + ext);
            try
            {
                new FileStream(p, FileMode.Create, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete).Dispose();
            }
            catch (IOException e)
            {
                throw new StorageException($"{p}: cannot create: {e.Message}", e);
            }
        }
        return new LogSegment(dir, baseOffset, config, 0, 0, 0, minCapacity);
    }

    /// <summary>
    /// Opens an existing segment. When <paramref name="verify"/> is set (unclean shutdown), every batch is
    /// checked (sizes, magic, CRC) and the file is cut at the first invalid one, and the index is rebuilt.
    /// Otherwise the file length is trusted and the index is rebuilt only if missing or inconsistent.
    /// </summary>
    public static LogSegment Open(string dir, long baseOffset, LogConfig config, bool verify, Action<string>? log)
    {
        string logPath = Path.Combine(dir, FileStem(baseOffset) + ".log");
        string indexPath = Path.Combine(dir, FileStem(baseOffset) + ".index");
        long fileLength = new FileInfo(logPath).Length;
        string timeIndexPath = Path.Combine(dir, FileStem(baseOffset) + ".timeindex");
        bool indexExists = File.Exists(indexPath);
        int indexEntries = indexExists ? (int)(new FileInfo(indexPath).Length / OffsetIndex.EntrySize) : 0;
        // no time index (a log written before it existed, or a lost file): rebuilt below with the offset index
        int timeEntries = File.Exists(timeIndexPath) ? (int)(new FileInfo(timeIndexPath).Length / TimeIndex.EntrySize) : -1;
        // a lost index file is rebuilt below, into a new empty file (maps never create files)
        foreach (var p in new[] { indexPath, timeIndexPath })
            if (!File.Exists(p)) new FileStream(p, FileMode.CreateNew, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete).Dispose();
        var seg = new LogSegment(dir, baseOffset, config, (int)Math.Min(fileLength, int.MaxValue), indexEntries, Math.Max(timeEntries, 0));
        if (timeEntries < 0 || !indexExists && fileLength > 0) seg._indexMissing = true;
        seg.Enter();
        try
        {
            seg.Recover(verify, log);
        }
        catch
        {
            seg.ExitRead();
            seg.UnmapAll();
            throw;
        }
        seg.ExitRead();
        return seg;
    }

    /// <summary>An index file was missing at open: both are rebuilt from the log.</summary>
    private bool _indexMissing;

    private void Recover(bool verify, Action<string>? log)
    {
        int limit = _size;
        bool indexOk = !verify && !_indexMissing && Index.IsSane(limit) && TimeIndex.IsSane(long.MaxValue);
        int pos = 0;
        int lastIndexed = -1;
        if (indexOk && Index.Count > 0)
        {
            // resume at the last indexed batch (rescanned), with the largest timestamp the time index knows before it
            var (lastOffset, lastPosition) = Index.Entry(Index.Count - 1);
            pos = lastIndexed = lastPosition;
            TimeIndex.TruncateToOffset(lastOffset);
            if (TimeIndex.Count > 0) (MaxTimestamp, _offsetOfMaxTimestamp) = TimeIndex.Entry(TimeIndex.Count - 1);
        }
        else
        {
            if (!verify && !indexOk) log?.Invoke($"{LogPath}: rebuilding the offset and time indexes");
            Index.Reset();
            TimeIndex.Reset();
            _bytesSinceIndexEntry = 0;
        }
        long next = BaseOffset;
        var span = _log.Span(0, limit);
        string? problem = null;
        while (pos < limit)
        {
            var rest = span[pos..];
            var err = RecordBatch.Validate(rest, out int size, checkCrc: verify);
            if (err != BatchError.None)
            {
                // zeros after the last batch are the preallocated tail, not damage
                if (!(err is BatchError.BadLength or BatchError.TooShort or BatchError.Truncated && rest.IndexOfAnyExcept((byte)0) < 0))
                    problem = $"{err} at position {pos}";
                break;
            }
            long baseOff = RecordBatch.BaseOffset(rest);
            if (baseOff < next && next != BaseOffset)
            {
                problem = $"offset {baseOff} goes backwards at position {pos}";
                break;
            }
            TrackTimestamp(RecordBatch.MaxTimestamp(rest), baseOff);
            if (pos == 0) RollingBaseTimestamp = RecordBatch.MaxTimestamp(rest);
            // when resuming, the batch at pos is already indexed; later ones are indexed as on append
            if (pos > lastIndexed) MaybeIndex(baseOff, pos, size);
            else _bytesSinceIndexEntry = size;
            next = RecordBatch.LastOffset(rest) + 1;
            pos += size;
        }
        if (pos < limit)
        {
            if (problem != null) log?.Invoke($"{LogPath}: truncating {limit - pos} bytes after the last valid batch ({problem})");
            span[pos..].Clear();
            _log.Trim(pos);
        }
        _size = pos;
        NextOffset = next;
        TimeIndex.TruncateToOffset(next);
        if (!indexOk)
        {
            Index.Flush();
            TimeIndex.Flush();
        }
    }

    private void TrackTimestamp(long batchMaxTimestamp, long baseOffset)
    {
        if (batchMaxTimestamp > MaxTimestamp)
        {
            MaxTimestamp = batchMaxTimestamp;
            _offsetOfMaxTimestamp = baseOffset;
        }
    }

    /// <summary>Every index.interval.bytes: an offset index entry for this batch, and a time index entry when the
    /// segment's largest timestamp has grown since the last one.</summary>
    private void MaybeIndex(long baseOffset, int position, int size, long batchMaxTimestamp = long.MinValue)
    {
        if (position == 0 || _bytesSinceIndexEntry >= _config.IndexIntervalBytes)
        {
            // the largest timestamp including this batch (appends index before recording the batch's timestamp)
            var (maxTs, maxAt) = batchMaxTimestamp > MaxTimestamp ? (batchMaxTimestamp, baseOffset) : (MaxTimestamp, _offsetOfMaxTimestamp);
            Index.Append(baseOffset, position);
            if (maxTs > TimeIndex.LastTimestamp && maxAt >= 0) TimeIndex.Append(maxTs, maxAt);
            _bytesSinceIndexEntry = 0;
        }
        _bytesSinceIndexEntry += size;
    }

    public bool HasRoomFor(int batchSize) =>
        _size == 0 || ((long)_size + batchSize <= Math.Min(Volatile.Read(ref _config).SegmentBytes, _capacity) && !Index.IsFull && !TimeIndex.IsFull);

    /// <summary>Copies a validated batch into the map, rewriting its base offset (and time when asked).
    /// Not visible to readers until the partition publishes the new end.</summary>
    /// <param name="leaderEpoch">The partition's leader epoch, stamped into the batch as Kafka's leader does.</param>
    public void Append(ReadOnlySpan<byte> batch, long baseOffset, long logAppendTime, int leaderEpoch = 0)
    {
        Enter();
        try { AppendEntered(batch, baseOffset, logAppendTime, leaderEpoch); }
        finally { ExitRead(); }
    }

    private void AppendEntered(ReadOnlySpan<byte> batch, long baseOffset, long logAppendTime, int leaderEpoch)
    {
        _sealed = false;
        int pos = _size;
        long end = (long)pos + batch.Length;
        if (end > _capacity) throw new StorageException($"{LogPath}: segment full");
        var file = _log;
        file.EnsureAllocated(end);
        // the header as stored (base offset and leader epoch are outside the CRC), then the rest as the client sent it
        Span<byte> header = stackalloc byte[RecordBatch.HeaderSize];
        batch[..RecordBatch.HeaderSize].CopyTo(header);
        RecordBatch.SetBaseOffset(header, baseOffset);
        RecordBatch.SetLeaderEpoch(header, leaderEpoch);
        if (logAppendTime >= 0)
        {
            // LogAppendTime rewrites the timestamp and so the CRC, which covers the whole batch
            var whole = System.Buffers.ArrayPool<byte>.Shared.Rent(batch.Length);
            try
            {
                var copy = whole.AsSpan(0, batch.Length);
                header.CopyTo(copy);
                batch[RecordBatch.HeaderSize..].CopyTo(copy[RecordBatch.HeaderSize..]);
                RecordBatch.SetLogAppendTime(copy, logAppendTime);
                copy[..RecordBatch.HeaderSize].CopyTo(header);
                file.Write(pos, copy, default);
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(whole);
            }
        }
        else file.Write(pos, header, batch[RecordBatch.HeaderSize..]);
        long maxTimestamp = RecordBatch.MaxTimestamp(header);
        try
        {
            MaybeIndex(baseOffset, pos, batch.Length, maxTimestamp);
        }
        catch
        {
            file.Span(pos, batch.Length).Clear(); // never leave a valid-looking batch past the end for recovery to find
            throw;
        }
        TrackTimestamp(maxTimestamp, baseOffset);
        if (pos == 0) RollingBaseTimestamp = maxTimestamp;
        NextOffset = RecordBatch.LastOffset(header) + 1;
        Volatile.Write(ref _size, (int)end);
    }

    /// <summary>Last use (Environment.TickCount64), for the cold-segment sweep.</summary>
    private long _lastAccess = Environment.TickCount64;
    /// <summary>Used since the budget's clock hand last passed (1) or not (0).</summary>
    private int _referenced;
    private bool _indexMapped;

    /// <summary>Bytes of the log file; only between <see cref="TryEnterRead"/> and <see cref="ExitRead"/>.</summary>
    public ReadOnlySpan<byte> Span(int position, int length) => _log.Span(position, length);

    /// <summary>The active segment keeps its last <paramref name="keepBytes"/> resident (where producers write and
    /// consumers read); the pages before that are dropped like a cold segment's.</summary>
    public void ReleaseBehind(long keepBytes)
    {
        long upTo = Size - keepBytes;
        if (upTo <= 0 || !_logMap.IsMapped || !TryEnterRead()) return;
        try
        {
            if (_logMap.IsMapped) _log.DropResidentPages(upTo);
        }
        finally
        {
            ExitRead();
        }
    }

    /// <summary>A segment nobody has used for <paramref name="idleMs"/> gives its maps back entirely (the pages stay
    /// in the page cache; the files are mapped again on the next use). Returns whether it did.</summary>
    public bool ReleaseIfCold(long now, long idleMs)
    {
        if (RingSlot < 0 || now - Volatile.Read(ref _lastAccess) < idleMs) return false;
        return TryUnmap();
    }

    /// <summary>A slice of the mapped log with a lease that keeps the mapping alive (after the segment unmaps, until
    /// the response holding it is sent). The range is mapped in one call first: a fetch from a long log mostly
    /// reads pages this mapping has never touched, and faulting them in one at a time costs more than the fetch.</summary>
    public bool TrySlice(int position, int length, out ReadOnlyMemory<byte> memory, out IDisposable? lease, bool populate = true)
    {
        var file = _log;
        if (!file.Retain())
        {
            memory = default;
            lease = null;
            return false;
        }
        if (populate) file.Populate(position, length);
        memory = file.Memory.Slice(position, length);
        lease = file.Lease;
        return true;
    }

    /// <summary>Position of the first batch whose last offset is at or after <paramref name="offset"/>,
    /// searching below <paramref name="limit"/>; -1 if none.</summary>
    public int FindPosition(long offset, int limit)
    {
        if (!_indexMapped)
        {
            // the first lookup since the segment was opened or went cold: map the whole index at once
            _indexMapped = true;
            Index.Populate();
        }
        int pos = Index.Lookup(offset);
        var span = _log.Span(0, limit);
        while (pos + RecordBatch.HeaderSize <= limit)
        {
            var b = span[pos..];
            if (RecordBatch.LastOffset(b) >= offset) return pos;
            pos += RecordBatch.TotalSize(b);
        }
        return -1;
    }

    /// <summary>Cuts the segment back to <paramref name="position"/> (undoing a partly applied request): the bytes
    /// after it are zeroed and index entries past it dropped.</summary>
    public void TruncateTo(int position, long nextOffset)
    {
        int size = Size;
        if (position >= size) return;
        Enter();
        try { TruncateEntered(position, size, nextOffset); }
        finally { ExitRead(); }
    }

    private void TruncateEntered(int position, int size, long nextOffset)
    {
        // an append undone across a roll makes a sealed segment the active one again
        _sealed = false;
        _log.Span(position, size - position).Clear();
        Index.TruncateToPosition(position);
        TimeIndex.TruncateToOffset(nextOffset);
        NextOffset = nextOffset;
        _bytesSinceIndexEntry = 0;
        Volatile.Write(ref _size, position);
    }

    /// <summary>Position of the first batch whose largest timestamp is at or after <paramref name="target"/>,
    /// searching below <paramref name="limit"/>; -1 if none. The time index gives the starting point.</summary>
    public int FindPositionByTimestamp(long target, int limit)
    {
        long startOffset = TimeIndex.Lookup(target);
        int pos = FindPosition(startOffset, limit);
        if (pos < 0) pos = 0;
        var span = _log.Span(0, limit);
        while (pos + RecordBatch.HeaderSize <= limit)
        {
            var b = span[pos..];
            if (RecordBatch.MaxTimestamp(b) >= target) return pos;
            pos += RecordBatch.TotalSize(b);
        }
        return -1;
    }

    private int _flushedSize;

    /// <summary>Makes everything appended so far durable: the new log bytes (msync of that range only) and the indexes.</summary>
    public void FlushAppended()
    {
        int size = Size;
        int from = Volatile.Read(ref _flushedSize);
        Enter();
        try
        {
            if (size > from) _log.FlushRange(from, size - from);
            Index.Flush();
            TimeIndex.Flush();
        }
        finally
        {
            ExitRead();
        }
        Volatile.Write(ref _flushedSize, size);
    }

    public void Flush()
    {
        if (!TryEnterRead()) return;
        try
        {
            int size = Size;
            // a segment that gave its maps back: its written pages are in the page cache, synced through the file
            if (_logMap.IsMapped) _log.Flush();
            else if (Volatile.Read(ref _flushedSize) < size) _logMap.SyncFile();
            Index.Flush();
            TimeIndex.Flush();
            Volatile.Write(ref _flushedSize, size);
        }
        finally
        {
            ExitRead();
        }
    }

    /// <summary>Gives back the preallocated tail once the segment stops being the active one.</summary>
    public void Seal()
    {
        Enter();
        try
        {
            if (MaxTimestamp > TimeIndex.LastTimestamp && _offsetOfMaxTimestamp >= 0) TimeIndex.Append(MaxTimestamp, _offsetOfMaxTimestamp);
            _logMap.Trim(Size);
            Index.Trim();
            TimeIndex.Trim();
            _sealed = true;
        }
        finally
        {
            ExitRead();
        }
    }

    /// <summary>Sealed: the files were cut to their contents and nothing is appended any more, so closing has no file
    /// to touch (a broker with 100,000 segments stops without 300,000 truncations).</summary>
    private bool _sealed;

    private int _readers;
    private int _disposing;
    private int _unmapping;
    private readonly object _mapLock = new();

    /// <summary>Where the segment sits in the <see cref="MapBudget"/>'s ring while it holds maps (-1: not there).
    /// Changed under the budget's lock.</summary>
    internal int RingSlot = -1;

    /// <summary>Enters a use of the segment's maps (the log's bytes and its indexes), mapping the files as they are
    /// touched; false once the segment is being closed. A successful call must be paired with <see cref="ExitRead"/>;
    /// closing waits for the users inside, and the budget never unmaps a segment with users.</summary>
    public bool TryEnterRead()
    {
        while (true)
        {
            Interlocked.Increment(ref _readers);
            if (Volatile.Read(ref _disposing) != 0)
            {
                Interlocked.Decrement(ref _readers);
                return false;
            }
            if (Volatile.Read(ref _unmapping) == 0) break;
            // the budget is unmapping this segment right now: wait for it to finish, then map again
            Interlocked.Decrement(ref _readers);
            lock (_mapLock) { }
        }
        Volatile.Write(ref _lastAccess, Environment.TickCount64);
        Volatile.Write(ref _referenced, 1);
        if (RingSlot < 0)
        {
            lock (_mapLock)
                if (RingSlot < 0) MapBudget.Register(this);
        }
        return true;
    }

    public void ExitRead() => Interlocked.Decrement(ref _readers);

    /// <summary>The write paths' entry: a closed segment cannot be written.</summary>
    private void Enter()
    {
        if (!TryEnterRead()) throw new ObjectDisposedException(LogPath, "the segment was closed");
    }

    /// <summary>Clears the budget's reference bit; true when the segment was used since the last sweep.</summary>
    internal bool TakeReferenced() => Interlocked.Exchange(ref _referenced, 0) == 1;

    /// <summary>Gives every map back when nobody is inside (the budget's eviction and the cold sweep); false when
    /// the segment is in use or closed. Written bytes stay in the page cache: a later flush syncs them through the
    /// file (msync of a new map, or fdatasync).</summary>
    internal bool TryUnmap()
    {
        if (!Monitor.TryEnter(_mapLock)) return false;
        try
        {
            if (Volatile.Read(ref _disposing) != 0 || RingSlot < 0) return false;
            Interlocked.Exchange(ref _unmapping, 1);
            if (Volatile.Read(ref _readers) != 0) return false;
            UnmapAll();
            return true;
        }
        finally
        {
            Volatile.Write(ref _unmapping, 0);
            Monitor.Exit(_mapLock);
        }
    }

    /// <summary>Unmaps the three files and leaves the budget's ring. Nobody may be inside.</summary>
    private void UnmapAll()
    {
        _indexMapped = false;
        _logMap.Unmap();
        Index.Unmap();
        TimeIndex.Unmap();
        MapBudget.Unregister(this);
    }

    public void Dispose()
    {
        // no unmapping under a reader: a fetch that woke up after a topic deletion, or a lookup racing retention,
        // sees the segment closed (TryEnterRead false) or finishes before the maps go
        if (Interlocked.Exchange(ref _disposing, 1) == 1) return;
        var spin = new SpinWait();
        while (Volatile.Read(ref _readers) > 0) spin.SpinOnce();
        lock (_mapLock)
        {
            // the largest timestamp of the tail after the last index point, so a reopened segment knows it
            _indexMapped = false;
            if (_sealed)
            {
                _logMap.Unmap();
                Index.Unmap();
                TimeIndex.Unmap();
            }
            else
            {
                if (MaxTimestamp > TimeIndex.LastTimestamp && _offsetOfMaxTimestamp >= 0)
                    TimeIndex.Append(MaxTimestamp, _offsetOfMaxTimestamp);
                _logMap.Unmap(truncateTo: Size);
                Index.Dispose();
                TimeIndex.Dispose();
            }
            MapBudget.Unregister(this);
        }
    }

    /// <summary>Renames the files to <c>*.deleted</c> (Kafka's convention): readers still on the mapping keep working,
    /// and a restart before the files are removed does not bring the segment back.</summary>
    public void MarkDeleted()
    {
        LogPath = _logMap.MarkDeleted();
        IndexPath = Index.MarkDeleted();
        TimeIndexPath = TimeIndex.MarkDeleted();
    }

    public void Delete()
    {
        Dispose();
        File.Delete(LogPath);
        File.Delete(IndexPath);
        File.Delete(TimeIndexPath);
    }
}
