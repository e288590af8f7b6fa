// FindCoordinator (key 10): versions 0-6. This broker coordinates every group and every transactional id,
// for key type 0 (group) and 1 (transaction); v4+ asks for several keys at once.
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class FindCoordinatorHandler : ApiHandler<FindCoordinatorRequest, FindCoordinatorResponse>
{
    protected override ValueTask<FindCoordinatorResponse?> Handle(RequestContext ctx, FindCoordinatorRequest req)
    {
        var broker = ctx.Broker;
        string host = broker.AdvertisedHost(ctx.LocalHost);
        var resp = new FindCoordinatorResponse();
        bool validType = req.KeyType is 0 or 1;
        if (ctx.ApiVersion >= 4)
        {
            foreach (var key in req.CoordinatorKeys)
            {
                resp.Coordinators.Add(validType
                    ? new FindCoordinatorResponse.Coordinator { Key = key, NodeId = broker.NodeId, Host = host, Port = broker.AdvertisedPort, ErrorCode = 0, ErrorMessage = null }
                    : new FindCoordinatorResponse.Coordinator { Key = key, NodeId = -1, Host = "", Port = -1, ErrorCode = ErrorCode.InvalidRequest, ErrorMessage = $"Unknown coordinator type {req.KeyType}" });
            }
            return new(resp);
        }
        if (!validType)
        {
            resp.ErrorCode = ErrorCode.InvalidRequest;
            resp.ErrorMessage = $"Unknown coordinator type {req.KeyType}";
            resp.NodeId = -1;
            resp.Host = "";
            resp.Port = -1;
            return new(resp);
        }
        resp.ErrorCode = 0;
        resp.ErrorMessage = "NONE";
        resp.NodeId = broker.NodeId;
        resp.Host = host;
        resp.Port = broker.AdvertisedPort;
        return new(resp);
    }
}
