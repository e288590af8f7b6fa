// DescribeGroups (key 15): versions 0-5. State names as Kafka prints them; member metadata and assignment only
// while the group is Stable; an unknown group is reported as Dead; v3+ authorized operations on request.
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
            var d = ctx.Broker.Groups.Describe(id);
            var g = new DescribeGroupsResponse.DescribedGroup
            {
                ErrorCode = d.Error,
                GroupId = d.GroupId,
                GroupState = d.State,
                ProtocolType = d.ProtocolType,
                ProtocolData = d.ProtocolData,
                AuthorizedOperations = req.IncludeAuthorizedOperations ? GroupOperations : int.MinValue,
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
}
