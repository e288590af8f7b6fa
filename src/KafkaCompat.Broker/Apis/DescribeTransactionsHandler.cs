// DescribeTransactions (key 65): version 0. The state of each transactional id: Kafka's state name, timeout, start
// time (-1 when no transaction has started), producer id and epoch, and the partitions of the open transaction.
// An unknown id is TRANSACTIONAL_ID_NOT_FOUND; an empty one INVALID_REQUEST.
using KafkaCompat.Broker.Transactions;
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class DescribeTransactionsHandler : ApiHandler<DescribeTransactionsRequest, DescribeTransactionsResponse>
{
    protected override ValueTask<DescribeTransactionsResponse?> Handle(RequestContext ctx, DescribeTransactionsRequest req)
    {
        var txns = ctx.Broker.Transactions;
        var resp = new DescribeTransactionsResponse();
        foreach (var id in req.TransactionalIds)
        {
            var d = new DescribeTransactionsResponse.DescribedTransaction { TransactionalId = id, TransactionState = "", ProducerId = -1, ProducerEpoch = -1, TransactionStartTimeMs = -1 };
            resp.TransactionStates.Add(d);
            if (string.IsNullOrEmpty(id)) { d.ErrorCode = ErrorCode.InvalidRequest; continue; }
            if (!ctx.Authorize(AclOperation.Describe, AclResourceType.TransactionalId, id)) { d.ErrorCode = ErrorCode.TransactionalIdAuthorizationFailed; continue; }
            if (txns.AvailabilityOf(id) is var a && a != ErrorCode.None) { d.ErrorCode = a; continue; }
            if (txns.CheckCoordinator(ctx.NodeId, id) is var notHere and not ErrorCode.None) { d.ErrorCode = notHere; continue; }
            var m = txns.Describe(id);
            if (m is null || m.State == TxnState.Dead) { d.ErrorCode = ErrorCode.TransactionalIdNotFound; continue; }
            d.TransactionState = TransactionCoordinator.StateName(m.State);
            d.TransactionTimeoutMs = m.TimeoutMs;
            d.TransactionStartTimeMs = m.StartMs;
            d.ProducerId = m.ProducerId;
            d.ProducerEpoch = m.ProducerEpoch;
            foreach (var g in m.Partitions.GroupBy(p => p.Topic, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
                         .Where(g => ctx.Authorize(AclOperation.Describe, AclResourceType.Topic, g.Key)))
                d.Topics.Add(new DescribeTransactionsResponse.TopicData { Topic = g.Key, Partitions = g.Select(p => p.Partition).Order().ToList() });
        }
        return new(resp);
    }

    protected override IEnumerable<Requirement> Requires(DescribeTransactionsRequest request, short version) => Nothing;
}
