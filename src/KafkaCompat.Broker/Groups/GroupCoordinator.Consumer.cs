// Consumer groups of the new protocol (KIP-848): ConsumerGroupHeartbeat and ConsumerGroupDescribe. The group
// coordinator owns the target assignment: a heartbeat updates the member, bumps the group epoch when a subscription
// (or a subscribed topic's partitions) changes, recomputes the target with the server-side assignor, and moves the
// member towards it one safe step at a time (revoke first, then assign what is free). Each step is a set of
// __consumer_offsets records written through the coordinator runtime and replayed into memory (ReplayConsumerRecord),
// which is also how a restart reloads the groups with every member keeping its epoch.
using System.Text.RegularExpressions;
using KafkaCompat.Broker.Coordinator;
using KafkaCompat.Protocol;
using Microsoft.Extensions.Logging;

namespace KafkaCompat.Broker.Groups;

public sealed record ConsumerHeartbeatRequest(string GroupId, string MemberId, int MemberEpoch, string? InstanceId, string? RackId,
    int RebalanceTimeoutMs, IReadOnlyList<string>? SubscribedTopicNames, string? SubscribedTopicRegex, string? ServerAssignor,
    TopicPartitions? Owned, string ClientId, string ClientHost, short ApiVersion);

public sealed record ConsumerHeartbeatResult(ErrorCode Error, string? Message, string? MemberId, int MemberEpoch, int HeartbeatIntervalMs,
    TopicPartitions? Assignment)
{
    public static ConsumerHeartbeatResult Failed(ErrorCode error, string? message) => new(error, message, null, 0, 0, null);
}

public sealed record ConsumerGroupDescription(ErrorCode Error, string? Message, string GroupId, string State, int GroupEpoch,
    int AssignmentEpoch, string AssignorName, IReadOnlyList<(ConsumerMember Member, TopicPartitions Target)> Members);

public sealed partial class GroupCoordinator
{
    public const int LeaveEpoch = -1, StaticLeaveEpoch = -2;

    private sealed class HeartbeatException(ErrorCode error, string message) : Exception(message)
    {
        public ErrorCode Error { get; } = error;
    }

    private static HeartbeatException Invalid(string message) => new(ErrorCode.InvalidRequest, message);

    /// <summary>The assignors of group.consumer.assignors, the first being the default.</summary>
    private IReadOnlyList<IConsumerAssignor> ConsumerAssignors =>
        Cfg.GroupConsumerAssignors.Select(Assignors.Find).OfType<IConsumerAssignor>().ToList() is { Count: > 0 } l ? l : [Assignors.Uniform];

    private static string SessionKey(string group, string member) => $"consumer-session/{group}/{member}";
    private static string RebalanceKey(string group, string member) => $"consumer-rebalance/{group}/{member}";

    // ------------------------------------------------------------------ ConsumerGroupHeartbeat

    public ConsumerHeartbeatResult ConsumerHeartbeat(ConsumerHeartbeatRequest req)
    {
        try
        {
            Validate(req);
            if (AvailabilityOf(req.GroupId) is var a && a != ErrorCode.None) return ConsumerHeartbeatResult.Failed(a, null);
            ClassicGroup? group;
            if (req.MemberEpoch == 0) group = LiveGroup(req.GroupId);
            else if (!_groups.TryGetValue(req.GroupId, out group))
                throw new HeartbeatException(ErrorCode.GroupIdNotFound, $"Consumer group {req.GroupId} not found.");
            lock (group)
            {
                if (group.Is(GroupState.Dead)) return ConsumerHeartbeatResult.Failed(ErrorCode.CoordinatorNotAvailable, null);
                return req.MemberEpoch is LeaveEpoch or StaticLeaveEpoch ? Leave(group, req) : Heartbeat(group, req);
            }
        }
        catch (HeartbeatException e)
        {
            return ConsumerHeartbeatResult.Failed(e.Error, e.Message);
        }
    }

    private void Validate(ConsumerHeartbeatRequest req)
    {
        if (req.GroupId.Length == 0) throw Invalid("GroupId can't be empty.");
        if (req.InstanceId is { Length: 0 }) throw Invalid("InstanceId can't be empty.");
        if (req.RackId is { Length: 0 }) throw Invalid("RackId can't be empty.");
        if (req.MemberEpoch > 0 || req.MemberEpoch == LeaveEpoch)
        {
            if (req.MemberId.Length == 0) throw Invalid("MemberId can't be empty.");
        }
        else if (req.MemberEpoch == 0)
        {
            // from v1 the client generates its member id (KIP-1082)
            if (req.ApiVersion >= 1 && req.MemberId.Length == 0) throw Invalid("MemberId can't be empty.");
            if (req.RebalanceTimeoutMs == -1) throw Invalid("RebalanceTimeoutMs must be provided in first request.");
            if (req.Owned is null || req.Owned.Count > 0) throw Invalid("TopicPartitions must be empty when (re-)joining.");
            if (req.SubscribedTopicNames is null && req.SubscribedTopicRegex is null)
                throw Invalid("SubscribedTopicNames or SubscribedTopicRegex must be set in first request.");
        }
        else if (req.MemberEpoch == StaticLeaveEpoch)
        {
            if (req.MemberId.Length == 0) throw Invalid("MemberId can't be empty.");
            if (req.InstanceId is null) throw Invalid("InstanceId can't be null.");
        }
        else throw Invalid("MemberEpoch is invalid.");

        if (req.ServerAssignor != null && !ConsumerAssignors.Any(x => x.Name == req.ServerAssignor))
            throw new HeartbeatException(ErrorCode.UnsupportedAssignor, $"ServerAssignor {req.ServerAssignor} is not supported. Supported assignors: "
                + string.Join(", ", ConsumerAssignors.Select(x => x.Name)) + ".");
        if (req.SubscribedTopicRegex != null) CompileRegex(req.SubscribedTopicRegex);
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Regex> _regexes = new(StringComparer.Ordinal);

    /// <summary>A subscription pattern with RE2's guarantees: matched against the whole topic name, in linear time
    /// (no backtracking); what RE2 does not support (back-references, look-arounds) is INVALID_REGULAR_EXPRESSION.</summary>
    private Regex CompileRegex(string pattern)
    {
        if (_regexes.TryGetValue(pattern, out var r)) return r;
        try
        {
            r = new Regex("^(?:" + pattern + ")$", RegexOptions.NonBacktracking | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException)
        {
            throw new HeartbeatException(ErrorCode.InvalidRegularExpression, $"SubscribedTopicRegex `{pattern}` is not a valid regular expression: {e.Message}");
        }
        if (_regexes.Count > 1000) _regexes.Clear();
        return _regexes.GetOrAdd(pattern, r);
    }

    private ConsumerHeartbeatResult Heartbeat(ClassicGroup group, ConsumerHeartbeatRequest req)
    {
        var records = new List<(byte[] Key, byte[]? Value)>();
        var cg = group.Consumer;
        if (cg is null)
        {
            if (req.MemberEpoch != 0) throw new HeartbeatException(ErrorCode.GroupIdNotFound, $"Consumer group {req.GroupId} not found.");
            if (group.Members.Count > 0 || group.PendingMembers.Count > 0 || !group.Is(GroupState.Empty))
                throw new HeartbeatException(ErrorCode.GroupIdNotFound, $"Group {req.GroupId} is not a consumer group.");
            // an empty classic group becomes a consumer group (Kafka's online upgrade): its classic metadata goes
            if (group.GenerationId > 0 || group.ProtocolType != null) records.Add((GroupRecords.GroupKeyBytes(group.GroupId), null));
            cg = new ConsumerGroup();
        }

        // the member: found, created, or replacing a static member that left temporarily
        string memberId = req.MemberId.Length == 0 ? Guid.NewGuid().ToString() : req.MemberId;
        ConsumerMember member;
        ConsumerMember? replaced = null;
        bool isNew = false;
        if (req.InstanceId is null)
        {
            if (cg.Members.TryGetValue(memberId, out var existing))
            {
                member = existing;
                CheckEpoch(member, req);
            }
            else if (req.MemberEpoch == 0)
            {
                member = new ConsumerMember { MemberId = memberId };
                isNew = true;
            }
            else throw new HeartbeatException(ErrorCode.UnknownMemberId, $"Member {memberId} is not a member of group {req.GroupId}.");
        }
        else
        {
            var holder = cg.StaticMember(req.InstanceId);
            if (req.MemberEpoch == 0)
            {
                if (holder is null)
                {
                    member = cg.Members.TryGetValue(memberId, out var same) ? same : new ConsumerMember { MemberId = memberId };
                    isNew = !cg.Members.ContainsKey(memberId);
                }
                else
                {
                    // the previous instance must have left with epoch -2 first; then the new one takes over its assignment
                    if (holder.MemberEpoch != StaticLeaveEpoch)
                        throw new HeartbeatException(ErrorCode.UnreleasedInstanceId,
                            $"Static member {memberId} with instance id {req.InstanceId} cannot join the group because the instance id is owned by member {holder.MemberId}.");
                    replaced = holder;
                    member = holder with { MemberId = memberId, MemberEpoch = 0, PreviousMemberEpoch = 0 };
                    isNew = true;
                }
            }
            else
            {
                if (holder is null) throw new HeartbeatException(ErrorCode.UnknownMemberId, $"Instance id {req.InstanceId} is unknown.");
                if (holder.MemberId != memberId)
                    throw new HeartbeatException(ErrorCode.FencedInstanceId,
                        $"Static member {memberId} with instance id {req.InstanceId} was fenced by member {holder.MemberId}.");
                member = holder;
                CheckEpoch(member, req);
            }
        }
        if (isNew && replaced is null && cg.Members.Count >= Cfg.GroupConsumerMaxSize)
            throw new HeartbeatException(ErrorCode.GroupMaxSizeReached, $"The consumer group has reached its maximum capacity of {Cfg.GroupConsumerMaxSize} members.");

        // 1. the member's metadata; a changed subscription bumps the group epoch
        var updated = member with
        {
            InstanceId = req.InstanceId ?? member.InstanceId,
            RackId = req.RackId ?? member.RackId,
            RebalanceTimeoutMs = req.RebalanceTimeoutMs != -1 ? req.RebalanceTimeoutMs : member.RebalanceTimeoutMs,
            ServerAssignor = req.ServerAssignor ?? member.ServerAssignor,
            SubscribedTopicNames = req.SubscribedTopicNames is { } names ? names.Distinct().Order(StringComparer.Ordinal).ToList() : member.SubscribedTopicNames,
            SubscribedTopicRegex = req.SubscribedTopicRegex ?? member.SubscribedTopicRegex,
            ClientId = req.ClientId,
            ClientHost = req.ClientHost,
        };
        if (req.SubscribedTopicRegex == "") updated = updated with { SubscribedTopicRegex = null };
        if (replaced != null)
        {
            // the new instance replaces the old one's records: its assignment and target carry over, nothing is reassigned
            records.AddRange(MemberTombstones(group.GroupId, replaced.MemberId));
            records.Add((ConsumerGroupRecords.Key(ConsumerGroupRecords.MemberMetadata, group.GroupId, memberId), ConsumerGroupRecords.MemberMetadataValue(updated)));
            records.Add((ConsumerGroupRecords.Key(ConsumerGroupRecords.TargetMember, group.GroupId, memberId), ConsumerGroupRecords.TargetMemberValue(cg.TargetOf(replaced.MemberId))));
            records.Add((ConsumerGroupRecords.Key(ConsumerGroupRecords.CurrentAssignment, group.GroupId, memberId), ConsumerGroupRecords.CurrentAssignmentValue(updated)));
        }
        else if (isNew || !updated.SameMetadata(member))
            records.Add((ConsumerGroupRecords.Key(ConsumerGroupRecords.MemberMetadata, group.GroupId, memberId), ConsumerGroupRecords.MemberMetadataValue(updated)));
        bool bump = replaced is null && (isNew || !updated.SameSubscription(member));

        // the members as they will be after this heartbeat (copied only when something may change)
        long layout = _broker.Logs.LayoutVersion;
        bool steady = !bump && replaced is null && layout == cg.CheckedLayoutVersion && cg.GroupEpoch == cg.AssignmentEpoch
            && updated.IsReconciledTo(cg.AssignmentEpoch);
        Dictionary<string, ConsumerMember> members;
        SortedDictionary<string, SubscribedTopic> metadata;
        if (steady)
        {
            members = cg.Members;
            metadata = cg.SubscriptionMetadata;
        }
        else
        {
            members = new Dictionary<string, ConsumerMember>(cg.Members, StringComparer.Ordinal);
            if (replaced != null) members.Remove(replaced.MemberId);
            members[memberId] = updated;
            metadata = SubscriptionMetadata(members.Values);
            if (!SameMetadata(metadata, cg.SubscriptionMetadata))
            {
                bump = true;
                records.Add((ConsumerGroupRecords.Key(ConsumerGroupRecords.PartitionMetadata, group.GroupId), ConsumerGroupRecords.PartitionMetadataValue(metadata.Values)));
            }
        }
        int groupEpoch = cg.GroupEpoch;
        if (bump)
        {
            groupEpoch++;
            records.Add((ConsumerGroupRecords.Key(ConsumerGroupRecords.GroupMetadata, group.GroupId), ConsumerGroupRecords.GroupMetadataValue(groupEpoch)));
            LogConsumerEpoch(_logger, group.GroupId, groupEpoch, isNew ? $"member {memberId} joined" : $"the subscriptions of member {memberId} or the subscribed topics changed");
        }

        // 2. a new target assignment when the group epoch moved past it
        int targetEpoch = cg.AssignmentEpoch;
        var targets = replaced is null && groupEpoch <= cg.AssignmentEpoch
            ? cg.TargetAssignment
            : new Dictionary<string, TopicPartitions>(cg.TargetAssignment, StringComparer.Ordinal);
        if (replaced != null && targets.Remove(replaced.MemberId, out var carried)) targets[memberId] = carried;
        if (groupEpoch > cg.AssignmentEpoch)
        {
            var computed = ComputeTarget(members.Values, metadata, targets);
            foreach (var (id, tps) in computed)
                if (!targets.TryGetValue(id, out var old) || !old.SameAs(tps))
                    records.Add((ConsumerGroupRecords.Key(ConsumerGroupRecords.TargetMember, group.GroupId, id), ConsumerGroupRecords.TargetMemberValue(tps)));
            targets = computed;
            targetEpoch = groupEpoch;
            records.Add((ConsumerGroupRecords.Key(ConsumerGroupRecords.TargetMetadata, group.GroupId), ConsumerGroupRecords.TargetMetadataValue(targetEpoch)));
        }

        // 3. the member one step closer to its target
        ConsumerMember reconciled = updated;
        if (!updated.IsReconciledTo(targetEpoch))
        {
            var others = new ConsumerGroup();
            foreach (var (id, m) in members) if (id != memberId) others.Members[id] = m;
            var epochs = others.PartitionEpochs();
            reconciled = Reconciliation.Next(updated, targetEpoch, targets.GetValueOrDefault(memberId) ?? TopicPartitions.Empty,
                (t, p) => epochs.TryGetValue((t, p), out int e) ? e : -1, req.Owned);
        }
        if (!reconciled.SameAssignment(member) || isNew)
            records.Add((ConsumerGroupRecords.Key(ConsumerGroupRecords.CurrentAssignment, group.GroupId, memberId), ConsumerGroupRecords.CurrentAssignmentValue(reconciled)));

        var err = Append(group.LogPartition, records);
        if (err != ErrorCode.None) return ConsumerHeartbeatResult.Failed(err, null);
        if (group.Consumer is { } live) live.CheckedLayoutVersion = layout; // (a new group exists only after the replay)
        if (replaced != null)
        {
            _timers.Cancel(SessionKey(group.GroupId, replaced.MemberId));
            _timers.Cancel(RebalanceKey(group.GroupId, replaced.MemberId));
            LogStaticConsumerReplaced(_logger, group.GroupId, req.InstanceId!, replaced.MemberId, memberId);
        }
        else if (isNew) LogConsumerJoined(_logger, group.GroupId, memberId, req.InstanceId ?? "none");

        ScheduleSession(group.GroupId, memberId);
        if (!reconciled.SameAssignment(member) || isNew)
        {
            if (reconciled.State == MemberState.UnrevokedPartitions) ScheduleRebalanceTimeout(group.GroupId, memberId, reconciled.MemberEpoch, reconciled.RebalanceTimeoutMs);
            else _timers.Cancel(RebalanceKey(group.GroupId, memberId));
        }

        // the assignment goes back on a full request (a join, or a member that lost track) or when it changed
        bool full = req.MemberEpoch == 0 || (req.RebalanceTimeoutMs != -1 && req.SubscribedTopicNames != null && req.Owned != null);
        bool changed = !reconciled.Assigned.SameAs(member.Assigned) || isNew;
        return new ConsumerHeartbeatResult(ErrorCode.None, null, memberId, reconciled.MemberEpoch, Cfg.GroupConsumerHeartbeatIntervalMs,
            full || changed ? reconciled.Assigned : null);
    }

    /// <summary>Kafka's member epoch check: a newer epoch than ours, or an older one that is not the previous epoch
    /// with a subset of the current partitions (a lost response), fences the member.</summary>
    private static void CheckEpoch(ConsumerMember member, ConsumerHeartbeatRequest req)
    {
        if (req.MemberEpoch == 0) return; // a rejoin with the same id
        if (req.MemberEpoch > member.MemberEpoch)
            throw new HeartbeatException(ErrorCode.FencedMemberEpoch, $"The consumer group member has a greater member epoch ({req.MemberEpoch}) than the one known by the group coordinator ({member.MemberEpoch}). The member must abandon all its partitions and rejoin.");
        if (req.MemberEpoch < member.MemberEpoch)
        {
            bool subset = req.Owned != null && req.Owned.All().All(tp => member.Assigned.Contains(tp.Topic, tp.Partition));
            if (req.MemberEpoch != member.PreviousMemberEpoch || !subset)
                throw new HeartbeatException(ErrorCode.FencedMemberEpoch, $"The consumer group member has a smaller member epoch ({req.MemberEpoch}) than the one known by the group coordinator ({member.MemberEpoch}). The member must abandon all its partitions and rejoin.");
        }
    }

    private ConsumerHeartbeatResult Leave(ClassicGroup group, ConsumerHeartbeatRequest req)
    {
        var cg = group.Consumer ?? throw new HeartbeatException(ErrorCode.GroupIdNotFound, $"Consumer group {req.GroupId} not found.");
        ConsumerMember member;
        if (req.InstanceId is null)
        {
            if (!cg.Members.TryGetValue(req.MemberId, out member!))
                throw new HeartbeatException(ErrorCode.UnknownMemberId, $"Member {req.MemberId} is not a member of group {req.GroupId}.");
        }
        else
        {
            member = cg.StaticMember(req.InstanceId) ?? throw new HeartbeatException(ErrorCode.UnknownMemberId, $"Instance id {req.InstanceId} is unknown.");
            if (member.MemberId != req.MemberId)
                throw new HeartbeatException(ErrorCode.FencedInstanceId, $"Static member {req.MemberId} with instance id {req.InstanceId} was fenced by member {member.MemberId}.");
            if (req.MemberEpoch == StaticLeaveEpoch)
            {
                // a static member leaving for a restart keeps its assignment; its session timeout still runs
                var left = member with { MemberEpoch = StaticLeaveEpoch, PreviousMemberEpoch = member.MemberEpoch };
                var err = Append(group.LogPartition, [(ConsumerGroupRecords.Key(ConsumerGroupRecords.CurrentAssignment, group.GroupId, member.MemberId),
                    ConsumerGroupRecords.CurrentAssignmentValue(left))]);
                if (err != ErrorCode.None) return ConsumerHeartbeatResult.Failed(err, null);
                LogConsumerStaticLeft(_logger, group.GroupId, member.MemberId, req.InstanceId);
                return new ConsumerHeartbeatResult(ErrorCode.None, null, req.MemberId, StaticLeaveEpoch, 0, null);
            }
        }
        var error = FenceMember(group, cg, member, "it left the group");
        return error != ErrorCode.None
            ? ConsumerHeartbeatResult.Failed(error, null)
            : new ConsumerHeartbeatResult(ErrorCode.None, null, req.MemberId, LeaveEpoch, 0, null);
    }

    /// <summary>Removes a member (it left, its session expired, or it did not revoke in time): its records are
    /// tombstoned and the group epoch is bumped, so the others get its partitions. Caller holds the group lock.</summary>
    private ErrorCode FenceMember(ClassicGroup group, ConsumerGroup cg, ConsumerMember member, string reason)
    {
        var records = MemberTombstones(group.GroupId, member.MemberId);
        var remaining = cg.Members.Values.Where(m => m.MemberId != member.MemberId).ToList();
        var metadata = SubscriptionMetadata(remaining);
        if (!SameMetadata(metadata, cg.SubscriptionMetadata))
            records.Add((ConsumerGroupRecords.Key(ConsumerGroupRecords.PartitionMetadata, group.GroupId), ConsumerGroupRecords.PartitionMetadataValue(metadata.Values)));
        records.Add((ConsumerGroupRecords.Key(ConsumerGroupRecords.GroupMetadata, group.GroupId), ConsumerGroupRecords.GroupMetadataValue(cg.GroupEpoch + 1)));
        var err = Append(group.LogPartition, records);
        if (err != ErrorCode.None) return err;
        _timers.Cancel(SessionKey(group.GroupId, member.MemberId));
        _timers.Cancel(RebalanceKey(group.GroupId, member.MemberId));
        LogConsumerMemberRemoved(_logger, group.GroupId, member.MemberId, reason, cg.GroupEpoch);
        return ErrorCode.None;
    }

    private void ScheduleSession(string groupId, string memberId) =>
        _timers.Schedule(SessionKey(groupId, memberId), Cfg.GroupConsumerSessionTimeoutMs, () => OnConsumerTimeout(groupId, memberId, -1,
            $"its session timed out ({Cfg.GroupConsumerSessionTimeoutMs} ms without a heartbeat)"));

    private void ScheduleRebalanceTimeout(string groupId, string memberId, int epoch, int timeoutMs) =>
        _timers.Schedule(RebalanceKey(groupId, memberId), Math.Max(0, timeoutMs), () => OnConsumerTimeout(groupId, memberId, epoch,
            $"it did not revoke its partitions within its rebalance timeout ({timeoutMs} ms)"));

    /// <summary>A session or rebalance timeout: the member is fenced (a rebalance timeout only if the member is still
    /// revoking at the epoch it was scheduled for).</summary>
    private void OnConsumerTimeout(string groupId, string memberId, int epoch, string reason)
    {
        if (_loading || _shutdown || !_groups.TryGetValue(groupId, out var group)) return;
        lock (group)
        {
            if (group.Consumer is not { } cg || !cg.Members.TryGetValue(memberId, out var member)) return;
            if (epoch >= 0 && (member.MemberEpoch != epoch || member.State != MemberState.UnrevokedPartitions)) return;
            if (FenceMember(group, cg, member, reason) != ErrorCode.None)
                _timers.Schedule(epoch >= 0 ? RebalanceKey(groupId, memberId) : SessionKey(groupId, memberId), 1000,
                    () => OnConsumerTimeout(groupId, memberId, epoch, reason)); // the write failed: try again shortly
        }
    }

    /// <summary>The topics the members subscribe to (by name and by pattern) that exist, with id and partition count.</summary>
    private SortedDictionary<string, SubscribedTopic> SubscriptionMetadata(IEnumerable<ConsumerMember> members)
    {
        var result = new SortedDictionary<string, SubscribedTopic>(StringComparer.Ordinal);
        List<string>? allTopics = null;
        foreach (var m in members)
        {
            foreach (var name in m.SubscribedTopicNames) AddTopic(result, name);
            if (m.SubscribedTopicRegex is { } pattern)
            {
                var regex = CompileRegex(pattern);
                allTopics ??= _broker.Logs.Topics.Select(t => t.Name).ToList();
                foreach (var name in allTopics)
                    if (!IsInternalTopic(name) && regex.IsMatch(name)) AddTopic(result, name);
            }
        }
        return result;
    }

    private static bool IsInternalTopic(string name) => name is OffsetsTopic or "__transaction_state";

    private void AddTopic(SortedDictionary<string, SubscribedTopic> into, string name)
    {
        if (into.ContainsKey(name) || _broker.Logs.Get(name) is not { } t) return;
        into[name] = new SubscribedTopic(t.Id, name, t.Partitions.Length);
    }

    private static bool SameMetadata(SortedDictionary<string, SubscribedTopic> a, SortedDictionary<string, SubscribedTopic> b) =>
        a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var o) && o == kv.Value);

    /// <summary>The topics one member subscribes to, as ids.</summary>
    private HashSet<Guid> MemberTopics(ConsumerMember m, SortedDictionary<string, SubscribedTopic> metadata)
    {
        var set = new HashSet<Guid>();
        foreach (var name in m.SubscribedTopicNames)
            if (metadata.TryGetValue(name, out var t)) set.Add(t.Id);
        if (m.SubscribedTopicRegex is { } pattern)
        {
            var regex = CompileRegex(pattern);
            foreach (var (name, t) in metadata)
                if (regex.IsMatch(name)) set.Add(t.Id);
        }
        return set;
    }

    /// <summary>The target assignment of every member, from the group's assignor: the one most members ask for, else
    /// the first of group.consumer.assignors.</summary>
    private Dictionary<string, TopicPartitions> ComputeTarget(IEnumerable<ConsumerMember> members, SortedDictionary<string, SubscribedTopic> metadata,
        Dictionary<string, TopicPartitions> previous)
    {
        var list = members.ToList();
        var assignor = PreferredAssignor(list);
        var input = list.Select(m => new AssignorMember(m.MemberId, MemberTopics(m, metadata), previous.GetValueOrDefault(m.MemberId) ?? TopicPartitions.Empty)).ToList();
        var counts = metadata.Values.ToDictionary(t => t.Id, t => t.Partitions);
        return assignor.Assign(input, counts);
    }

    private IConsumerAssignor PreferredAssignor(IEnumerable<ConsumerMember> members)
    {
        var configured = ConsumerAssignors;
        var wanted = members.Where(m => m.ServerAssignor != null).GroupBy(m => m.ServerAssignor!)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).Select(g => g.Key).FirstOrDefault();
        return configured.FirstOrDefault(a => a.Name == wanted) ?? configured[0];
    }

    // ------------------------------------------------------------------ ConsumerGroupDescribe

    public ConsumerGroupDescription DescribeConsumerGroup(string groupId)
    {
        if (AvailabilityOf(groupId) is var a && a != ErrorCode.None) return new(a, null, groupId, "", 0, 0, "", []);
        if (groupId.Length == 0) return new(ErrorCode.InvalidGroupId, null, groupId, "", 0, 0, "", []);
        if (!_groups.TryGetValue(groupId, out var group)) return new(ErrorCode.GroupIdNotFound, $"Group {groupId} not found.", groupId, "", 0, 0, "", []);
        lock (group)
        {
            if (group.Consumer is not { } cg || group.Is(GroupState.Dead))
                return new(ErrorCode.GroupIdNotFound, $"Group {groupId} is not a consumer group.", groupId, "", 0, 0, "", []);
            var members = cg.Members.Values.OrderBy(m => m.MemberId, StringComparer.Ordinal).Select(m => (m, cg.TargetOf(m.MemberId))).ToList();
            return new(ErrorCode.None, null, groupId, cg.State, cg.GroupEpoch, cg.AssignmentEpoch, PreferredAssignor(cg.Members.Values).Name, members);
        }
    }

    /// <summary>A topic's name from its id, for describing assignments ("" once the topic is gone).</summary>
    public string TopicName(Guid id) => _broker.Logs.Get(id)?.Name ?? "";

    // ------------------------------------------------------------------ Replay

    /// <summary>Applies a consumer group record (keys 3-8) to memory, live and when loading.</summary>
    private void ReplayConsumerRecord(ConsumerRecordKey key, ReadOnlyMemory<byte>? value)
    {
        // a tombstone of a group that is not here (deleted earlier in the log) must not bring back an empty group
        ClassicGroup? group;
        if (value is null) { if (!_groups.TryGetValue(key.Group, out group)) return; }
        else group = _groups.GetOrAdd(key.Group, id => new ClassicGroup(id, PartitionFor(id)));
        lock (group)
        {
            var cg = group.Consumer;
            if (value is null)
            {
                if (cg is null) return;
                switch (key.Version)
                {
                    case ConsumerGroupRecords.GroupMetadata:
                        group.Consumer = null; // the group is gone (deleted, or turned back into a classic group)
                        // while loading, nothing else holds the group: its classic state and offsets, if any, are
                        // added back from the classic records at the end of the load
                        if (_load?.Covers(group.LogPartition) == true) _groups.TryRemove(new(key.Group, group));
                        break;
                    case ConsumerGroupRecords.PartitionMetadata:
                        cg.SubscriptionMetadata = new(StringComparer.Ordinal);
                        break;
                    case ConsumerGroupRecords.MemberMetadata:
                        cg.Members.Remove(key.Member!);
                        break;
                    case ConsumerGroupRecords.TargetMember:
                        cg.TargetAssignment.Remove(key.Member!);
                        break;
                    case ConsumerGroupRecords.CurrentAssignment:
                        if (cg.Members.TryGetValue(key.Member!, out var m))
                            cg.Members[key.Member!] = m with { MemberEpoch = 0, PreviousMemberEpoch = 0, State = MemberState.Stable, Assigned = TopicPartitions.Empty, PendingRevocation = TopicPartitions.Empty };
                        break;
                }
                return;
            }
            cg = group.Consumer ??= new ConsumerGroup();
            var v = value.Value;
            switch (key.Version)
            {
                case ConsumerGroupRecords.GroupMetadata:
                    int groupEpoch = ConsumerGroupRecords.ReadEpochValue(v);
                    // a new group epoch is a rebalance of a consumer-protocol group (not counted while loading)
                    if (groupEpoch > cg.GroupEpoch && !_loading) Interlocked.Increment(ref _rebalances);
                    cg.GroupEpoch = groupEpoch;
                    break;
                case ConsumerGroupRecords.PartitionMetadata:
                    cg.SubscriptionMetadata = new SortedDictionary<string, SubscribedTopic>(
                        ConsumerGroupRecords.ReadPartitionMetadataValue(v).ToDictionary(t => t.Name), StringComparer.Ordinal);
                    break;
                case ConsumerGroupRecords.MemberMetadata:
                {
                    var meta = ConsumerGroupRecords.ReadMemberMetadataValue(key.Member!, v);
                    cg.Members[key.Member!] = cg.Members.TryGetValue(key.Member!, out var old)
                        ? old with
                        {
                            InstanceId = meta.InstanceId, RackId = meta.RackId, ClientId = meta.ClientId, ClientHost = meta.ClientHost,
                            SubscribedTopicNames = meta.SubscribedTopicNames, SubscribedTopicRegex = meta.SubscribedTopicRegex,
                            RebalanceTimeoutMs = meta.RebalanceTimeoutMs, ServerAssignor = meta.ServerAssignor,
                        }
                        : meta;
                    break;
                }
                case ConsumerGroupRecords.TargetMetadata:
                    cg.AssignmentEpoch = ConsumerGroupRecords.ReadEpochValue(v);
                    break;
                case ConsumerGroupRecords.TargetMember:
                    cg.TargetAssignment[key.Member!] = ConsumerGroupRecords.ReadTargetMemberValue(v);
                    break;
                case ConsumerGroupRecords.CurrentAssignment:
                {
                    var (epoch, previous, state, assigned, revoking) = ConsumerGroupRecords.ReadCurrentAssignmentValue(v);
                    var m = cg.Members.TryGetValue(key.Member!, out var existing) ? existing : new ConsumerMember { MemberId = key.Member! };
                    cg.Members[key.Member!] = m with { MemberEpoch = epoch, PreviousMemberEpoch = previous, State = state, Assigned = assigned, PendingRevocation = revoking };
                    break;
                }
            }
        }
    }

    /// <summary>After a load: every member of a consumer group gets a fresh session (as Kafka does when a coordinator
    /// takes over), and a member caught revoking gets its rebalance timeout again.</summary>
    private void ScheduleLoadedConsumerMembers(int? partition = null)
    {
        foreach (var group in _groups.Values)
            lock (group)
            {
                if (group.Consumer is not { } cg || partition is { } p && group.LogPartition != p) continue;
                foreach (var m in cg.Members.Values)
                {
                    ScheduleSession(group.GroupId, m.MemberId);
                    if (m.State == MemberState.UnrevokedPartitions) ScheduleRebalanceTimeout(group.GroupId, m.MemberId, m.MemberEpoch, m.RebalanceTimeoutMs);
                }
            }
    }

    /// <summary>The records that remove a member: its current assignment, its target, then its metadata (Kafka's order).</summary>
    private static List<(byte[] Key, byte[]? Value)> MemberTombstones(string groupId, string memberId) =>
    [
        (ConsumerGroupRecords.Key(ConsumerGroupRecords.CurrentAssignment, groupId, memberId), null),
        (ConsumerGroupRecords.Key(ConsumerGroupRecords.TargetMember, groupId, memberId), null),
        (ConsumerGroupRecords.Key(ConsumerGroupRecords.MemberMetadata, groupId, memberId), null),
    ];

    /// <summary>The records that remove an empty consumer group's own state (its offsets are separate).</summary>
    private static List<(byte[] Key, byte[]? Value)> ConsumerGroupTombstones(ClassicGroup group) =>
    [
        (ConsumerGroupRecords.Key(ConsumerGroupRecords.TargetMetadata, group.GroupId), null),
        (ConsumerGroupRecords.Key(ConsumerGroupRecords.PartitionMetadata, group.GroupId), null),
        (ConsumerGroupRecords.Key(ConsumerGroupRecords.GroupMetadata, group.GroupId), null),
    ];

    [LoggerMessage(Level = LogLevel.Information, Message = "consumer group {Group}: epoch {Epoch}: {Reason}")]
    private static partial void LogConsumerEpoch(ILogger logger, string group, int epoch, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "consumer group {Group}: member {Member} (instance {Instance}) joined")]
    private static partial void LogConsumerJoined(ILogger logger, string group, string member, string instance);

    [LoggerMessage(Level = LogLevel.Information, Message = "consumer group {Group}: static member {Instance} rejoined; member {Old} replaced by {New} with its assignment")]
    private static partial void LogStaticConsumerReplaced(ILogger logger, string group, string instance, string old, string @new);

    [LoggerMessage(Level = LogLevel.Information, Message = "consumer group {Group}: static member {Member} (instance {Instance}) left for a restart; its assignment is kept")]
    private static partial void LogConsumerStaticLeft(ILogger logger, string group, string member, string instance);

    [LoggerMessage(Level = LogLevel.Information, Message = "consumer group {Group}: member {Member} removed because {Reason} (group epoch was {Epoch})")]
    private static partial void LogConsumerMemberRemoved(ILogger logger, string group, string member, string reason, int epoch);
}
