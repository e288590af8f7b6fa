// ListGroups (key 16): versions 0-5. v4+ filter by state (case-insensitive) and report it; v5+ filter by type
// and report it: "classic" (JoinGroup/SyncGroup) or "consumer" (KIP-848). On a cluster, each broker lists the groups
// it coordinates (clients ask every broker).
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class ListGroupsHandler : ApiHandler<ListGroupsRequest, ListGroupsResponse>
{
    protected override ValueTask<ListGroupsResponse?> Handle(RequestContext ctx, ListGroupsRequest req)
    {
        var (error, groups) = ctx.Broker.Groups.List(
            ctx.ApiVersion >= 4 ? req.StatesFilter : [],
            ctx.ApiVersion >= 5 ? req.TypesFilter : []);
        var resp = new ListGroupsResponse { ErrorCode = error };
        // DESCRIBE on the cluster lists every group; otherwise only those the principal may describe
        bool all = ctx.Authorize(AclOperation.Describe, AclResourceType.Cluster, Authorizer.ClusterName);
        foreach (var g in groups.Where(g => all || ctx.Authorize(AclOperation.Describe, AclResourceType.Group, g.GroupId)))
            if (ctx.Broker.Cluster.SingleNode || ctx.Broker.Groups.CoordinatorNode(g.GroupId) == ctx.NodeId)
                resp.Groups.Add(new ListGroupsResponse.ListedGroup { GroupId = g.GroupId, ProtocolType = g.ProtocolType, GroupState = g.State, GroupType = g.GroupType });
        return new(resp);
    }

    protected override IEnumerable<Requirement> Requires(ListGroupsRequest request, short version) => Nothing;
}
