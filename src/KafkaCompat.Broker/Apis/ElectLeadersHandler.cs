// ElectLeaders (key 43): versions 0-2. Type 0 (the only one before v1) brings back the preferred leader, the first
// assigned replica, when it is live and in sync; type 1 (unclean) gives a partition without a leader its first live
// replica. Per partition: ELECTION_NOT_NEEDED when nothing changes, PREFERRED_LEADER_NOT_AVAILABLE or
// ELIGIBLE_LEADERS_NOT_AVAILABLE when no replica can lead, UNKNOWN_TOPIC_OR_PARTITION. Null topics: every partition,
// and the answer lists only the partitions that got a new leader (as Kafka's controller does).
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class ElectLeadersHandler : ApiHandler<ElectLeadersRequest, ElectLeadersResponse>
{
    protected override ValueTask<ElectLeadersResponse?> Handle(RequestContext ctx, ElectLeadersRequest req)
    {
        var broker = ctx.Broker;
        var resp = new ElectLeadersResponse();
        sbyte type = ctx.ApiVersion >= 1 ? req.ElectionType : (sbyte)0;
        if (type is not (0 or 1))
        {
            resp.ErrorCode = ErrorCode.InvalidRequest;
            return new(resp);
        }
        bool all = req.TopicPartitions is null;
        var wanted = all
            ? broker.Logs.Topics.OrderBy(t => t.Name, StringComparer.Ordinal).Select(t => (t.Name, (IReadOnlyList<int>)Enumerable.Range(0, t.Partitions.Length).ToList()))
            : req.TopicPartitions!.Select(t => (t.Topic, (IReadOnlyList<int>)t.Partitions));
        foreach (var (name, partitions) in wanted)
        {
            var result = new ElectLeadersResponse.ReplicaElectionResult { Topic = name };
            var topic = broker.Logs.Get(name);
            foreach (int p in partitions)
            {
                var r = new ElectLeadersResponse.PartitionElectionResult { PartitionId = p };
                if (topic is null || p < 0 || p >= topic.Partitions.Length)
                {
                    r.ErrorCode = ErrorCode.UnknownTopicOrPartition;
                    r.ErrorMessage = "The topic or partition does not exist.";
                }
                else
                {
                    r.ErrorCode = type == 0 ? broker.Cluster.ElectPreferred(topic, p) : broker.Cluster.ElectUnclean(topic, p);
                    r.ErrorMessage = r.ErrorCode switch
                    {
                        ErrorCode.None => null,
                        ErrorCode.ElectionNotNeeded => "Leader election not needed for topic partition.",
                        ErrorCode.PreferredLeaderNotAvailable => $"Failed to elect leader for partition {name}-{p} under strategy PreferredReplicaPartitionLeaderElectionStrategy",
                        _ => $"Failed to elect leader for partition {name}-{p} under strategy UncleanLeaderElectionStrategy",
                    };
                }
                if (!all || r.ErrorCode == ErrorCode.None) result.PartitionResult.Add(r);
            }
            if (!all || result.PartitionResult.Count > 0) resp.ReplicaElectionResults.Add(result);
        }
        return new(resp);
    }

    protected override IEnumerable<Requirement> Requires(ElectLeadersRequest request, short version) => [Requirement.Cluster(AclOperation.Alter)];
}
