// Produce (key 0): advertised 0-13 (librdkafka only compresses when v0 is advertised), served 3-13. v12 is
// transactions version 2: a transactional batch adds its partition to the producer's transaction. v13 names topics
// by id (UNKNOWN_TOPIC_ID for an id no topic has; a topic id never auto-creates a topic).
// v0-2 carry the old message formats and are refused with UNSUPPORTED_VERSION per partition.
// Batches are validated (size, magic 2, CRC-32C), stored byte-for-byte with the base offset rewritten.
// acks=0 gets no response. Batches of idempotent producers are checked against the partition's producer state
// (epoch, sequence); a retried batch is answered with the offsets it was first given and is not written again.
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using KafkaCompat.Records;
using KafkaCompat.Storage;

namespace KafkaCompat.Broker.Apis;

public sealed class ProduceHandler : ApiHandler<ProduceRequest, ProduceResponse>
{
    public const short MinServedVersion = 3;

    // the handler keeps nothing of its request once it has answered (the records are appended, names are strings)
    protected override bool ReadsIntoKeptRequests => true;

    // a kept request must not hold its frame, which has gone back to the pool
    protected override bool Forget(ProduceRequest request)
    {
        int partitions = 0;
        foreach (var t in request.TopicData)
            foreach (var p in t.PartitionData)
            {
                p.Records = null;
                partitions++;
            }
        return partitions <= MaxKeptPartitions;
    }

    protected override ValueTask<ProduceResponse?> Handle(RequestContext ctx, ProduceRequest req)
    {
        var broker = ctx.Broker;
        // the connection's last response is filled again (its topics and partitions reused in order): nothing is allocated
        // for a request of the same shape
        var resp = ctx.Messages?.Take<ProduceResponse>() ?? new ProduceResponse();
        resp.Reset(keepLists: true);
        ctx.KeepResponse(resp);
        int topics = 0;
        bool oldVersion = ctx.ApiVersion < MinServedVersion;
        if (oldVersion)
            KafkaBroker.LogRejected(broker.Logger, "Produce", ctx.ApiVersion, ctx.ClientId,
                "Produce v0-2 (message format v0/v1) is not supported; use a client that sends v3 or later");
        ErrorCode requestError = req.Acks is -1 or 0 or 1 ? ErrorCode.None : ErrorCode.InvalidRequiredAcks;
        // as Kafka: transactional batches need the request's transactional id
        if (requestError == ErrorCode.None && req.TransactionalId == null && AnyTransactional(req))
            requestError = ErrorCode.TransactionalIdAuthorizationFailed;
        // with an authorizer, transactional batches need WRITE on their transactional id (the whole request fails)
        if (requestError == ErrorCode.None && req.TransactionalId != null && AnyTransactional(req)
            && !ctx.Authorize(AclOperation.Write, AclResourceType.TransactionalId, req.TransactionalId))
            requestError = ErrorCode.TransactionalIdAuthorizationFailed;

        bool byId = ctx.ApiVersion >= 13;
        foreach (var td in req.TopicData)
        {
            var byIdTopic = byId ? broker.Logs.Get(td.TopicId) : null;
            string name = byId ? byIdTopic?.Name ?? "" : td.Name;
            var tr = Reuse.Next(resp.Responses, ref topics);
            tr.Reset(keepLists: true);
            tr.Name = name;
            tr.TopicId = td.TopicId;
            int partitions = 0;
            TopicLogs? topic = null;
            ErrorCode topicError = oldVersion ? ErrorCode.UnsupportedVersion : requestError;
            if (topicError == ErrorCode.None && byId && byIdTopic is null) topicError = ErrorCode.UnknownTopicId;
            if (topicError == ErrorCode.None && !ctx.Authorize(AclOperation.Write, AclResourceType.Topic, name)) topicError = ErrorCode.TopicAuthorizationFailed;
            if (topicError == ErrorCode.None)
            {
                // like Kafka: clients cannot append to the internal offsets topic
                if (name == Groups.GroupCoordinator.OffsetsTopic) topicError = ErrorCode.InvalidTopicException;
                else if (byIdTopic != null) topic = byIdTopic;
                // a topic that exists had its name checked when it was made (not again on every request)
                else if (broker.Logs.Get(name) is { } existing) topic = existing;
                else if (KafkaBroker.CheckTopicName(name) != null) topicError = ErrorCode.InvalidTopicException;
                else
                {
                    (topic, var err) = broker.GetOrAutoCreate(name, allowAutoCreate: ctx.MayCreateTopic(name));
                    topicError = err;
                }
            }
            foreach (var pd in td.PartitionData)
            {
                var pr = Reuse.Next(tr.PartitionResponses, ref partitions);
                pr.Reset();
                pr.Index = pd.Index;
                pr.BaseOffset = -1;
                if (topicError != ErrorCode.None)
                {
                    pr.ErrorCode = topicError;
                    continue;
                }
                if (pd.Index < 0 || pd.Index >= topic!.Partitions.Length)
                {
                    pr.ErrorCode = ErrorCode.UnknownTopicOrPartition;
                    continue;
                }
                if (Leadership.Check(ctx, topic, pd.Index) is var lead and not ErrorCode.None)
                {
                    pr.ErrorCode = lead;
                    // v10+ (KIP-951): the new leader, so the client need not ask Metadata first
                    if (ctx.ApiVersion >= 10 && Leadership.CurrentLeader(ctx, topic, pd.Index) is var (state, leader))
                    {
                        pr.CurrentLeader = new() { LeaderId = state.Leader, LeaderEpoch = state.LeaderEpoch };
                        if (leader != null && !Listed(resp.NodeEndpoints ??= [], leader.Id))
                            resp.NodeEndpoints.Add(new() { NodeId = leader.Id, Host = ctx.Endpoint(leader).Host, Port = ctx.Endpoint(leader).Port, Rack = leader.Rack });
                    }
                    continue;
                }
                var log = topic.Partitions[pd.Index];
                // acks=all: as many in-sync replicas as min.insync.replicas asks, or nothing is written
                if (req.Acks == -1 && broker.Cluster.Partition(topic, pd.Index).Isr.Length is var isr && isr < log.Config.MinInSyncReplicas)
                {
                    pr.ErrorCode = ErrorCode.NotEnoughReplicas;
                    pr.ErrorMessage = $"The size of the current ISR {isr} is insufficient to satisfy the min.isr requirement of {log.Config.MinInSyncReplicas} for partition {name}-{pd.Index}";
                    continue;
                }
                try
                {
                    AppendResult result;
                    if (IsTransactional(pd.Records))
                    {
                        // the partition must be in the producer's open transaction; checked and appended under the
                        // coordinator's lock so that no marker slips in between
                        var batch = pd.Records!.Value.Span;
                        var txns = broker.Transactions;
                        lock (txns.SyncRoot)
                        {
                            long pid = RecordBatch.ProducerId(batch);
                            short epoch = RecordBatch.ProducerEpoch(batch);
                            // v12 is transactions version 2: the partition joins the producer's transaction here
                            var err = ctx.ApiVersion >= 12 ? txns.AddPartitionsImplicitly(req.TransactionalId!, pid, epoch, [(name, pd.Index)]) : ErrorCode.None;
                            if (err == ErrorCode.None) err = txns.VerifyProduce(req.TransactionalId!, pid, epoch, name, pd.Index);
                            if (err != ErrorCode.None)
                            {
                                pr.ErrorCode = ProduceVerificationError(err, ctx.ApiVersion);
                                pr.ErrorMessage = err == ErrorCode.InvalidTxnState ? "Record was not part of an ongoing transaction" : null;
                                pr.LogStartOffset = log.LogStartOffset;
                                continue;
                            }
                            result = log.Append(batch);
                        }
                    }
                    else result = log.Append(pd.Records is { } r ? r.Span : default);
                    pr.BaseOffset = result.BaseOffset;
                    pr.LogAppendTimeMs = result.LogAppendTime;
                    pr.LogStartOffset = log.LogStartOffset;
                }
                catch (Exception e) when (ErrorMapping.From(e) is { } mapped)
                {
                    pr.ErrorCode = mapped.Error;
                    pr.ErrorMessage = e is ObjectDisposedException ? null : mapped.Message;
                    if (e is InvalidBatchException) pr.RecordErrors = [new() { BatchIndex = 0, BatchIndexErrorMessage = e.Message }];
                    if (e is InvalidBatchException or IOException)
                        KafkaBroker.LogRejected(broker.Logger, "Produce", ctx.ApiVersion, ctx.ClientId, $"{name}-{pd.Index}: {e.Message}");
                }
            }
            Reuse.Trim(tr.PartitionResponses, partitions);
        }
        Reuse.Trim(resp.Responses, topics);
        return new(req.Acks == 0 ? null : resp);
    }

    // a loop, not a lambda: a lambda capturing the leader would allocate its closure for every partition
    private static bool Listed(List<ProduceResponse.NodeEndpoint> endpoints, int nodeId)
    {
        foreach (var n in endpoints)
            if (n.NodeId == nodeId) return true;
        return false;
    }

    // loops, not Enumerable.Any: this runs for every produce request, and Any boxes each list's enumerator
    private static bool AnyTransactional(ProduceRequest req)
    {
        foreach (var t in req.TopicData)
            foreach (var p in t.PartitionData)
                if (IsTransactional(p.Records)) return true;
        return false;
    }

    private static bool IsTransactional(ReadOnlyMemory<byte>? records) =>
        records is { Length: >= RecordBatch.HeaderSize } r && RecordBatch.IsTransactional(r.Span);

    /// <summary>How Kafka reports a failed transaction check to Produce: TRANSACTION_ABORTABLE from v11, INVALID_TXN_STATE
    /// before; a coordinator that cannot answer yet is NOT_ENOUGH_REPLICAS (retriable); a fenced producer INVALID_PRODUCER_EPOCH.</summary>
    private static ErrorCode ProduceVerificationError(ErrorCode e, short version) => e switch
    {
        ErrorCode.InvalidTxnState => version >= 11 ? ErrorCode.TransactionAbortable : ErrorCode.InvalidTxnState,
        ErrorCode.CoordinatorLoadInProgress or ErrorCode.CoordinatorNotAvailable or ErrorCode.NotCoordinator => ErrorCode.NotEnoughReplicas,
        ErrorCode.ProducerFenced => ErrorCode.InvalidProducerEpoch,
        _ => e,
    };

    protected override ProduceResponse? ErrorResponse(ProduceRequest request, ErrorCode error) => new()
    {
        Responses = request.TopicData.Select(t => new ProduceResponse.TopicProduceResponse
        {
            Name = t.Name,
            TopicId = t.TopicId,
            PartitionResponses = t.PartitionData.Select(p => new ProduceResponse.PartitionProduceResponse { Index = p.Index, ErrorCode = error, BaseOffset = -1 }).ToList(),
        }).ToList(),
    };

    protected override IEnumerable<Requirement> Requires(ProduceRequest request, short version) => Nothing;
}
