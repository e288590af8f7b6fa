// DescribeGroups (key 15): versions 0-6. State names as Kafka prints them; member metadata and assignment only
// while the group is Stable; v3+ authorized operations on request. An unknown group, or a consumer group (KIP-848,
// described by ConsumerGroupDescribe), is reported as Dead up to v5 and as GROUP_ID_NOT_FOUND with a message from
// v6 (KIP-1043).
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class DescribeGroupsHandler : ApiHandler<DescribeGroupsRequest, DescribeGroupsResponse>
{
    /// <summary>READ, DELETE and DESCRIBE: the operations a group supports (no ACLs here).</summary>
    private const int GroupOperations = (1 << 3) | (1 << 6) | (1 << 8);

    protected override ValueTask<DescribeGroupsResponse?> Handle(RequestContext ctx, DescribeGroupsRequest req)
    {
        var resp = new DescribeGroupsResponse();
        foreach (var id in req.Groups)
        {
            if (!ctx.Authorize(AclOperation.Describe, AclResourceType.Group, id))
            {
                resp.Groups.Add(new DescribeGroupsResponse.DescribedGroup { GroupId = id, ErrorCode = ErrorCode.GroupAuthorizationFailed, GroupState = "", ProtocolType = "", ProtocolData = "" });
                continue;
            }
            if (ctx.Broker.Groups.CheckCoordinator(ctx.NodeId, id) is var notHere and not Protocol.ErrorCode.None)
            {
                resp.Groups.Add(new DescribeGroupsResponse.DescribedGroup { GroupId = id, ErrorCode = notHere, GroupState = "", ProtocolType = "", ProtocolData = "" });
                continue;
            }
            var d = ctx.Broker.Groups.Describe(id);
            var g = new DescribeGroupsResponse.DescribedGroup
            {
                ErrorCode = d.Error == Protocol.ErrorCode.None && d.NotFound != null && ctx.ApiVersion >= 6 ? Protocol.ErrorCode.GroupIdNotFound : d.Error,
                ErrorMessage = ctx.ApiVersion >= 6 ? d.NotFound : null,
                GroupId = d.GroupId,
                GroupState = d.State,
                ProtocolType = d.ProtocolType,
                ProtocolData = d.ProtocolData,
                AuthorizedOperations = !req.IncludeAuthorizedOperations ? int.MinValue
                    : ctx.Broker.Authorizer.Enabled ? ctx.AuthorizedOperations(AclResourceType.Group, id) : GroupOperations,
            };
            foreach (var m in d.Members)
                g.Members.Add(new DescribeGroupsResponse.DescribedGroupMember
                {
                    MemberId = m.MemberId,
                    GroupInstanceId = m.GroupInstanceId,
                    ClientId = m.ClientId,
                    ClientHost = m.ClientHost,
                    MemberMetadata = m.Metadata,
                    MemberAssignment = m.Assignment,
                });
            resp.Groups.Add(g);
        }
        return new(resp);
    }

    protected override IEnumerable<Requirement> Requires(DescribeGroupsRequest request, short version) => Nothing;
}
