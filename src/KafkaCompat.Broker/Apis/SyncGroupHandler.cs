// SyncGroup (key 14): versions 0-5. The leader's assignment is stored and handed to every member;
// v5 carries the protocol type and name both ways.
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class SyncGroupHandler : ApiHandler<SyncGroupRequest, SyncGroupResponse>
{
    protected override async ValueTask<SyncGroupResponse?> Handle(RequestContext ctx, SyncGroupRequest req)
    {
        var assignments = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var a in req.Assignments) assignments[a.MemberId] = a.Assignment.ToArray();
        var r = await ctx.Broker.Groups.SyncAsync(req.GroupId, req.GenerationId, req.MemberId, req.GroupInstanceId,
            ctx.ApiVersion >= 5 ? req.ProtocolType : null, ctx.ApiVersion >= 5 ? req.ProtocolName : null, assignments).ConfigureAwait(false);
        return new SyncGroupResponse
        {
            ErrorCode = r.Error,
            ProtocolType = r.ProtocolType,
            ProtocolName = r.ProtocolName,
            Assignment = r.Assignment,
        };
    }

    protected override (string Key, bool Transaction)? Coordinated(SyncGroupRequest request, short version) => (request.GroupId, false);

    protected override IEnumerable<Requirement> Requires(SyncGroupRequest request, short version) => [Requirement.Group(AclOperation.Read, request.GroupId)];
}
