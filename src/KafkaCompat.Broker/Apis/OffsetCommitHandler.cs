// OffsetCommit (key 8): versions 0-9. v1 per-partition commit timestamp, v2-4 retention time, v6+ leader epoch,
// v7+ group.instance.id. Generation -1 without a member id commits for a group that does not use group management.
using KafkaCompat.Protocol;
using KafkaCompat.Broker.Groups;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class OffsetCommitHandler : ApiHandler<OffsetCommitRequest, OffsetCommitResponse>
{
    protected override ValueTask<OffsetCommitResponse?> Handle(RequestContext ctx, OffsetCommitRequest req)
    {
        var entries = new List<CommitEntry>();
        foreach (var t in req.Topics)
            foreach (var p in t.Partitions)
                entries.Add(new CommitEntry(t.Name, p.PartitionIndex, p.CommittedOffset,
                    ctx.ApiVersion >= 6 ? p.CommittedLeaderEpoch : -1, p.CommittedMetadata,
                    ctx.ApiVersion == 1 ? p.CommitTimestamp : -1));
        var results = ctx.Broker.Groups.Commit(req.GroupId, ctx.ApiVersion >= 1 ? req.GenerationIdOrMemberEpoch : -1,
            req.MemberId ?? "", req.GroupInstanceId, ctx.ApiVersion is >= 2 and <= 4 ? req.RetentionTimeMs : -1, entries, ctx.ApiVersion);
        var resp = new OffsetCommitResponse();
        foreach (var group in results.GroupBy(r => r.Entry.Topic, StringComparer.Ordinal))
        {
            var topic = new OffsetCommitResponse.OffsetCommitResponseTopic { Name = group.Key };
            foreach (var (entry, error) in group)
                topic.Partitions.Add(new OffsetCommitResponse.OffsetCommitResponsePartition { PartitionIndex = entry.Partition, ErrorCode = error });
            resp.Topics.Add(topic);
        }
        return new(resp);
    }

    protected override OffsetCommitResponse? ErrorResponse(OffsetCommitRequest request, ErrorCode error) => new()
    {
        Topics = request.Topics.Select(t => new OffsetCommitResponse.OffsetCommitResponseTopic
        {
            Name = t.Name,
            Partitions = t.Partitions.Select(p => new OffsetCommitResponse.OffsetCommitResponsePartition { PartitionIndex = p.PartitionIndex, ErrorCode = error }).ToList(),
        }).ToList(),
    };
}
