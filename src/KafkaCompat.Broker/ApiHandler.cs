using KafkaCompat.Protocol;

namespace KafkaCompat.Broker;

/// <summary>Everything a handler knows about the request it serves. A connection makes one and sets its request's
/// fields for each request it serves (it serves one at a time); nothing may keep it past the request's answer.</summary>
public sealed class RequestContext
{
    public required KafkaBroker Broker { get; init; }
    /// <summary>The broker of the cluster the request came to (the first when not set).</summary>
    public Cluster.BrokerNode? Node { get; init; }
    /// <summary>The id of the broker the request came to.</summary>
    public int NodeId => Node?.Id ?? Broker.NodeId;
    /// <summary>The API of the request.</summary>
    public ApiKey Handler { get; set; }
    public short ApiVersion { get; set; }
    public int CorrelationId { get; set; }
    public string? ClientId { get; set; }
    /// <summary>The local address the client connected to (used when no advertised host is set).</summary>
    public string? LocalHost { get; init; }
    /// <summary>The listener the client connected to, by its index in <see cref="KafkaBroker.Listeners"/>: Metadata and
    /// the other answers that name brokers give that listener's addresses.</summary>
    public int Listener { get; init; }
    /// <summary>Who the client is, as Kafka names principals: <c>User:ANONYMOUS</c> on a PLAINTEXT listener, the client
    /// certificate's subject on a TLS one (<c>User:CN=alice,O=Acme</c>), the authenticated user on a SASL one.</summary>
    public string Principal => Sasl?.Principal ?? TransportPrincipal;
    /// <summary>The principal the connection's transport gives (TLS client certificate, or anonymous).</summary>
    public string TransportPrincipal { get; init; } = "User:ANONYMOUS";
    /// <summary>The connection's SASL exchange, on a SASL listener (null elsewhere).</summary>
    public Security.SaslSession? Sasl { get; init; }

    /// <summary>Where a client of this request's listener reaches <paramref name="node"/>.</summary>
    public (string Host, int Port) Endpoint(Cluster.BrokerNode node) => (Broker.AdvertisedHost(LocalHost, Listener), node.PortOf(Listener));
    /// <summary>The client's address as Kafka shows it in DescribeGroups ("/127.0.0.1").</summary>
    public string ClientHost { get; init; } = "/127.0.0.1";

    /// <summary>Whether this connection's principal may do <paramref name="op"/> on the resource (always without an
    /// authorizer).</summary>
    public bool Authorize(Protocol.AclOperation op, Protocol.AclResourceType type, string name) =>
        !Broker.Authorizer.Enabled || Broker.Authorizer.Authorize(Principal, ClientHost.TrimStart('/'), op, type, name);

    /// <summary>Kafka's authorizeByResourceType: whether the principal may do <paramref name="op"/> on some resource of
    /// the type (idempotent InitProducerId asks WRITE on any topic).</summary>
    public bool AuthorizeAny(Protocol.AclOperation op, Protocol.AclResourceType type) =>
        !Broker.Authorizer.Enabled || Broker.Authorizer.AuthorizeAny(Principal, ClientHost.TrimStart('/'), op, type);

    /// <summary>Whether the principal may create the topic: CREATE on the cluster, or on the topic.</summary>
    public bool MayCreateTopic(string name) =>
        Authorize(Protocol.AclOperation.Create, Protocol.AclResourceType.Cluster, Security.Authorizer.ClusterName)
        || Authorize(Protocol.AclOperation.Create, Protocol.AclResourceType.Topic, name);

    /// <summary>The authorized-operations bitfield of a resource for this connection's principal.</summary>
    public int AuthorizedOperations(Protocol.AclResourceType type, string name) =>
        Broker.Authorizer.AuthorizedOperations(Principal, ClientHost.TrimStart('/'), type, name);
    public CancellationToken Cancellation { get; init; }
    /// <summary>The connection's messages kept for its next request of the same API (null: nothing is kept).</summary>
    public MessageCache? Messages { get; init; }

    private object? _lent;
    private int _lentSlot;
    private IRequestKeeper? _lender;
    private object? _answer;
    private int _answerSlot;

    /// <summary>The request a handler read into a message of <see cref="Messages"/>: kept for the connection's next request of
    /// the same API once the response has been written (<see cref="ReturnMessages"/>), never while a handler could still use it.</summary>
    internal void Lend<T>(T request, IRequestKeeper lender) where T : class
    {
        _lent = request;
        _lentSlot = MessageCache.SlotOf<T>();
        _lender = lender;
    }

    /// <summary>A response a handler built into a message taken from <see cref="Messages"/>: kept for the connection's next
    /// request of the same API once it has been written.</summary>
    public void KeepResponse<T>(T response) where T : class
    {
        _answer = response;
        _answerSlot = MessageCache.SlotOf<T>();
    }

    /// <summary>Gives the request and the response built into kept messages back to the connection's cache; called once the
    /// response is written (or when there is none).</summary>
    public void ReturnMessages()
    {
        if (Messages is { } cache)
        {
            // a request too large to keep (its response mirrors it) is left to the collector: what a connection keeps
            // between requests stays small whatever a client sends
            bool keep = _lent is not { } m || _lender!.Forget(m);
            if (keep && _lent is { } request) cache.Put(request, _lentSlot);
            if (keep && _answer is { } a) cache.Put(a, _answerSlot);
        }
        _lent = null;
        _lender = null;
        _answer = null;
    }

    private List<IDisposable>? _leases;
    /// <summary>Keeps storage memory referenced by the response alive until it has been sent.</summary>
    public void AddLease(IDisposable lease) => (_leases ??= new()).Add(lease);

    /// <summary>Releases the leases taken so far (the response will not hold their memory).</summary>
    public void ReleaseLeases()
    {
        if (_leases is null) return;
        foreach (var l in _leases) l.Dispose();
        _leases.Clear();
    }

    /// <summary>Hands the leases to the writer of the response, which releases them once it has been sent.</summary>
    public void MoveLeasesTo(KafkaWriter writer)
    {
        if (_leases is null) return;
        foreach (var l in _leases) writer.AddLease(l);
        _leases.Clear();
    }
}

/// <summary>
/// One connection's request messages, one per API of the handlers that read into them again
/// (<see cref="ApiHandler{TRequest, TResponse}.ReadsIntoKeptRequests"/>): the next request of the same shape allocates no message.
/// A connection serves one request at a time, and a message is taken while its request is served, so no two requests share one.
/// </summary>
public sealed class MessageCache
{
    private object?[]? _byType;

    private static int _nextSlot = -1;
    private static class Slot<T>
    {
        public static readonly int Index = Interlocked.Increment(ref _nextSlot);
    }

    /// <summary>The kept message of this type, taken out of the cache; null when there is none.</summary>
    public T? Take<T>() where T : class
    {
        int i = Slot<T>.Index;
        if (_byType is null || i >= _byType.Length) return null;
        var m = (T?)_byType[i];
        _byType[i] = null;
        return m;
    }

    /// <summary>The slot of messages of type <typeparamref name="T"/>.</summary>
    public static int SlotOf<T>() where T : class => Slot<T>.Index;

    public void Put<T>(T message) where T : class => Put(message, Slot<T>.Index);

    internal void Put(object message, int slot)
    {
        if (_byType is null || slot >= _byType.Length) Array.Resize(ref _byType, Math.Max(4, slot + 1));
        _byType[slot] = message;
    }
}

/// <summary>A handler whose requests are kept for the connection's next one: lets go of what a kept request must not hold,
/// and says whether it is small enough to keep.</summary>
internal interface IRequestKeeper
{
    bool Forget(object request);
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
    /// <summary>Parses the body and answers it with <paramref name="error"/> in every error field, without carrying
    /// it out; null when the response has no error field.</summary>
    IKafkaMessage? Refuse(RequestContext context, ReadOnlyMemory<byte> body, ErrorCode error);
}

public abstract class ApiHandler<TRequest, [System.Diagnostics.CodeAnalysis.DynamicallyAccessedMembers(
    System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.PublicFields | System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TResponse> : IApiHandler, IRequestKeeper
    where TRequest : class, IKafkaRequest<TRequest>
    where TResponse : class, IKafkaResponse<TResponse>
{
    public ApiKey Key => TRequest.ApiKey;
    public virtual short MinVersion => TRequest.LowestVersion;
    public virtual short MaxVersion => TRequest.HighestVersion;
    public bool IsFlexible(short version) => TRequest.IsFlexible(version);

    /// <summary>Whether this API's requests are read into the connection's message of the last one (<see cref="MessageCache"/>):
    /// only for handlers that keep no reference to their request, its lists or its messages once they have answered.</summary>
    protected virtual bool ReadsIntoKeptRequests => false;

    /// <summary>Lets go of what a kept request must not hold until the connection's next request (slices of a frame that
    /// has gone back to the pool); returns whether the request (and the response built for it) is small enough to keep.</summary>
    protected virtual bool Forget(TRequest request) => true;

    /// <summary>The most partitions a kept request (and its response) may hold: a larger one is not kept.</summary>
    protected const int MaxKeptPartitions = 1024;

    bool IRequestKeeper.Forget(object request) => Forget((TRequest)request);

    public ValueTask<IKafkaMessage?> HandleAsync(RequestContext context, ReadOnlyMemory<byte> body) => Run(context, body, delayable: true);

    public IKafkaMessage? Refuse(RequestContext context, ReadOnlyMemory<byte> body, ErrorCode error)
    {
        var reader = new KafkaReader(body);
        return ErrorResponse(TRequest.Read(ref reader, context.ApiVersion), error);
    }

    private ValueTask<IKafkaMessage?> Run(RequestContext context, ReadOnlyMemory<byte> body, bool delayable)
    {
        // a request that cannot be parsed is a protocol violation (ProtocolException): the connection closes
        var reader = new KafkaReader(body);
        TRequest request;
        if (ReadsIntoKeptRequests && context.Messages is { } kept)
        {
            request = TRequest.ReadInto(ref reader, context.ApiVersion, kept.Take<TRequest>());
            context.Lend(request, this);
        }
        else request = TRequest.Read(ref reader, context.ApiVersion);
        if (delayable) context.Broker.CountRequest(Key);
        var faults = context.Broker.Faults;
        // injected latency: the request waits before it is handled
        if (delayable && faults.TakeLatency(Key, context.NodeId) is > 0 and var delay) return Delayed(this, context, body, delay);
        ValueTask<TResponse?> pending;
        try
        {
            // with an authorizer: what the request needs, checked before anything is done (Kafka's checks per API)
            if (context.Broker.Authorizer.Enabled)
                foreach (var need in Requires(request, context.ApiVersion))
                    if (!context.Authorize(need.Operation, need.ResourceType, need.Name))
                        return new(ErrorResponse(request, need.Denied) ?? throw new InvalidOperationException($"{Key} has no error field for {need.Denied}"));
            if (faults.ShouldFailHandler(Key)) throw new InvalidOperationException($"fault injection: {Key} handler failure");
            // an injected error answers the request without carrying it out; an error that in Kafka means the request was
            // carried out but not confirmed in time (REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS_AFTER_APPEND) is answered after
            if (faults.TakeError(Key, context.NodeId) is { } injected)
            {
                var failed = ErrorResponse(request, injected) ?? throw new InvalidOperationException($"{Key} has no error field for the injected {injected}");
                if (injected is not (ErrorCode.RequestTimedOut or ErrorCode.NotEnoughReplicasAfterAppend)) return new(failed);
                return CarriedOutThenFailed(Handle(context, request), context, failed);
            }
            // on a cluster, a group's or transaction's requests are answered by its coordinator only
            if (!context.Broker.Cluster.SingleNode && Coordinated(request, context.ApiVersion) is var (key, transaction))
            {
                var err = transaction ? context.Broker.Transactions.CheckCoordinator(context.NodeId, key) : context.Broker.Groups.CheckCoordinator(context.NodeId, key);
                if (err != ErrorCode.None)
                    return new(ErrorResponse(request, err) ?? throw new InvalidOperationException($"{Key} has no error field for {err}"));
            }
            pending = Handle(context, request);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new(Failed(context, request, e));
        }
        if (pending.IsCompletedSuccessfully) return new ValueTask<IKafkaMessage?>(Throttled(context, pending.Result));
        return Await(this, context, request, pending);

        static async ValueTask<IKafkaMessage?> Await(ApiHandler<TRequest, TResponse> h, RequestContext ctx, TRequest req, ValueTask<TResponse?> p)
        {
            try
            {
                return h.Throttled(ctx, await p.ConfigureAwait(false));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return h.Failed(ctx, req, e);
            }
        }

        static async ValueTask<IKafkaMessage?> CarriedOutThenFailed(ValueTask<TResponse?> handled, RequestContext ctx, TResponse failed)
        {
            await handled.ConfigureAwait(false);
            ctx.ReleaseLeases();
            return failed;
        }

        static async ValueTask<IKafkaMessage?> Delayed(ApiHandler<TRequest, TResponse> h, RequestContext ctx, ReadOnlyMemory<byte> body, int ms)
        {
            await Task.Delay(ms, ctx.Cancellation).ConfigureAwait(false);
            return await h.Run(ctx, body, delayable: false).ConfigureAwait(false);
        }
    }

    private static readonly System.Reflection.FieldInfo? ThrottleField =
        typeof(TResponse).GetField("ThrottleTimeMs") is { } f && f.FieldType == typeof(int) ? f : null;

    /// <summary>An injected throttle: the answer tells the client to back off (throttle_time_ms).</summary>
    private TResponse? Throttled(RequestContext ctx, TResponse? response)
    {
        if (response != null && ThrottleField != null && ctx.Broker.Faults.TakeThrottle(Key, ctx.NodeId) is > 0 and var ms)
            ThrottleField.SetValue(response, ms);
        return response;
    }

    /// <summary>A handler failed (a bug, or storage trouble it did not expect): as Kafka does, the request is answered with
    /// UNKNOWN_SERVER_ERROR (or the code <see cref="ErrorMapping"/> gives the exception) wherever its response has room for an
    /// error, and the connection stays open. A response with no place for one cannot say so: then the connection closes.</summary>
    private IKafkaMessage Failed(RequestContext ctx, TRequest request, Exception e)
    {
        var code = ErrorMapping.From(e)?.Error ?? ErrorCode.UnknownServerError;
        ctx.ReleaseLeases();
        KafkaBroker.LogHandlerFailed(ctx.Broker.Logger, e, Key.ToString(), ctx.ApiVersion, ctx.ClientId);
        return ErrorResponse(request, code) ?? throw new HandlerFailedException($"{Key} v{ctx.ApiVersion} failed and its response has no error field", e);
    }

    /// <summary>The answer to a request whose handling failed, every error field set to <paramref name="error"/>;
    /// null when the response has no error to carry. The default sets a top-level ErrorCode; handlers whose errors
    /// live per topic or partition override it.</summary>
    protected virtual TResponse? ErrorResponse(TRequest request, ErrorCode error)
    {
        var field = typeof(TResponse).GetField("ErrorCode");
        if (field is null || field.FieldType != typeof(ErrorCode)) return null;
        var resp = Activator.CreateInstance<TResponse>();
        field.SetValue(resp, error);
        return resp;
    }

    protected abstract ValueTask<TResponse?> Handle(RequestContext context, TRequest request);

    /// <summary>What a principal needs, with an authorizer, before this request is carried out: checked in order, the
    /// first refused answers the whole request with its error. Handlers whose checks are per topic, group or
    /// transactional id make them in <see cref="Handle"/> and need nothing here. The default, for an API whose checks
    /// are not written yet, is ALTER on the cluster: never less than Kafka asks.</summary>
    protected virtual IEnumerable<Security.Requirement> Requires(TRequest request, short version) => AlterCluster;

    private static readonly Security.Requirement[] AlterCluster = [Security.Requirement.Cluster(Protocol.AclOperation.Alter)];
    private protected static readonly Security.Requirement[] Nothing = [];

    /// <summary>The group id (Transaction false) or transactional id (true) whose coordinator alone answers this request
    /// on a cluster of several brokers (NOT_COORDINATOR elsewhere); null for requests any broker answers.</summary>
    protected virtual (string Key, bool Transaction)? Coordinated(TRequest request, short version) => null;
}

/// <summary>A handler failed and its response cannot carry an error: the connection is closed.</summary>
public sealed class HandlerFailedException(string message, Exception inner) : Exception(message, inner);

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
