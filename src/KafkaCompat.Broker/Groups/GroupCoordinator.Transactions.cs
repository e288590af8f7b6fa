// Transactional offset commits (TxnOffsetCommit): the offsets are written to __consumer_offsets inside the
// producer's transaction (a transactional batch with its producer id and epoch) and held pending; the COMMIT marker
// the transaction coordinator writes to the group's offsets partition makes them the group's committed offsets,
// an ABORT drops them. Loading replays the same records and markers through the coordinator runtime.
using KafkaCompat.Broker.Coordinator;
using KafkaCompat.Protocol;

namespace KafkaCompat.Broker.Groups;

public sealed partial class GroupCoordinator
{
    /// <summary>The __consumer_offsets partition of a group, creating the topic when needed (AddOffsetsToTxn).</summary>
    public int OffsetsPartitionFor(string groupId)
    {
        _runtime.Logs();
        return PartitionFor(groupId);
    }

    /// <summary>TxnOffsetCommit: checks the member where one is named (v3+) as Kafka does, then writes the offsets
    /// in the producer's transaction. They become visible when the transaction commits.</summary>
    public List<(CommitEntry Entry, ErrorCode Error)> TxnCommit(string groupId, long producerId, short producerEpoch,
        int generationId, string memberId, string? groupInstanceId, IReadOnlyList<CommitEntry> entries)
    {
        List<(CommitEntry, ErrorCode)> All(ErrorCode e) => entries.Select(x => (x, e)).ToList();
        if (AvailabilityOf(groupId) is var a && a != ErrorCode.None) return All(a);
        // as Kafka: a group that does not exist takes commits without group management only
        if (!_groups.ContainsKey(groupId) && generationId >= 0) return All(ErrorCode.IllegalGeneration);
        var group = LiveGroup(groupId);
        lock (group)
        {
            if (group.Is(GroupState.Dead)) return All(ErrorCode.CoordinatorNotAvailable);
            // a member named in the request must be current (Kafka's classic-group check for transactional commits;
            // unlike OffsetCommit, a rebalance in progress does not refuse it)
            if (memberId.Length > 0 || generationId >= 0 || groupInstanceId != null)
            {
                if (!group.Members.ContainsKey(memberId)) return All(ErrorCode.UnknownMemberId);
                if (group.IsStaticMemberFenced(groupInstanceId, memberId)) return All(ErrorCode.FencedInstanceId);
                if (generationId != group.GenerationId) return All(ErrorCode.IllegalGeneration);
            }
            var (results, checkedEntries) = CheckEntries(entries, retentionTimeMs: -1);
            var toWrite = checkedEntries.Select(w =>
                (GroupRecords.OffsetKeyBytes(groupId, w.Entry.Topic, w.Entry.Partition), (byte[]?)GroupRecords.OffsetValueBytes(w.Value))).ToList();
            var err = _runtime.Write(group.LogPartition, toWrite, producerId, producerEpoch);
            if (err != ErrorCode.None)
                return results.Select(r => (r.Item1, r.Item2 == ErrorCode.None ? err : r.Item2)).ToList();
            return results;
        }
    }

    /// <summary>The transaction coordinator's COMMIT or ABORT for <paramref name="producerId"/> on an offsets partition.</summary>
    public ErrorCode WriteTxnMarker(int partition, long producerId, short epoch, bool commit) =>
        _runtime.WriteMarker(partition, producerId, epoch, commit);
}
