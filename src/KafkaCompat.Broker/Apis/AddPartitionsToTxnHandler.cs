// AddPartitionsToTxn (key 24): versions 0-5. v0-3 (clients): one producer adds partitions to its transaction; an
// unknown partition fails with UNKNOWN_TOPIC_OR_PARTITION and the others with OPERATION_NOT_ATTEMPTED, nothing added.
// v4-5 (from brokers, batched): each transaction is added to (v5: with transactions version 2's rules), or with
// verify_only checked (NONE for a partition in the open transaction, TRANSACTION_ABORTABLE otherwise).
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class AddPartitionsToTxnHandler : ApiHandler<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse>
{
    protected override ValueTask<AddPartitionsToTxnResponse?> Handle(RequestContext ctx, AddPartitionsToTxnRequest req)
    {
        var resp = new AddPartitionsToTxnResponse();
        if (ctx.ApiVersion < 4)
        {
            var wanted = req.V3AndBelowTopics.SelectMany(t => t.Partitions.Select(p => (t.Name, p))).ToList();
            // WRITE on each topic: the partitions of one refused are TOPIC_AUTHORIZATION_FAILED, the rest not attempted
            var refused = wanted.Select(w => w.Name).Distinct().Where(n => !ctx.Authorize(AclOperation.Write, AclResourceType.Topic, n)).ToHashSet();
            var results = refused.Count > 0
                ? wanted.Distinct().ToDictionary(p => ((string Topic, int Partition))p, p => refused.Contains(p.Name) ? ErrorCode.TopicAuthorizationFailed : ErrorCode.OperationNotAttempted)
                : Add(ctx, req.V3AndBelowTransactionalId, req.V3AndBelowProducerId, req.V3AndBelowProducerEpoch, wanted, verifyOnly: false);
            foreach (var g in results.GroupBy(r => r.Key.Topic, StringComparer.Ordinal))
                resp.ResultsByTopicV3AndBelow.Add(new AddPartitionsToTxnResponse.AddPartitionsToTxnTopicResult
                {
                    Name = g.Key,
                    ResultsByPartition = g.Select(r => new AddPartitionsToTxnResponse.AddPartitionsToTxnPartitionResult
                        { PartitionIndex = r.Key.Partition, PartitionErrorCode = r.Value }).ToList(),
                });
            return new(resp);
        }
        foreach (var t in req.Transactions)
        {
            var wanted = t.Topics.SelectMany(x => x.Partitions.Select(p => (x.Name, p))).ToList();
            var results = Add(ctx, t.TransactionalId, t.ProducerId, t.ProducerEpoch, wanted, t.VerifyOnly, implicitV2: ctx.ApiVersion >= 5);
            resp.ResultsByTransaction.Add(new AddPartitionsToTxnResponse.AddPartitionsToTxnResult
            {
                TransactionalId = t.TransactionalId,
                TopicResults = results.GroupBy(r => r.Key.Topic, StringComparer.Ordinal).Select(g => new AddPartitionsToTxnResponse.AddPartitionsToTxnTransactionTopicResult
                {
                    Name = g.Key,
                    ResultsByPartition = g.Select(r => new AddPartitionsToTxnResponse.AddPartitionsToTxnTransactionPartitionResult
                        { PartitionIndex = r.Key.Partition, PartitionErrorCode = r.Value }).ToList(),
                }).ToList(),
            });
        }
        return new(resp);
    }

    private static Dictionary<(string Topic, int Partition), ErrorCode> Add(RequestContext ctx, string transactionalId, long pid, short epoch,
        List<(string Topic, int Partition)> wanted, bool verifyOnly, bool implicitV2 = false)
    {
        var txns = ctx.Broker.Transactions;
        if (string.IsNullOrEmpty(transactionalId)) return wanted.Distinct().ToDictionary(p => p, _ => ErrorCode.InvalidRequest);
        if (verifyOnly)
            return txns.VerifyPartitions(transactionalId, pid, epoch, wanted).Partitions;
        var unknown = wanted.Where(p => ctx.Broker.Logs.Get(p.Topic) is not { } t || p.Partition < 0 || p.Partition >= t.Partitions.Length
            || p.Topic == Transactions.TransactionCoordinator.TransactionTopic).ToHashSet();
        if (unknown.Count > 0)
            return wanted.Distinct().ToDictionary(p => p, p => unknown.Contains(p) ? ErrorCode.UnknownTopicOrPartition : ErrorCode.OperationNotAttempted);
        var err = implicitV2 ? txns.AddPartitionsImplicitly(transactionalId, pid, epoch, wanted) : txns.AddPartitions(transactionalId, pid, epoch, wanted, ctx.ApiVersion);
        return wanted.Distinct().ToDictionary(p => p, _ => err);
    }

    protected override AddPartitionsToTxnResponse? ErrorResponse(AddPartitionsToTxnRequest request, ErrorCode error) => new()
    {
        ErrorCode = error,
        ResultsByTopicV3AndBelow = request.V3AndBelowTopics.Select(t => new AddPartitionsToTxnResponse.AddPartitionsToTxnTopicResult
        {
            Name = t.Name,
            ResultsByPartition = t.Partitions.Select(p => new AddPartitionsToTxnResponse.AddPartitionsToTxnPartitionResult { PartitionIndex = p, PartitionErrorCode = error }).ToList(),
        }).ToList(),
    };

    protected override (string Key, bool Transaction)? Coordinated(AddPartitionsToTxnRequest request, short version) => version <= 3 ? (request.V3AndBelowTransactionalId, true) : null;

    protected override IEnumerable<Requirement> Requires(AddPartitionsToTxnRequest request, short version) => version <= 3 ? [Requirement.TransactionalId(AclOperation.Write, request.V3AndBelowTransactionalId)] : [Requirement.Cluster(AclOperation.ClusterAction)];
}
