using KafkaCompat.Protocol;

namespace KafkaCompat.Broker;

/// <summary>What a fault does to the requests it matches.</summary>
public enum FaultKind
{
    /// <summary>The request is answered with <see cref="FaultSpec.Error"/> in every error field, without being carried out.</summary>
    Error,
    /// <summary>The answer waits <see cref="FaultSpec.LatencyMs"/> before the request is handled.</summary>
    Latency,
    /// <summary>The answer carries throttle_time_ms = <see cref="FaultSpec.ThrottleMs"/> (the client backs off).</summary>
    Throttle,
    /// <summary>The request is carried out, its answer never sent, and the connection closed.</summary>
    Drop,
    /// <summary>Requests for one partition (Produce, Fetch, ListOffsets, OffsetForLeaderEpoch, DeleteRecords) get
    /// <see cref="FaultSpec.Error"/> for it.</summary>
    PartitionError,
}

/// <summary>A fault to arm: which requests it matches (an API key, a broker, a partition; null matches any) and how many
/// times it fires (null: until it is cleared).</summary>
public sealed record FaultSpec(FaultKind Kind, ApiKey? Api = null, int? Broker = null, ErrorCode Error = ErrorCode.None,
    int LatencyMs = 0, int ThrottleMs = 0, string? Topic = null, int? Partition = null, int? Count = null);

/// <summary>An armed fault: its id (to clear it), what it does, how many times it has fired and may still fire.</summary>
public sealed record FaultState(int Id, FaultSpec Spec, int Fired, int? Remaining);

/// <summary>
/// Faults a test arms on a running cluster, to see stock clients recover as they would from real trouble: errors
/// answered for the next N requests of an API key on a broker, added latency, throttling, dropped answers (the
/// request is carried out, the client never hears so and retries), a partition reporting an error, and a handler
/// failing as a bug would. Each fault is cleared by its id, all at once, or after it has fired its count. Nothing is
/// armed unless asked, and then an unarmed request costs one volatile read.
/// </summary>
public sealed class FaultInjector
{
    private readonly object _lock = new();
    private readonly List<Armed> _faults = new();
    private volatile bool _any;
    private int _nextId;
    private int _dropped;

    private sealed class Armed(int id, FaultSpec spec)
    {
        public readonly int Id = id;
        public readonly FaultSpec Spec = spec;
        public int Fired;
        public int? Remaining = spec.Count;
        public int Every = 1, Seen;
    }

    /// <summary>Arms a fault; returns its id.</summary>
    public int Add(FaultSpec spec)
    {
        if (spec.Count is <= 0) throw new ArgumentOutOfRangeException(nameof(spec), "count must be positive");
        if (spec.Kind is FaultKind.Error or FaultKind.PartitionError && spec.Error == ErrorCode.None)
            throw new ArgumentException("an error fault needs an error code", nameof(spec));
        if (spec.Kind == FaultKind.PartitionError && (spec.Topic is null || spec.Partition is null))
            throw new ArgumentException("a partition fault needs a topic and a partition", nameof(spec));
        if (spec.LatencyMs < 0 || spec.ThrottleMs < 0) throw new ArgumentOutOfRangeException(nameof(spec), "latency and throttle are not negative");
        lock (_lock)
        {
            var armed = new Armed(++_nextId, spec);
            _faults.Add(armed);
            _any = true;
            return armed.Id;
        }
    }

    /// <summary>Clears one fault; false when no fault has that id (any more).</summary>
    public bool Remove(int id)
    {
        lock (_lock)
        {
            bool removed = _faults.RemoveAll(f => f.Id == id) > 0;
            _any = _faults.Count > 0;
            return removed;
        }
    }

    /// <summary>Clears every fault.</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _faults.Clear();
            _any = false;
        }
    }

    /// <summary>The armed faults.</summary>
    public IReadOnlyList<FaultState> List()
    {
        lock (_lock) return [.. _faults.Select(f => new FaultState(f.Id, f.Spec, f.Fired, f.Remaining))];
    }

    /// <summary>The first armed fault of <paramref name="kind"/> matching the request; it fires (its count goes down, and
    /// it is cleared at zero). Null when none matches.</summary>
    private FaultSpec? Take(FaultKind kind, ApiKey api, int node, string? topic = null, int partition = -1)
    {
        if (!_any) return null;
        lock (_lock)
        {
            foreach (var f in _faults)
            {
                var s = f.Spec;
                if (s.Kind != kind || s.Api is { } a && a != api || s.Broker is { } b && b != node) continue;
                if (kind == FaultKind.PartitionError && (s.Topic != topic || s.Partition != partition)) continue;
                if (++f.Seen % f.Every != 0) continue;
                f.Fired++;
                if (f.Remaining is { } left)
                {
                    f.Remaining = left - 1;
                    if (left - 1 <= 0) _faults.Remove(f);
                    _any = _faults.Count > 0;
                }
                return s;
            }
            return null;
        }
    }

    /// <summary>An error to answer instead of handling the request, or null.</summary>
    public ErrorCode? TakeError(ApiKey api, int node) => Take(FaultKind.Error, api, node)?.Error;

    /// <summary>Milliseconds to wait before handling the request (0: none).</summary>
    public int TakeLatency(ApiKey api, int node) => Take(FaultKind.Latency, api, node)?.LatencyMs ?? 0;

    /// <summary>throttle_time_ms to put in the answer (0: none).</summary>
    public int TakeThrottle(ApiKey api, int node) => Take(FaultKind.Throttle, api, node)?.ThrottleMs ?? 0;

    /// <summary>The error a partition reports to <paramref name="api"/> on <paramref name="node"/>, or null.</summary>
    public ErrorCode? TakePartitionError(ApiKey api, int node, string topic, int partition) =>
        Take(FaultKind.PartitionError, api, node, topic, partition)?.Error;

    /// <summary>From now on, every <paramref name="every"/>-th response to <paramref name="api"/> is not sent and its
    /// connection is closed, <paramref name="times"/> times in all.</summary>
    public void DropResponses(ApiKey api, int every, int times)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(every, 1);
        lock (_lock)
        {
            _faults.RemoveAll(f => f.Spec.Kind == FaultKind.Drop && f.Spec.Api == api && f.Spec.Broker is null);
            var armed = new Armed(++_nextId, new FaultSpec(FaultKind.Drop, api, Count: times)) { Every = every };
            _faults.Add(armed);
            _any = true;
        }
    }

    /// <summary>How many responses were dropped.</summary>
    public int Dropped => Volatile.Read(ref _dropped);

    /// <summary>Called by the connection loop before a response is written: true when it is to be dropped.</summary>
    public bool ShouldDropResponse(ApiKey api, int node = -1)
    {
        if (Take(FaultKind.Drop, api, node) is null) return false;
        Interlocked.Increment(ref _dropped);
        return true;
    }

    private readonly Dictionary<ApiKey, int> _handlerFailures = new();

    /// <summary>The next <paramref name="times"/> requests to <paramref name="api"/> fail inside their handler, as a bug would.</summary>
    public void FailHandlers(ApiKey api, int times)
    {
        lock (_lock) _handlerFailures[api] = times;
    }

    /// <summary>Called by the handlers before they run.</summary>
    public bool ShouldFailHandler(ApiKey api)
    {
        if (_handlerFailures.Count == 0) return false;
        lock (_lock)
        {
            if (!_handlerFailures.TryGetValue(api, out int left) || left <= 0) return false;
            _handlerFailures[api] = left - 1;
            return true;
        }
    }
}
