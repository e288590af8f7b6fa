// JoinGroup (key 11): versions 0-9. v4+ members without an id get MEMBER_ID_REQUIRED and a fresh id first;
// v5+ static membership (group.instance.id); v9 tells a rejoining static leader to skip assignment.
using KafkaCompat.Broker.Groups;
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class JoinGroupHandler : ApiHandler<JoinGroupRequest, JoinGroupResponse>
{
    protected override async ValueTask<JoinGroupResponse?> Handle(RequestContext ctx, JoinGroupRequest req)
    {
        var data = new JoinRequestData(
            req.GroupId, req.MemberId ?? "", req.GroupInstanceId, req.ProtocolType ?? "",
            req.Protocols.Select(p => (p.Name, p.Metadata.ToArray())).ToList(),
            req.SessionTimeoutMs,
            ctx.ApiVersion == 0 ? req.SessionTimeoutMs : req.RebalanceTimeoutMs,
            ctx.ClientId ?? "", ctx.ClientHost,
            RequireKnownMemberId: ctx.ApiVersion >= 4,
            req.Reason,
            ctx.ApiVersion);
        var r = await ctx.Broker.Groups.JoinAsync(data).ConfigureAwait(false);
        var resp = new JoinGroupResponse
        {
            ErrorCode = r.Error,
            GenerationId = r.GenerationId,
            ProtocolType = r.ProtocolType,
            ProtocolName = r.ProtocolName,
            Leader = r.LeaderId,
            SkipAssignment = r.SkipAssignment,
            MemberId = r.MemberId,
        };
        foreach (var m in r.Members)
            resp.Members.Add(new JoinGroupResponse.JoinGroupResponseMember { MemberId = m.MemberId, GroupInstanceId = m.GroupInstanceId, Metadata = m.Metadata });
        return resp;
    }

    protected override (string Key, bool Transaction)? Coordinated(JoinGroupRequest request, short version) => (request.GroupId, false);

    protected override IEnumerable<Requirement> Requires(JoinGroupRequest request, short version) => [Requirement.Group(AclOperation.Read, request.GroupId)];
}
