// Transactional offset commits (TxnOffsetCommit): the offsets are written to __consumer_offsets inside the
// producer's transaction (a transactional batch with its producer id and epoch) and held pending; the COMMIT marker
// the transaction coordinator writes to the group's offsets partition makes them the group's committed offsets,
// an ABORT drops them. Loading replays the same records and markers through the coordinator runtime.
using KafkaCompat.Broker.Coordinator;
using KafkaCompat.Protocol;

namespace KafkaCompat.Broker.Groups;

public sealed partial class GroupCoordinator
{
    private readonly CoordinatorRuntime _runtime;

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
        if (Availability is var a && a != ErrorCode.None) return All(a);
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

    /// <summary>Replay of a record of __consumer_offsets: during a load it is collected (the groups are built at the end);
    /// live, an offset record becomes the group's committed offset (a tombstone removes it) and a transactional one is
    /// held pending. Group metadata records change nothing live: membership is the live state they are written from.</summary>
    private void ReplayRecord(CoordinatorRecord rec)
    {
        OffsetKey? ok;
        string? g;
        try
        {
            (ok, g) = GroupRecords.ReadKey(rec.Key);
        }
        catch (FormatException e)
        {
            LogBadRecord(_logger, rec.Partition, rec.Offset, e.Message);
            return;
        }
        CommittedOffset? value = null;
        StoredGroup? groupValue = null;
        try
        {
            if (ok != null && rec.Value is { } v) value = GroupRecords.ReadOffsetValue(v);
            else if (g != null && rec.Value is { } v2) groupValue = GroupRecords.ReadGroupValue(v2);
        }
        catch (FormatException e)
        {
            LogBadRecord(_logger, rec.Partition, rec.Offset, e.Message);
            return;
        }
        if (_load is { } load)
        {
            if (rec.Transactional && ok != null)
            {
                if (!load.Pending.TryGetValue((rec.Partition, rec.ProducerId), out var list)) load.Pending[(rec.Partition, rec.ProducerId)] = list = new();
                list.Add((ok, value));
            }
            else if (ok != null) load.Offsets[ok] = value;
            else if (g != null) load.GroupValues[g] = groupValue;
            return;
        }
        if (ok is null || !_groups.TryGetValue(ok.Group, out var group)) return;
        lock (group)
        {
            if (rec.Transactional)
            {
                if (value is null) return;
                if (!group.PendingTxnOffsets.TryGetValue(rec.ProducerId, out var pending)) group.PendingTxnOffsets[rec.ProducerId] = pending = new();
                pending[(ok.Topic, ok.Partition)] = value;
            }
            else if (value is null) group.Offsets.Remove((ok.Topic, ok.Partition));
            else group.Offsets[(ok.Topic, ok.Partition)] = value;
        }
    }

    /// <summary>Replay of a marker on an offsets partition: the producer's pending offsets are committed or dropped.</summary>
    private void ReplayMarker(int partition, long producerId, bool commit)
    {
        if (_load is { } load)
        {
            if (load.Pending.Remove((partition, producerId), out var list) && commit)
                foreach (var (key, value) in list) load.Offsets[key] = value;
            return;
        }
        foreach (var group in _groups.Values)
        {
            if (group.LogPartition != partition) continue;
            lock (group)
            {
                if (!group.PendingTxnOffsets.Remove(producerId, out var pending) || !commit) continue;
                foreach (var (tp, value) in pending) group.Offsets[tp] = value;
            }
        }
    }
}
