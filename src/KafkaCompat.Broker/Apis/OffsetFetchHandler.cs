// OffsetFetch (key 9): versions 0-9. v2+ null topics means every committed partition and a group-level error;
// v7 require_stable (UNSTABLE_OFFSET_COMMIT for a partition with an offset pending in an open transaction); v8+
// several groups in one request.
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class OffsetFetchHandler : ApiHandler<OffsetFetchRequest, OffsetFetchResponse>
{
    protected override ValueTask<OffsetFetchResponse?> Handle(RequestContext ctx, OffsetFetchRequest req)
    {
        var coordinator = ctx.Broker.Groups;
        var resp = new OffsetFetchResponse();
        if (ctx.ApiVersion >= 8)
        {
            foreach (var g in req.Groups)
            {
                var wanted = g.Topics?.Select(t => (t.Name, (IReadOnlyList<int>)t.PartitionIndexes)).ToList();
                var (error, offsets) = ctx.ApiVersion >= 9
                    ? coordinator.FetchOffsets(g.GroupId, wanted, req.RequireStable, g.MemberId, g.MemberEpoch)
                    : coordinator.FetchOffsets(g.GroupId, wanted, req.RequireStable);
                var group = new OffsetFetchResponse.OffsetFetchResponseGroup { GroupId = g.GroupId, ErrorCode = error };
                foreach (var byTopic in offsets.GroupBy(o => o.Topic, StringComparer.Ordinal))
                {
                    var topic = new OffsetFetchResponse.OffsetFetchResponseTopics { Name = byTopic.Key };
                    foreach (var o in byTopic)
                        topic.Partitions.Add(new OffsetFetchResponse.OffsetFetchResponsePartitions
                        {
                            PartitionIndex = o.Partition, CommittedOffset = o.Offset, CommittedLeaderEpoch = o.LeaderEpoch,
                            Metadata = o.Metadata, ErrorCode = o.Error,
                        });
                    group.Topics.Add(topic);
                }
                resp.Groups.Add(group);
            }
            return new(resp);
        }

        var requested = req.Topics?.Select(t => (t.Name, (IReadOnlyList<int>)t.PartitionIndexes)).ToList();
        var (err, list) = coordinator.FetchOffsets(req.GroupId, requested, ctx.ApiVersion >= 7 && req.RequireStable);
        if (err != ErrorCode.None && ctx.ApiVersion < 2 && requested != null)
        {
            // v0-1 have no group-level error: every requested partition carries it
            list = requested.SelectMany(t => t.Item2.Select(p => new Groups.FetchedOffset(t.Name, p, -1, -1, "", err))).ToList();
        }
        resp.ErrorCode = err;
        foreach (var byTopic in list.GroupBy(o => o.Topic, StringComparer.Ordinal))
        {
            var topic = new OffsetFetchResponse.OffsetFetchResponseTopic { Name = byTopic.Key };
            foreach (var o in byTopic)
                topic.Partitions.Add(new OffsetFetchResponse.OffsetFetchResponsePartition
                {
                    PartitionIndex = o.Partition, CommittedOffset = o.Offset, CommittedLeaderEpoch = o.LeaderEpoch,
                    Metadata = o.Metadata, ErrorCode = o.Error,
                });
            resp.Topics.Add(topic);
        }
        return new(resp);
    }
}
