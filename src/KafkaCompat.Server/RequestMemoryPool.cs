namespace KafkaCompat.Server;

/// <summary>
/// queued.max.request.bytes, as Kafka's memory pool: a request's size is reserved from a broker-wide budget as soon
/// as its length prefix is read, before its bytes are buffered, and given back once it has been served. A
/// connection whose request does not fit waits (it reads nothing more, so the client's writes stay in its own
/// socket) until other requests finish. Waiters are served in arrival order, so a large request is not starved by
/// small ones. Unbounded when the capacity is not positive.
/// </summary>
public sealed class RequestMemoryPool(long capacity)
{
    private readonly object _lock = new();
    private readonly LinkedList<(long Bytes, TaskCompletionSource Ready)> _waiters = new();
    private long _available = capacity;

    public long Capacity { get; } = capacity;
    public bool Bounded => Capacity > 0;

    /// <summary>Bytes reserved now.</summary>
    public long InUse
    {
        get { lock (_lock) return Bounded ? Capacity - _available : 0; }
    }

    /// <summary>Connections waiting for memory now.</summary>
    public int Waiting
    {
        get { lock (_lock) return _waiters.Count; }
    }

    /// <summary>Reserves <paramref name="bytes"/> (at most the capacity, which socket.request.max.bytes never exceeds).</summary>
    public ValueTask ReserveAsync(long bytes, CancellationToken cancel)
    {
        if (!Bounded) return ValueTask.CompletedTask;
        bytes = Math.Min(bytes, Capacity);
        LinkedListNode<(long, TaskCompletionSource)> node;
        lock (_lock)
        {
            if (_waiters.Count == 0 && _available >= bytes)
            {
                _available -= bytes;
                return ValueTask.CompletedTask;
            }
            node = _waiters.AddLast((bytes, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)));
        }
        return WaitAsync(node, cancel);
    }

    private async ValueTask WaitAsync(LinkedListNode<(long Bytes, TaskCompletionSource Ready)> node, CancellationToken cancel)
    {
        using (cancel.Register(() =>
        {
            bool removed;
            lock (_lock)
            {
                removed = node.List != null;
                if (removed) _waiters.Remove(node);
            }
            if (removed) node.Value.Ready.TrySetCanceled(cancel);
        }))
        {
            await node.Value.Ready.Task.ConfigureAwait(false);
        }
    }

    public void Release(long bytes)
    {
        if (!Bounded) return;
        bytes = Math.Min(bytes, Capacity);
        var ready = new List<TaskCompletionSource>();
        lock (_lock)
        {
            _available += bytes;
            while (_waiters.First is { } first && first.Value.Bytes <= _available)
            {
                _available -= first.Value.Bytes;
                _waiters.RemoveFirst();
                ready.Add(first.Value.Ready);
            }
        }
        foreach (var r in ready) r.TrySetResult();
    }
}
