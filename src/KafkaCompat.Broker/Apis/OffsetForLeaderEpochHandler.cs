// OffsetForLeaderEpoch (key 23): versions 0-4. A consumer (replica id -1) asks where a leader epoch ended, to check
// that its position is still on the log after a leader change (librdkafka 2.x validates positions with it). Every
// partition here has had one leader epoch, 0, from offset 0: epoch 0 ends at the log end offset; a later epoch is
// unknown (-1, -1), as from Kafka's epoch cache. v2+ carries the caller's current leader epoch: older than ours is
// FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH.
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class OffsetForLeaderEpochHandler : ApiHandler<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>
{
    /// <summary>The only leader epoch this broker's partitions have had.</summary>
    public const int LeaderEpoch = 0;

    protected override ValueTask<OffsetForLeaderEpochResponse?> Handle(RequestContext ctx, OffsetForLeaderEpochRequest req)
    {
        var resp = new OffsetForLeaderEpochResponse();
        foreach (var t in req.Topics)
        {
            var tr = new OffsetForLeaderEpochResponse.OffsetForLeaderTopicResult { Topic = t.Topic };
            resp.Topics.Add(tr);
            var topic = ctx.Broker.Logs.Get(t.Topic);
            foreach (var p in t.Partitions)
            {
                var pr = new OffsetForLeaderEpochResponse.EpochEndOffset { Partition = p.Partition };
                tr.Partitions.Add(pr);
                if (topic is null || p.Partition < 0 || p.Partition >= topic.Partitions.Length)
                    pr.ErrorCode = ErrorCode.UnknownTopicOrPartition;
                else if (!ctx.Broker.Cluster.SingleNode && ctx.Broker.Cluster.Partition(topic, p.Partition).Leader != ctx.NodeId)
                    pr.ErrorCode = ErrorCode.NotLeaderOrFollower;
                else if (p.CurrentLeaderEpoch >= 0 && p.CurrentLeaderEpoch < LeaderEpoch)
                    pr.ErrorCode = ErrorCode.FencedLeaderEpoch;
                else if (p.CurrentLeaderEpoch > LeaderEpoch)
                    pr.ErrorCode = ErrorCode.UnknownLeaderEpoch;
                else if (p.LeaderEpoch == LeaderEpoch)
                {
                    pr.LeaderEpoch = LeaderEpoch;
                    pr.EndOffset = topic.Partitions[p.Partition].LogEndOffset;
                }
                // any other epoch is not in the epoch cache: UNDEFINED_EPOCH (-1) and UNDEFINED_EPOCH_OFFSET (-1)
            }
        }
        return new(resp);
    }
}
