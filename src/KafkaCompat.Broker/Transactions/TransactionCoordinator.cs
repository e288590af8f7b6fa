// The transaction coordinator: Kafka's transaction state machine (Empty, Ongoing, PrepareCommit, PrepareAbort,
// CompleteCommit, CompleteAbort, PrepareEpochFence, Dead) for each transactional id, kept in the internal
// __transaction_state log on the coordinator runtime. InitProducerId gives a transactional id a stable producer id
// and bumps its epoch (fencing the previous instance); AddPartitionsToTxn / AddOffsetsToTxn add partitions;
// EndTxn writes COMMIT or ABORT markers to every partition of the transaction (the offsets partition included,
// which makes transactional offset commits visible or drops them). Transactions open longer than their timeout
// are aborted with a bumped epoch. Every marker is written locally and synchronously, so a transaction is seen
// in a Prepare state only when a crash interrupted it; loading completes it.
using KafkaCompat.Broker.Coordinator;
using KafkaCompat.Protocol;
using KafkaCompat.Storage;
using Microsoft.Extensions.Logging;

namespace KafkaCompat.Broker.Transactions;

public readonly record struct InitResult(ErrorCode Error, long ProducerId, short ProducerEpoch);

public sealed partial class TransactionCoordinator : IDisposable
{
    public const string TransactionTopic = "__transaction_state";

    private readonly KafkaBroker _broker;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CoordinatorRuntime _runtime;
    private readonly Dictionary<string, TxnMetadata> _txns = new(StringComparer.Ordinal);
    private ITimer? _timer;
    private volatile bool _loading = true;
    private volatile bool _shutdown;
    private long _nextExpiryCheck;

    /// <summary>Held while the state of any transactional id changes, and by Produce while it checks that a partition
    /// belongs to a transaction and appends to it (so a marker cannot slip between the check and the append).</summary>
    public object SyncRoot { get; } = new();

    public TransactionCoordinator(KafkaBroker broker, ILogger logger, TimeProvider time)
    {
        _broker = broker;
        _logger = logger;
        _time = time;
        _runtime = new CoordinatorRuntime(broker, TransactionTopic, () => broker.Config.TransactionStateLogPartitions,
            () => new Dictionary<string, string>
            {
                ["cleanup.policy"] = "compact",
                ["segment.bytes"] = broker.Config.TransactionStateLogSegmentBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            }, Replay, null, logger, () => broker.Config.TransactionStateReplicationFactor);
    }

    private Config.BrokerConfig Cfg => _broker.Config;
    private long Now => _time.GetUtcNow().ToUnixTimeMilliseconds();

    public ErrorCode Availability => _shutdown ? ErrorCode.NotCoordinator : _loading ? ErrorCode.CoordinatorLoadInProgress : ErrorCode.None;

    /// <summary><see cref="Availability"/> for one transactional id: COORDINATOR_LOAD_IN_PROGRESS too while its
    /// partition of __transaction_state is reloaded after a leader move.</summary>
    public ErrorCode AvailabilityOf(string transactionalId) =>
        Availability is var a && a != ErrorCode.None ? a
        : _runtime.IsLoading(PartitionFor(transactionalId)) ? ErrorCode.CoordinatorLoadInProgress : ErrorCode.None;

    /// <summary>A partition of __transaction_state is getting a new leader: its transactional ids answer
    /// COORDINATOR_LOAD_IN_PROGRESS until <see cref="Reload"/> has read it. Does not block.</summary>
    public void MarkLoading(int partition) => _runtime.MarkLoading(partition);

    /// <summary>What Kafka's new transaction coordinator does when a partition of __transaction_state moves to it: the
    /// state of its transactional ids is read again from the partition, and transactions left in PrepareCommit or
    /// PrepareAbort are completed (their markers written).</summary>
    public void Reload(int partition)
    {
        lock (SyncRoot)
        {
            bool ended = false;
            try
            {
                _runtime.BeginLoad(partition);
                if (_loading || _shutdown) return; // the load at start reads it anyway
                foreach (var id in _txns.Keys.Where(id => PartitionFor(id) == partition).ToList()) _txns.Remove(id);
                long n = _runtime.Load(partition);
                _runtime.EndLoad(partition); // serving again: completing a prepared transaction writes to it
                ended = true;
                foreach (var m in _txns.Values.Where(m => PartitionFor(m.TransactionalId) == partition
                             && m.State is TxnState.PrepareCommit or TxnState.PrepareAbort).ToList())
                    Complete(m, m.State == TxnState.PrepareCommit);
                LogReloaded(_logger, partition, _txns.Keys.Count(id => PartitionFor(id) == partition), n);
            }
            catch (Exception e)
            {
                LogLoadFailed(_logger, e);
            }
            finally
            {
                if (!ended) _runtime.EndLoad(partition);
            }
        }
    }

    public int PartitionFor(string transactionalId) => Groups.GroupRecords.PartitionFor(transactionalId, _runtime.PartitionCount);

    /// <summary>The broker that coordinates <paramref name="transactionalId"/> (-1 while none can).</summary>
    public int CoordinatorNode(string transactionalId) => _runtime.CoordinatorNode(PartitionFor(transactionalId));

    /// <summary>NONE when <paramref name="nodeId"/> coordinates the transactional id, else NOT_COORDINATOR or
    /// COORDINATOR_NOT_AVAILABLE.</summary>
    public ErrorCode CheckCoordinator(int nodeId, string transactionalId) => _runtime.CheckCoordinator(nodeId, PartitionFor(transactionalId));

    /// <summary>The one function that changes transaction state: from a record written now or read at load.</summary>
    private void Replay(CoordinatorRecord rec)
    {
        string? id;
        try
        {
            id = TransactionRecords.ReadKey(rec.Key);
            if (id is null) return;
            if (rec.Value is not { } value) _txns.Remove(id);
            else _txns[id] = TransactionRecords.ReadValue(id, value);
        }
        catch (Exception e) when (e is FormatException or ProtocolException)
        {
            LogBadRecord(_logger, rec.Partition, rec.Offset, e.Message);
        }
    }

    private Task _started = Task.CompletedTask;

    /// <summary>Completes when the transaction state has been read.</summary>
    public Task WaitLoadedAsync() => _started;

    /// <summary>Reads __transaction_state, completes transactions a crash left in a Prepare state, then starts the timer.</summary>
    public Task StartAsync() => _started = Task.Run(() =>
    {
        try
        {
            lock (SyncRoot)
            {
                long n = _runtime.Load();
                foreach (var m in _txns.Values.Where(m => m.State is TxnState.PrepareCommit or TxnState.PrepareAbort).ToList())
                    Complete(m, m.State == TxnState.PrepareCommit);
                LogLoaded(_logger, _txns.Count, n);
            }
        }
        catch (Exception e)
        {
            LogLoadFailed(_logger, e);
        }
        _nextExpiryCheck = Now + Cfg.TransactionalIdExpirationCheckIntervalMs;
        _loading = false;
        if (!_shutdown)
        {
            var every = TimeSpan.FromMilliseconds(Math.Max(10, Cfg.TransactionAbortCheckIntervalMs));
            _timer = _time.CreateTimer(_ => Tick(), null, every, every);
        }
    });

    // ------------------------------------------------------------------ InitProducerId

    public InitResult InitProducerId(string transactionalId, int timeoutMs, long expectedPid, short expectedEpoch, short apiVersion)
    {
        if (transactionalId.Length == 0) return new(ErrorCode.InvalidRequest, -1, -1);
        if (timeoutMs <= 0 || timeoutMs > Cfg.TransactionMaxTimeoutMs) return new(ErrorCode.InvalidTransactionTimeout, -1, -1);
        lock (SyncRoot)
        {
            if (AvailabilityOf(transactionalId) is var a && a != ErrorCode.None) return new(a, -1, -1);
            if (!_txns.TryGetValue(transactionalId, out var m))
            {
                long pid;
                try { pid = _broker.ProducerIds.Next(); }
                catch (IOException) { return new(ErrorCode.CoordinatorNotAvailable, -1, -1); }
                m = new TxnMetadata(transactionalId, pid, -1, timeoutMs, TxnState.Empty, [], Now, -1);
            }
            if (expectedPid != -1)
            {
                bool current = expectedPid == m.ProducerId && expectedEpoch == m.ProducerEpoch;
                bool retry = expectedPid == m.ProducerId && expectedEpoch == m.LastProducerEpoch && m.State == TxnState.Empty;
                bool rotated = expectedPid == m.PreviousProducerId && m.State == TxnState.Empty;
                if (retry || rotated) return new(ErrorCode.None, m.ProducerId, m.ProducerEpoch);
                if (!current) return new(Fenced(apiVersion, 4), -1, -1);
            }
            switch (m.State)
            {
                case TxnState.PrepareCommit or TxnState.PrepareAbort or TxnState.PrepareEpochFence:
                    return new(ErrorCode.ConcurrentTransactions, -1, -1);
                case TxnState.Ongoing:
                    // the previous instance left a transaction open: fence it and abort, the client retries
                    var fenced = BumpEpoch(m);
                    var err = Write(fenced with { State = TxnState.PrepareEpochFence, LastUpdateMs = Now });
                    if (err != ErrorCode.None) return new(err, -1, -1);
                    Complete(_txns[transactionalId], commit: false);
                    return new(ErrorCode.ConcurrentTransactions, -1, -1);
            }
            var next = BumpEpoch(m) with
            {
                State = TxnState.Empty, Partitions = [], TimeoutMs = timeoutMs, StartMs = -1, LastUpdateMs = Now,
            };
            var werr = Write(next);
            if (werr != ErrorCode.None) return new(werr, -1, -1);
            _txns[transactionalId] = _txns[transactionalId] with { LastProducerEpoch = m.ProducerEpoch };
            LogInit(_logger, transactionalId, next.ProducerId, next.ProducerEpoch);
            return new(ErrorCode.None, next.ProducerId, next.ProducerEpoch);
        }
    }

    /// <summary>The next epoch; an exhausted epoch moves to a new producer id at epoch 0 (the old one is remembered).</summary>
    private TxnMetadata BumpEpoch(TxnMetadata m)
    {
        if (m.ProducerEpoch < short.MaxValue - 1) return m with { ProducerEpoch = (short)(m.ProducerEpoch + 1) };
        return m with { PreviousProducerId = m.ProducerId, ProducerId = _broker.ProducerIds.Next(), ProducerEpoch = 0 };
    }

    /// <summary>PRODUCER_FENCED, or INVALID_PRODUCER_EPOCH for request versions from before it existed.</summary>
    private static ErrorCode Fenced(short apiVersion, short firstVersionWithFenced) =>
        apiVersion >= firstVersionWithFenced ? ErrorCode.ProducerFenced : ErrorCode.InvalidProducerEpoch;

    // ------------------------------------------------------------------ AddPartitionsToTxn / AddOffsetsToTxn

    /// <summary>Checks the producer of a request against the transactional id's state: NONE, or the error Kafka answers.</summary>
    private ErrorCode Validate(string transactionalId, long pid, short epoch, short apiVersion, short firstVersionWithFenced, out TxnMetadata? m)
    {
        m = null;
        if (AvailabilityOf(transactionalId) is var a && a != ErrorCode.None) return a;
        if (!_txns.TryGetValue(transactionalId, out m)) return ErrorCode.InvalidProducerIdMapping;
        if (m.ProducerId != pid) return ErrorCode.InvalidProducerIdMapping;
        if (m.ProducerEpoch != epoch) return Fenced(apiVersion, firstVersionWithFenced);
        return ErrorCode.None;
    }

    /// <summary>Adds partitions to the producer's transaction (which starts if none is open).</summary>
    public ErrorCode AddPartitions(string transactionalId, long pid, short epoch, IReadOnlyCollection<(string Topic, int Partition)> partitions, short apiVersion)
    {
        lock (SyncRoot)
        {
            var err = Validate(transactionalId, pid, epoch, apiVersion, 2, out var m);
            if (err != ErrorCode.None) return err;
            if (m!.State is TxnState.PrepareCommit or TxnState.PrepareAbort or TxnState.PrepareEpochFence) return ErrorCode.ConcurrentTransactions;
            if (m.State == TxnState.Ongoing && partitions.All(m.Partitions.Contains)) return ErrorCode.None;
            var all = m.State == TxnState.Ongoing ? m.Partitions.Union(partitions).ToList() : partitions.Distinct().ToList();
            long now = Now;
            return Write(m with { State = TxnState.Ongoing, Partitions = all, StartMs = m.State == TxnState.Ongoing ? m.StartMs : now, LastUpdateMs = now });
        }
    }

    /// <summary>Transactions version 2: Produce v12 and TxnOffsetCommit v5 add their partition themselves, starting
    /// the producer's transaction if none is open (AddPartitionsToTxn v5 without verify_only does the same).</summary>
    public ErrorCode AddPartitionsImplicitly(string transactionalId, long pid, short epoch, IReadOnlyCollection<(string Topic, int Partition)> partitions)
    {
        lock (SyncRoot)
        {
            var err = Validate(transactionalId, pid, epoch, 5, 2, out var m);
            if (err != ErrorCode.None) return err;
            if (m!.State is TxnState.PrepareCommit or TxnState.PrepareAbort or TxnState.PrepareEpochFence) return ErrorCode.ConcurrentTransactions;
            if (m.State == TxnState.Ongoing && partitions.All(m.Partitions.Contains)) return ErrorCode.None;
            var all = m.State == TxnState.Ongoing ? m.Partitions.Union(partitions).ToList() : partitions.Distinct().ToList();
            long now = Now;
            return Write(m with
            {
                State = TxnState.Ongoing, Partitions = all, StartMs = m.State == TxnState.Ongoing ? m.StartMs : now, LastUpdateMs = now,
                ClientTransactionVersion = 2,
            });
        }
    }

    /// <summary>AddPartitionsToTxn v4+ with verify_only: whether each partition is in the producer's open transaction.</summary>
    public (ErrorCode Error, Dictionary<(string Topic, int Partition), ErrorCode> Partitions) VerifyPartitions(string transactionalId, long pid, short epoch,
        IReadOnlyCollection<(string Topic, int Partition)> partitions)
    {
        lock (SyncRoot)
        {
            var err = Validate(transactionalId, pid, epoch, 5, 4, out var m);
            var result = partitions.ToDictionary(p => p, p => err != ErrorCode.None ? err
                : m!.State == TxnState.Ongoing && m.Partitions.Contains(p) ? ErrorCode.None : ErrorCode.TransactionAbortable);
            return (ErrorCode.None, result);
        }
    }

    /// <summary>Produce of a transactional batch: the partition must have been added to the producer's open transaction.
    /// Called with <see cref="SyncRoot"/> held, around the append.</summary>
    public ErrorCode VerifyProduce(string transactionalId, long pid, short epoch, string topic, int partition)
    {
        if (AvailabilityOf(transactionalId) is var a && a != ErrorCode.None) return a;
        if (!_txns.TryGetValue(transactionalId, out var m) || m.ProducerId != pid) return ErrorCode.InvalidProducerIdMapping;
        if (epoch != m.ProducerEpoch) return ErrorCode.InvalidProducerEpoch;
        if (m.State != TxnState.Ongoing || !m.Partitions.Contains((topic, partition))) return ErrorCode.InvalidTxnState;
        return ErrorCode.None;
    }

    // ------------------------------------------------------------------ EndTxn

    /// <summary>EndTxn v5 (transactions version 2): the answer carries the producer id and epoch to use next.</summary>
    public InitResult EndTxnV2(string transactionalId, long pid, short epoch, bool commit)
    {
        lock (SyncRoot)
        {
            if (AvailabilityOf(transactionalId) is var a && a != ErrorCode.None) return new(a, -1, -1);
            if (!_txns.TryGetValue(transactionalId, out var m)) return new(ErrorCode.InvalidProducerIdMapping, -1, -1);
            // the epoch was bumped by this EndTxn already (a retry), or the id was rotated by it
            bool retryOnBump = m.ProducerId == pid && m.ProducerEpoch == epoch + 1;
            bool retryOnOverflow = m.PreviousProducerId == pid && epoch >= short.MaxValue - 1 && m.ProducerEpoch == 0;
            if (m.ProducerId != pid && !retryOnOverflow) return new(ErrorCode.InvalidProducerIdMapping, -1, -1);
            bool current = m.ProducerId == pid && m.ProducerEpoch == epoch;
            bool valid = m.State switch
            {
                TxnState.PrepareCommit or TxnState.PrepareAbort => retryOnBump,
                TxnState.CompleteCommit or TxnState.CompleteAbort => retryOnBump || retryOnOverflow || current,
                _ => current,
            };
            if (!valid) return new(ErrorCode.ProducerFenced, -1, -1);
            InitResult Now_() => new(ErrorCode.None, _txns[transactionalId].ProducerId, _txns[transactionalId].ProducerEpoch);
            switch (m.State)
            {
                case TxnState.Ongoing:
                    return EndWithBump(m, commit);
                case TxnState.Empty:
                    return commit ? new(ErrorCode.InvalidTxnState, -1, -1) : EndWithBump(m with { StartMs = Now, Partitions = [] }, commit: false);
                case TxnState.CompleteAbort:
                    if (commit) return new(ErrorCode.InvalidTxnState, -1, -1);
                    return current ? EndWithBump(m with { StartMs = Now, Partitions = [] }, commit: false) : Now_();
                case TxnState.CompleteCommit:
                    if (commit) return current ? new(ErrorCode.InvalidTxnState, -1, -1) : Now_();
                    return current ? EndWithBump(m with { StartMs = Now, Partitions = [] }, commit: false) : new(ErrorCode.InvalidTxnState, -1, -1);
                case TxnState.PrepareCommit:
                    return new(commit ? ErrorCode.ConcurrentTransactions : ErrorCode.InvalidTxnState, -1, -1);
                case TxnState.PrepareAbort:
                    return new(commit ? ErrorCode.InvalidTxnState : ErrorCode.ConcurrentTransactions, -1, -1);
                default:
                    return new(ErrorCode.InvalidTxnState, -1, -1);
            }
        }
    }

    /// <summary>Transactions version 2 ends every transaction with an epoch bump: the Prepare record and the markers
    /// carry epoch+1; an exhausted epoch moves the producer to a new id (epoch 0) once the markers are written.</summary>
    private InitResult EndWithBump(TxnMetadata m, bool commit)
    {
        long now = Now;
        var state = commit ? TxnState.PrepareCommit : TxnState.PrepareAbort;
        TxnMetadata prepare = m.ProducerEpoch >= short.MaxValue - 1
            ? m with { ProducerEpoch = short.MaxValue, NextProducerId = _broker.ProducerIds.Next(), State = state, LastUpdateMs = now, ClientTransactionVersion = 2 }
            : m with { ProducerEpoch = (short)(m.ProducerEpoch + 1), State = state, LastUpdateMs = now, ClientTransactionVersion = 2 };
        var err = Write(prepare);
        if (err != ErrorCode.None) return new(err, -1, -1);
        err = Complete(prepare, commit);
        if (err != ErrorCode.None) return new(err, -1, -1);
        var done = _txns[m.TransactionalId];
        return new(ErrorCode.None, done.ProducerId, done.ProducerEpoch);
    }

    public ErrorCode EndTxn(string transactionalId, long pid, short epoch, bool commit, short apiVersion)
    {
        lock (SyncRoot)
        {
            var err = Validate(transactionalId, pid, epoch, apiVersion, 2, out var m);
            if (err != ErrorCode.None) return err;
            switch (m!.State)
            {
                case TxnState.Ongoing:
                    var prepare = m with { State = commit ? TxnState.PrepareCommit : TxnState.PrepareAbort, LastUpdateMs = Now };
                    var werr = Write(prepare);
                    if (werr != ErrorCode.None) return werr;
                    return Complete(prepare, commit);
                case TxnState.CompleteCommit: return commit ? ErrorCode.None : ErrorCode.InvalidTxnState;
                case TxnState.CompleteAbort: return commit ? ErrorCode.InvalidTxnState : ErrorCode.None;
                case TxnState.PrepareCommit: return commit ? ErrorCode.ConcurrentTransactions : ErrorCode.InvalidTxnState;
                case TxnState.PrepareAbort: return commit ? ErrorCode.InvalidTxnState : ErrorCode.ConcurrentTransactions;
                default: return ErrorCode.InvalidTxnState;
            }
        }
    }

    /// <summary>Writes the markers of a transaction in PrepareCommit / PrepareAbort / PrepareEpochFence to each of its
    /// partitions, then its completion. A marker that cannot be written leaves it prepared; the timer retries.</summary>
    private ErrorCode Complete(TxnMetadata m, bool commit)
    {
        if (m.State == TxnState.PrepareEpochFence || m.State == TxnState.Ongoing)
        {
            var abort = m with { State = TxnState.PrepareAbort, LastUpdateMs = Now };
            var err = Write(abort);
            if (err != ErrorCode.None) return err;
            m = abort;
            commit = false;
        }
        foreach (var (topic, partition) in m.Partitions)
        {
            ErrorCode err;
            if (topic == Groups.GroupCoordinator.OffsetsTopic) err = _broker.Groups.WriteTxnMarker(partition, m.ProducerId, m.ProducerEpoch, commit);
            else
            {
                var logs = _broker.Logs.Get(topic);
                if (logs is null || partition >= logs.Partitions.Length) continue; // deleted meanwhile: nothing to mark
                try
                {
                    logs.Partitions[partition].AppendMarker(m.ProducerId, m.ProducerEpoch, 0, commit, Now);
                    err = ErrorCode.None;
                }
                catch (ObjectDisposedException) { continue; }
                catch (KafkaException e) { err = e.Error; }
                catch (IOException e)
                {
                    LogMarkerFailed(_logger, m.TransactionalId, topic, partition, e.Message);
                    err = ErrorCode.KafkaStorageError;
                }
            }
            // an epoch refused by the partition means a newer epoch already wrote there: nothing of this one is open
            if (err is not (ErrorCode.None or ErrorCode.InvalidProducerEpoch)) return err;
        }
        var done = m with { State = commit ? TxnState.CompleteCommit : TxnState.CompleteAbort, LastUpdateMs = Now };
        if (m.NextProducerId != -1)
            done = done with { PreviousProducerId = m.ProducerId, ProducerId = m.NextProducerId, NextProducerId = -1, ProducerEpoch = 0 };
        var werr = Write(done);
        if (werr == ErrorCode.None) LogCompleted(_logger, m.TransactionalId, m.ProducerId, m.ProducerEpoch, commit ? "committed" : "aborted", m.Partitions.Count);
        return werr;
    }

    private ErrorCode Write(TxnMetadata m) =>
        _runtime.Write(PartitionFor(m.TransactionalId), [(TransactionRecords.KeyBytes(m.TransactionalId), TransactionRecords.ValueBytes(m))]);

    // ------------------------------------------------------------------ timeouts and expiry

    /// <summary>Aborts transactions open longer than their timeout (fencing the producer with a bumped epoch), retries
    /// unfinished completions, and removes transactional ids idle past transactional.id.expiration.ms.</summary>
    public void Tick()
    {
        if (_loading || _shutdown || !Monitor.TryEnter(SyncRoot)) return;
        try
        {
            long now = Now;
            foreach (var m in _txns.Values.ToList())
            {
                if (m.State == TxnState.Ongoing && m.StartMs >= 0 && now - m.StartMs > m.TimeoutMs)
                {
                    LogTimedOut(_logger, m.TransactionalId, m.ProducerId, m.ProducerEpoch, m.TimeoutMs);
                    var fenced = BumpEpoch(m) with { State = TxnState.PrepareEpochFence, LastUpdateMs = now };
                    if (Write(fenced) == ErrorCode.None) Complete(_txns[m.TransactionalId], commit: false);
                }
                else if (m.State is TxnState.PrepareCommit or TxnState.PrepareAbort or TxnState.PrepareEpochFence)
                    Complete(m, m.State == TxnState.PrepareCommit);
            }
            if (now >= _nextExpiryCheck)
            {
                _nextExpiryCheck = now + Cfg.TransactionalIdExpirationCheckIntervalMs;
                foreach (var m in _txns.Values.Where(m => m.State is TxnState.Empty or TxnState.CompleteCommit or TxnState.CompleteAbort
                    && now - m.LastUpdateMs > Cfg.TransactionalIdExpirationMs).ToList())
                    _runtime.Write(PartitionFor(m.TransactionalId), [(TransactionRecords.KeyBytes(m.TransactionalId), null)]);
            }
        }
        catch (Exception e)
        {
            LogTickFailed(_logger, e);
        }
        finally
        {
            Monitor.Exit(SyncRoot);
        }
    }

    // ------------------------------------------------------------------ describe / list

    public TxnMetadata? Describe(string transactionalId)
    {
        lock (SyncRoot) return _txns.GetValueOrDefault(transactionalId);
    }

    public List<TxnMetadata> List()
    {
        lock (SyncRoot) return _txns.Values.ToList();
    }

    public static string StateName(TxnState s) => s.ToString();

    public void Dispose()
    {
        _shutdown = true;
        _timer?.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "transaction state loaded: {Count} transactional id(s) from {Records} record(s)")]
    private static partial void LogLoaded(ILogger logger, int count, long records);

    [LoggerMessage(Level = LogLevel.Information, Message = "transaction state of __transaction_state partition {Partition} reloaded after a leader move: {Count} transactional id(s) from {Records} record(s)")]
    private static partial void LogReloaded(ILogger logger, int partition, int count, long records);

    [LoggerMessage(Level = LogLevel.Error, Message = "loading __transaction_state failed")]
    private static partial void LogLoadFailed(ILogger logger, Exception e);

    [LoggerMessage(Level = LogLevel.Warning, Message = "__transaction_state-{Partition} offset {Offset}: unreadable record skipped ({Message})")]
    private static partial void LogBadRecord(ILogger logger, int partition, long offset, string message);

    [LoggerMessage(Level = LogLevel.Information, Message = "transactional id {TransactionalId}: producer id {ProducerId}, epoch {Epoch}")]
    private static partial void LogInit(ILogger logger, string transactionalId, long producerId, short epoch);

    [LoggerMessage(Level = LogLevel.Debug, Message = "transaction of {TransactionalId} (producer {ProducerId}, epoch {Epoch}) {Outcome} on {Partitions} partition(s)")]
    private static partial void LogCompleted(ILogger logger, string transactionalId, long producerId, short epoch, string outcome, int partitions);

    [LoggerMessage(Level = LogLevel.Warning, Message = "transaction of {TransactionalId}: marker on {Topic}-{Partition} failed: {Message}")]
    private static partial void LogMarkerFailed(ILogger logger, string transactionalId, string topic, int partition, string message);

    [LoggerMessage(Level = LogLevel.Information, Message = "transaction of {TransactionalId} (producer {ProducerId}, epoch {Epoch}) passed its timeout of {TimeoutMs} ms: aborted and fenced")]
    private static partial void LogTimedOut(ILogger logger, string transactionalId, long producerId, short epoch, int timeoutMs);

    [LoggerMessage(Level = LogLevel.Error, Message = "transaction timer failed")]
    private static partial void LogTickFailed(ILogger logger, Exception e);
}
