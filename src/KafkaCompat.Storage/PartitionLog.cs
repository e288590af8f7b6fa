using KafkaCompat.Records;

namespace KafkaCompat.Storage;

/// <summary>The offsets an append gave; for a retried idempotent batch (<paramref name="Duplicate"/>), the offsets it
/// was first given, and nothing was written.</summary>
public readonly record struct AppendResult(long BaseOffset, long LastOffset, long LogAppendTime, bool Duplicate = false);

/// <summary>Result of a read: bytes of whole batches (a slice of the mapped segment) and the lease holding it.</summary>
public readonly record struct ReadResult(ReadOnlyMemory<byte> Records, IDisposable? Lease);

public sealed class OffsetOutOfRangeException(long offset, long start, long end)
    : Exception($"offset {offset} is outside [{start}, {end}]");

public sealed class InvalidBatchException(BatchError error, int index)
    : Exception(error == BatchError.MissingKey
        ? $"Compacted topic cannot accept message without key (record batch {index})"
        : $"record batch {index} is invalid: {error}")
{
    public BatchError Error { get; } = error;
}

public sealed class RecordTooLargeException(int size, int max)
    : Exception($"record batch of {size} bytes exceeds max.message.bytes {max}");

/// <summary>
/// The log of one partition: an ordered list of segments, appended to under a lock, read without one.
/// The end offset (high watermark, as there is one replica) is published after the bytes are in the map.
/// </summary>
public sealed partial class PartitionLog : IDisposable
{
    private readonly record struct LogEnd(long NextOffset, LogSegment Segment, int Position)
    {
        /// <summary>Bytes of <paramref name="seg"/> readers may see: all of a sealed segment, the published part of the active one.</summary>
        public int ReadableSize(LogSegment seg) => ReferenceEquals(seg, Segment) ? Position : seg.Size;
    }

    private readonly object _appendLock = new();
    /// <summary>Serialises the operations that take segments away (retention, DeleteRecords, compaction).</summary>
    private readonly object _maintenanceLock = new();
    private readonly Action<string>? _log;

    /// <summary>Where routine events go (segments deleted by retention, compaction passes); problems go to the log
    /// given to <see cref="Open"/>, which also takes these when this is not set.</summary>
    public Action<string>? Activity { get; set; }
    private LogSegment[] _segments;
    // The end (next offset, active segment, published bytes of it), read together without a lock: a sequence lock. The
    // appender, under the append lock, makes the version odd, writes the three, and makes it even; a reader takes them
    // when it saw the same even version before and after. An append allocates nothing to publish its end.
    private long _endVersion;
    private long _endOffset;
    private LogSegment _endSegment = null!;
    private int _endPosition;

    private LogEnd End
    {
        get
        {
            var spin = new SpinWait();
            while (true)
            {
                long v = Volatile.Read(ref _endVersion);
                if ((v & 1) == 0)
                {
                    var e = new LogEnd(Volatile.Read(ref _endOffset), Volatile.Read(ref _endSegment), Volatile.Read(ref _endPosition));
                    Interlocked.MemoryBarrier();
                    if (Volatile.Read(ref _endVersion) == v) return e;
                }
                spin.SpinOnce();
            }
        }
    }

    /// <summary>Publishes a new end; only under the append lock.</summary>
    private void PublishEnd(long nextOffset, LogSegment segment, int position)
    {
        long v = Interlocked.Increment(ref _endVersion); // odd: readers wait (a full fence: the writes below stay after it)
        _endOffset = nextOffset;
        _endSegment = segment;
        _endPosition = position;
        Volatile.Write(ref _endVersion, v + 1);
    }
    private TaskCompletionSource? _waiter;
    private bool _closed;
    private long _logStartOffset;
    private long _unflushedRecords;
    private long _oldestUnflushedMs = -1;
    /// <summary>Producer ids, epochs and sequences seen in this log; read and changed under the append lock.</summary>
    private readonly ProducerStateManager _producers;
    private readonly TransactionIndex _txnIndex;
    /// <summary>The last stable offset, published with the end: no open transaction starts below it.</summary>
    private long _lastStable;

    public string Topic { get; }
    public int Partition { get; }
    public string Directory { get; }
    private LogConfig _config;

    /// <summary>The topic's settings. Setting it (a config change) takes effect on the next append, retention
    /// check, flush and compaction pass; the active segment rolls by the new segment.bytes.</summary>
    public LogConfig Config
    {
        get => Volatile.Read(ref _config);
        set
        {
            lock (_appendLock)
            {
                Volatile.Write(ref _config, value);
                foreach (var s in _segments) s.UseConfig(value);
            }
        }
    }

    public static string DirectoryName(string topic, int partition) => $"{topic}-{partition}";

    private PartitionLog(string topic, int partition, string dir, LogConfig config, LogSegment[] segments, Action<string>? log)
    {
        Topic = topic;
        Partition = partition;
        Directory = dir;
        _config = config;
        _log = log;
        _segments = segments;
        _logStartOffset = segments[0].BaseOffset;
        var last = segments[^1];
        PublishEnd(last.NextOffset, last, last.Size);
        _producers = new ProducerStateManager(dir);
        _txnIndex = new TransactionIndex(dir);
    }

    /// <summary>Opens the partition directory, creating it when empty. <paramref name="clean"/> says whether
    /// the previous stop was clean; if not, the active segment is verified batch by batch.</summary>
    public static PartitionLog Open(string dataDir, string topic, int partition, LogConfig config, bool clean, Action<string>? log = null,
        long logStartOffset = 0)
    {
        string dir = Path.Combine(dataDir, DirectoryName(topic, partition));
        System.IO.Directory.CreateDirectory(dir);
        RecoverCleaning(dir, log);
        // segments removed by retention or compaction whose files were waiting out file.delete.delay.ms
        foreach (var stale in System.IO.Directory.GetFiles(dir, "*.deleted")) File.Delete(stale);
        var bases = System.IO.Directory.GetFiles(dir, "*.log")
            .Select(p => long.TryParse(Path.GetFileNameWithoutExtension(p), out var b) ? b : -1)
            .Where(b => b >= 0).Order().ToList();
        var segments = new List<LogSegment>();
        if (bases.Count == 0) segments.Add(LogSegment.Create(dir, 0, config));
        for (int i = 0; i < bases.Count; i++)
        {
            bool last = i == bases.Count - 1;
            var seg = LogSegment.Open(dir, bases[i], config, verify: !clean && last, log);
            if (!last) seg.Seal();
            segments.Add(seg);
        }
        var opened = new PartitionLog(topic, partition, dir, config, segments.ToArray(), log);
        opened._epochs = LeaderEpochCache.Load(dir, log);
        if (logStartOffset > opened._logStartOffset && logStartOffset <= opened.HighWatermark) opened._logStartOffset = logStartOffset;
        opened.LoadProducerState(clean, log);
        return opened;
    }

    private LeaderEpochCache _epochs = null!;

    /// <summary>The partition's current leader epoch (0 until a leader change; kept in leader-epoch-checkpoint).</summary>
    public int LeaderEpoch => _epochs.Latest;

    /// <summary>A new leader epoch begins at the log end offset (a leader change); persisted before it takes effect, and
    /// stamped into every batch appended from now on. An epoch not newer than the current one is ignored.</summary>
    public void AssignLeaderEpoch(int epoch)
    {
        lock (_appendLock)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            _epochs.Assign(epoch, HighWatermark);
        }
    }

    /// <summary>OffsetForLeaderEpoch: the largest epoch not above <paramref name="epoch"/> and where it ended.</summary>
    public (int Epoch, long EndOffset) EndOffsetForEpoch(int epoch) => _epochs.EndOffsetFor(epoch, HighWatermark);

    /// <summary>The leader epoch the record at <paramref name="offset"/> was written in.</summary>
    public int EpochOf(long offset) => _epochs.EpochOf(offset);

    /// <summary>The first offset a consumer can read: the first segment's base, or higher after DeleteRecords.</summary>
    public long LogStartOffset => Volatile.Read(ref _logStartOffset);
    public long HighWatermark => Volatile.Read(ref _endOffset);
    public long LogEndOffset => HighWatermark;
    public IReadOnlyList<LogSegment> Segments => Volatile.Read(ref _segments);
    public long SizeInBytes => Segments.Sum(s => (long)s.Size);

    /// <summary>Validates and appends the batches in <paramref name="records"/>; returns the offsets given.</summary>
    public AppendResult Append(ReadOnlySpan<byte> records, AppendOrigin origin = AppendOrigin.Client)
    {
        // validate everything before touching the log so a bad request changes nothing
        int count = 0;
        for (int pos = 0; pos < records.Length; count++)
        {
            var err = RecordBatch.Validate(records[pos..], out int size);
            if (err != BatchError.None) throw new InvalidBatchException(err, count);
            if (size > Config.MaxMessageBytes) throw new RecordTooLargeException(size, Config.MaxMessageBytes);
            if (Config.CompactPolicy) RequireKeys(records.Slice(pos, size), count);
            pos += size;
        }
        if (count == 0) throw new InvalidBatchException(BatchError.TooShort, 0);

        lock (_appendLock)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            long logAppendTime = Config.TimestampType == TimestampType.LogAppendTime
                ? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() : -1;
            var end = End;
            long first = end.NextOffset, next = first;
            var active = end.Segment;
            // idempotence: epochs and sequences are checked before anything is written; a retry is answered with
            // the offsets its batch was first given
            var staged = _producers.Stage(records, first, origin);
            if (staged.Duplicate is { } dup)
            {
                Interlocked.Increment(ref _duplicates);
                return new AppendResult(dup.FirstOffset, dup.LastOffset, dup.Timestamp, Duplicate: true);
            }
            try
            {
                for (int pos = 0; pos < records.Length;)
                {
                    int size = RecordBatch.TotalSize(records[pos..]);
                    var batch = records.Slice(pos, size);
                    // segment.ms as Kafka measures it: from the first batch's timestamp to this batch's
                    long batchTs = logAppendTime >= 0 ? logAppendTime : RecordBatch.MaxTimestamp(batch);
                    bool aged = Config.SegmentMs >= 0 && active.Size > 0 && active.RollingBaseTimestamp >= 0
                        && batchTs - active.RollingBaseTimestamp > Config.SegmentMs;
                    if (aged || !active.HasRoomFor(size)) active = Roll(next);
                    active.Append(batch, next, logAppendTime, _epochs.Latest);
                    next += RecordBatch.LastOffsetDelta(batch) + 1;
                    pos += size;
                }
            }
            catch
            {
                // e.g. the disk filled up half way through a request: nothing of it may stay
                Undo(end);
                throw;
            }
            _producers.Commit(staged, next);
            PublishEnd(next, active, active.Size);
            PublishLastStable();
            // flush.messages: with 1, every acknowledged write is on disk before the answer goes out
            _unflushedRecords += next - first;
            if (_oldestUnflushedMs < 0) _oldestUnflushedMs = Environment.TickCount64;
            if (_unflushedRecords >= Config.FlushMessages) FlushActive();
            Interlocked.Exchange(ref _waiter, null)?.TrySetResult();
            return new AppendResult(first, next - 1, logAppendTime);
        }
    }

    /// <summary>How many retried idempotent batches were recognised and answered without being written again.</summary>
    public long DuplicatesAnswered => Interlocked.Read(ref _duplicates);
    private long _duplicates;

    /// <summary>How many times the flush policy has synced this log (observable for tests and metrics).</summary>
    public long PolicyFlushes => Interlocked.Read(ref _policyFlushes);
    private long _policyFlushes;

    /// <summary>As in Kafka, a compacted topic refuses records without a key (compaction could never remove them).</summary>
    private static void RequireKeys(ReadOnlySpan<byte> batch, int index)
    {
        if (RecordBatch.IsControl(batch)) return;
        List<Record> records;
        try
        {
            records = RecordReader.ReadBatch(batch.ToArray());
        }
        catch (Exception e) when (e is InvalidDataException or KafkaCompat.Protocol.ProtocolException or NotSupportedException)
        {
            throw new InvalidBatchException(BatchError.Undecodable, index);
        }
        if (records.Exists(r => r.Key is null)) throw new InvalidBatchException(BatchError.MissingKey, index);
    }

    /// <summary>Takes the log back to <paramref name="end"/>: segments rolled since are removed, the active one cut.
    /// Caller holds the append lock.</summary>
    private void Undo(LogEnd end)
    {
        var segs = _segments;
        int idx = Array.IndexOf(segs, end.Segment);
        if (idx >= 0 && idx < segs.Length - 1)
        {
            Volatile.Write(ref _segments, segs[..(idx + 1)]);
            foreach (var extra in segs[(idx + 1)..])
            {
                try { extra.Delete(); }
                catch (IOException e) { _log?.Invoke($"could not remove {extra.LogPath}: {e.Message}"); }
            }
        }
        end.Segment.TruncateTo(end.Position, end.NextOffset);
    }

    /// <summary>Caller holds the append lock.</summary>
    private void FlushActive()
    {
        End.Segment.FlushAppended();
        Interlocked.Increment(ref _policyFlushes);
        _unflushedRecords = 0;
        _oldestUnflushedMs = -1;
    }

    /// <summary>flush.ms: called by the flush scheduler; fsyncs when the oldest unflushed write is old enough.</summary>
    public bool FlushIfDue()
    {
        lock (_appendLock)
        {
            if (_closed || _oldestUnflushedMs < 0 || Environment.TickCount64 - _oldestUnflushedMs < Config.FlushMs) return false;
            FlushActive();
            return true;
        }
    }

    private LogSegment Roll(long baseOffset)
    {
        var old = _segments[^1];
        // Kafka snapshots producer state at every roll, so recovery after a crash replays only the newer segments
        TakeProducerSnapshot(sync: false);
        try { _txnIndex.CreateFor(baseOffset); }
        catch (IOException e) { _log?.Invoke($"{Topic}-{Partition}: could not create the transaction index of segment {baseOffset}: {e.Message}"); }
        var seg = LogSegment.Create(Directory, baseOffset, Config);
        // a segment that stops being active is flushed whole (off the request path unless every write is synced)
        if (Config.FlushMessages <= 1) old.FlushAppended();
        else _ = Task.Run(() =>
        {
            try { old.Flush(); }
            catch (Exception e) when (e is IOException or ObjectDisposedException) { _log?.Invoke($"flush of {old.LogPath} failed: {e.Message}"); }
        });
        old.Seal();
        Volatile.Write(ref _segments, [.. _segments, seg]);
        return seg;
    }

    /// <summary>
    /// Reads whole batches starting with the one holding <paramref name="offset"/>, up to
    /// <paramref name="maxBytes"/>; with <paramref name="minOneBatch"/> the first batch is returned even if larger.
    /// </summary>
    public ReadResult Read(long offset, int maxBytes, bool minOneBatch) => Read(offset, maxBytes, minOneBatch, long.MaxValue);

    /// <summary>As <see cref="Read(long,int,bool)"/>, returning only batches that start below <paramref name="upTo"/>
    /// (read_committed reads stop at the last stable offset).</summary>
    /// <param name="populate">Map the pages read in one call first (a reader that reads them here); false when they go
    /// to a socket by sendfile without being touched in this process.</param>
    public ReadResult Read(long offset, int maxBytes, bool minOneBatch, long upTo, bool populate = true)
    {
        var end = End;
        var segments = Volatile.Read(ref _segments);
        long start = Math.Max(LogStartOffset, segments[0].BaseOffset);
        if (offset < start || offset > end.NextOffset) throw new OffsetOutOfRangeException(offset, start, end.NextOffset);
        if (offset == end.NextOffset) return default;
        int i = FindSegment(segments, offset);
        for (; i < segments.Length; i++)
        {
            var seg = segments[i];
            if (!seg.TryEnterRead()) throw new ObjectDisposedException($"{Topic}-{Partition}", "the segment was closed (topic deleted, or retention)");
            try
            {
                var found = ReadFrom(seg, end, offset, maxBytes, minOneBatch, upTo, populate);
                if (found is { } r) return r;
                if (ReferenceEquals(seg, end.Segment)) return default;
            }
            finally
            {
                seg.ExitRead();
            }
        }
        return default;
    }

    /// <summary>The batches of one segment from <paramref name="offset"/>; null to go on with the next segment.
    /// Caller holds a read of the segment.</summary>
    private ReadResult? ReadFrom(LogSegment seg, LogEnd end, long offset, int maxBytes, bool minOneBatch, long upTo, bool populate)
    {
        {
            int limit = end.ReadableSize(seg);
            int pos = seg.FindPosition(offset, limit);
            if (pos < 0) return null;
            int stop = pos;
            var span = seg.Span(0, limit);
            while (stop + RecordBatch.LogOverhead <= limit)
            {
                int size = RecordBatch.TotalSize(span[stop..]);
                if (stop + size > limit) break;
                if (RecordBatch.BaseOffset(span[stop..]) >= upTo) break;
                if (stop + size - pos > maxBytes && !(minOneBatch && stop == pos)) break;
                stop += size;
            }
            if (stop == pos) return new ReadResult();
            return seg.TrySlice(pos, stop - pos, out var mem, out var lease, populate) ? new ReadResult(mem, lease) : new ReadResult();
        }
    }

    private static int FindSegment(LogSegment[] segments, long offset)
    {
        int lo = 0, hi = segments.Length - 1, best = 0;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (segments[mid].BaseOffset <= offset) { best = mid; lo = mid + 1; }
            else hi = mid - 1;
        }
        return best;
    }

    /// <summary>
    /// DeleteRecords: moves the log start offset up to <paramref name="offset"/> (at most the high watermark) and
    /// drops the segments wholly below it. Returns the new log start offset.
    /// </summary>
    public long DeleteRecordsBefore(long offset)
    {
        lock (_maintenanceLock)
        lock (_appendLock)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            if (offset < 0 || offset > HighWatermark) throw new OffsetOutOfRangeException(offset, LogStartOffset, HighWatermark);
            if (offset > _logStartOffset)
            {
                Volatile.Write(ref _logStartOffset, offset);
                _producers.OnLogStartOffsetIncremented(offset);
            }
            int n = 0;
            var segs = _segments;
            while (n + 1 < segs.Length && segs[n + 1].BaseOffset <= _logStartOffset) n++;
            RemoveFirst(n, "below the log start offset");
            return _logStartOffset;
        }
    }

    /// <summary>
    /// retention.ms and retention.bytes: deletes the oldest segments that are past either limit (the active one too,
    /// after rolling an empty successor, as Kafka does). Returns how many segments went.
    /// </summary>
    public int ApplyRetention(long nowMs)
    {
        lock (_maintenanceLock)
        lock (_appendLock)
        {
            if (_closed || !Config.DeletePolicy) return 0;
            var segs = _segments;
            long total = segs.Sum(x => (long)x.Size);
            long excess = Config.RetentionBytes >= 0 ? total - Config.RetentionBytes : long.MinValue;
            int n = 0;
            string reason = "";
            while (n < segs.Length)
            {
                var seg = segs[n];
                if (seg.Size == 0)
                {
                    // an empty segment left by compaction goes with the expired ones around it; the active one stays
                    if (n + 1 < segs.Length) { n++; continue; }
                    break;
                }
                bool byTime = Config.RetentionMs >= 0 && seg.MaxTimestamp >= 0 && nowMs - seg.MaxTimestamp > Config.RetentionMs;
                bool bySize = excess != long.MinValue && excess - seg.Size >= 0;
                bool byStart = n + 1 < segs.Length && segs[n + 1].BaseOffset <= _logStartOffset;
                if (!byTime && !bySize && !byStart) break;
                if (bySize) excess -= seg.Size;
                reason = byTime ? $"retention.ms {Config.RetentionMs} passed" : bySize ? $"retention.bytes {Config.RetentionBytes} exceeded" : "below the log start offset";
                n++;
            }
            if (n == 0) return 0;
            if (n == segs.Length)
            {
                // everything expired: keep an empty active segment at the log end
                var end = End;
                var fresh = Roll(end.NextOffset);
                PublishEnd(end.NextOffset, fresh, 0);
            }
            RemoveFirst(n, reason);
            return n;
        }
    }

    /// <summary>Takes the first <paramref name="n"/> segments out of the log (caller holds the append lock); their files
    /// are renamed *.deleted and removed after file.delete.delay.ms, so a reader still on them is not cut off.</summary>
    private void RemoveFirst(int n, string reason)
    {
        if (n <= 0) return;
        var segs = _segments;
        var removed = segs[..n];
        Volatile.Write(ref _segments, segs[n..]);
        if (_logStartOffset < _segments[0].BaseOffset)
        {
            Volatile.Write(ref _logStartOffset, _segments[0].BaseOffset);
            _producers.OnLogStartOffsetIncremented(_logStartOffset);
        }
        _txnIndex.RemoveBelow(_logStartOffset, removed.Select(r => r.BaseOffset));
        foreach (var seg in removed)
        {
            try { seg.MarkDeleted(); }
            catch (IOException e) { _log?.Invoke($"could not rename {seg.LogPath}: {e.Message}"); }
        }
        (Activity ?? _log)?.Invoke($"{Topic}-{Partition}: deleted {n} segment(s) up to offset {_segments[0].BaseOffset} ({reason}); log start offset now {_logStartOffset}");
        DeleteLater(removed);
    }

    /// <summary>Removes replaced segments' files after file.delete.delay.ms.</summary>
    private void DeleteLater(LogSegment[] removed)
    {
        long delay = Math.Max(0, Config.FileDeleteDelayMs);
        _ = Task.Delay(TimeSpan.FromMilliseconds(delay)).ContinueWith(_ =>
        {
            foreach (var seg in removed)
            {
                try { seg.Delete(); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { _log?.Invoke($"could not delete {seg.LogPath}: {e.Message}"); }
            }
        }, TaskScheduler.Default);
    }

    /// <summary>Segments not used for <paramref name="idleMs"/> (the active one too) give their maps back; the active
    /// segment drops the resident pages far behind its end.</summary>
    public int ReleaseColdSegments(long now, long idleMs)
    {
        var segs = Volatile.Read(ref _segments);
        int n = 0;
        for (int i = 0; i < segs.Length; i++)
            if (segs[i].ReleaseIfCold(now, idleMs)) n++;
        segs[^1].ReleaseBehind(32 << 20);
        return n;
    }

    /// <summary>Completes when data is appended after this call.</summary>
    public Task WaitForAppendAsync()
    {
        while (true)
        {
            var w = Volatile.Read(ref _waiter);
            if (w != null) return w.Task;
            var created = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (Interlocked.CompareExchange(ref _waiter, created, null) == null) return created.Task;
        }
    }

    /// <summary>The first batch whose largest timestamp is at or after <paramref name="target"/>: segments are skipped
    /// by their largest timestamp, and the time index places the search inside the segment.</summary>
    public (LogSegment Segment, int Position)? FindBatchByTimestamp(long target)
    {
        var end = End;
        foreach (var seg in Volatile.Read(ref _segments))
        {
            if (seg.MaxTimestamp >= target)
            {
                if (!seg.TryEnterRead()) throw new ObjectDisposedException($"{Topic}-{Partition}", "the segment was closed");
                int pos;
                try { pos = seg.FindPositionByTimestamp(target, end.ReadableSize(seg)); }
                finally { seg.ExitRead(); }
                if (pos >= 0) return (seg, pos);
            }
            if (ReferenceEquals(seg, end.Segment)) return null;
        }
        return null;
    }

    /// <summary>Visits every batch header (offset order) with its position; stops when the visitor says so.</summary>
    public void ScanBatches(Func<LogSegment, int, bool> visit)
    {
        var end = End;
        foreach (var seg in Volatile.Read(ref _segments))
        {
            if (!seg.TryEnterRead()) throw new ObjectDisposedException($"{Topic}-{Partition}", "the segment was closed");
            try
            {
                int limit = end.ReadableSize(seg);
                var span = seg.Span(0, limit);
                for (int pos = 0; pos + RecordBatch.HeaderSize <= limit;)
                {
                    if (!visit(seg, pos)) return;
                    pos += RecordBatch.TotalSize(span[pos..]);
                }
            }
            finally
            {
                seg.ExitRead();
            }
            if (ReferenceEquals(seg, end.Segment)) return;
        }
    }

    public void Flush()
    {
        foreach (var s in Segments) s.Flush();
    }

    public void Dispose() => Close(sync: true);

    /// <summary>Closes the log. With <paramref name="sync"/>, its files are synced to disk first; without, the caller
    /// syncs the whole file system once afterwards (a broker stopping with thousands of partitions).</summary>
    public void Close(bool sync)
    {
        lock (_appendLock)
        {
            if (_closed) return;
            if (sync)
                foreach (var s in _segments) s.Flush();
            _closed = true;
            // a clean stop leaves the producer state at the log end, so the next start replays nothing
            TakeProducerSnapshot(sync);
            foreach (var s in _segments) s.Dispose();
        }
        Interlocked.Exchange(ref _waiter, null)?.TrySetResult();
    }

    // ---- producer state ----

    /// <summary>The state of one producer id on this partition (a copy), or null when unknown.</summary>
    public ProducerStateEntry? GetProducer(long producerId)
    {
        lock (_appendLock) return _producers.Get(producerId)?.Clone();
    }

    /// <summary>Every producer id this partition holds state for (copies): DescribeProducers.</summary>
    public List<ProducerStateEntry> ActiveProducers()
    {
        lock (_appendLock) return _producers.Producers.Values.Select(e => e.Clone()).ToList();
    }

    /// <summary>producer.id.expiration.ms: forgets producers idle that long with no open transaction.</summary>
    public int RemoveExpiredProducers(long nowMs, long expirationMs)
    {
        lock (_appendLock) return _closed ? 0 : _producers.RemoveExpired(nowMs, expirationMs);
    }

    /// <summary>The last stable offset: the high watermark, or the first offset of the oldest open transaction.</summary>
    public long LastStableOffset => Volatile.Read(ref _lastStable);

    /// <summary>Caller holds the append lock.</summary>
    private void PublishLastStable()
    {
        long fu = _producers.FirstUnstableOffset;
        Volatile.Write(ref _lastStable, fu >= 0 ? fu : Volatile.Read(ref _endOffset));
    }

    /// <summary>Open transactions on this partition: (first offset, producer id), oldest first.</summary>
    public List<(long FirstOffset, long ProducerId)> OngoingTransactions()
    {
        lock (_appendLock) return _producers.OngoingTransactions.ToList();
    }

    /// <summary>Aborted transactions whose records overlap [<paramref name="fetchOffset"/>, <paramref name="upperBound"/>).</summary>
    public List<AbortedTxn> AbortedTransactions(long fetchOffset, long upperBound) => _txnIndex.Collect(fetchOffset, upperBound);

    /// <summary>
    /// Writes a COMMIT or ABORT marker for <paramref name="producerId"/> (the transaction coordinator's append): a
    /// control batch with the producer's id and epoch and the coordinator epoch. The producer's open transaction
    /// here ends; an abort is recorded in the transaction index. Returns the marker's offset.
    /// </summary>
    public long AppendMarker(long producerId, short epoch, int coordinatorEpoch, bool commit, long timestampMs)
    {
        var batch = ControlBatch(producerId, epoch, coordinatorEpoch, commit, timestampMs);
        lock (_appendLock)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            var end = End;
            long offset = end.NextOffset;
            var (staged, completed) = _producers.StageMarker(producerId, epoch, coordinatorEpoch, commit, offset, timestampMs);
            var active = end.Segment;
            try
            {
                if (!active.HasRoomFor(batch.Length)) active = Roll(offset);
                active.Append(batch, offset, -1, _epochs.Latest);
            }
            catch
            {
                Undo(end);
                throw;
            }
            _producers.Commit(staged, offset + 1);
            PublishEnd(offset + 1, active, active.Size);
            PublishLastStable();
            if (completed is { Aborted: true } c)
            {
                try { _txnIndex.Append(active.BaseOffset, new AbortedTxn(c.ProducerId, c.FirstOffset, c.LastOffset, LastStableOffset)); }
                catch (IOException e) { _log?.Invoke($"{Topic}-{Partition}: transaction index append failed ({e.Message}); it is rebuilt at the next start"); TryDeleteTxnIndex(active.BaseOffset); }
            }
            _unflushedRecords++;
            if (_oldestUnflushedMs < 0) _oldestUnflushedMs = Environment.TickCount64;
            if (_unflushedRecords >= Config.FlushMessages) FlushActive();
            Interlocked.Exchange(ref _waiter, null)?.TrySetResult();
            return offset;
        }
    }

    private void TryDeleteTxnIndex(long segmentBase)
    {
        try { File.Delete(TransactionIndex.PathFor(Directory, segmentBase)); }
        catch (IOException) { }
    }

    /// <summary>Kafka's end-transaction marker: one control record, key (version 0, type 0 = ABORT / 1 = COMMIT), value
    /// (version 0, coordinator epoch), in a transactional control batch with no sequence.</summary>
    public static byte[] ControlBatch(long producerId, short epoch, int coordinatorEpoch, bool commit, long timestampMs)
    {
        var key = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt16BigEndian(key.AsSpan(2), (short)(commit ? 1 : 0));
        var value = new byte[6];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(value.AsSpan(2), coordinatorEpoch);
        var batch = new RecordBatchBuilder { ProducerId = producerId, ProducerEpoch = epoch, BaseSequence = -1, Transactional = true, Control = true }
            .Add(key, value, timestampMs).Build();
        return batch;
    }

    /// <summary>Caller holds the append lock. A failed snapshot is logged: recovery then replays more of the log.</summary>
    private void TakeProducerSnapshot(bool sync)
    {
        try { _producers.TakeSnapshot(sync); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { _log?.Invoke($"{Topic}-{Partition}: producer snapshot failed: {e.Message}"); }
    }

    /// <summary>At open: the newest snapshot, then every batch after it. Without a snapshot, a log that was stopped cleanly
    /// starts with empty state at its end (as Kafka does for logs written before snapshots existed), and one that
    /// was not is read from its start.</summary>
    private void LoadProducerState(bool clean, Action<string>? log)
    {
        long end = HighWatermark;
        var bases = _segments.Select(x => x.BaseOffset).ToList();
        bool indexWhole = _txnIndex.Load(bases, log);
        if (!indexWhole)
        {
            // a segment without its .txnindex (a log from before transactions, or a lost file): rebuild it all
            var scratch = new ProducerStateManager(Directory);
            var aborted = new List<AbortedTxn>();
            ReplayFrom(LogStartOffset, scratch, c => aborted.Add(new AbortedTxn(c.ProducerId, c.FirstOffset, c.LastOffset, scratch.FirstUnstableOffset >= 0 ? scratch.FirstUnstableOffset : c.LastOffset + 1)));
            _txnIndex.Rebuild(bases, aborted);
        }
        long from = _producers.LoadSnapshot(end, log);
        if (from < 0) from = clean ? end : LogStartOffset;
        _producers.MapEndOffset = from;
        if (from < end)
        {
            // the tail after the snapshot; an abort whose index entry a crash lost is added back
            var known = _txnIndex.Entries.Select(e => e.LastOffset).ToHashSet();
            ReplayFrom(from, _producers, c =>
            {
                if (known.Contains(c.LastOffset)) return;
                long fu = _producers.FirstUnstableOffset;
                _txnIndex.Append(_segments[FindSegment(_segments, c.LastOffset)].BaseOffset, new AbortedTxn(c.ProducerId, c.FirstOffset, c.LastOffset, fu >= 0 ? fu : c.LastOffset + 1));
            });
        }
        _producers.MapEndOffset = end;
        PublishLastStable();
    }

    /// <summary>Replays every batch from <paramref name="from"/> into <paramref name="state"/>; aborted transactions go to <paramref name="onAbort"/>.</summary>
    private void ReplayFrom(long from, ProducerStateManager state, Action<CompletedTxn> onAbort)
    {
        var segments = _segments;
        for (int i = FindSegment(segments, from); i < segments.Length; i++)
        {
            var seg = segments[i];
            if (!seg.TryEnterRead()) throw new ObjectDisposedException($"{Topic}-{Partition}", "the segment was closed");
            try
            {
                int limit = seg.Size;
                var span = seg.Span(0, limit);
                for (int pos = 0; pos + RecordBatch.HeaderSize <= limit;)
                {
                    var b = span[pos..];
                    int size = RecordBatch.TotalSize(b);
                    if (RecordBatch.LastOffset(b) >= from && state.Replay(b[..size]) is { Aborted: true } c) onAbort(c);
                    pos += size;
                }
            }
            finally
            {
                seg.ExitRead();
            }
        }
    }

    /// <summary>Closes the log and deletes its directory.</summary>
    public void Delete()
    {
        Dispose();
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException e) { _log?.Invoke($"could not delete {Directory}: {e.Message}"); }
    }
}
