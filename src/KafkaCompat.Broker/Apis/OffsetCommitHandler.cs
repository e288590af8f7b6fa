// OffsetCommit (key 8): versions 0-10. v1 per-partition commit timestamp, v2-4 retention time, v6+ leader epoch,
// v7+ group.instance.id, v9 the member epoch of a consumer group, v10 topics by id (UNKNOWN_TOPIC_ID for an id no
// topic has). Generation -1 without a member id commits for a group that does not use group management.
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Broker.Groups;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class OffsetCommitHandler : ApiHandler<OffsetCommitRequest, OffsetCommitResponse>
{
    protected override ValueTask<OffsetCommitResponse?> Handle(RequestContext ctx, OffsetCommitRequest req)
    {
        bool byId = ctx.ApiVersion >= 10;
        var entries = new List<CommitEntry>();
        var unknownIds = new List<OffsetCommitRequest.OffsetCommitRequestTopic>();
        var idOf = new Dictionary<string, Guid>(StringComparer.Ordinal);
        var refused = new List<(string Name, OffsetCommitRequest.OffsetCommitRequestTopic Topic)>();
        foreach (var t in req.Topics)
        {
            string name = t.Name;
            if (byId)
            {
                if (ctx.Broker.Logs.Get(t.TopicId) is not { } known)
                {
                    unknownIds.Add(t);
                    continue;
                }
                name = known.Name;
                idOf[name] = t.TopicId;
            }
            if (!ctx.Authorize(AclOperation.Read, AclResourceType.Topic, name))
            {
                refused.Add((name, t));
                continue;
            }
            foreach (var p in t.Partitions)
                entries.Add(new CommitEntry(name, p.PartitionIndex, p.CommittedOffset,
                    ctx.ApiVersion >= 6 ? p.CommittedLeaderEpoch : -1, p.CommittedMetadata,
                    ctx.ApiVersion == 1 ? p.CommitTimestamp : -1));
        }
        var results = ctx.Broker.Groups.Commit(req.GroupId, ctx.ApiVersion >= 1 ? req.GenerationIdOrMemberEpoch : -1,
            req.MemberId ?? "", req.GroupInstanceId, ctx.ApiVersion is >= 2 and <= 4 ? req.RetentionTimeMs : -1, entries, ctx.ApiVersion);
        var resp = new OffsetCommitResponse();
        foreach (var group in results.GroupBy(r => r.Entry.Topic, StringComparer.Ordinal))
        {
            var topic = new OffsetCommitResponse.OffsetCommitResponseTopic { Name = group.Key, TopicId = idOf.GetValueOrDefault(group.Key) };
            foreach (var (entry, error) in group)
                topic.Partitions.Add(new OffsetCommitResponse.OffsetCommitResponsePartition { PartitionIndex = entry.Partition, ErrorCode = error });
            resp.Topics.Add(topic);
        }
        foreach (var (name, t) in refused)
            resp.Topics.Add(new OffsetCommitResponse.OffsetCommitResponseTopic
            {
                Name = name,
                TopicId = t.TopicId,
                Partitions = t.Partitions.Select(p => new OffsetCommitResponse.OffsetCommitResponsePartition { PartitionIndex = p.PartitionIndex, ErrorCode = ErrorCode.TopicAuthorizationFailed }).ToList(),
            });
        foreach (var t in unknownIds)
            resp.Topics.Add(new OffsetCommitResponse.OffsetCommitResponseTopic
            {
                TopicId = t.TopicId,
                Partitions = t.Partitions.Select(p => new OffsetCommitResponse.OffsetCommitResponsePartition { PartitionIndex = p.PartitionIndex, ErrorCode = ErrorCode.UnknownTopicId }).ToList(),
            });
        return new(resp);
    }

    protected override OffsetCommitResponse? ErrorResponse(OffsetCommitRequest request, ErrorCode error) => new()
    {
        Topics = request.Topics.Select(t => new OffsetCommitResponse.OffsetCommitResponseTopic
        {
            Name = t.Name,
            TopicId = t.TopicId,
            Partitions = t.Partitions.Select(p => new OffsetCommitResponse.OffsetCommitResponsePartition { PartitionIndex = p.PartitionIndex, ErrorCode = error }).ToList(),
        }).ToList(),
    };

    protected override (string Key, bool Transaction)? Coordinated(OffsetCommitRequest request, short version) => (request.GroupId, false);

    protected override IEnumerable<Requirement> Requires(OffsetCommitRequest request, short version) => [Requirement.Group(AclOperation.Read, request.GroupId)];
}
