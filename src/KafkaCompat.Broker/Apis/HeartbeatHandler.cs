// Heartbeat (key 12): versions 0-4. Keeps a member's session alive and tells it when to rejoin.
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class HeartbeatHandler : ApiHandler<HeartbeatRequest, HeartbeatResponse>
{
    protected override ValueTask<HeartbeatResponse?> Handle(RequestContext ctx, HeartbeatRequest req) =>
        new(new HeartbeatResponse
        {
            ErrorCode = ctx.Broker.Groups.Heartbeat(req.GroupId, req.GenerationId, req.MemberId, req.GroupInstanceId),
        });

    protected override (string Key, bool Transaction)? Coordinated(HeartbeatRequest request, short version) => (request.GroupId, false);

    protected override IEnumerable<Requirement> Requires(HeartbeatRequest request, short version) => [Requirement.Group(AclOperation.Read, request.GroupId)];
}
