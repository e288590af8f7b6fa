// Fetch (key 1): versions 4-18. Topics by name up to v12, by topic id from v13. v17 (the follower's log directory)
// and v18 (the follower's high watermark) add tagged fields only replicas send; a consumer's fetch is unchanged.
// Long-poll: the response waits until min_bytes are available or max_wait_ms passes; the first partition with
// data returns at least one whole batch even past max_bytes / partition_max_bytes. No fetch sessions
// (session id 0), no read replicas (-1); only the leader serves a partition, at its leader epoch (v9+ checks the
// client's current epoch: FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH). Records are slices of the mapped segments.
// isolation_level 1 (read_committed) stops at the last stable offset and lists the aborted transactions whose
// records overlap what is returned, so the client drops them.
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using KafkaCompat.Storage;

namespace KafkaCompat.Broker.Apis;

public sealed class FetchHandler : ApiHandler<FetchRequest, FetchResponse>
{
    // the handler keeps nothing of its request once it has answered: no fetch sessions
    protected override bool ReadsIntoKeptRequests => true;

    protected override bool Forget(FetchRequest request)
    {
        int partitions = 0;
        foreach (var t in request.Topics) partitions += t.Partitions.Count;
        return partitions <= MaxKeptPartitions;
    }

    protected override async ValueTask<FetchResponse?> Handle(RequestContext ctx, FetchRequest req)
    {
        // the connection's last response is filled again (its topics and partitions reused in order): a fetch of the same
        // shape allocates no response
        var resp = ctx.Messages?.Take<FetchResponse>() ?? new FetchResponse();
        ctx.KeepResponse(resp);
        long deadline = Environment.TickCount64 + Math.Max(0, req.MaxWaitMs);
        bool longPoll = req.MinBytes > 0 && req.MaxWaitMs > 0;
        List<Task>? waits = null;
        while (true)
        {
            Read(ctx, req, resp, out long bytes, out bool anyError);
            long remaining = deadline - Environment.TickCount64;
            if (bytes >= req.MinBytes || anyError || remaining <= 0 || !longPoll || waits is { Count: 0 } || ctx.Cancellation.IsCancellationRequested)
                return resp;
            ctx.ReleaseLeases();
            if (waits is null)
            {
                // the partitions are watched from now on, and read once more: an append between the read above and
                // the watch is not waited past (a fetch that finds its data at once watches nothing)
                waits = Watch(ctx, req);
                continue;
            }
            // the timer is cancelled as soon as data arrives, so early wake-ups leave no timer behind
            using var timer = CancellationTokenSource.CreateLinkedTokenSource(ctx.Cancellation);
            await Task.WhenAny(Task.WhenAny(waits), Task.Delay(TimeSpan.FromMilliseconds(remaining), timer.Token)).ConfigureAwait(false);
            timer.Cancel();
            waits = null;
        }
    }

    private static TopicLogs? Resolve(RequestContext ctx, FetchRequest.FetchTopic t) =>
        ctx.ApiVersion >= 13 ? ctx.Broker.Logs.Get(t.TopicId) : ctx.Broker.Logs.Get(t.Topic);

    /// <summary>A task per partition that completes on its next append.</summary>
    private static List<Task> Watch(RequestContext ctx, FetchRequest req)
    {
        var waits = new List<Task>();
        foreach (var t in req.Topics)
            if (Resolve(ctx, t) is { } topic)
                foreach (var p in t.Partitions)
                    if (p.Partition >= 0 && p.Partition < topic.Partitions.Length)
                        waits.Add(topic.Partitions[p.Partition].WaitForAppendAsync());
        return waits;
    }

    private static void Read(RequestContext ctx, FetchRequest req, FetchResponse resp, out long bytes, out bool anyError)
    {
        resp.Reset(keepLists: true);
        resp.SessionId = 0;
        int topics = 0;
        bytes = 0;
        anyError = false;
        bool minOne = true;
        long budget = req.MaxBytes <= 0 ? int.MaxValue : req.MaxBytes;
        foreach (var t in req.Topics)
        {
            var topic = Resolve(ctx, t);
            // READ on the topic (an id no topic has is UNKNOWN_TOPIC_ID first: there is no name to ask about)
            bool denied = !(topic is null && ctx.ApiVersion >= 13) && !ctx.Authorize(AclOperation.Read, AclResourceType.Topic, topic?.Name ?? t.Topic);
            var tr = Reuse.Next(resp.Responses, ref topics);
            tr.Reset(keepLists: true);
            tr.Topic = t.Topic;
            tr.TopicId = t.TopicId;
            int partitions = 0;
            foreach (var p in t.Partitions)
            {
                var pr = Reuse.Next(tr.Partitions, ref partitions);
                var aborted = pr.AbortedTransactions;
                pr.Reset();
                pr.PartitionIndex = p.Partition;
                pr.HighWatermark = -1;
                pr.LastStableOffset = -1;
                pr.LogStartOffset = -1;
                pr.Records = ReadOnlyMemory<byte>.Empty;
                pr.AbortedTransactions = req.IsolationLevel == 1 ? Reuse.Emptied(aborted) : null;
                if (denied)
                {
                    pr.ErrorCode = ErrorCode.TopicAuthorizationFailed;
                    anyError = true;
                    continue;
                }
                if (topic is null || p.Partition < 0 || p.Partition >= topic.Partitions.Length)
                {
                    pr.ErrorCode = (topic is null && ctx.ApiVersion >= 13 ? ErrorCode.UnknownTopicId : ErrorCode.UnknownTopicOrPartition);
                    anyError = true;
                    continue;
                }
                if (Leadership.Check(ctx, topic, p.Partition, ctx.ApiVersion >= 9 ? p.CurrentLeaderEpoch : -1) is var lead and not ErrorCode.None)
                {
                    pr.ErrorCode = lead;
                    anyError = true;
                    // v12+ (KIP-951): the new leader; v16+ its endpoint
                    if (lead == ErrorCode.NotLeaderOrFollower && ctx.ApiVersion >= 12 && Leadership.CurrentLeader(ctx, topic, p.Partition) is var (state, leader))
                    {
                        pr.CurrentLeader = new() { LeaderId = state.Leader, LeaderEpoch = state.LeaderEpoch };
                        if (ctx.ApiVersion >= 16 && leader != null && !Listed(resp.NodeEndpoints ??= [], leader.Id))
                            resp.NodeEndpoints.Add(new() { NodeId = leader.Id, Host = ctx.Endpoint(leader).Host, Port = ctx.Endpoint(leader).Port, Rack = leader.Rack });
                    }
                    continue;
                }
                var log = topic.Partitions[p.Partition];
                long lso = log.LastStableOffset;
                pr.HighWatermark = log.HighWatermark;
                pr.LastStableOffset = lso;
                pr.LogStartOffset = log.LogStartOffset;
                try
                {
                    int limit = (int)Math.Min(Math.Max(p.PartitionMaxBytes, 0), budget);
                    bool committed = req.IsolationLevel == 1;
                    // the records go to the socket by sendfile (KafkaConnection): their pages are not mapped in here first
                    var result = log.Read(p.FetchOffset, limit, minOne, upTo: committed ? lso : long.MaxValue, populate: false);
                    if (result.Lease != null) ctx.AddLease(result.Lease);
                    if (result.Records.Length > 0)
                    {
                        if (committed)
                        {
                            var span = result.Records.Span;
                            long upper = Math.Min(lso, LastOffsetOf(span) + 1);
                            foreach (var a in log.AbortedTransactions(p.FetchOffset, upper))
                                pr.AbortedTransactions!.Add(new FetchResponse.AbortedTransaction { ProducerId = a.ProducerId, FirstOffset = a.FirstOffset });
                        }
                        pr.Records = result.Records;
                        bytes += result.Records.Length;
                        budget = Math.Max(0, budget - result.Records.Length);
                        minOne = false;
                    }
                }
                catch (Exception e) when (ErrorMapping.From(e) is { } mapped) // OFFSET_OUT_OF_RANGE, a deleted partition, storage
                {
                    pr.ErrorCode = mapped.Error;
                    anyError = true;
                }
            }
            Reuse.Trim(tr.Partitions, partitions);
        }
        Reuse.Trim(resp.Responses, topics);
    }

    // a loop, not a lambda: a lambda capturing the leader would allocate its closure for every partition
    private static bool Listed(List<FetchResponse.NodeEndpoint> endpoints, int nodeId)
    {
        foreach (var n in endpoints)
            if (n.NodeId == nodeId) return true;
        return false;
    }

    private static long LastOffsetOf(ReadOnlySpan<byte> batches)
    {
        long last = -1;
        for (int pos = 0; pos + Records.RecordBatch.HeaderSize <= batches.Length; pos += Records.RecordBatch.TotalSize(batches[pos..]))
            last = Records.RecordBatch.LastOffset(batches[pos..]);
        return last;
    }

    protected override FetchResponse? ErrorResponse(FetchRequest request, ErrorCode error) => new()
    {
        ErrorCode = error,
        Responses = request.Topics.Select(t => new FetchResponse.FetchableTopicResponse
        {
            Topic = t.Topic, TopicId = t.TopicId,
            Partitions = t.Partitions.Select(p => new FetchResponse.PartitionData
            {
                PartitionIndex = p.Partition, ErrorCode = error, HighWatermark = -1, LastStableOffset = -1, LogStartOffset = -1, Records = ReadOnlyMemory<byte>.Empty,
            }).ToList(),
        }).ToList(),
    };

    protected override IEnumerable<Requirement> Requires(FetchRequest request, short version) => Nothing;
}
