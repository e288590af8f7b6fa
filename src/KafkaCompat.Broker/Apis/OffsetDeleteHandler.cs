// OffsetDelete (key 47): version 0. Deletes committed offsets of partitions the group does not consume:
// GROUP_SUBSCRIBED_TO_TOPIC for topics an active "consumer" group subscribes to.
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class OffsetDeleteHandler : ApiHandler<OffsetDeleteRequest, OffsetDeleteResponse>
{
    protected override ValueTask<OffsetDeleteResponse?> Handle(RequestContext ctx, OffsetDeleteRequest req)
    {
        var refused = req.Topics.Where(t => !ctx.Authorize(AclOperation.Read, AclResourceType.Topic, t.Name)).ToList();
        var wanted = req.Topics.Except(refused).Select(t => (t.Name, (IReadOnlyList<int>)t.Partitions.Select(p => p.PartitionIndex).ToList())).ToList();
        var (error, results) = ctx.Broker.Groups.DeleteOffsets(req.GroupId, wanted);
        var resp = new OffsetDeleteResponse { ErrorCode = error };
        // READ on each topic: the partitions of a refused one are TOPIC_AUTHORIZATION_FAILED
        foreach (var t in refused)
            resp.Topics.Add(new OffsetDeleteResponse.OffsetDeleteResponseTopic
            {
                Name = t.Name,
                Partitions = [.. t.Partitions.Select(p => new OffsetDeleteResponse.OffsetDeleteResponsePartition { PartitionIndex = p.PartitionIndex, ErrorCode = ErrorCode.TopicAuthorizationFailed })],
            });
        foreach (var byTopic in results.GroupBy(r => r.Topic, StringComparer.Ordinal))
        {
            var topic = new OffsetDeleteResponse.OffsetDeleteResponseTopic { Name = byTopic.Key };
            foreach (var r in byTopic)
                topic.Partitions.Add(new OffsetDeleteResponse.OffsetDeleteResponsePartition { PartitionIndex = r.Partition, ErrorCode = r.Error });
            resp.Topics.Add(topic);
        }
        return new(resp);
    }

    protected override (string Key, bool Transaction)? Coordinated(OffsetDeleteRequest request, short version) => (request.GroupId, false);

    protected override IEnumerable<Requirement> Requires(OffsetDeleteRequest request, short version) => [Requirement.Group(AclOperation.Delete, request.GroupId)];
}
