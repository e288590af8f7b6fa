// EndTxn (key 26): versions 0-5. Commits or aborts the producer's transaction: COMMIT or ABORT markers are written
// to every partition of it (the group's offsets partition included) before the answer. A retried EndTxn of a
// completed transaction is answered NONE; PRODUCER_FENCED is INVALID_PRODUCER_EPOCH before v2. v5 is transactions
// version 2: every transaction ends with an epoch bump (markers carry the new epoch) and the answer carries the
// producer id and epoch for the next transaction.
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class EndTxnHandler : ApiHandler<EndTxnRequest, EndTxnResponse>
{
    protected override ValueTask<EndTxnResponse?> Handle(RequestContext ctx, EndTxnRequest req)
    {
        if (ctx.ApiVersion >= 5)
        {
            if (string.IsNullOrEmpty(req.TransactionalId)) return new(new EndTxnResponse { ErrorCode = ErrorCode.InvalidRequest });
            var r = ctx.Broker.Transactions.EndTxnV2(req.TransactionalId, req.ProducerId, req.ProducerEpoch, req.Committed);
            return new(new EndTxnResponse { ErrorCode = r.Error, ProducerId = r.ProducerId, ProducerEpoch = r.ProducerEpoch });
        }
        var err = string.IsNullOrEmpty(req.TransactionalId) ? ErrorCode.InvalidRequest
            : ctx.Broker.Transactions.EndTxn(req.TransactionalId, req.ProducerId, req.ProducerEpoch, req.Committed, ctx.ApiVersion);
        return new(new EndTxnResponse { ErrorCode = err });
    }

    protected override (string Key, bool Transaction)? Coordinated(EndTxnRequest request, short version) => (request.TransactionalId, true);

    protected override IEnumerable<Requirement> Requires(EndTxnRequest request, short version) => [Requirement.TransactionalId(AclOperation.Write, request.TransactionalId)];
}
