// AlterPartitionReassignments (key 45): versions 0-1, and ListPartitionReassignments (key 46): version 0. The
// emulated replicas share one log, so a reassignment completes as it is made: the new replicas are in sync at once,
// the leader stays when it is among them (else the first live new replica leads, with a new epoch), and nothing is
// ever listed as in progress. Checks as Kafka's controller: replicas on registered brokers, none twice
// (INVALID_REPLICA_ASSIGNMENT); v1's allow_replication_factor_change false refuses a different count
// (INVALID_REPLICATION_FACTOR); null replicas cancel a reassignment (NO_REASSIGNMENT_IN_PROGRESS: none is pending).
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class AlterPartitionReassignmentsHandler : ApiHandler<AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse>
{
    protected override ValueTask<AlterPartitionReassignmentsResponse?> Handle(RequestContext ctx, AlterPartitionReassignmentsRequest req)
    {
        var broker = ctx.Broker;
        var resp = new AlterPartitionReassignmentsResponse { AllowReplicationFactorChange = req.AllowReplicationFactorChange };
        bool allowRfChange = ctx.ApiVersion < 1 || req.AllowReplicationFactorChange;
        foreach (var t in req.Topics)
        {
            var tr = new AlterPartitionReassignmentsResponse.ReassignableTopicResponse { Name = t.Name };
            resp.Responses.Add(tr);
            var topic = broker.Logs.Get(t.Name);
            foreach (var p in t.Partitions)
            {
                var pr = new AlterPartitionReassignmentsResponse.ReassignablePartitionResponse { PartitionIndex = p.PartitionIndex };
                tr.Partitions.Add(pr);
                (pr.ErrorCode, pr.ErrorMessage) = topic is null || p.PartitionIndex < 0 || p.PartitionIndex >= topic.Partitions.Length
                    ? (ErrorCode.UnknownTopicOrPartition, "The topic or partition does not exist.")
                    : p.Replicas is null
                        ? (ErrorCode.NoReassignmentInProgress, $"Unable to cancel reassignment for partition {t.Name}-{p.PartitionIndex}: no reassignment is in progress.")
                        : broker.ReassignPartition(topic, p.PartitionIndex, p.Replicas, allowRfChange);
            }
        }
        return new(resp);
    }

    protected override IEnumerable<Requirement> Requires(AlterPartitionReassignmentsRequest request, short version) => [Requirement.Cluster(AclOperation.Alter)];
}

public sealed class ListPartitionReassignmentsHandler : ApiHandler<ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse>
{
    /// <summary>Reassignments complete as they are made: none is ever ongoing.</summary>
    protected override ValueTask<ListPartitionReassignmentsResponse?> Handle(RequestContext ctx, ListPartitionReassignmentsRequest req) =>
        new(new ListPartitionReassignmentsResponse());

    protected override IEnumerable<Requirement> Requires(ListPartitionReassignmentsRequest request, short version) => [Requirement.Cluster(AclOperation.Describe)];
}
