// LeaveGroup (key 13): versions 0-5. v0-2 one member id; v3+ a batch of members (by id or group.instance.id)
// with an error per member; v5 a reason per member.
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class LeaveGroupHandler : ApiHandler<LeaveGroupRequest, LeaveGroupResponse>
{
    protected override ValueTask<LeaveGroupResponse?> Handle(RequestContext ctx, LeaveGroupRequest req)
    {
        var leaving = ctx.ApiVersion >= 3
            ? req.Members.Select(m => (m.MemberId ?? "", m.GroupInstanceId, m.Reason)).ToList()
            : [(req.MemberId ?? "", (string?)null, (string?)null)];
        var (top, errors) = ctx.Broker.Groups.Leave(req.GroupId, leaving);
        var resp = new LeaveGroupResponse { ErrorCode = top };
        if (ctx.ApiVersion < 3)
        {
            if (top == 0 && errors.Count == 1) resp.ErrorCode = errors[0];
            return new(resp);
        }
        for (int i = 0; i < errors.Count; i++)
            resp.Members.Add(new LeaveGroupResponse.MemberResponse
            {
                MemberId = leaving[i].Item1,
                GroupInstanceId = leaving[i].GroupInstanceId,
                ErrorCode = errors[i],
            });
        return new(resp);
    }

    protected override (string Key, bool Transaction)? Coordinated(LeaveGroupRequest request, short version) => (request.GroupId, false);

    protected override IEnumerable<Requirement> Requires(LeaveGroupRequest request, short version) => [Requirement.Group(AclOperation.Read, request.GroupId)];
}
