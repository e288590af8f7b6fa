using System.Buffers.Binary;
using KafkaCompat.Protocol;
using KafkaCompat.Records;

namespace KafkaCompat.Storage;

/// <summary>One appended batch of a producer, as remembered for duplicate detection.</summary>
public readonly record struct ProducerBatch(int FirstSeq, int LastSeq, long LastOffset, int OffsetDelta, long Timestamp)
{
    public long FirstOffset => LastOffset - OffsetDelta;
}

/// <summary>What a partition knows of one producer id: its epoch, its last batches (up to five, oldest first),
/// the epoch of the coordinator that last wrote a marker for it and the first offset of its open transaction.</summary>
public sealed class ProducerStateEntry
{
    public const int BatchesRetained = 5;

    public long ProducerId { get; }
    public short Epoch { get; internal set; } = -1;
    public int CoordinatorEpoch { get; internal set; } = -1;
    /// <summary>First offset of the producer's open transaction on this partition, -1 when none.</summary>
    public long CurrentTxnFirstOffset { get; internal set; } = -1;
    /// <summary>The largest timestamp of the producer's last batch (expiry counts from it, as in Kafka).</summary>
    public long LastTimestamp { get; internal set; } = -1;
    internal List<ProducerBatch> Batches { get; } = new(BatchesRetained);

    public ProducerStateEntry(long producerId) => ProducerId = producerId;

    public IReadOnlyList<ProducerBatch> RetainedBatches => Batches;
    public int LastSeq => Batches.Count > 0 ? Batches[^1].LastSeq : -1;

    internal ProducerStateEntry Clone()
    {
        var c = new ProducerStateEntry(ProducerId)
        {
            Epoch = Epoch, CoordinatorEpoch = CoordinatorEpoch, CurrentTxnFirstOffset = CurrentTxnFirstOffset, LastTimestamp = LastTimestamp,
        };
        c.Batches.AddRange(Batches);
        return c;
    }

    internal void AddBatch(short epoch, ProducerBatch batch)
    {
        if (epoch != Epoch)
        {
            Batches.Clear();
            Epoch = epoch;
        }
        if (Batches.Count == BatchesRetained) Batches.RemoveAt(0);
        Batches.Add(batch);
        LastTimestamp = batch.Timestamp;
    }

    /// <summary>The retained batch a retry with this epoch and sequence range repeats, if any.</summary>
    public ProducerBatch? FindDuplicate(short epoch, int firstSeq, int lastSeq)
    {
        if (epoch != Epoch) return null;
        foreach (var b in Batches)
            if (b.FirstSeq == firstSeq && b.LastSeq == lastSeq) return b;
        return null;
    }
}

/// <summary>Who appends: a client's Produce (epochs, sequences and retries checked), or a coordinator writing for a
/// producer (transactional offset commits: the epoch alone is checked, as Kafka does for its coordinator origin).</summary>
public enum AppendOrigin { Client, Coordinator }

/// <summary>A transaction that ended on this partition with its marker: what the aborted-transaction index and the
/// last stable offset need.</summary>
public readonly record struct CompletedTxn(long ProducerId, long FirstOffset, long LastOffset, bool Aborted);

/// <summary>
/// Producer state of one partition (Kafka's ProducerStateManager): the entry of every producer id that wrote to it,
/// checked and updated under the partition's append lock. Idempotent batches are checked for their epoch and
/// sequence; a retried batch is recognised among the producer's last five. The state is saved in
/// <c>&lt;offset:20 digits&gt;.snapshot</c> files in Kafka's layout, at segment roll and at a clean stop; after a crash it
/// is rebuilt from the newest snapshot and the log after it.
/// </summary>
public sealed class ProducerStateManager
{
    public const string SnapshotSuffix = ".snapshot";
    public const short SnapshotVersion = 1;
    /// <summary>Snapshots kept besides the ones needed: Kafka keeps one per segment; we keep the newest few.</summary>
    public const int SnapshotsRetained = 3;

    private readonly Dictionary<long, ProducerStateEntry> _producers = new();
    /// <summary>Open transactions on this partition by their first offset: the smallest is the first unstable offset.</summary>
    private readonly SortedSet<(long FirstOffset, long ProducerId)> _ongoing = new();
    private readonly string _dir;

    /// <summary>The log offset up to which this state reflects the log.</summary>
    public long MapEndOffset { get; internal set; }

    /// <summary>The partition, as errors name it ("topic-partition").</summary>
    private readonly string _partitionName;

    public ProducerStateManager(string dir)
    {
        _dir = dir;
        _partitionName = Path.GetFileName(dir);
    }

    public IReadOnlyDictionary<long, ProducerStateEntry> Producers => _producers;

    public ProducerStateEntry? Get(long producerId) => _producers.GetValueOrDefault(producerId);

    /// <summary>The first offset of the oldest open transaction, or -1: the last stable offset cannot pass it.</summary>
    public long FirstUnstableOffset => _ongoing.Count > 0 ? _ongoing.Min.FirstOffset : -1;

    /// <summary>Open transactions (producer id, first offset), oldest first.</summary>
    public IEnumerable<(long FirstOffset, long ProducerId)> OngoingTransactions => _ongoing;

    private void Put(ProducerStateEntry e)
    {
        if (_producers.TryGetValue(e.ProducerId, out var old) && old.CurrentTxnFirstOffset >= 0)
            _ongoing.Remove((old.CurrentTxnFirstOffset, old.ProducerId));
        _producers[e.ProducerId] = e;
        if (e.CurrentTxnFirstOffset >= 0) _ongoing.Add((e.CurrentTxnFirstOffset, e.ProducerId));
    }

    /// <summary>Sequence arithmetic of Kafka: the sequence after int.MaxValue is 0.</summary>
    public static int LastSequence(int baseSeq, int lastOffsetDelta) =>
        baseSeq > int.MaxValue - lastOffsetDelta ? (int)((long)baseSeq + lastOffsetDelta - int.MaxValue - 1) : baseSeq + lastOffsetDelta;

    private static bool InSequence(int lastSeq, int nextFirstSeq) =>
        nextFirstSeq == lastSeq + 1 || (nextFirstSeq == 0 && lastSeq == int.MaxValue);

    /// <summary>
    /// Checks a request's batches from clients against the state and returns the updates to apply once they are
    /// written, or the retained batch a retry repeats (then nothing is written). Throws <see cref="KafkaException"/>
    /// with INVALID_PRODUCER_EPOCH or OUT_OF_ORDER_SEQUENCE_NUMBER where Kafka does. Caller holds the append lock.
    /// </summary>
    /// <param name="firstOffset">The offset the first batch will get.</param>
    public Staged Stage(ReadOnlySpan<byte> records, long firstOffset, AppendOrigin origin = AppendOrigin.Client)
    {
        string partitionName = _partitionName;
        bool client = origin == AppendOrigin.Client;
        Dictionary<long, ProducerStateEntry>? updated = null;
        long offset = firstOffset;
        for (int pos = 0; pos < records.Length;)
        {
            var batch = records[pos..];
            int size = RecordBatch.TotalSize(batch);
            int delta = RecordBatch.LastOffsetDelta(batch);
            long pid = RecordBatch.ProducerId(batch);
            if (pid >= 0)
            {
                short epoch = RecordBatch.ProducerEpoch(batch);
                int firstSeq = RecordBatch.BaseSequence(batch);
                if (RecordBatch.IsControl(batch))
                    throw new KafkaException(ErrorCode.InvalidRecord, $"Control batches may not be produced by clients ({partitionName})");
                if (firstSeq < 0 && client)
                    throw new KafkaException(ErrorCode.InvalidRecord, $"Invalid sequence number {firstSeq} in record batch with producer id {pid} ({partitionName})");
                int lastSeq = LastSequence(firstSeq, delta);
                var current = _producers.GetValueOrDefault(pid);
                // a retry of one of the last five batches answers with that batch's offsets and writes nothing
                if (client && current?.FindDuplicate(epoch, firstSeq, lastSeq) is { } dup)
                    return new Staged(null, dup);
                ProducerStateEntry? entry = null;
                if (updated?.TryGetValue(pid, out entry) != true)
                {
                    entry = current?.Clone() ?? new ProducerStateEntry(pid);
                    (updated ??= new())[pid] = entry;
                }
                CheckEpoch(entry!, epoch, offset, partitionName);
                if (client) CheckSequence(entry!, current, epoch, firstSeq, offset, partitionName);
                if (!RecordBatch.IsTransactional(batch) && entry!.CurrentTxnFirstOffset >= 0)
                    throw new KafkaException(ErrorCode.InvalidTxnState,
                        $"Expected transactional write from producer {pid} at offset {offset} in partition {partitionName}");
                entry!.AddBatch(epoch, new ProducerBatch(firstSeq, lastSeq, offset + delta, delta, RecordBatch.MaxTimestamp(batch)));
                if (RecordBatch.IsTransactional(batch) && entry.CurrentTxnFirstOffset < 0) entry.CurrentTxnFirstOffset = offset;
            }
            offset += delta + 1;
            pos += size;
        }
        return new Staged(updated, null);
    }

    private static void CheckEpoch(ProducerStateEntry entry, short epoch, long offset, string partition)
    {
        // since Kafka 2.7 a produce with an older epoch is INVALID_PRODUCER_EPOCH (abortable), not PRODUCER_FENCED
        if (epoch < entry.Epoch)
            throw new KafkaException(ErrorCode.InvalidProducerEpoch,
                $"Epoch of producer {entry.ProducerId} at offset {offset} in {partition} is {epoch}, which is smaller than the last seen epoch {entry.Epoch}");
    }

    private static void CheckSequence(ProducerStateEntry entry, ProducerStateEntry? current, short epoch, int firstSeq, long offset, string partition)
    {
        if (epoch != entry.Epoch)
        {
            // a new epoch starts at sequence 0; a producer we hold no epoch for (new, expired, or its records
            // deleted) may start anywhere
            if (firstSeq != 0 && entry.Epoch != -1)
                throw new KafkaException(ErrorCode.OutOfOrderSequenceNumber,
                    $"Invalid sequence number for new epoch of producer {entry.ProducerId} at offset {offset} in partition {partition}: {epoch} (request epoch), {firstSeq} (seq. number), {entry.Epoch} (current producer epoch)");
            return;
        }
        int lastSeq = entry.LastSeq;
        bool knownEpoch = current is { Epoch: not -1 };
        if (knownEpoch && !InSequence(lastSeq, firstSeq))
            throw new KafkaException(ErrorCode.OutOfOrderSequenceNumber,
                $"Out of order sequence number for producer {entry.ProducerId} at offset {offset} in partition {partition}: {firstSeq} (incoming seq. number), {lastSeq} (current end sequence number)");
    }

    /// <summary>A COMMIT or ABORT marker: the producer's open transaction on this partition ends. Returns the
    /// transaction it ended (null when the producer had none open here).</summary>
    private static CompletedTxn? ApplyMarker(ProducerStateEntry entry, short epoch, int coordinatorEpoch, bool commit, long offset, long timestamp)
    {
        if (epoch > entry.Epoch)
        {
            entry.Batches.Clear();
            entry.Epoch = epoch;
        }
        entry.CoordinatorEpoch = coordinatorEpoch;
        entry.LastTimestamp = timestamp;
        long first = entry.CurrentTxnFirstOffset;
        entry.CurrentTxnFirstOffset = -1;
        return first >= 0 ? new CompletedTxn(entry.ProducerId, first, offset, !commit) : null;
    }

    /// <summary>Checks a marker the transaction coordinator writes: its epoch may not be older than the producer's
    /// (INVALID_PRODUCER_EPOCH). Returns the updated entry to commit after the write, and the transaction it ends.</summary>
    public (Staged Staged, CompletedTxn? Completed) StageMarker(long producerId, short epoch, int coordinatorEpoch, bool commit, long offset, long timestamp)
    {
        string partitionName = _partitionName;
        var current = _producers.GetValueOrDefault(producerId);
        var entry = current?.Clone() ?? new ProducerStateEntry(producerId);
        if (epoch < entry.Epoch)
            throw new KafkaException(ErrorCode.InvalidProducerEpoch,
                $"Epoch of producer {producerId} in marker at offset {offset} in {partitionName} is {epoch}, which is smaller than the last seen epoch {entry.Epoch}");
        var done = ApplyMarker(entry, epoch, coordinatorEpoch, commit, offset, timestamp);
        return (new Staged(new() { [producerId] = entry }, null), done);
    }

    /// <summary>Reads the control record of a marker batch: (commit?, coordinator epoch); null if it is not one.</summary>
    public static (bool Commit, int CoordinatorEpoch)? ReadMarker(ReadOnlySpan<byte> batch)
    {
        if (!RecordBatch.IsControl(batch) || RecordBatch.Compression(batch) != CompressionType.None || RecordBatch.RecordCount(batch) < 1) return null;
        try
        {
            var r = new KafkaReader(batch[RecordBatch.HeaderSize..].ToArray());
            r.ReadVarInt(); // record length
            r.ReadInt8();   // attributes
            r.ReadVarLong(); // timestamp delta
            r.ReadVarInt(); // offset delta
            int keyLen = r.ReadVarInt();
            if (keyLen < 4) return null;
            r.ReadInt16(); // key version
            short type = r.ReadInt16();
            r.ReadRaw(keyLen - 4);
            int valueLen = r.ReadVarInt();
            int coordinatorEpoch = -1;
            if (valueLen >= 6)
            {
                r.ReadInt16();
                coordinatorEpoch = r.ReadInt32();
            }
            return type switch { 0 => (false, coordinatorEpoch), 1 => (true, coordinatorEpoch), _ => null };
        }
        catch (ProtocolException)
        {
            return null;
        }
    }

    /// <summary>The result of <see cref="Stage"/>: updates to apply after the write, or a duplicate to answer with.</summary>
    public readonly record struct Staged(Dictionary<long, ProducerStateEntry>? Updates, ProducerBatch? Duplicate);

    /// <summary>Applies staged updates once the batches are in the log. Caller holds the append lock.</summary>
    public void Commit(Staged staged, long nextOffset)
    {
        if (staged.Updates != null)
            foreach (var e in staged.Updates.Values) Put(e);
        MapEndOffset = nextOffset;
    }

    /// <summary>Rebuilds state from batches read back from the log (recovery): no checks, as Kafka replays with
    /// the replication origin.</summary>
    public CompletedTxn? Replay(ReadOnlySpan<byte> batch)
    {
        long pid = RecordBatch.ProducerId(batch);
        long baseOffset = RecordBatch.BaseOffset(batch);
        int delta = RecordBatch.LastOffsetDelta(batch);
        MapEndOffset = baseOffset + delta + 1;
        if (pid < 0) return null;
        var entry = _producers.TryGetValue(pid, out var found) ? found.Clone() : new ProducerStateEntry(pid);
        short epoch = RecordBatch.ProducerEpoch(batch);
        CompletedTxn? done = null;
        if (RecordBatch.IsControl(batch))
        {
            if (ReadMarker(batch) is { } m) done = ApplyMarker(entry, epoch, m.CoordinatorEpoch, m.Commit, baseOffset, RecordBatch.MaxTimestamp(batch));
        }
        else
        {
            int firstSeq = RecordBatch.BaseSequence(batch);
            entry.AddBatch(epoch, new ProducerBatch(firstSeq, LastSequence(firstSeq, delta), baseOffset + delta, delta, RecordBatch.MaxTimestamp(batch)));
            if (RecordBatch.IsTransactional(batch) && entry.CurrentTxnFirstOffset < 0) entry.CurrentTxnFirstOffset = baseOffset;
        }
        Put(entry);
        return done;
    }

    /// <summary>producer.id.expiration.ms: forgets producers whose last batch is older than <paramref name="expirationMs"/>
    /// and that have no open transaction. Returns how many went. Caller holds the append lock.</summary>
    public int RemoveExpired(long nowMs, long expirationMs)
    {
        List<long>? gone = null;
        foreach (var (pid, e) in _producers)
            if (e.CurrentTxnFirstOffset < 0 && nowMs - e.LastTimestamp >= expirationMs) (gone ??= new()).Add(pid);
        foreach (var pid in gone ?? []) _producers.Remove(pid);
        return gone?.Count ?? 0;
    }

    /// <summary>The log start offset moved up (retention, DeleteRecords): snapshots below it go with the segments they
    /// described. As in Kafka, producer entries stay until they expire, so a producer whose batches were deleted keeps
    /// its sequence.</summary>
    public void OnLogStartOffsetIncremented(long logStartOffset)
    {
        foreach (long offset in Snapshots().ToList())
            if (offset < logStartOffset) DeleteSnapshot(offset);
        if (MapEndOffset < logStartOffset) MapEndOffset = logStartOffset;
    }

    public void Clear()
    {
        _producers.Clear();
        _ongoing.Clear();
    }

    // ---- snapshots ----

    /// <summary>The offsets of this partition's snapshot files, oldest first: listed from the directory once, then kept
    /// here, so a roll does not list a directory that may hold hundreds of thousands of segment files.</summary>
    private List<long>? _snapshots;

    private List<long> Snapshots() => _snapshots ??= ListSnapshots(_dir).Select(x => x.Offset).ToList();

    private void DeleteSnapshot(long offset)
    {
        TryDelete(SnapshotPath(_dir, offset));
        Snapshots().Remove(offset);
    }

    public static string SnapshotPath(string dir, long offset) => Path.Combine(dir, LogSegment.FileStem(offset) + SnapshotSuffix);

    public static List<(long Offset, string Path)> ListSnapshots(string dir)
    {
        var list = new List<(long, string)>();
        if (!Directory.Exists(dir)) return list;
        foreach (var p in Directory.GetFiles(dir, "*" + SnapshotSuffix))
            if (long.TryParse(Path.GetFileNameWithoutExtension(p), out long o) && o >= 0) list.Add((o, p));
        list.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return list;
    }

    /// <summary>Kafka's producer snapshot: version int16, crc uint32 (CRC-32C of everything after it), then an int32
    /// count of entries of producer_id int64, epoch int16, last_sequence int32, last_offset int64, offset_delta int32,
    /// timestamp int64, coordinator_epoch int32, current_txn_first_offset int64. Only each producer's last batch is kept.</summary>
    public byte[] Serialize()
    {
        const int entrySize = 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8;
        var buf = new byte[2 + 4 + 4 + _producers.Count * entrySize];
        var s = buf.AsSpan();
        BinaryPrimitives.WriteInt16BigEndian(s, SnapshotVersion);
        BinaryPrimitives.WriteInt32BigEndian(s[6..], _producers.Count);
        int pos = 10;
        foreach (var e in _producers.Values.OrderBy(e => e.ProducerId))
        {
            var last = e.Batches.Count > 0 ? e.Batches[^1] : new ProducerBatch(-1, -1, -1, 0, e.LastTimestamp);
            BinaryPrimitives.WriteInt64BigEndian(s[pos..], e.ProducerId);
            BinaryPrimitives.WriteInt16BigEndian(s[(pos + 8)..], e.Epoch);
            BinaryPrimitives.WriteInt32BigEndian(s[(pos + 10)..], last.LastSeq);
            BinaryPrimitives.WriteInt64BigEndian(s[(pos + 14)..], last.LastOffset);
            BinaryPrimitives.WriteInt32BigEndian(s[(pos + 22)..], last.OffsetDelta);
            BinaryPrimitives.WriteInt64BigEndian(s[(pos + 26)..], e.LastTimestamp);
            BinaryPrimitives.WriteInt32BigEndian(s[(pos + 34)..], e.CoordinatorEpoch);
            BinaryPrimitives.WriteInt64BigEndian(s[(pos + 38)..], e.CurrentTxnFirstOffset);
            pos += entrySize;
        }
        BinaryPrimitives.WriteUInt32BigEndian(s[2..], Crc32C.Compute(s[6..]));
        return buf;
    }

    /// <summary>Reads a snapshot written by <see cref="Serialize"/> (or by Kafka); throws InvalidDataException when it is not whole.</summary>
    public static List<ProducerStateEntry> Deserialize(ReadOnlySpan<byte> s)
    {
        const int entrySize = 46;
        if (s.Length < 10) throw new InvalidDataException("producer snapshot is truncated");
        short version = BinaryPrimitives.ReadInt16BigEndian(s);
        if (version != SnapshotVersion) throw new InvalidDataException($"producer snapshot version {version} is not {SnapshotVersion}");
        if (BinaryPrimitives.ReadUInt32BigEndian(s[2..]) != Crc32C.Compute(s[6..])) throw new InvalidDataException("producer snapshot CRC mismatch");
        int count = BinaryPrimitives.ReadInt32BigEndian(s[6..]);
        if (count < 0 || (long)count * entrySize != s.Length - 10) throw new InvalidDataException($"producer snapshot has {count} entries in {s.Length} bytes");
        var list = new List<ProducerStateEntry>(count);
        for (int i = 0, pos = 10; i < count; i++, pos += entrySize)
        {
            var e = new ProducerStateEntry(BinaryPrimitives.ReadInt64BigEndian(s[pos..]))
            {
                Epoch = BinaryPrimitives.ReadInt16BigEndian(s[(pos + 8)..]),
                LastTimestamp = BinaryPrimitives.ReadInt64BigEndian(s[(pos + 26)..]),
                CoordinatorEpoch = BinaryPrimitives.ReadInt32BigEndian(s[(pos + 34)..]),
                CurrentTxnFirstOffset = BinaryPrimitives.ReadInt64BigEndian(s[(pos + 38)..]),
            };
            int lastSeq = BinaryPrimitives.ReadInt32BigEndian(s[(pos + 10)..]);
            long lastOffset = BinaryPrimitives.ReadInt64BigEndian(s[(pos + 14)..]);
            int delta = BinaryPrimitives.ReadInt32BigEndian(s[(pos + 22)..]);
            if (lastOffset >= 0 && lastSeq >= 0)
            {
                int firstSeq = lastSeq - delta < 0 ? lastSeq - delta + int.MaxValue + 1 : lastSeq - delta;
                e.Batches.Add(new ProducerBatch(firstSeq, lastSeq, lastOffset, delta, e.LastTimestamp));
            }
            list.Add(e);
        }
        return list;
    }

    /// <summary>Writes the state as of <see cref="MapEndOffset"/> (atomically: a temporary file renamed into place)
    /// and keeps only the newest snapshots. Caller holds the append lock.</summary>
    public void TakeSnapshot(bool sync)
    {
        string path = SnapshotPath(_dir, MapEndOffset);
        string tmp = path + ".tmp";
        using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            f.Write(Serialize());
            if (sync) f.Flush(flushToDisk: true);
        }
        File.Move(tmp, path, overwrite: true);
        var known = Snapshots();
        int at = known.BinarySearch(MapEndOffset);
        if (at < 0) known.Insert(~at, MapEndOffset);
        while (known.Count > SnapshotsRetained) DeleteSnapshot(known[0]);
    }

    /// <summary>Loads the newest readable snapshot at or below <paramref name="logEnd"/> (snapshots above it, left by a
    /// cut log, are deleted). Returns the offset replay must start from, or -1 when no snapshot was usable.</summary>
    public long LoadSnapshot(long logEnd, Action<string>? log)
    {
        Clear();
        var all = ListSnapshots(_dir);
        _snapshots = all.Select(x => x.Offset).ToList();
        for (int i = all.Count - 1; i >= 0; i--)
        {
            var (offset, path) = all[i];
            if (offset > logEnd)
            {
                DeleteSnapshot(offset);
                continue;
            }
            try
            {
                foreach (var e in Deserialize(File.ReadAllBytes(path))) Put(e);
                MapEndOffset = offset;
                return offset;
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException)
            {
                log?.Invoke($"producer snapshot {path} is unusable ({ex.Message}); deleting it");
                Clear();
                DeleteSnapshot(offset);
            }
        }
        return -1;
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
