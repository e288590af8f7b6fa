// The group coordinator's log: __consumer_offsets on the coordinator runtime. Writes go through the runtime;
// replay is the one function that applies offset records (committed, tombstoned, pending in a transaction) and
// markers to memory, live and when loading. Group metadata records persist membership for the next start.
using KafkaCompat.Broker.Coordinator;
using KafkaCompat.Protocol;
using KafkaCompat.Records;
using KafkaCompat.Storage;
using Microsoft.Extensions.Logging;

namespace KafkaCompat.Broker.Groups;

public sealed partial class GroupCoordinator
{
    private readonly CoordinatorRuntime _runtime;

    /// <summary>Writes the group's metadata (members and assignment). Caller holds the group lock.</summary>
    private ErrorCode StoreGroup(ClassicGroup group)
    {
        var stored = new StoredGroup(group.ProtocolType ?? "", group.GenerationId, group.ProtocolName, group.LeaderId, group.StateTimestamp,
            group.Members.Values.Select(m => new StoredMember(m.MemberId, m.GroupInstanceId, m.ClientId, m.ClientHost,
                m.RebalanceTimeoutMs, m.SessionTimeoutMs,
                group.ProtocolName != null && m.Protocols.Exists(p => p.Name == group.ProtocolName) ? m.MetadataFor(group.ProtocolName) : [],
                m.Assignment)).ToList());
        return Append(group.LogPartition, [(GroupRecords.GroupKeyBytes(group.GroupId), GroupRecords.GroupValueBytes(stored))]);
    }

    /// <summary>Writes records to the group's offsets partition through the coordinator runtime, whose replay applies
    /// offset records to the group (the same function loading uses). Kafka's error for an oversized commit is
    /// INVALID_COMMIT_OFFSET_SIZE.</summary>
    private ErrorCode Append(int partition, List<(byte[] Key, byte[]? Value)> records)
    {
        var err = _runtime.Write(partition, records);
        return err == ErrorCode.RecordListTooLarge ? ErrorCode.InvalidCommitOffsetSize : err;
    }

    // what a load collects before the groups are built; null outside a load
    private LoadState? _load;

    private sealed class LoadState(int? partition)
    {
        /// <summary>True when records of <paramref name="p"/> are being loaded (every partition at start, one after a
        /// leader move); records of the others are live writes, applied as usual.</summary>
        public bool Covers(int p) => partition is not { } only || only == p;

        public readonly Dictionary<string, StoredGroup?> GroupValues = new(StringComparer.Ordinal);
        public readonly Dictionary<OffsetKey, CommittedOffset?> Offsets = new();
        /// <summary>Transactional offset commits whose marker has not been read yet, by (partition, producer id).</summary>
        public readonly Dictionary<(int Partition, long ProducerId), List<(OffsetKey Key, CommittedOffset? Value)>> Pending = new();
    }

    // one load at a time: the one at start, then one per leader move of an offsets partition
    private readonly object _loadLock = new();

    /// <summary>Reads __consumer_offsets (or one partition of it) and builds its groups. Caller holds the load lock.</summary>
    private void Load(int? partition = null)
    {
        var started = Now;
        var load = _load = new LoadState(partition);
        long records;
        try
        {
            records = _runtime.Load(partition);
        }
        finally
        {
            _load = null;
        }
        var groupValues = load.GroupValues;
        var offsets = load.Offsets;
        long now = Now;
        foreach (var (name, stored) in groupValues)
        {
            if (stored == null) continue;
            var group = _groups.GetOrAdd(name, id => new ClassicGroup(id, PartitionFor(id)));
            group.ProtocolType = stored.ProtocolType.Length > 0 ? stored.ProtocolType : null;
            group.GenerationId = stored.Generation;
            group.ProtocolName = stored.Protocol;
            group.LeaderId = stored.Leader;
            if (stored.StateTimestamp > 0) group.StateTimestamp = stored.StateTimestamp;
            foreach (var m in stored.Members)
            {
                var member = new GroupMember
                {
                    MemberId = m.MemberId,
                    GroupInstanceId = m.GroupInstanceId,
                    ClientId = m.ClientId,
                    ClientHost = m.ClientHost,
                    RebalanceTimeoutMs = m.RebalanceTimeoutMs,
                    SessionTimeoutMs = m.SessionTimeoutMs,
                    ProtocolType = stored.ProtocolType,
                    Protocols = [(stored.Protocol ?? "", m.Subscription)],
                    Assignment = m.Assignment,
                    HeartbeatDeadline = now + m.SessionTimeoutMs,
                };
                group.Members[member.MemberId] = member;
                if (member.GroupInstanceId != null) group.StaticMembers[member.GroupInstanceId] = member.MemberId;
            }
            group.State = group.Members.Count > 0 ? GroupState.Stable : GroupState.Empty;
        }
        int offsetCount = 0;
        foreach (var (key, value) in offsets)
        {
            if (value == null) continue;
            var group = _groups.GetOrAdd(key.Group, id => new ClassicGroup(id, PartitionFor(id)));
            group.Offsets[(key.Topic, key.Partition)] = value;
            offsetCount++;
        }
        // transactions still open at the stop: their offsets stay pending until the transaction coordinator ends them
        foreach (var ((_, pid), list) in load.Pending)
            foreach (var (key, value) in list)
                if (value != null)
                {
                    var group = _groups.GetOrAdd(key.Group, id => new ClassicGroup(id, PartitionFor(id)));
                    if (!group.PendingTxnOffsets.TryGetValue(pid, out var pending)) group.PendingTxnOffsets[pid] = pending = new();
                    pending[(key.Topic, key.Partition)] = value;
                }
        LogLoaded(_logger, partition?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "all", groupValues.Count, offsetCount, records, Now - started);
    }

    /// <summary>An offsets partition is getting a new leader: its groups answer COORDINATOR_LOAD_IN_PROGRESS until
    /// <see cref="Reload"/> has read it again. Called while the cluster changes; does not block.</summary>
    public void MarkLoading(int partition) => _runtime.MarkLoading(partition);

    /// <summary>What Kafka's coordinators do when an offsets partition moves: the groups kept in it are unloaded (joins
    /// and syncs waiting on them are answered NOT_COORDINATOR, as the old coordinator answers them) and the new
    /// coordinator loads them from the partition. State only the old coordinator held in memory (a rebalance in
    /// progress, members that had not synced) is gone; what was written (generations, members, assignments,
    /// offsets, consumer-group epochs) is back, and sessions start again from now.</summary>
    public void Reload(int partition)
    {
        lock (_loadLock)
        {
            try
            {
                _runtime.BeginLoad(partition);
                if (_loading || _shutdown) return; // the load at start reads it anyway
                foreach (var group in _groups.Values)
                {
                    if (group.LogPartition != partition) continue;
                    lock (group)
                    {
                        Unload(group);
                        _groups.TryRemove(new(group.GroupId, group));
                    }
                }
                Load(partition);
                foreach (var group in _groups.Values)
                    if (group.LogPartition == partition)
                        lock (group) Arm(group);
                ScheduleLoadedConsumerMembers(partition);
            }
            catch (Exception e)
            {
                LogLoadFailed(_logger, e);
            }
            finally
            {
                _runtime.EndLoad(partition);
            }
        }
    }


    /// <summary>Replay of a record of __consumer_offsets: during a load it is collected (the groups are built at the end);
    /// live, an offset record becomes the group's committed offset (a tombstone removes it) and a transactional one is
    /// held pending. Group metadata records change nothing live: membership is the live state they are written from.</summary>
    private void ReplayRecord(CoordinatorRecord rec)
    {
        if (ConsumerGroupRecords.IsConsumerKey(ConsumerGroupRecords.PeekKeyVersion(rec.Key)))
        {
            // consumer group records apply the same way live and when loading (they come in log order)
            try
            {
                ReplayConsumerRecord(ConsumerGroupRecords.ReadKey(rec.Key), rec.Value);
            }
            catch (FormatException e)
            {
                LogBadRecord(_logger, rec.Partition, rec.Offset, e.Message);
            }
            return;
        }
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
        if (_load is { } load && load.Covers(rec.Partition))
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
        if (_load is { } load && load.Covers(partition))
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
