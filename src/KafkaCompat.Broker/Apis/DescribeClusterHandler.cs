// DescribeCluster (key 60): versions 0-2. This broker, as the only broker and the controller, with the cluster id.
// v2 may ask for fenced brokers too (KIP-1073); a running broker is never fenced, so is_fenced is false.
// v1 asks for an endpoint type: brokers (1) are described; controllers (2) get MISMATCHED_ENDPOINT_TYPE as from any
// Kafka broker, other types UNSUPPORTED_ENDPOINT_TYPE.
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class DescribeClusterHandler : ApiHandler<DescribeClusterRequest, DescribeClusterResponse>
{
    private const sbyte Brokers = 1, Controllers = 2;

    /// <summary>Without an authorizer every operation the cluster resource has is allowed: CREATE, ALTER, DESCRIBE,
    /// CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE, CREATE_TOKENS, DESCRIBE_TOKENS.</summary>
    public const int AllClusterOperations = (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12) | (1 << 13) | (1 << 14);

    protected override ValueTask<DescribeClusterResponse?> Handle(RequestContext ctx, DescribeClusterRequest req)
    {
        var broker = ctx.Broker;
        var resp = new DescribeClusterResponse { EndpointType = req.EndpointType, ClusterId = broker.ClusterId };
        if (req.EndpointType != Brokers)
        {
            resp.ErrorCode = (req.EndpointType == Controllers ? ErrorCode.MismatchedEndpointType : ErrorCode.UnsupportedEndpointType);
            resp.ErrorMessage = req.EndpointType == Controllers
                ? "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER"
                : $"Unsupported endpoint type {req.EndpointType}";
            return new(resp);
        }
        resp.ControllerId = broker.Cluster.ControllerId;
        // a stopped broker is fenced: listed only when v2 asks for fenced brokers
        foreach (var node in broker.Cluster.Nodes)
            if (node.Registered || req.IncludeFencedBrokers)
            {
                var (host, port) = ctx.Endpoint(node);
                resp.Brokers.Add(new DescribeClusterResponse.DescribeClusterBroker
                {
                    BrokerId = node.Id, Host = host, Port = port, Rack = node.Rack, IsFenced = !node.Registered,
                });
            }
        if (req.IncludeClusterAuthorizedOperations)
            resp.ClusterAuthorizedOperations = !broker.Authorizer.Enabled ? AllClusterOperations
                : ctx.Authorize(AclOperation.Describe, AclResourceType.Cluster, Authorizer.ClusterName) ? ctx.AuthorizedOperations(AclResourceType.Cluster, Authorizer.ClusterName) : 0;
        return new(resp);
    }

    protected override IEnumerable<Requirement> Requires(DescribeClusterRequest request, short version) => Nothing;
}
