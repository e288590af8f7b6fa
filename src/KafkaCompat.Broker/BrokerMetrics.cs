using System.Diagnostics;
using KafkaCompat.Protocol;

namespace KafkaCompat.Broker;

/// <summary>
/// The broker's request counters, kept without locks or allocation on the request path: requests by API key and
/// version, a latency histogram per API key, bytes in and out, and error codes answered by API key. Read by the
/// Prometheus endpoint (<c>/metrics</c> of the admin HTTP port), which adds gauges read from the logs and groups.
/// </summary>
public sealed class BrokerMetrics : IErrorVisitor
{
    private const int Apis = 128, Versions = 32, Errors = 256;

    /// <summary>Upper bounds of the latency buckets, in seconds (Prometheus "le"), then +Inf.</summary>
    public static readonly double[] LatencyBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    private static readonly long[] BucketTicks = [.. LatencyBuckets.Select(s => (long)(s * Stopwatch.Frequency))];

    private readonly long[] _requests = new long[Apis * Versions];
    private readonly long[] _latency = new long[Apis * (LatencyBuckets.Length + 1)];
    private readonly long[] _latencySumTicks = new long[Apis];
    private readonly long[] _errors = new long[Apis * Errors];
    private long _bytesIn, _bytesOut;

    [ThreadStatic] private static int t_api;

    /// <summary>One request answered (or not: acks=0): its size in and out and how long it took from its frame to its answer.</summary>
    public void Served(short api, short version, int bytesIn, int bytesOut, long startTimestamp)
    {
        if ((uint)api >= Apis) return;
        if ((uint)version < Versions) Interlocked.Increment(ref _requests[api * Versions + version]);
        long ticks = Stopwatch.GetTimestamp() - startTimestamp;
        int b = 0;
        while (b < BucketTicks.Length && ticks > BucketTicks[b]) b++;
        Interlocked.Increment(ref _latency[api * (LatencyBuckets.Length + 1) + b]);
        Interlocked.Add(ref _latencySumTicks[api], ticks);
        Interlocked.Add(ref _bytesIn, bytesIn);
        Interlocked.Add(ref _bytesOut, bytesOut);
    }

    /// <summary>Counts the error codes of a response to <paramref name="api"/>.</summary>
    public void CountErrors(short api, IKafkaMessage response)
    {
        if ((uint)api >= Apis) return;
        t_api = api;
        response.VisitErrors(this);
    }

    void IErrorVisitor.Error(ErrorCode code)
    {
        int c = (short)code;
        if (c is > 0 and < Errors) Interlocked.Increment(ref _errors[t_api * Errors + c]);
        else if (c == -1) Interlocked.Increment(ref _errors[t_api * Errors]); // UNKNOWN_SERVER_ERROR kept in slot 0
    }

    public long BytesIn => Volatile.Read(ref _bytesIn);
    public long BytesOut => Volatile.Read(ref _bytesOut);

    /// <summary>Requests served by API key and version (non-zero ones).</summary>
    public IEnumerable<(ApiKey Api, short Version, long Count)> Requests()
    {
        for (int i = 0; i < _requests.Length; i++)
            if (Volatile.Read(ref _requests[i]) is > 0 and var n) yield return ((ApiKey)(i / Versions), (short)(i % Versions), n);
    }

    /// <summary>The latency histogram of an API key: cumulative counts per bucket (the last is +Inf) and the sum in seconds.</summary>
    public (long[] Cumulative, double SumSeconds) Latency(ApiKey api)
    {
        int k = (short)api, n = LatencyBuckets.Length + 1;
        var cumulative = new long[n];
        long run = 0;
        for (int b = 0; b < n; b++) cumulative[b] = run += Volatile.Read(ref _latency[k * n + b]);
        return (cumulative, Volatile.Read(ref _latencySumTicks[k]) / (double)Stopwatch.Frequency);
    }

    /// <summary>API keys with at least one request.</summary>
    public IEnumerable<ApiKey> ApisSeen()
    {
        int n = LatencyBuckets.Length + 1;
        for (int k = 0; k < Apis; k++)
            for (int b = 0; b < n; b++)
                if (Volatile.Read(ref _latency[k * n + b]) > 0)
                {
                    yield return (ApiKey)k;
                    break;
                }
    }

    /// <summary>Error codes answered, by API key.</summary>
    public IEnumerable<(ApiKey Api, ErrorCode Error, long Count)> ErrorCounts()
    {
        for (int i = 0; i < _errors.Length; i++)
            if (Volatile.Read(ref _errors[i]) is > 0 and var n)
                yield return ((ApiKey)(i / Errors), i % Errors == 0 ? ErrorCode.UnknownServerError : (ErrorCode)(i % Errors), n);
    }
}
