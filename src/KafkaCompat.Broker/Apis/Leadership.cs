// What the partition APIs (Produce, Fetch, ListOffsets, OffsetForLeaderEpoch, DeleteRecords) check before serving a
// partition on a broker of the cluster: that this broker leads it (NOT_LEADER_OR_FOLLOWER otherwise, with the current
// leader where the version carries it, KIP-951), and that the client's current leader epoch is ours
// (FENCED_LEADER_EPOCH when older, UNKNOWN_LEADER_EPOCH when newer), as Kafka's partition does.
using KafkaCompat.Broker.Cluster;
using KafkaCompat.Protocol;
using KafkaCompat.Storage;

namespace KafkaCompat.Broker.Apis;

internal static class Leadership
{
    /// <summary>NONE, NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH or UNKNOWN_LEADER_EPOCH for a request on
    /// <paramref name="partition"/> at this broker, given the client's current leader epoch (-1: not checked).</summary>
    public static ErrorCode Check(RequestContext ctx, TopicLogs topic, int partition, int currentLeaderEpoch = -1)
    {
        // a fault armed on this partition
        if (ctx.Broker.Faults.TakePartitionError(ctx.Handler, ctx.NodeId, topic.Name, partition) is { } injected) return injected;
        var cluster = ctx.Broker.Cluster;
        var state = cluster.Partition(topic, partition);
        if (!cluster.SingleNode && state.Leader != ctx.NodeId) return ErrorCode.NotLeaderOrFollower;
        if (currentLeaderEpoch >= 0 && currentLeaderEpoch < state.LeaderEpoch) return ErrorCode.FencedLeaderEpoch;
        if (currentLeaderEpoch > state.LeaderEpoch) return ErrorCode.UnknownLeaderEpoch;
        return ErrorCode.None;
    }

    /// <summary>The live leader of a partition, for the current-leader fields of an error answer; null when none.</summary>
    public static (PartitionState State, BrokerNode? Leader) CurrentLeader(RequestContext ctx, TopicLogs topic, int partition)
    {
        var state = ctx.Broker.Cluster.Partition(topic, partition);
        return (state, ctx.Broker.Cluster.Node(state.Leader) is { Alive: true } node ? node : null);
    }

}
