// DeleteGroups (key 42): versions 0-2. Only empty groups can be deleted (NON_EMPTY_GROUP otherwise);
// their offsets and metadata are tombstoned in __consumer_offsets.
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class DeleteGroupsHandler : ApiHandler<DeleteGroupsRequest, DeleteGroupsResponse>
{
    protected override ValueTask<DeleteGroupsResponse?> Handle(RequestContext ctx, DeleteGroupsRequest req)
    {
        var resp = new DeleteGroupsResponse();
        foreach (var id in req.GroupsNames)
            resp.Results.Add(new DeleteGroupsResponse.DeletableGroupResult
            {
                GroupId = id,
                ErrorCode = !ctx.Authorize(AclOperation.Delete, AclResourceType.Group, id) ? ErrorCode.GroupAuthorizationFailed
                    : ctx.Broker.Groups.CheckCoordinator(ctx.NodeId, id) is var notHere and not Protocol.ErrorCode.None ? notHere : ctx.Broker.Groups.DeleteGroup(id),
            });
        return new(resp);
    }

    protected override IEnumerable<Requirement> Requires(DeleteGroupsRequest request, short version) => Nothing;
}
