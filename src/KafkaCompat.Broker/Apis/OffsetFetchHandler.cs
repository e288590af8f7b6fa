// OffsetFetch (key 9): versions 0-10. v2+ null topics means every committed partition and a group-level error;
// v7 require_stable (UNSTABLE_OFFSET_COMMIT for a partition with an offset pending in an open transaction); v8+
// several groups in one request; v9 the member id and epoch of a consumer group; v10 topics by id (an id no topic
// has: UNKNOWN_TOPIC_ID; all offsets: only those of topics that still exist, with their ids).
using KafkaCompat.Broker.Security;
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
            bool byId = ctx.ApiVersion >= 10;
            foreach (var g in req.Groups)
            {
                if (!ctx.Authorize(AclOperation.Describe, AclResourceType.Group, g.GroupId))
                {
                    resp.Groups.Add(new OffsetFetchResponse.OffsetFetchResponseGroup { GroupId = g.GroupId, ErrorCode = ErrorCode.GroupAuthorizationFailed });
                    continue;
                }
                var unknownIds = new List<OffsetFetchRequest.OffsetFetchRequestTopics>();
                if (byId && g.Topics != null)
                    foreach (var t in g.Topics)
                    {
                        if (ctx.Broker.Logs.Get(t.TopicId) is { } known) t.Name = known.Name;
                        else unknownIds.Add(t);
                    }
                var wanted = g.Topics?.Where(t => !unknownIds.Contains(t)).Select(t => (t.Name, (IReadOnlyList<int>)t.PartitionIndexes)).ToList();
                var (error, offsets) = ctx.ApiVersion >= 9
                    ? coordinator.FetchOffsets(g.GroupId, wanted, req.RequireStable, g.MemberId, g.MemberEpoch)
                    : coordinator.FetchOffsets(g.GroupId, wanted, req.RequireStable);
                var group = new OffsetFetchResponse.OffsetFetchResponseGroup { GroupId = g.GroupId, ErrorCode = error };
                foreach (var byTopic in Visible(ctx, offsets, g.Topics != null).GroupBy(o => o.Topic, StringComparer.Ordinal))
                {
                    Guid id = Guid.Empty;
                    if (byId)
                    {
                        if (ctx.Broker.Logs.Get(byTopic.Key) is not { } t) continue; // a deleted topic has no id to name it by
                        id = t.Id;
                    }
                    var topic = new OffsetFetchResponse.OffsetFetchResponseTopics { Name = byTopic.Key, TopicId = id };
                    foreach (var o in byTopic)
                        topic.Partitions.Add(new OffsetFetchResponse.OffsetFetchResponsePartitions
                        {
                            PartitionIndex = o.Partition, CommittedOffset = o.Offset, CommittedLeaderEpoch = o.LeaderEpoch,
                            Metadata = o.Metadata, ErrorCode = o.Error,
                        });
                    group.Topics.Add(topic);
                }
                foreach (var t in unknownIds)
                    group.Topics.Add(new OffsetFetchResponse.OffsetFetchResponseTopics
                    {
                        TopicId = t.TopicId,
                        Partitions = t.PartitionIndexes.Select(p => new OffsetFetchResponse.OffsetFetchResponsePartitions
                        {
                            PartitionIndex = p, CommittedOffset = -1, CommittedLeaderEpoch = -1, Metadata = "", ErrorCode = ErrorCode.UnknownTopicId,
                        }).ToList(),
                    });
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
        foreach (var byTopic in Visible(ctx, list, requested != null).GroupBy(o => o.Topic, StringComparer.Ordinal))
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

    /// <summary>The offsets of topics the principal may describe: those of others are TOPIC_AUTHORIZATION_FAILED when
    /// asked for by name, and left out of "all topics".</summary>
    private static IEnumerable<Groups.FetchedOffset> Visible(RequestContext ctx, IEnumerable<Groups.FetchedOffset> offsets, bool named)
    {
        if (!ctx.Broker.Authorizer.Enabled) return offsets;
        var allowed = new Dictionary<string, bool>(StringComparer.Ordinal);
        bool May(string topic) => allowed.TryGetValue(topic, out var a) ? a : allowed[topic] = ctx.Authorize(AclOperation.Describe, AclResourceType.Topic, topic);
        return offsets.Where(o => named || May(o.Topic))
            .Select(o => May(o.Topic) ? o : new Groups.FetchedOffset(o.Topic, o.Partition, -1, -1, "", ErrorCode.TopicAuthorizationFailed)).ToList();
    }

    /// <summary>v8+ asks for several groups at once; clients send one request per coordinator, so the first group's
    /// coordinator is the one to answer.</summary>
    protected override (string Key, bool Transaction)? Coordinated(OffsetFetchRequest request, short version) =>
        version < 8 ? (request.GroupId, false) : request.Groups.Count > 0 ? (request.Groups[0].GroupId, false) : null;

    /// <summary>The error at the top (v2-7) and for each group asked for (v8+).</summary>
    protected override OffsetFetchResponse? ErrorResponse(OffsetFetchRequest request, ErrorCode error) => new()
    {
        ErrorCode = error,
        Groups = [.. request.Groups.Select(g => new OffsetFetchResponse.OffsetFetchResponseGroup { GroupId = g.GroupId, ErrorCode = error })],
    };

    protected override IEnumerable<Requirement> Requires(OffsetFetchRequest request, short version) => version < 8 ? [Requirement.Group(AclOperation.Describe, request.GroupId)] : Nothing;
}
