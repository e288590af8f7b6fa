// DescribeTopicPartitions (key 75): version 0 (KIP-966). Topics with their partitions, as Metadata describes them,
// paged: at most response_partition_limit partitions per answer (capped by max.request.partition.size.limit, 2000),
// topics sorted by name, and a next cursor (topic, partition) from which the client asks for the rest. No topics
// asked for means every topic. A topic that does not exist is UNKNOWN_TOPIC_OR_PARTITION; a cursor whose topic is
// not among the ones asked for is INVALID_REQUEST. The Java admin client's describeTopics uses this API.
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class DescribeTopicPartitionsHandler : ApiHandler<DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse>
{
    /// <summary>Kafka's max.request.partition.size.limit default.</summary>
    public const int MaxPartitionsPerResponse = 2000;

    protected override ValueTask<DescribeTopicPartitionsResponse?> Handle(RequestContext ctx, DescribeTopicPartitionsRequest req)
    {
        var broker = ctx.Broker;
        var names = req.Topics.Count > 0
            ? req.Topics.Select(t => t.Name).Distinct().Order(StringComparer.Ordinal).ToList()
            : broker.Logs.Topics.Select(t => t.Name).Order(StringComparer.Ordinal).ToList();
        if (req.Cursor is { } c && req.Topics.Count > 0 && !names.Contains(c.TopicName))
            throw new KafkaException(ErrorCode.InvalidRequest, $"DescribeTopicPartitionsRequest topic list should contain the cursor topic: {c.TopicName}");
        int limit = Math.Clamp(req.ResponsePartitionLimit, 1, MaxPartitionsPerResponse);
        var resp = new DescribeTopicPartitionsResponse();
        int taken = 0;
        foreach (var name in names)
        {
            int first = 0;
            if (req.Cursor is { } cursor)
            {
                int order = string.CompareOrdinal(name, cursor.TopicName);
                if (order < 0) continue;
                if (order == 0) first = Math.Max(0, cursor.PartitionIndex);
            }
            if (!ctx.Authorize(AclOperation.Describe, AclResourceType.Topic, name))
            {
                if (req.Topics.Count > 0)
                    resp.Topics.Add(new DescribeTopicPartitionsResponse.DescribeTopicPartitionsResponseTopic { ErrorCode = ErrorCode.TopicAuthorizationFailed, Name = name });
                continue;
            }
            var t = broker.Logs.Get(name);
            if (t is null)
            {
                resp.Topics.Add(new DescribeTopicPartitionsResponse.DescribeTopicPartitionsResponseTopic { ErrorCode = ErrorCode.UnknownTopicOrPartition, Name = name });
                continue;
            }
            var topic = new DescribeTopicPartitionsResponse.DescribeTopicPartitionsResponseTopic
            {
                Name = t.Name, TopicId = t.Id, IsInternal = t.Name.StartsWith("__", StringComparison.Ordinal),
            };
            int count = t.Partitions.Length;
            for (int p = first; p < count; p++)
            {
                if (taken == limit)
                {
                    // full: the client continues from here
                    if (topic.Partitions.Count > 0) resp.Topics.Add(topic);
                    resp.NextCursor = new DescribeTopicPartitionsResponse.CursorData { TopicName = t.Name, PartitionIndex = p };
                    return new(resp);
                }
                var state = broker.Cluster.Partition(t, p);
                topic.Partitions.Add(new DescribeTopicPartitionsResponse.DescribeTopicPartitionsResponsePartition
                {
                    ErrorCode = state.Leader < 0 ? ErrorCode.LeaderNotAvailable : ErrorCode.None,
                    PartitionIndex = p, LeaderId = state.Leader, LeaderEpoch = state.LeaderEpoch,
                    ReplicaNodes = [.. state.Replicas], IsrNodes = [.. state.Isr], EligibleLeaderReplicas = [], LastKnownElr = [],
                    OfflineReplicas = [.. broker.Cluster.Offline(state)],
                });
                taken++;
            }
            resp.Topics.Add(topic);
            if (taken == limit && names.IndexOf(name) < names.Count - 1)
            {
                // exactly full at a topic's end: the next topic starts the next page
                resp.NextCursor = new DescribeTopicPartitionsResponse.CursorData { TopicName = names[names.IndexOf(name) + 1], PartitionIndex = 0 };
                return new(resp);
            }
        }
        return new(resp);
    }

    /// <summary>Kafka's error answer: every requested topic with the error.</summary>
    protected override DescribeTopicPartitionsResponse? ErrorResponse(DescribeTopicPartitionsRequest request, ErrorCode error) => new()
    {
        Topics = request.Topics.Select(t => new DescribeTopicPartitionsResponse.DescribeTopicPartitionsResponseTopic { Name = t.Name, ErrorCode = error }).ToList(),
    };

    protected override IEnumerable<Requirement> Requires(DescribeTopicPartitionsRequest request, short version) => Nothing;
}
