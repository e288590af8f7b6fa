using KafkaCompat.Protocol;

namespace KafkaCompat.Broker;

/// <summary>
/// Faults a test can arm on a running broker, to see stock clients recover as they would from a real network:
/// dropping the connection instead of sending a response (the request has been carried out, the client never
/// hears so and retries), and a handler failing as a bug would. Nothing is armed unless a test asks.
/// </summary>
public sealed class FaultInjector
{
    private readonly object _lock = new();
    private readonly Dictionary<ApiKey, DropPlan> _drops = new();
    private int _dropped;

    private sealed class DropPlan(int every, int times)
    {
        public int Every = every, Remaining = times, Seen;
    }

    /// <summary>From now on, every <paramref name="every"/>-th response to <paramref name="api"/> is not sent and its
    /// connection is closed, <paramref name="times"/> times in all.</summary>
    public void DropResponses(ApiKey api, int every, int times)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(every, 1);
        lock (_lock) _drops[api] = new DropPlan(every, times);
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

    /// <summary>How many responses were dropped.</summary>
    public int Dropped => Volatile.Read(ref _dropped);

    /// <summary>Called by the connection loop before a response is written.</summary>
    public bool ShouldDropResponse(ApiKey api)
    {
        if (_drops.Count == 0) return false;
        lock (_lock)
        {
            if (!_drops.TryGetValue(api, out var plan) || plan.Remaining <= 0) return false;
            if (++plan.Seen % plan.Every != 0) return false;
            plan.Remaining--;
            _dropped++;
            return true;
        }
    }
}
