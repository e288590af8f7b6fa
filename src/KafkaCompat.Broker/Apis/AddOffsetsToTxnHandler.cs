// AddOffsetsToTxn (key 25): versions 0-4. Adds the group's __consumer_offsets partition to the producer's
// transaction, so TxnOffsetCommit may write there and the transaction's markers reach it.
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class AddOffsetsToTxnHandler : ApiHandler<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse>
{
    protected override ValueTask<AddOffsetsToTxnResponse?> Handle(RequestContext ctx, AddOffsetsToTxnRequest req)
    {
        ErrorCode err;
        if (string.IsNullOrEmpty(req.TransactionalId)) err = ErrorCode.InvalidRequest;
        else if (string.IsNullOrEmpty(req.GroupId)) err = ErrorCode.InvalidGroupId;
        else
        {
            int partition = ctx.Broker.Groups.OffsetsPartitionFor(req.GroupId);
            err = ctx.Broker.Transactions.AddPartitions(req.TransactionalId, req.ProducerId, req.ProducerEpoch,
                [(Groups.GroupCoordinator.OffsetsTopic, partition)], ctx.ApiVersion);
        }
        return new(new AddOffsetsToTxnResponse { ErrorCode = err });
    }

    protected override (string Key, bool Transaction)? Coordinated(AddOffsetsToTxnRequest request, short version) => (request.TransactionalId, true);

    protected override IEnumerable<Requirement> Requires(AddOffsetsToTxnRequest request, short version) => [Requirement.TransactionalId(AclOperation.Write, request.TransactionalId), Requirement.Group(AclOperation.Read, request.GroupId)];
}
