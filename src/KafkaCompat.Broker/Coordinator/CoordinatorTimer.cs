namespace KafkaCompat.Broker.Coordinator;

/// <summary>
/// Keyed one-shot timers on the broker's clock, as a coordinator needs them: a session timeout, a rebalance
/// timeout, a join deadline. Each fires at its deadline (one <see cref="ITimer"/> armed for the earliest), not on the
/// next pass of a periodic sweep. Scheduling a key again replaces its deadline; <see cref="Cancel"/> drops it.
/// Callbacks run outside the timer's lock, one at a time, and take whatever lock their state needs.
/// </summary>
public sealed class CoordinatorTimer : IDisposable
{
    private sealed class Entry(string key, long due, Action action)
    {
        public string Key { get; } = key;
        public long Due { get; } = due;
        public Action Action { get; } = action;
        public bool Cancelled { get; set; }
    }

    private readonly TimeProvider _time;
    private readonly Action<string, Exception> _onError;
    private readonly object _lock = new();
    private readonly Dictionary<string, Entry> _byKey = new(StringComparer.Ordinal);
    private readonly PriorityQueue<Entry, long> _queue = new();
    private readonly ITimer _timer;
    private long _armedFor = long.MaxValue;
    private int _firing;
    private bool _disposed;

    public CoordinatorTimer(TimeProvider time, Action<string, Exception> onError)
    {
        _time = time;
        _onError = onError;
        _timer = time.CreateTimer(_ => Fire(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Monotonic milliseconds on the broker's clock, in integer arithmetic (a double loses milliseconds on a
    /// clock that counts from year 1, as a fake clock does).</summary>
    public long Now => MonotonicMs(_time);

    public static long MonotonicMs(TimeProvider time) => (long)((Int128)time.GetTimestamp() * 1000 / time.TimestampFrequency);

    /// <summary>Runs <paramref name="action"/> at <paramref name="dueMs"/> (on <see cref="Now"/>'s scale) unless the key
    /// is scheduled again or cancelled first.</summary>
    public void ScheduleAt(string key, long dueMs, Action action)
    {
        bool arm;
        lock (_lock)
        {
            if (_disposed) return;
            if (_byKey.Remove(key, out var old)) old.Cancelled = true;
            var e = new Entry(key, dueMs, action);
            _byKey[key] = e;
            _queue.Enqueue(e, dueMs);
            // stale (cancelled) entries are skipped when they surface; keep the heap from filling with them
            if (_queue.Count > 64 && _queue.Count > 4 * _byKey.Count) Compact();
            arm = dueMs < _armedFor;
            if (arm) Volatile.Write(ref _armedFor, dueMs);
        }
        if (arm) ArmCurrent();
    }

    public void Schedule(string key, long delayMs, Action action) => ScheduleAt(key, Now + Math.Max(0, delayMs), action);

    public void Cancel(string key)
    {
        lock (_lock)
            if (_byKey.Remove(key, out var old)) old.Cancelled = true;
    }

    /// <summary>The deadline of <paramref name="key"/>, or null.</summary>
    public long? DueOf(string key)
    {
        lock (_lock) return _byKey.TryGetValue(key, out var e) ? e.Due : null;
    }

    private void Compact()
    {
        var live = _byKey.Values.ToList();
        _queue.Clear();
        foreach (var e in live) _queue.Enqueue(e, e.Due);
    }

    /// <summary>Points the timer at the earliest deadline. Two threads may arm at once (a schedule and a firing):
    /// each re-checks the target after its change, so the last change made is for the latest target.</summary>
    private void ArmCurrent()
    {
        try
        {
            while (true)
            {
                long target = Volatile.Read(ref _armedFor);
                if (target == long.MaxValue) return;
                _timer.Change(TimeSpan.FromMilliseconds(Math.Max(0, target - Now)), Timeout.InfiniteTimeSpan);
                if (Volatile.Read(ref _armedFor) == target) return;
            }
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private void Fire()
    {
        // one firing at a time; a firing that finds another running leaves the work to it (it loops until nothing is due)
        if (Interlocked.Exchange(ref _firing, 1) == 1) return;
        try
        {
            while (true)
            {
                var due = new List<Entry>();
                long next;
                lock (_lock)
                {
                    if (_disposed) return;
                    long now = Now;
                    while (_queue.TryPeek(out var e, out long at) && (e.Cancelled || at <= now))
                    {
                        _queue.Dequeue();
                        if (e.Cancelled) continue;
                        _byKey.Remove(e.Key);
                        due.Add(e);
                    }
                    while (_queue.TryPeek(out var e, out _) && e.Cancelled) _queue.Dequeue();
                    next = _queue.TryPeek(out _, out long n) ? n : long.MaxValue;
                    Volatile.Write(ref _armedFor, next);
                }
                foreach (var e in due)
                {
                    try
                    {
                        e.Action();
                    }
                    catch (Exception ex)
                    {
                        _onError(e.Key, ex);
                    }
                }
                if (due.Count == 0)
                {
                    ArmCurrent();
                    return;
                }
            }
        }
        finally
        {
            Volatile.Write(ref _firing, 0);
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _byKey.Clear();
            _queue.Clear();
        }
        _timer.Dispose();
    }
}
