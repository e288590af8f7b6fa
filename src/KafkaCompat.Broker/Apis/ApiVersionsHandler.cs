// ApiVersions (key 18): versions 0-4. Derived from the registered handlers. v3+ also carries the finalized
// features transaction.version = 2 (transactions version 2, KIP-890) and, while the consumer group protocol is
// served, group.version = 1 (KIP-848), as a Kafka 4.x broker does.
// An unsupported version is answered in v0 with UNSUPPORTED_VERSION and the full list (never a disconnect);
// that path lives in the connection loop because the request cannot be parsed at that version.
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class ApiVersionsHandler : ApiHandler<ApiVersionsRequest, ApiVersionsResponse>
{
    /// <summary>The transactions version this broker supports and has finalized (KIP-890's transaction.version): 2, so
    /// Java 4.x clients use transactions version 2 (Produce 12, EndTxn 5, TxnOffsetCommit 5, an epoch bump per
    /// transaction). The epoch of the finalized features never changes.</summary>
    public const short TransactionVersion = 2;
    /// <summary>group.version 1 enables the consumer group protocol (KIP-848) on a Kafka broker.</summary>
    public const short GroupVersion = 1;
    public const long FinalizedFeaturesEpoch = 1;

    public static ApiVersionsResponse Build(ApiRegistry registry, ErrorCode error, short version = 0)
    {
        var resp = new ApiVersionsResponse { ErrorCode = error };
        foreach (var h in registry.All)
            resp.ApiKeys.Add(new ApiVersionsResponse.ApiVersion { ApiKey = (short)h.Key, MinVersion = h.MinVersion, MaxVersion = h.MaxVersion });
        if (error == ErrorCode.None && version >= 3)
        {
            // as Kafka (KAFKA-17492): before v4 a supported feature whose minimum is 0 is left out, old clients
            // cannot read one
            bool groups = registry.All.Any(h => h.Key == ApiKey.ConsumerGroupHeartbeat);
            if (version >= 4)
            {
                (resp.SupportedFeatures ??= new()).Add(new ApiVersionsResponse.SupportedFeature { Name = "transaction.version", MinVersion = 0, MaxVersion = TransactionVersion });
                if (groups) resp.SupportedFeatures.Add(new ApiVersionsResponse.SupportedFeature { Name = "group.version", MinVersion = 0, MaxVersion = GroupVersion });
            }
            resp.FinalizedFeaturesEpoch = FinalizedFeaturesEpoch;
            (resp.FinalizedFeatures ??= new()).Add(new ApiVersionsResponse.FinalizedFeature { Name = "transaction.version", MinVersionLevel = TransactionVersion, MaxVersionLevel = TransactionVersion });
            if (groups) resp.FinalizedFeatures.Add(new ApiVersionsResponse.FinalizedFeature { Name = "group.version", MinVersionLevel = GroupVersion, MaxVersionLevel = GroupVersion });
        }
        return resp;
    }

    protected override ValueTask<ApiVersionsResponse?> Handle(RequestContext context, ApiVersionsRequest request) =>
        new(Build(context.Broker.Apis, ErrorCode.None, context.ApiVersion));

    protected override IEnumerable<Requirement> Requires(ApiVersionsRequest request, short version) => Nothing;
}
