// EndTxn (key 26): versions 0-4. Commits or aborts the producer's transaction: COMMIT or ABORT markers are written
// to every partition of it (the group's offsets partition included) before the answer. A retried EndTxn of a
// completed transaction is answered NONE; PRODUCER_FENCED is INVALID_PRODUCER_EPOCH before v2.
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class EndTxnHandler : ApiHandler<EndTxnRequest, EndTxnResponse>
{
    public override short MaxVersion => 4;

    protected override ValueTask<EndTxnResponse?> Handle(RequestContext ctx, EndTxnRequest req)
    {
        var err = string.IsNullOrEmpty(req.TransactionalId) ? ErrorCode.InvalidRequest
            : ctx.Broker.Transactions.EndTxn(req.TransactionalId, req.ProducerId, req.ProducerEpoch, req.Committed, ctx.ApiVersion);
        return new(new EndTxnResponse { ErrorCode = (short)err });
    }
}
