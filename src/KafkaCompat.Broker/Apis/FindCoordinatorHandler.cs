// FindCoordinator (key 10): versions 0-6. Key type 0 (group) and 1 (transaction); v4+ asks for several keys at once.
// A group's coordinator is the broker that leads its partition of __consumer_offsets, a transactional id's the leader of
// its partition of __transaction_state (one broker: that broker); COORDINATOR_NOT_AVAILABLE while no broker leads it.
using KafkaCompat.Broker.Cluster;
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class FindCoordinatorHandler : ApiHandler<FindCoordinatorRequest, FindCoordinatorResponse>
{
    protected override ValueTask<FindCoordinatorResponse?> Handle(RequestContext ctx, FindCoordinatorRequest req)
    {
        var broker = ctx.Broker;
        var resp = new FindCoordinatorResponse();
        bool validType = req.KeyType is 0 or 1;
        BrokerNode? Locate(string key)
        {
            int id = req.KeyType == 0 ? broker.Groups.CoordinatorNode(key) : broker.Transactions.CoordinatorNode(key);
            return broker.Cluster.Node(id) is { Alive: true } node ? node : null;
        }
        // DESCRIBE on the group or the transactional id
        ErrorCode Denied(string key) =>
            req.KeyType == 0 && !ctx.Authorize(AclOperation.Describe, AclResourceType.Group, key) ? ErrorCode.GroupAuthorizationFailed
            : req.KeyType == 1 && !ctx.Authorize(AclOperation.Describe, AclResourceType.TransactionalId, key) ? ErrorCode.TransactionalIdAuthorizationFailed
            : ErrorCode.None;
        if (ctx.ApiVersion >= 4)
        {
            foreach (var key in req.CoordinatorKeys)
            {
                if (!validType)
                {
                    resp.Coordinators.Add(new FindCoordinatorResponse.Coordinator { Key = key, NodeId = -1, Host = "", Port = -1, ErrorCode = ErrorCode.InvalidRequest, ErrorMessage = $"Unknown coordinator type {req.KeyType}" });
                    continue;
                }
                if (Denied(key) is var denied and not ErrorCode.None)
                {
                    resp.Coordinators.Add(new FindCoordinatorResponse.Coordinator { Key = key, NodeId = -1, Host = "", Port = -1, ErrorCode = denied });
                    continue;
                }
                var node = Locate(key);
                resp.Coordinators.Add(node != null
                    ? new FindCoordinatorResponse.Coordinator { Key = key, NodeId = node.Id, Host = ctx.Endpoint(node).Host, Port = ctx.Endpoint(node).Port, ErrorCode = 0, ErrorMessage = null }
                    : new FindCoordinatorResponse.Coordinator { Key = key, NodeId = -1, Host = "", Port = -1, ErrorCode = ErrorCode.CoordinatorNotAvailable, ErrorMessage = "The coordinator is not available." });
            }
            return new(resp);
        }
        if (validType && Denied(req.Key) is var refused and not ErrorCode.None)
        {
            resp.ErrorCode = refused;
            resp.NodeId = -1;
            resp.Host = "";
            resp.Port = -1;
            return new(resp);
        }
        var single = validType ? Locate(req.Key) : null;
        if (single is null)
        {
            resp.ErrorCode = validType ? ErrorCode.CoordinatorNotAvailable : ErrorCode.InvalidRequest;
            resp.ErrorMessage = validType ? "The coordinator is not available." : $"Unknown coordinator type {req.KeyType}";
            resp.NodeId = -1;
            resp.Host = "";
            resp.Port = -1;
            return new(resp);
        }
        resp.ErrorCode = 0;
        resp.ErrorMessage = "NONE";
        resp.NodeId = single.Id;
        (resp.Host, resp.Port) = ctx.Endpoint(single);
        return new(resp);
    }

    protected override IEnumerable<Requirement> Requires(FindCoordinatorRequest request, short version) => Nothing;
}
