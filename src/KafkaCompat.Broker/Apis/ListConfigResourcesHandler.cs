// ListConfigResources (key 74): versions 0-1 (KIP-1000, renamed and widened by KIP-1142 in Kafka 4.1). v0 lists the
// client-metrics resources (there are none: client metrics subscriptions are not served). v1 lists the resources of
// the types asked for (all of them when none are): topics (2), this broker (4) and its logger (8), client metrics
// (16) and groups (32); another type is UNSUPPORTED_VERSION, as from Kafka.
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class ListConfigResourcesHandler : ApiHandler<ListConfigResourcesRequest, ListConfigResourcesResponse>
{
    public const sbyte Topic = 2, Broker = 4, BrokerLogger = 8, ClientMetrics = 16, Group = 32;
    private static readonly sbyte[] AllTypes = [Topic, Broker, BrokerLogger, ClientMetrics, Group];

    protected override ValueTask<ListConfigResourcesResponse?> Handle(RequestContext ctx, ListConfigResourcesRequest req)
    {
        var resp = new ListConfigResourcesResponse();
        IReadOnlyCollection<sbyte> types = ctx.ApiVersion == 0 ? [ClientMetrics] : req.ResourceTypes.Count > 0 ? req.ResourceTypes : AllTypes;
        if (types.Any(t => !AllTypes.Contains(t)))
        {
            resp.ErrorCode = ErrorCode.UnsupportedVersion;
            return new(resp);
        }
        void Add(string name, sbyte type) => resp.ConfigResources.Add(new ListConfigResourcesResponse.ConfigResource { ResourceName = name, ResourceType = type });
        var broker = ctx.Broker;
        if (types.Contains(Topic))
            foreach (var t in broker.Logs.Topics.Select(t => t.Name).Order(StringComparer.Ordinal)) Add(t, Topic);
        string node = broker.NodeId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (types.Contains(Broker)) Add(node, Broker);
        if (types.Contains(BrokerLogger)) Add(node, BrokerLogger);
        if (types.Contains(Group))
        {
            var (error, groups) = broker.Groups.List([], []);
            if (error != ErrorCode.None)
            {
                resp.ErrorCode = error;
                resp.ConfigResources.Clear();
                return new(resp);
            }
            foreach (var g in groups) Add(g.GroupId, Group);
        }
        return new(resp);
    }

    protected override IEnumerable<Requirement> Requires(ListConfigResourcesRequest request, short version) => [Requirement.Cluster(AclOperation.DescribeConfigs)];
}
