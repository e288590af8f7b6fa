// OffsetForLeaderEpoch (key 23): versions 0-4. A consumer (replica id -1) asks where a leader epoch ended, to check
// that its position is still on the log after a leader change (librdkafka 2.x validates positions with it). Answered
// from the partition's epoch cache (leader-epoch-checkpoint) as Kafka does: the largest epoch not above the one asked
// and the offset where the next began (the log end offset for the current epoch); (-1, -1) for a newer epoch. v2+
// carries the caller's current leader epoch: older than ours is FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH. Only
// the partition's leader answers (NOT_LEADER_OR_FOLLOWER elsewhere).
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class OffsetForLeaderEpochHandler : ApiHandler<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>
{
    protected override ValueTask<OffsetForLeaderEpochResponse?> Handle(RequestContext ctx, OffsetForLeaderEpochRequest req)
    {
        var resp = new OffsetForLeaderEpochResponse();
        foreach (var t in req.Topics)
        {
            var tr = new OffsetForLeaderEpochResponse.OffsetForLeaderTopicResult { Topic = t.Topic };
            resp.Topics.Add(tr);
            var topic = ctx.Broker.Logs.Get(t.Topic);
            // CLUSTER_ACTION on the cluster (a replica), else DESCRIBE on the topic
            bool denied = !ctx.Authorize(AclOperation.ClusterAction, AclResourceType.Cluster, Authorizer.ClusterName)
                && !ctx.Authorize(AclOperation.Describe, AclResourceType.Topic, t.Topic);
            foreach (var p in t.Partitions)
            {
                var pr = new OffsetForLeaderEpochResponse.EpochEndOffset { Partition = p.Partition };
                tr.Partitions.Add(pr);
                if (denied)
                    pr.ErrorCode = ErrorCode.TopicAuthorizationFailed;
                else if (topic is null || p.Partition < 0 || p.Partition >= topic.Partitions.Length)
                    pr.ErrorCode = ErrorCode.UnknownTopicOrPartition;
                else if (Leadership.Check(ctx, topic, p.Partition, ctx.ApiVersion >= 2 ? p.CurrentLeaderEpoch : -1) is var lead and not ErrorCode.None)
                    pr.ErrorCode = lead;
                else
                    (pr.LeaderEpoch, pr.EndOffset) = topic.Partitions[p.Partition].EndOffsetForEpoch(p.LeaderEpoch);
            }
        }
        return new(resp);
    }

    protected override IEnumerable<Requirement> Requires(OffsetForLeaderEpochRequest request, short version) => Nothing;
}
