// TxnOffsetCommit (key 28): versions 0-5. Offsets committed inside a transaction: the group's offsets partition must
// be in the producer's open transaction (AddOffsetsToTxn; otherwise INVALID_TXN_STATE, TRANSACTION_ABORTABLE from
// v4; v5, transactions version 2, adds it itself); a member and generation, when given (v3+), are checked as Kafka does. The offsets become the group's
// committed offsets when the transaction commits and are dropped when it aborts.
using KafkaCompat.Broker.Groups;
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class TxnOffsetCommitHandler : ApiHandler<TxnOffsetCommitRequest, TxnOffsetCommitResponse>
{
    protected override ValueTask<TxnOffsetCommitResponse?> Handle(RequestContext ctx, TxnOffsetCommitRequest req)
    {
        var broker = ctx.Broker;
        var entries = req.Topics.SelectMany(t => t.Partitions.Select(p =>
            new CommitEntry(t.Name, p.PartitionIndex, p.CommittedOffset, p.CommittedLeaderEpoch, p.CommittedMetadata, -1))).ToList();
        // READ on each topic: the partitions of a refused one are TOPIC_AUTHORIZATION_FAILED, the others go on
        var refused = entries.Where(e => !ctx.Authorize(AclOperation.Read, AclResourceType.Topic, e.Topic))
            .Select(e => (e, ErrorCode.TopicAuthorizationFailed)).ToList();
        if (refused.Count > 0) entries = [.. entries.Where(e => !refused.Any(r => r.e == e))];
        List<(CommitEntry Entry, ErrorCode Error)> results;
        if (string.IsNullOrEmpty(req.GroupId)) results = entries.Select(e => (e, ErrorCode.InvalidGroupId)).ToList();
        else if (string.IsNullOrEmpty(req.TransactionalId)) results = entries.Select(e => (e, ErrorCode.InvalidRequest)).ToList();
        else
        {
            var txns = broker.Transactions;
            lock (txns.SyncRoot)
            {
                int partition = broker.Groups.OffsetsPartitionFor(req.GroupId);
                if (ctx.ApiVersion >= 5)
                {
                    var added = txns.AddPartitionsImplicitly(req.TransactionalId, req.ProducerId, req.ProducerEpoch, [(GroupCoordinator.OffsetsTopic, partition)]);
                    if (added == ErrorCode.ProducerFenced) added = ErrorCode.InvalidProducerEpoch;
                    if (added != ErrorCode.None)
                        return new(Respond(refused, entries.Select(e => (e, added)).ToList()));
                }
                var check = txns.VerifyProduce(req.TransactionalId, req.ProducerId, req.ProducerEpoch, GroupCoordinator.OffsetsTopic, partition);
                if (check == ErrorCode.InvalidTxnState && ctx.ApiVersion >= 4) check = ErrorCode.TransactionAbortable;
                if (check == ErrorCode.CoordinatorLoadInProgress && ctx.ApiVersion < 2) check = ErrorCode.CoordinatorNotAvailable;
                results = check != ErrorCode.None
                    ? entries.Select(e => (e, check)).ToList()
                    : broker.Groups.TxnCommit(req.GroupId, req.ProducerId, req.ProducerEpoch, req.GenerationId, req.MemberId, req.GroupInstanceId, entries);
            }
        }
        return new(Respond(refused, results));
    }

    private static TxnOffsetCommitResponse Respond(List<(CommitEntry Entry, ErrorCode Error)> refused, List<(CommitEntry Entry, ErrorCode Error)> results) =>
        Respond([.. results, .. refused]);

    private static TxnOffsetCommitResponse Respond(List<(CommitEntry Entry, ErrorCode Error)> results)
    {
        var resp = new TxnOffsetCommitResponse();
        foreach (var g in results.GroupBy(r => r.Entry.Topic, StringComparer.Ordinal))
            resp.Topics.Add(new TxnOffsetCommitResponse.TxnOffsetCommitResponseTopic
            {
                Name = g.Key,
                Partitions = g.Select(r => new TxnOffsetCommitResponse.TxnOffsetCommitResponsePartition
                    { PartitionIndex = r.Entry.Partition, ErrorCode = r.Error }).ToList(),
            });
        return resp;
    }

    protected override TxnOffsetCommitResponse? ErrorResponse(TxnOffsetCommitRequest request, ErrorCode error) =>
        Respond(request.Topics.SelectMany(t => t.Partitions.Select(p => (new CommitEntry(t.Name, p.PartitionIndex, -1, -1, null, -1), error))).ToList());

    protected override (string Key, bool Transaction)? Coordinated(TxnOffsetCommitRequest request, short version) => (request.GroupId, false);

    protected override IEnumerable<Requirement> Requires(TxnOffsetCommitRequest request, short version) => [Requirement.TransactionalId(AclOperation.Write, request.TransactionalId), Requirement.Group(AclOperation.Read, request.GroupId)];
}
