// The offset manager of the group coordinator: OffsetCommit and OffsetFetch, OffsetDelete, offsets of deleted topics,
// and offset expiry (offsets.retention.minutes, KIP-496). Every change is written to __consumer_offsets through the
// coordinator runtime and reaches memory through its replay (GroupCoordinator.Log.cs).
using KafkaCompat.Broker.Coordinator;
using KafkaCompat.Protocol;
using KafkaCompat.Records;
using KafkaCompat.Storage;
using Microsoft.Extensions.Logging;

namespace KafkaCompat.Broker.Groups;

public sealed partial class GroupCoordinator
{
    // ------------------------------------------------------------------ Offsets

    public List<(CommitEntry Entry, ErrorCode Error)> Commit(string groupId, int generationId, string memberId, string? groupInstanceId,
        long retentionTimeMs, IReadOnlyList<CommitEntry> entries, short apiVersion = 9)
    {
        List<(CommitEntry, ErrorCode)> All(ErrorCode e) => entries.Select(x => (x, e)).ToList();
        if (AvailabilityOf(groupId) is var a && a != ErrorCode.None) return All(a);
        // like Kafka, OffsetCommit accepts any non-null group id (an empty one included)

        if (!_groups.TryGetValue(groupId, out var group))
        {
            // a group that does not use group management may commit with generation -1; a generation or member epoch
            // for a group that does not exist is GROUP_ID_NOT_FOUND from v9 (for both protocols), ILLEGAL_GENERATION before
            if (generationId >= 0) return All(apiVersion >= 9 ? ErrorCode.GroupIdNotFound : ErrorCode.IllegalGeneration);
            group = LiveGroup(groupId);
        }
        lock (group)
        {
            try
            {
                ErrorCode groupError = ErrorCode.None;
                GroupMember? member = null;
                if (group.Is(GroupState.Dead)) groupError = ErrorCode.CoordinatorNotAvailable;
                else if (group.Consumer is { } cg) groupError = CheckConsumerMember(cg, memberId, generationId, apiVersion < 9 ? ErrorCode.UnsupportedVersion : ErrorCode.None);
                else if (generationId < 0 && group.Is(GroupState.Empty)) groupError = ErrorCode.None;
                else if (group.IsStaticMemberFenced(groupInstanceId, memberId)) groupError = ErrorCode.FencedInstanceId;
                else if (!group.Members.TryGetValue(memberId, out member)) groupError = ErrorCode.UnknownMemberId;
                else if (generationId != group.GenerationId) groupError = ErrorCode.IllegalGeneration;
                // member and generation are current, so it has seen the JoinGroup answer: it must sync before committing
                else if (group.Is(GroupState.CompletingRebalance)) groupError = ErrorCode.RebalanceInProgress;
                if (groupError != ErrorCode.None) return All(groupError);
                if (member != null) member.HeartbeatDeadline = Now + member.SessionTimeoutMs;

                var (results, toWrite) = CheckEntries(entries, retentionTimeMs);
                if (toWrite.Count > 0)
                {
                    var err = Append(group.LogPartition, toWrite.Select(w =>
                        (GroupRecords.OffsetKeyBytes(groupId, w.Entry.Topic, w.Entry.Partition), (byte[]?)GroupRecords.OffsetValueBytes(w.Value))).ToList());
                    if (err != ErrorCode.None)
                        return results.Select(r => (r.Item1, r.Item2 == ErrorCode.None ? err : r.Item2)).ToList();
                }
                return results;
            }
            finally
            {
                Arm(group);
            }
        }
    }

    /// <summary>The entries of a commit (plain or transactional): each gets UNKNOWN_TOPIC_OR_PARTITION,
    /// OFFSET_METADATA_TOO_LARGE, or the value to write.</summary>
    private (List<(CommitEntry Entry, ErrorCode Error)> Results, List<(CommitEntry Entry, CommittedOffset Value)> ToWrite) CheckEntries(
        IReadOnlyList<CommitEntry> entries, long retentionTimeMs)
    {
        long now = WallClock;
        var results = new List<(CommitEntry, ErrorCode)>(entries.Count);
        var toWrite = new List<(CommitEntry Entry, CommittedOffset Value)>();
        foreach (var e in entries)
        {
            var topic = _broker.Logs.Get(e.Topic);
            if (topic == null || e.Partition < 0 || e.Partition >= topic.Partitions.Length)
                results.Add((e, ErrorCode.UnknownTopicOrPartition));
            else if (e.Metadata != null && e.Metadata.Length > Cfg.OffsetMetadataMaxBytes)
                results.Add((e, ErrorCode.OffsetMetadataTooLarge));
            else
            {
                long commitTs = e.CommitTimestamp >= 0 ? e.CommitTimestamp : now;
                // only v2-4's retention time sets an explicit expiry; a v1 commit timestamp does not
                long expire = retentionTimeMs >= 0 ? now + retentionTimeMs : -1;
                toWrite.Add((e, new CommittedOffset(e.Offset, e.LeaderEpoch, e.Metadata ?? "", commitTs, expire)));
                results.Add((e, ErrorCode.None));
            }
        }
        return (results, toWrite);
    }

    /// <summary>Kafka's checks of a commit (or, from OffsetFetch v9, a fetch) against a consumer group: without a member
    /// epoch only while the group is empty; otherwise the member must exist (UNKNOWN_MEMBER_ID) at exactly that epoch
    /// (STALE_MEMBER_EPOCH). <paramref name="oldVersion"/> is the error for a member using an OffsetCommit version that
    /// cannot carry an epoch.</summary>
    private static ErrorCode CheckConsumerMember(ConsumerGroup cg, string? memberId, int memberEpoch, ErrorCode oldVersion)
    {
        if (memberEpoch < 0 && (cg.Members.Count == 0 || memberId is null)) return ErrorCode.None;
        if (memberId is null || !cg.Members.TryGetValue(memberId, out var member)) return ErrorCode.UnknownMemberId;
        if (oldVersion != ErrorCode.None) return oldVersion;
        return memberEpoch == member.MemberEpoch ? ErrorCode.None : ErrorCode.StaleMemberEpoch;
    }

    /// <summary>Committed offsets of a group; <paramref name="partitions"/> null means every partition with a committed offset.
    /// A consumer-protocol member fetching with its member id and epoch (OffsetFetch v9+) is checked like a commit.</summary>
    public (ErrorCode Error, List<FetchedOffset> Offsets) FetchOffsets(string groupId, IReadOnlyList<(string Topic, IReadOnlyList<int> Partitions)>? partitions,
        bool requireStable = false, string? memberId = null, int memberEpoch = -1)
    {
        if (AvailabilityOf(groupId) is var a && a != ErrorCode.None) return (a, []);
        var result = new List<FetchedOffset>();
        if (!_groups.TryGetValue(groupId, out var group))
        {
            if (partitions != null)
                foreach (var (t, ps) in partitions)
                    foreach (var p in ps) result.Add(new FetchedOffset(t, p, -1, -1, "", ErrorCode.None));
            return (ErrorCode.None, result);
        }
        lock (group)
        {
            if (group.Consumer is { } cg && CheckConsumerMember(cg, memberId, memberEpoch, ErrorCode.None) is var memberError && memberError != ErrorCode.None)
                return (memberError, []);
            if (partitions == null)
            {
                foreach (var ((t, p), o) in group.Offsets.OrderBy(kv => kv.Key.Topic, StringComparer.Ordinal).ThenBy(kv => kv.Key.Partition))
                    result.Add(Stable(new FetchedOffset(t, p, o.Offset, o.LeaderEpoch, o.Metadata, ErrorCode.None)));
                return (ErrorCode.None, result);
            }
            foreach (var (t, ps) in partitions)
                foreach (var p in ps)
                    result.Add(Stable(group.Offsets.TryGetValue((t, p), out var o)
                        ? new FetchedOffset(t, p, o.Offset, o.LeaderEpoch, o.Metadata, ErrorCode.None)
                        : new FetchedOffset(t, p, -1, -1, "", ErrorCode.None)));
            return (ErrorCode.None, result);

            // require_stable: a partition with an offset pending in an open transaction is UNSTABLE_OFFSET_COMMIT (retriable)
            FetchedOffset Stable(FetchedOffset f) =>
                requireStable && group.HasPendingTxnOffset(f.Topic, f.Partition) ? f with { Offset = -1, LeaderEpoch = -1, Metadata = "", Error = ErrorCode.UnstableOffsetCommit } : f;
        }
    }

    public (ErrorCode Error, List<(string Topic, int Partition, ErrorCode Error)> Results) DeleteOffsets(string groupId, IReadOnlyList<(string Topic, IReadOnlyList<int> Partitions)> partitions)
    {
        if (string.IsNullOrEmpty(groupId)) return (ErrorCode.InvalidGroupId, []);
        if (AvailabilityOf(groupId) is var a && a != ErrorCode.None) return (a, []);
        if (!_groups.TryGetValue(groupId, out var group)) return (ErrorCode.GroupIdNotFound, []);
        lock (group)
        {
            if (group.Is(GroupState.Dead)) return (ErrorCode.GroupIdNotFound, []);
            HashSet<string>? subscribed = null;
            if (!group.Is(GroupState.Empty))
            {
                subscribed = group.SubscribedTopics();
                if (subscribed == null) return (ErrorCode.NonEmptyGroup, []);
            }
            var results = new List<(string, int, ErrorCode)>();
            var toDelete = new List<(string Topic, int Partition)>();
            foreach (var (t, ps) in partitions)
            {
                var topic = _broker.Logs.Get(t);
                foreach (var p in ps)
                {
                    if (topic == null || p < 0 || p >= topic.Partitions.Length) results.Add((t, p, ErrorCode.UnknownTopicOrPartition));
                    else if (subscribed != null && subscribed.Contains(t)) results.Add((t, p, ErrorCode.GroupSubscribedToTopic));
                    else
                    {
                        results.Add((t, p, ErrorCode.None));
                        if (group.Offsets.ContainsKey((t, p))) toDelete.Add((t, p));
                    }
                }
            }
            var err = DeleteCommitted(group, toDelete);
            return err == ErrorCode.None ? (ErrorCode.None, results) : (err, []);
        }
    }

    /// <summary>A deleted topic takes its committed offsets with it (tombstones in every group that has some).</summary>
    public void OnTopicDeleted(string topic)
    {
        int removed = 0;
        foreach (var group in _groups.Values)
        {
            lock (group)
            {
                var keys = group.Offsets.Keys.Where(k => k.Topic == topic).ToList();
                if (DeleteCommitted(group, keys) == ErrorCode.None) removed += keys.Count;
            }
        }
        if (removed > 0) LogOffsetsOfDeletedTopic(_logger, removed, topic);
    }

    /// <summary>offsets.retention.minutes: offsets of an empty group expire that long after it became empty
    /// (or after the commit, for groups that never used group management); an explicit expiry wins.</summary>
    private void ExpireOffsets()
    {
        long now = WallClock;
        long retention = Cfg.OffsetsRetentionMs;
        int expiredTotal = 0;
        foreach (var group in _groups.Values)
        {
            lock (group)
            {
                // an empty group: every offset may expire; a stable "consumer" group (KIP-496): offsets of topics
                // no member subscribes to any more, counted from their commit; other groups keep their offsets
                HashSet<string>? subscribed = null;
                if (group.Consumer is { Members.Count: > 0 }) continue; // a consumer group with members keeps its offsets
                if (group.Is(GroupState.Stable))
                {
                    subscribed = group.SubscribedTopics();
                    if (subscribed == null) continue;
                }
                else if (!group.Is(GroupState.Empty)) continue;
                var expired = group.Offsets.Where(kv =>
                {
                    var o = kv.Value;
                    if (subscribed != null && subscribed.Contains(kv.Key.Topic)) return false;
                    if (o.ExpireTimestamp >= 0) return now >= o.ExpireTimestamp;
                    long baseTs = subscribed == null && group.ProtocolType is { Length: > 0 } ? group.StateTimestamp : o.CommitTimestamp;
                    return now - baseTs >= retention;
                }).Select(kv => kv.Key).ToList();
                if (DeleteCommitted(group, expired) != ErrorCode.None) continue;
                expiredTotal += expired.Count;
                if (group.Is(GroupState.Empty) && group.Offsets.Count == 0 && group.Members.Count == 0 && group.PendingMembers.Count == 0
                    && Now - group.LastUsed >= Cfg.OffsetsRetentionCheckIntervalMs)
                    RemoveGroup(group);
            }
        }
        if (expiredTotal > 0) LogOffsetsExpired(_logger, expiredTotal);
    }

    /// <summary>Tombstones the given committed offsets (and, with <paramref name="groupToo"/>, the group's metadata) in one
    /// batch, then forgets them; nothing is forgotten if the write fails. Caller holds the group lock.</summary>
    private ErrorCode DeleteCommitted(ClassicGroup group, IReadOnlyCollection<(string Topic, int Partition)> offsets, bool groupToo = false)
    {
        if (offsets.Count == 0 && !groupToo) return ErrorCode.None;
        var tombstones = offsets.Select(k => (GroupRecords.OffsetKeyBytes(group.GroupId, k.Topic, k.Partition), (byte[]?)null)).ToList();
        if (groupToo) tombstones.Add((GroupRecords.GroupKeyBytes(group.GroupId), null));
        if (groupToo && group.Consumer != null) tombstones.AddRange(ConsumerGroupTombstones(group));
        return Append(group.LogPartition, tombstones);
    }

}
