using KafkaCompat.Protocol;
using KafkaCompat.Records;
using KafkaCompat.Storage;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace KafkaCompat.Broker.Coordinator;

/// <summary>A record of a coordinator's internal topic as replay sees it. <see cref="ProducerId"/> is set for records
/// written inside a transaction (transactional offset commits): they count only once their COMMIT marker is read.</summary>
public readonly record struct CoordinatorRecord(int Partition, long Offset, ReadOnlyMemory<byte> Key, ReadOnlyMemory<byte>? Value, long ProducerId, bool Transactional);

/// <summary>
/// The small runtime a coordinator (groups, transactions) runs on. Its state lives in an internal compacted topic:
/// a handler decides, then asks the runtime to <see cref="Write"/> the records that express the change; the runtime
/// appends them and hands each to the coordinator's replay function, which is the only code that changes the
/// in-memory state. Loading after a restart is the same replay over the whole topic (<see cref="Load"/>), so the
/// live path and recovery cannot disagree.
/// </summary>
public sealed class CoordinatorRuntime(KafkaBroker broker, string topic, Func<int> partitions, Func<Dictionary<string, string>> topicConfigs,
    Action<CoordinatorRecord> replay, Action<int, long, bool>? replayMarker, ILogger logger, Func<short>? replicationFactor = null)
{
    private readonly object _createLock = new();
    // partitions being reloaded after a leader move (a count: moves can overlap), and writes in progress per partition
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, int> _loading = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, StrongBox<int>> _writers = new();
    private long WallClock => broker.Time.GetUtcNow().ToUnixTimeMilliseconds();

    public string Topic => topic;

    /// <summary>The internal topic, created (compacted) on first use.</summary>
    public TopicLogs Logs()
    {
        var t = broker.Logs.Get(topic);
        if (t != null) return t;
        lock (_createLock)
        {
            t = broker.Logs.Get(topic);
            if (t != null) return t;
            // replicated as asked, on as many brokers as are live (Kafka would wait for enough brokers instead)
            int n = Math.Max(1, partitions());
            int rf = Math.Clamp(replicationFactor?.Invoke() ?? 1, 1, Math.Max(1, broker.Cluster.LiveNodes.Count()));
            var placed = broker.Cluster.Place(n, rf);
            return broker.Logs.Create(topic, n, topicConfigs(), replicas: placed.Replicas) ?? broker.Logs.Get(topic)!;
        }
    }

    public int PartitionCount => broker.Logs.Get(topic)?.Partitions.Length ?? Math.Max(1, partitions());

    /// <summary>The broker that coordinates what is kept in <paramref name="partition"/>: the leader of that partition
    /// of the internal topic (created when first needed), -1 while no replica is live.</summary>
    public int CoordinatorNode(int partition)
    {
        var cluster = broker.Cluster;
        if (cluster.SingleNode) return cluster.First.Id;
        return cluster.Partition(Logs(), partition).Leader;
    }

    /// <summary>NONE when requests for <paramref name="partition"/>'s keys may be answered by <paramref name="nodeId"/>,
    /// else NOT_COORDINATOR (or COORDINATOR_NOT_AVAILABLE when no broker leads it).</summary>
    public ErrorCode CheckCoordinator(int nodeId, int partition) => Cluster.ClusterState.CheckCoordinator(nodeId, CoordinatorNode(partition));

    /// <summary>True while <paramref name="partition"/> is being reloaded: requests for what it keeps get
    /// COORDINATOR_LOAD_IN_PROGRESS, and writes to it are refused.</summary>
    public bool IsLoading(int partition) => _loading.ContainsKey(partition);

    /// <summary>Marks <paramref name="partition"/> as loading (its leader moved). Does not block; call
    /// <see cref="BeginLoad"/> before reading it and <see cref="EndLoad"/> after.</summary>
    public void MarkLoading(int partition) => _loading.AddOrUpdate(partition, 1, (_, n) => n + 1);

    /// <summary>Waits until the writes to <paramref name="partition"/> that started before it was marked have been
    /// appended and replayed; later ones are refused, so a load that reads it afterwards sees every replayed write.</summary>
    public void BeginLoad(int partition)
    {
        Interlocked.MemoryBarrier();
        var count = _writers.GetOrAdd(partition, _ => new StrongBox<int>());
        var spin = new SpinWait();
        while (Volatile.Read(ref count.Value) > 0) spin.SpinOnce();
    }

    /// <summary>The partition's load is over: it serves again.</summary>
    public void EndLoad(int partition)
    {
        while (_loading.TryGetValue(partition, out int n))
        {
            if (n <= 1 ? _loading.TryRemove(new(partition, n)) : _loading.TryUpdate(partition, n - 1, n)) return;
        }
    }

    /// <summary>Appends <paramref name="records"/> (null value: a tombstone) as one batch and replays them. A transactional
    /// write carries the producer id and epoch and is replayed as pending until its marker. Returns the error the
    /// request gets when the append fails (nothing is replayed then).</summary>
    public ErrorCode Write(int partition, IReadOnlyList<(byte[] Key, byte[]? Value)> records, long producerId = -1, short producerEpoch = -1)
    {
        if (records.Count == 0) return ErrorCode.None;
        // the partition moved to another leader and is being reloaded: this coordinator no longer holds it
        return Guarded(partition, ErrorCode.NotCoordinator, () => WriteAndReplay(partition, records, producerId, producerEpoch));
    }

    /// <summary>Runs a write to <paramref name="partition"/> counted as in progress (so <see cref="BeginLoad"/> waits for
    /// it), or answers <paramref name="whileLoading"/> when the partition is being reloaded.</summary>
    private ErrorCode Guarded(int partition, ErrorCode whileLoading, Func<ErrorCode> write)
    {
        var writers = _writers.GetOrAdd(partition, _ => new StrongBox<int>());
        Interlocked.Increment(ref writers.Value);
        try
        {
            return IsLoading(partition) ? whileLoading : write();
        }
        finally
        {
            Interlocked.Decrement(ref writers.Value);
        }
    }

    private ErrorCode WriteAndReplay(int partition, IReadOnlyList<(byte[] Key, byte[]? Value)> records, long producerId, short producerEpoch)
    {
        PartitionLog log;
        AppendResult result;
        try
        {
            log = Logs().Partitions[partition];
            long ts = WallClock;
            var builder = new RecordBatchBuilder
            {
                ProducerId = producerId, ProducerEpoch = producerEpoch, Transactional = producerId >= 0,
                BaseSequence = producerId >= 0 ? 0 : -1,
            };
            foreach (var (k, v) in records) builder.Add(k, v ?? [], ts, nullValue: v is null);
            result = log.Append(builder.Build(), producerId >= 0 ? AppendOrigin.Coordinator : AppendOrigin.Client);
        }
        catch (RecordTooLargeException)
        {
            return ErrorCode.RecordListTooLarge;
        }
        catch (KafkaException e)
        {
            return e.Error;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            logger.LogWarning("appending to {Topic}-{Partition} failed: {Message}", topic, partition, e.Message);
            return ErrorCode.NotCoordinator;
        }
        for (int i = 0; i < records.Count; i++)
        {
            // (a null array would convert to an empty, non-null memory: a tombstone must stay null)
            ReadOnlyMemory<byte>? value = records[i].Value is { } v ? new ReadOnlyMemory<byte>(v) : (ReadOnlyMemory<byte>?)null;
            replay(new CoordinatorRecord(partition, result.BaseOffset + i, records[i].Key, value, producerId, producerId >= 0));
        }
        return ErrorCode.None;
    }

    /// <summary>Writes a COMMIT or ABORT marker for <paramref name="producerId"/> on one partition of the topic and replays it.</summary>
    public ErrorCode WriteMarker(int partition, long producerId, short epoch, bool commit)
    {
        // refused while the partition reloads; the transaction stays prepared and its coordinator retries
        return Guarded(partition, ErrorCode.CoordinatorLoadInProgress, () => WriteMarkerAndReplay(partition, producerId, epoch, commit));
    }

    private ErrorCode WriteMarkerAndReplay(int partition, long producerId, short epoch, bool commit)
    {
        try
        {
            Logs().Partitions[partition].AppendMarker(producerId, epoch, 0, commit, WallClock);
        }
        catch (KafkaException e)
        {
            return e.Error;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            logger.LogWarning("marker on {Topic}-{Partition} failed: {Message}", topic, partition, e.Message);
            return ErrorCode.KafkaStorageError;
        }
        replayMarker?.Invoke(partition, producerId, commit);
        return ErrorCode.None;
    }

    /// <summary>Replays the whole topic (or one partition of it), partition by partition; returns how many records were
    /// read. A record that cannot be decoded is logged and skipped by the replay function.</summary>
    public long Load(int? partition = null)
    {
        var t = broker.Logs.Get(topic);
        if (t == null) return 0;
        long records = 0;
        foreach (var log in t.Partitions)
        {
            if (partition is { } only && log.Partition != only) continue;
            long offset = log.LogStartOffset;
            while (offset < log.HighWatermark)
            {
                var read = log.Read(offset, 1 << 20, minOneBatch: true);
                if (read.Records.IsEmpty) break;
                try
                {
                    var mem = read.Records;
                    while (mem.Length >= RecordBatch.HeaderSize)
                    {
                        int size = RecordBatch.TotalSize(mem.Span);
                        var batch = mem[..size];
                        offset = RecordBatch.LastOffset(batch.Span) + 1;
                        long pid = RecordBatch.ProducerId(batch.Span);
                        bool txn = RecordBatch.IsTransactional(batch.Span);
                        if (RecordBatch.IsControl(batch.Span))
                        {
                            if (ProducerStateManager.ReadMarker(batch.Span) is { } m) replayMarker?.Invoke(log.Partition, pid, m.Commit);
                        }
                        else
                        {
                            foreach (var rec in RecordReader.ReadBatch(batch))
                            {
                                if (rec.Key is not { } key) continue;
                                records++;
                                replay(new CoordinatorRecord(log.Partition, rec.Offset, key, rec.Value, txn ? pid : -1, txn));
                            }
                        }
                        mem = mem[size..];
                    }
                }
                finally
                {
                    read.Lease?.Dispose();
                }
            }
        }
        return records;
    }
}
