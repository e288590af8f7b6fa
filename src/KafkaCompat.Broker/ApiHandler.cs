using KafkaCompat.Protocol;

namespace KafkaCompat.Broker;

/// <summary>Everything a handler knows about the request it serves.</summary>
public sealed class RequestContext
{
    public required KafkaBroker Broker { get; init; }
    public required short ApiVersion { get; init; }
    public required int CorrelationId { get; init; }
    public string? ClientId { get; init; }
    /// <summary>The local address the client connected to (used when no advertised host is set).</summary>
    public string? LocalHost { get; init; }
    /// <summary>The client's address as Kafka shows it in DescribeGroups ("/127.0.0.1").</summary>
    public string ClientHost { get; init; } = "/127.0.0.1";
    public CancellationToken Cancellation { get; init; }

    private List<IDisposable>? _leases;
    /// <summary>Keeps storage memory referenced by the response alive until it has been sent.</summary>
    public void AddLease(IDisposable lease) => (_leases ??= new()).Add(lease);
    public List<IDisposable>? TakeLeases()
    {
        var l = _leases;
        _leases = null;
        return l;
    }
}

/// <summary>One Kafka API: the versions it serves and how it answers. Registered in <see cref="ApiRegistry"/>.</summary>
public interface IApiHandler
{
    ApiKey Key { get; }
    short MinVersion { get; }
    short MaxVersion { get; }
    bool IsFlexible(short version);
    /// <summary>Parses the body and answers; null means no response is sent (acks=0 produce).</summary>
    ValueTask<IKafkaMessage?> HandleAsync(RequestContext context, ReadOnlyMemory<byte> body);
}

public abstract class ApiHandler<TRequest, TResponse> : IApiHandler
    where TRequest : IKafkaRequest<TRequest>
    where TResponse : class, IKafkaResponse<TResponse>
{
    public ApiKey Key => TRequest.ApiKey;
    public virtual short MinVersion => TRequest.LowestVersion;
    public virtual short MaxVersion => TRequest.HighestVersion;
    public bool IsFlexible(short version) => TRequest.IsFlexible(version);

    public ValueTask<IKafkaMessage?> HandleAsync(RequestContext context, ReadOnlyMemory<byte> body)
    {
        var reader = new KafkaReader(body);
        var request = TRequest.Read(ref reader, context.ApiVersion);
        var pending = Handle(context, request);
        if (pending.IsCompletedSuccessfully) return new ValueTask<IKafkaMessage?>(pending.Result);
        return Await(pending);

        static async ValueTask<IKafkaMessage?> Await(ValueTask<TResponse?> p) => await p.ConfigureAwait(false);
    }

    protected abstract ValueTask<TResponse?> Handle(RequestContext context, TRequest request);
}

/// <summary>The handlers this broker has; ApiVersions advertises exactly these.</summary>
public sealed class ApiRegistry
{
    private readonly IApiHandler?[] _byKey = new IApiHandler?[short.MaxValue + 1];
    private readonly List<IApiHandler> _all = new();

    public ApiRegistry(IEnumerable<IApiHandler> handlers)
    {
        foreach (var h in handlers)
        {
            if (_byKey[(short)h.Key] != null) throw new InvalidOperationException($"two handlers for {h.Key}");
            _byKey[(short)h.Key] = h;
            _all.Add(h);
        }
        _all.Sort((a, b) => ((short)a.Key).CompareTo((short)b.Key));
    }

    public IApiHandler? Find(short apiKey) => apiKey >= 0 ? _byKey[apiKey] : null;
    public IReadOnlyList<IApiHandler> All => _all;
}
