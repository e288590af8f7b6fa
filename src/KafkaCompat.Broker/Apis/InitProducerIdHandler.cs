// InitProducerId (key 22): versions 0-5. An idempotent producer (no transactional id) gets a new producer id with
// epoch 0, as from Kafka: ids come from persisted blocks and are never given twice, and a producer that asks again
// with its current id and epoch (v3+, KIP-360) gets a fresh id as well. A transactional id keeps its producer id and
// gets the next epoch on every call, which fences the previous instance (the transaction coordinator).
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class InitProducerIdHandler : ApiHandler<InitProducerIdRequest, InitProducerIdResponse>
{
    protected override ValueTask<InitProducerIdResponse?> Handle(RequestContext ctx, InitProducerIdRequest req)
    {
        var resp = new InitProducerIdResponse { ProducerId = -1, ProducerEpoch = -1 };
        // an id without an epoch, or an epoch without an id, is malformed (Kafka: INVALID_REQUEST)
        if ((req.ProducerId == -1) != (req.ProducerEpoch == -1))
        {
            resp.ErrorCode = ErrorCode.InvalidRequest;
            return new(resp);
        }
        // a transactional producer needs WRITE on its transactional id; an idempotent one IDEMPOTENT_WRITE on the cluster,
        // or WRITE on some topic
        if (req.TransactionalId != null ? !ctx.Authorize(AclOperation.Write, AclResourceType.TransactionalId, req.TransactionalId)
            : !ctx.Authorize(AclOperation.IdempotentWrite, AclResourceType.Cluster, Authorizer.ClusterName) && !ctx.AuthorizeAny(AclOperation.Write, AclResourceType.Topic))
        {
            resp.ErrorCode = req.TransactionalId != null ? ErrorCode.TransactionalIdAuthorizationFailed : ErrorCode.ClusterAuthorizationFailed;
            return new(resp);
        }
        if (req.TransactionalId != null)
        {
            var r = ctx.Broker.Transactions.InitProducerId(req.TransactionalId, req.TransactionTimeoutMs, req.ProducerId, req.ProducerEpoch, ctx.ApiVersion);
            resp.ErrorCode = r.Error;
            resp.ProducerId = r.ProducerId;
            resp.ProducerEpoch = r.ProducerEpoch;
            return new(resp);
        }
        try
        {
            resp.ProducerId = ctx.Broker.ProducerIds.Next();
            resp.ProducerEpoch = 0;
        }
        catch (IOException e)
        {
            KafkaBroker.LogRejected(ctx.Broker.Logger, "InitProducerId", ctx.ApiVersion, ctx.ClientId, $"producer id block could not be saved: {e.Message}");
            resp.ErrorCode = ErrorCode.CoordinatorNotAvailable;
        }
        return new(resp);
    }

    protected override (string Key, bool Transaction)? Coordinated(InitProducerIdRequest request, short version) => request.TransactionalId is { } id ? (id, true) : null;

    protected override IEnumerable<Requirement> Requires(InitProducerIdRequest request, short version) => Nothing;
}
