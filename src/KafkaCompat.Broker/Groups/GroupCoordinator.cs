// The classic consumer-group coordinator: Kafka's group state machine (Empty, PreparingRebalance,
// CompletingRebalance, Stable, Dead), static membership, session and rebalance timeouts. Split by concern:
// this file (membership: join, sync, heartbeat, leave, describe, list, delete, timers), GroupCoordinator.Offsets.cs
// (committed offsets and their expiry), GroupCoordinator.Transactions.cs (transactional offset commits and markers),
// GroupCoordinator.Log.cs (__consumer_offsets on the coordinator runtime: writes, the replay and loading).
using System.Collections.Concurrent;
using KafkaCompat.Protocol;
using KafkaCompat.Records;
using KafkaCompat.Storage;
using Microsoft.Extensions.Logging;

namespace KafkaCompat.Broker.Groups;

public sealed record JoinRequestData(string GroupId, string MemberId, string? GroupInstanceId, string ProtocolType,
    List<(string Name, byte[] Metadata)> Protocols, int SessionTimeoutMs, int RebalanceTimeoutMs, string ClientId,
    string ClientHost, bool RequireKnownMemberId, string? Reason, short ApiVersion = 9);

public sealed record CommitEntry(string Topic, int Partition, long Offset, int LeaderEpoch, string? Metadata, long CommitTimestamp);

public sealed record FetchedOffset(string Topic, int Partition, long Offset, int LeaderEpoch, string Metadata, ErrorCode Error);

public sealed record MemberDescription(string MemberId, string? GroupInstanceId, string ClientId, string ClientHost, byte[] Metadata, byte[] Assignment);

/// <summary>A classic group described. <paramref name="NotFound"/> says why there is no classic group of that id (none, or a
/// consumer group): DescribeGroups v6+ answers GROUP_ID_NOT_FOUND with it, older versions a Dead group.</summary>
public sealed record GroupDescription(ErrorCode Error, string GroupId, string State, string ProtocolType, string ProtocolData, IReadOnlyList<MemberDescription> Members,
    string? NotFound = null);

public sealed record GroupListing(string GroupId, string ProtocolType, string State, string GroupType = "classic");

public sealed partial class GroupCoordinator : IDisposable
{
    public const string OffsetsTopic = "__consumer_offsets";
    public const string NoProtocol = "";
    private const int NewMemberJoinTimeoutMs = 300_000;

    private readonly KafkaBroker _broker;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, ClassicGroup> _groups = new(StringComparer.Ordinal);
    private readonly Coordinator.CoordinatorTimer _timers;
    private volatile bool _loading = true;
    private volatile bool _shutdown;

    public GroupCoordinator(KafkaBroker broker, ILogger logger)
    {
        _broker = broker;
        _logger = logger;
        _runtime = new Coordinator.CoordinatorRuntime(broker, OffsetsTopic, () => broker.Config.OffsetsTopicPartitions,
            () => new Dictionary<string, string>
            {
                ["cleanup.policy"] = "compact",
                ["segment.bytes"] = broker.Config.OffsetsTopicSegmentBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["compression.type"] = "producer",
            }, ReplayRecord, ReplayMarker, logger, () => broker.Config.OffsetsTopicReplicationFactor);
        _timers = new Coordinator.CoordinatorTimer(broker.Time, (key, e) => LogGroupTickFailed(_logger, e, key));
    }

    private Config.BrokerConfig Cfg => _broker.Config;
    /// <summary>Monotonic milliseconds (deadlines), from the broker's clock.</summary>
    private long Now => _timers.Now;
    private long WallClock => _broker.Time.GetUtcNow().ToUnixTimeMilliseconds();

    public bool IsLoading => _loading;

    /// <summary>Reads __consumer_offsets in the background (requests get COORDINATOR_LOAD_IN_PROGRESS meanwhile), then starts the timers.</summary>
    public Task StartAsync(Task? gate = null) => Task.Run(async () =>
    {
        try
        {
            if (gate != null) await gate.ConfigureAwait(false);
            lock (_loadLock) Load();
        }
        catch (Exception e)
        {
            LogLoadFailed(_logger, e);
        }
        _loading = false;
        if (!_shutdown)
        {
            ScheduleRetentionCheck();
            foreach (var group in _groups.Values)
                lock (group) Arm(group);
            ScheduleLoadedConsumerMembers();
        }
    });

    /// <summary>NONE when group requests can be served, else the error Kafka sends in that situation.</summary>
    public ErrorCode Availability => _shutdown ? ErrorCode.NotCoordinator : _loading ? ErrorCode.CoordinatorLoadInProgress : ErrorCode.None;

    /// <summary><see cref="Availability"/> for one group: COORDINATOR_LOAD_IN_PROGRESS too while its offsets partition
    /// is reloaded after a leader move.</summary>
    public ErrorCode AvailabilityOf(string groupId) =>
        Availability is var a && a != ErrorCode.None ? a
        : _runtime.IsLoading(PartitionFor(groupId)) ? ErrorCode.CoordinatorLoadInProgress : ErrorCode.None;

    public int PartitionFor(string groupId) => GroupRecords.PartitionFor(groupId, OffsetsPartitions);

    /// <summary>The broker that coordinates <paramref name="groupId"/> (-1 while none can).</summary>
    public int CoordinatorNode(string groupId) => _runtime.CoordinatorNode(PartitionFor(groupId));

    /// <summary>NONE when <paramref name="nodeId"/> coordinates the group, else NOT_COORDINATOR or COORDINATOR_NOT_AVAILABLE.</summary>
    public ErrorCode CheckCoordinator(int nodeId, string groupId) => _runtime.CheckCoordinator(nodeId, PartitionFor(groupId));

    private int OffsetsPartitions => _broker.Logs.Get(OffsetsTopic)?.Partitions.Length ?? Math.Max(1, Cfg.OffsetsTopicPartitions);

    /// <summary>The group, created if missing; never one the retention check has just removed (Dead).</summary>
    private ClassicGroup LiveGroup(string groupId)
    {
        while (true)
        {
            var g = _groups.GetOrAdd(groupId, id => new ClassicGroup(id, PartitionFor(id)));
            lock (g)
            {
                if (!g.Is(GroupState.Dead))
                {
                    g.LastUsed = Now;
                    return g;
                }
            }
            _groups.TryRemove(new(groupId, g));
        }
    }

    // ------------------------------------------------------------------ JoinGroup

    public Task<JoinResult> JoinAsync(JoinRequestData req)
    {
        if (string.IsNullOrEmpty(req.GroupId)) return Task.FromResult(JoinResult.Failed(ErrorCode.InvalidGroupId, req.MemberId));
        if (AvailabilityOf(req.GroupId) is var a && a != ErrorCode.None) return Task.FromResult(JoinResult.Failed(a, req.MemberId));
        if (req.SessionTimeoutMs < Cfg.GroupMinSessionTimeoutMs || req.SessionTimeoutMs > Cfg.GroupMaxSessionTimeoutMs)
            return Task.FromResult(JoinResult.Failed(ErrorCode.InvalidSessionTimeout, req.MemberId));

        bool unknownMember = req.MemberId.Length == 0;
        ClassicGroup? group;
        if (unknownMember) group = LiveGroup(req.GroupId);
        else if (!_groups.TryGetValue(req.GroupId, out group)) return Task.FromResult(JoinResult.Failed(ErrorCode.UnknownMemberId, req.MemberId));

        lock (group)
        {
            try
            {
                if (group.Is(GroupState.Dead))
                    return Task.FromResult(JoinResult.Failed(ErrorCode.CoordinatorNotAvailable, req.MemberId));
                if (group.Consumer is { } cg)
                {
                    // an empty consumer group turns back into a classic group on the first classic member (Kafka's
                    // online downgrade); one with consumer-protocol members does not take classic ones
                    if (cg.Members.Count > 0) return Task.FromResult(JoinResult.Failed(ErrorCode.InconsistentGroupProtocol, req.MemberId));
                    var down = Append(group.LogPartition, ConsumerGroupTombstones(group));
                    if (down != ErrorCode.None) return Task.FromResult(JoinResult.Failed(down, req.MemberId));
                    LogConsumerDowngraded(_logger, group.GroupId);
                }
                if (!AcceptJoiningMember(group, req.MemberId))
                {
                    // Kafka drops a member it cannot keep (it would block the rebalance otherwise)
                    if (group.Members.TryGetValue(req.MemberId, out var over)) RemoveMemberAndUpdateGroup(group, over, "the group is at group.max.size");
                    return Task.FromResult(JoinResult.Failed(ErrorCode.GroupMaxSizeReached));
                }
                var tcs = new TaskCompletionSource<JoinResult>(TaskCreationOptions.RunContinuationsAsynchronously);
                if (unknownMember) JoinUnknownMember(group, req, tcs);
                else JoinKnownMember(group, req, tcs);
                return tcs.Task;
            }
            finally
            {
                Arm(group);
            }
        }
    }

    /// <summary>group.max.size as Kafka applies it: always in an empty group; while preparing a rebalance, members
    /// already waiting or while fewer than the maximum wait; otherwise existing members or while below the maximum.</summary>
    private bool AcceptJoiningMember(ClassicGroup group, string memberId)
    {
        int max = Cfg.GroupMaxSize;
        return group.State switch
        {
            GroupState.Empty or GroupState.Dead => true,
            GroupState.PreparingRebalance => group.Members.TryGetValue(memberId, out var m) && m.AwaitingJoin != null
                || group.Members.Values.Count(x => x.AwaitingJoin != null) < max,
            _ => group.HasMember(memberId) || group.Members.Count < max,
        };
    }

    private void JoinUnknownMember(ClassicGroup group, JoinRequestData req, TaskCompletionSource<JoinResult> tcs)
    {
        if (!group.SupportsProtocols(req.ProtocolType, req.Protocols))
        {
            tcs.SetResult(JoinResult.Failed(ErrorCode.InconsistentGroupProtocol));
            return;
        }
        // Kafka names static members after their instance id, dynamic ones after their client id
        string newMemberId = (req.GroupInstanceId ?? req.ClientId) + "-" + Guid.NewGuid().ToString();
        if (req.GroupInstanceId != null)
        {
            if (group.StaticMembers.TryGetValue(req.GroupInstanceId, out var oldMemberId) && group.Members.ContainsKey(oldMemberId))
            {
                ReplaceStaticMember(group, req, oldMemberId, newMemberId, tcs);
                return;
            }
            AddMemberAndRebalance(group, req, newMemberId, tcs);
            return;
        }
        if (req.RequireKnownMemberId)
        {
            // KIP-394: hand out the id first; the member only joins when it comes back with it
            group.PendingMembers[newMemberId] = Now + req.SessionTimeoutMs;
            tcs.SetResult(JoinResult.Failed(ErrorCode.MemberIdRequired, newMemberId));
            return;
        }
        AddMemberAndRebalance(group, req, newMemberId, tcs);
    }

    private void JoinKnownMember(ClassicGroup group, JoinRequestData req, TaskCompletionSource<JoinResult> tcs)
    {
        if (!group.SupportsProtocols(req.ProtocolType, req.Protocols))
        {
            tcs.SetResult(JoinResult.Failed(ErrorCode.InconsistentGroupProtocol, req.MemberId));
            return;
        }
        if (group.PendingMembers.Remove(req.MemberId))
        {
            AddMemberAndRebalance(group, req, req.MemberId, tcs);
            return;
        }
        if (group.IsStaticMemberFenced(req.GroupInstanceId, req.MemberId))
        {
            tcs.SetResult(JoinResult.Failed(ErrorCode.FencedInstanceId, req.MemberId));
            return;
        }
        if (!group.Members.TryGetValue(req.MemberId, out var member) || group.Is(GroupState.Empty))
        {
            tcs.SetResult(JoinResult.Failed(ErrorCode.UnknownMemberId, req.MemberId));
            return;
        }
        if (member.GroupInstanceId != req.GroupInstanceId)
        {
            // an instance id nobody holds: the member is unknown under it; someone else's: fenced
            tcs.SetResult(JoinResult.Failed(req.GroupInstanceId != null && !group.StaticMembers.ContainsKey(req.GroupInstanceId)
                ? ErrorCode.UnknownMemberId : ErrorCode.FencedInstanceId, req.MemberId));
            return;
        }
        switch (group.State)
        {
            case GroupState.PreparingRebalance:
                UpdateMemberAndRebalance(group, member, req, tcs, $"Member {member.MemberId} joined the group");
                break;
            case GroupState.CompletingRebalance:
                if (member.Matches(req.Protocols))
                    tcs.SetResult(CurrentJoinResult(group, member.MemberId, skipAssignment: false)); // a repeated join: same answer again
                else
                    UpdateMemberAndRebalance(group, member, req, tcs, $"Updating metadata for member {member.MemberId}");
                break;
            case GroupState.Stable:
                if (group.IsLeader(member.MemberId) || !member.Matches(req.Protocols))
                    UpdateMemberAndRebalance(group, member, req, tcs,
                        group.IsLeader(member.MemberId) ? $"Leader {member.MemberId} re-joining group" : $"Updating metadata for member {member.MemberId}");
                else
                    tcs.SetResult(CurrentJoinResult(group, member.MemberId, skipAssignment: false));
                break;
            default:
                tcs.SetResult(JoinResult.Failed(ErrorCode.UnknownMemberId, req.MemberId));
                break;
        }
    }

    private JoinResult CurrentJoinResult(ClassicGroup group, string memberId, bool skipAssignment) =>
        new(ErrorCode.None, memberId, group.GenerationId, group.ProtocolType, group.ProtocolName, group.LeaderId ?? "",
            skipAssignment, group.IsLeader(memberId) ? group.CurrentMemberMetadata() : []);

    private void AddMemberAndRebalance(ClassicGroup group, JoinRequestData req, string memberId, TaskCompletionSource<JoinResult> tcs)
    {
        var member = new GroupMember
        {
            MemberId = memberId,
            GroupInstanceId = req.GroupInstanceId,
            ClientId = req.ClientId,
            ClientHost = req.ClientHost,
            RebalanceTimeoutMs = req.RebalanceTimeoutMs,
            SessionTimeoutMs = req.SessionTimeoutMs,
            ProtocolType = req.ProtocolType,
            Protocols = req.Protocols,
            AwaitingJoin = tcs,
            IsNew = true,
            HeartbeatDeadline = Now + NewMemberJoinTimeoutMs,
        };
        if (group.Is(GroupState.PreparingRebalance) && group.GenerationId == 0) group.NewMemberAdded = true;
        group.Add(member);
        MaybePrepareRebalance(group, $"Adding new member {memberId} with group instance id {req.GroupInstanceId ?? "None"}" +
            (req.Reason != null ? $"; client reason: {req.Reason}" : ""));
    }

    private void UpdateMemberAndRebalance(ClassicGroup group, GroupMember member, JoinRequestData req, TaskCompletionSource<JoinResult> tcs, string reason)
    {
        member.Protocols = req.Protocols;
        member.RebalanceTimeoutMs = req.RebalanceTimeoutMs;
        member.SessionTimeoutMs = req.SessionTimeoutMs;
        member.ClientId = req.ClientId;
        member.ClientHost = req.ClientHost;
        member.AwaitingJoin?.TrySetResult(JoinResult.Failed(ErrorCode.RebalanceInProgress, member.MemberId));
        member.AwaitingJoin = tcs;
        if (req.Reason != null) reason += $"; client reason: {req.Reason}";
        MaybePrepareRebalance(group, reason);
    }

    private void ReplaceStaticMember(ClassicGroup group, JoinRequestData req, string oldMemberId, string newMemberId, TaskCompletionSource<JoinResult> tcs)
    {
        var member = group.Members[oldMemberId];
        // the old instance is a zombie now: whatever it waits for ends with FENCED_INSTANCE_ID
        member.AwaitingJoin?.TrySetResult(JoinResult.Failed(ErrorCode.FencedInstanceId, oldMemberId));
        member.AwaitingJoin = null;
        member.AwaitingSync?.TrySetResult(SyncResult.Failed(ErrorCode.FencedInstanceId));
        member.AwaitingSync = null;
        string? oldLeader = group.LeaderId;
        group.Members.Remove(oldMemberId);
        member.MemberId = newMemberId;
        group.Members[newMemberId] = member;
        group.StaticMembers[req.GroupInstanceId!] = newMemberId;
        if (group.LeaderId == oldMemberId) group.LeaderId = newMemberId;
        if (group.PendingSync.Remove(oldMemberId)) group.PendingSync.Add(newMemberId);
        var oldProtocols = member.Protocols;
        member.Protocols = req.Protocols;
        member.RebalanceTimeoutMs = req.RebalanceTimeoutMs;
        member.SessionTimeoutMs = req.SessionTimeoutMs;
        member.ClientId = req.ClientId;
        member.ClientHost = req.ClientHost;
        member.HeartbeatDeadline = Now + member.SessionTimeoutMs;
        LogStaticReplaced(_logger, group.GroupId, req.GroupInstanceId!, oldMemberId, newMemberId);

        switch (group.State)
        {
            case GroupState.Stable:
                // no rebalance unless the protocol the group would pick changes
                if (group.ProtocolName == group.SelectProtocol())
                {
                    var err = StoreGroup(group);
                    if (err != ErrorCode.None)
                    {
                        // undo: the old member id stays valid
                        group.Members.Remove(newMemberId);
                        member.MemberId = oldMemberId;
                        member.Protocols = oldProtocols;
                        group.Members[oldMemberId] = member;
                        group.StaticMembers[req.GroupInstanceId!] = oldMemberId;
                        group.LeaderId = oldLeader;
                        tcs.SetResult(JoinResult.Failed(err));
                        return;
                    }
                    bool isLeader = group.IsLeader(newMemberId);
                    if (req.ApiVersion >= 9)
                        tcs.SetResult(CurrentJoinResult(group, newMemberId, skipAssignment: isLeader));
                    else
                        // before v9 a client cannot be told to skip assignment: name the old leader id and send no
                        // members, so the returning leader does not compute an assignment a stable group would ignore
                        tcs.SetResult(new JoinResult(ErrorCode.None, newMemberId, group.GenerationId, group.ProtocolType, group.ProtocolName,
                            oldLeader ?? "", false, []));
                }
                else
                {
                    member.AwaitingJoin = tcs;
                    MaybePrepareRebalance(group, $"Group's selected protocol will change because static member {newMemberId} with instance id {req.GroupInstanceId} joined with change of protocol");
                }
                break;
            case GroupState.CompletingRebalance:
                member.AwaitingJoin = tcs;
                MaybePrepareRebalance(group, $"Updating metadata for static member {newMemberId} with instance id {req.GroupInstanceId}");
                break;
            case GroupState.PreparingRebalance:
                member.AwaitingJoin = tcs;
                TryCompleteJoin(group);
                break;
            default:
                tcs.SetResult(JoinResult.Failed(ErrorCode.UnknownMemberId, newMemberId));
                break;
        }
    }

    private void MaybePrepareRebalance(ClassicGroup group, string reason)
    {
        if (group.State is GroupState.Stable or GroupState.CompletingRebalance or GroupState.Empty)
            PrepareRebalance(group, reason);
        else if (group.Is(GroupState.PreparingRebalance))
            TryCompleteJoin(group);
    }

    private long _rebalances;
    /// <summary>Rebalances since start: classic groups preparing one, consumer-protocol groups moving to a new epoch.</summary>
    public long Rebalances => Interlocked.Read(ref _rebalances);

    private void PrepareRebalance(ClassicGroup group, string reason)
    {
        Interlocked.Increment(ref _rebalances);
        if (group.Is(GroupState.CompletingRebalance)) ResetAndPropagateAssignmentError(group, ErrorCode.RebalanceInProgress);
        group.PendingSync.Clear();
        int delay = Cfg.GroupInitialRebalanceDelayMs;
        int rebalanceTimeout = group.RebalanceTimeoutMs;
        if (group.Is(GroupState.Empty) && delay > 0)
        {
            group.InitialDelayedJoin = true;
            group.NewMemberAdded = false;
            group.JoinDeadline = Now + Math.Min(delay, Math.Max(rebalanceTimeout, 0));
            group.InitialDelayRemainingMs = Math.Max(rebalanceTimeout - delay, 0);
        }
        else
        {
            group.InitialDelayedJoin = false;
            group.JoinDeadline = Now + rebalanceTimeout;
        }
        var old = group.State;
        group.TransitionTo(GroupState.PreparingRebalance);
        LogRebalance(_logger, group.GroupId, old.ToString(), group.GenerationId, reason);
        if (!group.InitialDelayedJoin) TryCompleteJoin(group);
    }

    private void TryCompleteJoin(ClassicGroup group)
    {
        if (group.Is(GroupState.PreparingRebalance) && !group.InitialDelayedJoin && group.HasAllMembersJoined)
            CompleteJoin(group);
    }

    /// <summary>The join phase ends: members that did not rejoin leave, a new generation starts, every joiner gets its answer.</summary>
    private void CompleteJoin(ClassicGroup group)
    {
        foreach (var m in group.Members.Values.Where(m => m.AwaitingJoin == null && m.GroupInstanceId == null).ToList())
        {
            LogMemberRemoved(_logger, group.GroupId, m.MemberId, "it did not rejoin within the rebalance timeout");
            group.Remove(m.MemberId);
        }
        if (group.Members.Count > 0 && !ElectJoinedLeader(group))
        {
            // only static members that have not rejoined remain: wait another rebalance timeout for them
            group.JoinDeadline = Now + group.RebalanceTimeoutMs;
            return;
        }
        group.GenerationId++;
        group.InitialDelayedJoin = false;
        if (group.Members.Count == 0)
        {
            group.ProtocolName = null;
            group.LeaderId = null;
            group.TransitionTo(GroupState.Empty);
            LogGeneration(_logger, group.GroupId, group.GenerationId, "(none)", 0);
            StoreGroup(group);
            return;
        }
        group.ProtocolName = group.SelectProtocol();
        group.TransitionTo(GroupState.CompletingRebalance);
        LogGeneration(_logger, group.GroupId, group.GenerationId, group.ProtocolName, group.Members.Count);
        long now = Now;
        foreach (var m in group.Members.Values)
        {
            var result = CurrentJoinResult(group, m.MemberId, skipAssignment: false);
            var cb = m.AwaitingJoin;
            m.AwaitingJoin = null;
            cb?.TrySetResult(result);
            m.IsNew = false;
            m.HeartbeatDeadline = now + m.SessionTimeoutMs;
            group.PendingSync.Add(m.MemberId);
        }
        group.PendingSyncDeadline = now + group.RebalanceTimeoutMs;
    }

    private static bool ElectJoinedLeader(ClassicGroup group)
    {
        if (group.LeaderId != null && group.Members.TryGetValue(group.LeaderId, out var l) && l.AwaitingJoin != null) return true;
        var joined = group.Members.Values.FirstOrDefault(m => m.AwaitingJoin != null);
        if (joined == null) return false;
        group.LeaderId = joined.MemberId;
        return true;
    }

    private static void ResetAndPropagateAssignmentError(ClassicGroup group, ErrorCode error)
    {
        foreach (var m in group.Members.Values)
        {
            m.Assignment = [];
            var cb = m.AwaitingSync;
            m.AwaitingSync = null;
            cb?.TrySetResult(SyncResult.Failed(error));
        }
    }

    // ------------------------------------------------------------------ SyncGroup

    public Task<SyncResult> SyncAsync(string groupId, int generationId, string memberId, string? groupInstanceId,
        string? protocolType, string? protocolName, Dictionary<string, byte[]> assignments)
    {
        if (string.IsNullOrEmpty(groupId)) return Task.FromResult(SyncResult.Failed(ErrorCode.InvalidGroupId));
        // while loading, Kafka answers REBALANCE_IN_PROGRESS: older clients do not expect the load error here
        if (AvailabilityOf(groupId) is var a && a != ErrorCode.None)
            return Task.FromResult(SyncResult.Failed(a == ErrorCode.CoordinatorLoadInProgress ? ErrorCode.RebalanceInProgress : a));
        if (!_groups.TryGetValue(groupId, out var group)) return Task.FromResult(SyncResult.Failed(ErrorCode.UnknownMemberId));
        lock (group)
        {
            try
            {
                if (group.Is(GroupState.Dead)) return Task.FromResult(SyncResult.Failed(ErrorCode.CoordinatorNotAvailable));
                if (group.IsStaticMemberFenced(groupInstanceId, memberId)) return Task.FromResult(SyncResult.Failed(ErrorCode.FencedInstanceId));
                if (!group.Members.TryGetValue(memberId, out var member)) return Task.FromResult(SyncResult.Failed(ErrorCode.UnknownMemberId));
                if (generationId != group.GenerationId) return Task.FromResult(SyncResult.Failed(ErrorCode.IllegalGeneration));
                if (protocolType != null && protocolType != group.ProtocolType || protocolName != null && protocolName != group.ProtocolName)
                    return Task.FromResult(SyncResult.Failed(ErrorCode.InconsistentGroupProtocol));
                switch (group.State)
                {
                    case GroupState.Empty:
                        return Task.FromResult(SyncResult.Failed(ErrorCode.UnknownMemberId));
                    case GroupState.PreparingRebalance:
                        return Task.FromResult(SyncResult.Failed(ErrorCode.RebalanceInProgress));
                    case GroupState.CompletingRebalance:
                    {
                        var tcs = new TaskCompletionSource<SyncResult>(TaskCreationOptions.RunContinuationsAsynchronously);
                        member.AwaitingSync?.TrySetResult(SyncResult.Failed(ErrorCode.RebalanceInProgress));
                        member.AwaitingSync = tcs;
                        member.HeartbeatDeadline = Now + member.SessionTimeoutMs;
                        group.PendingSync.Remove(memberId);
                        if (group.IsLeader(memberId))
                        {
                            foreach (var m in group.Members.Values)
                                m.Assignment = assignments.TryGetValue(m.MemberId, out var bytes) ? bytes : [];
                            var err = StoreGroup(group);
                            if (err != ErrorCode.None)
                            {
                                ResetAndPropagateAssignmentError(group, err);
                                PrepareRebalance(group, $"Error {err.KafkaName()} when storing group assignment during SyncGroup (member: {memberId})");
                                return tcs.Task;
                            }
                            group.TransitionTo(GroupState.Stable);
                            LogStable(_logger, group.GroupId, group.GenerationId, group.Members.Count);
                            foreach (var m in group.Members.Values)
                            {
                                var cb = m.AwaitingSync;
                                m.AwaitingSync = null;
                                cb?.TrySetResult(new SyncResult(ErrorCode.None, group.ProtocolType, group.ProtocolName, m.Assignment));
                                m.HeartbeatDeadline = Now + m.SessionTimeoutMs;
                            }
                        }
                        return tcs.Task;
                    }
                    case GroupState.Stable:
                        group.PendingSync.Remove(memberId);
                        member.HeartbeatDeadline = Now + member.SessionTimeoutMs;
                        return Task.FromResult(new SyncResult(ErrorCode.None, group.ProtocolType, group.ProtocolName, member.Assignment));
                    default:
                        return Task.FromResult(SyncResult.Failed(ErrorCode.CoordinatorNotAvailable));
                }
            }
            finally
            {
                Arm(group);
            }
        }
    }

    // ------------------------------------------------------------------ Heartbeat

    public ErrorCode Heartbeat(string groupId, int generationId, string memberId, string? groupInstanceId)
    {
        if (string.IsNullOrEmpty(groupId)) return ErrorCode.InvalidGroupId;
        // while loading, Kafka accepts heartbeats blindly: the member's state is not known yet
        if (AvailabilityOf(groupId) is var a && a != ErrorCode.None) return a == ErrorCode.CoordinatorLoadInProgress ? ErrorCode.None : a;
        if (!_groups.TryGetValue(groupId, out var group)) return ErrorCode.UnknownMemberId;
        lock (group)
        {
            try
            {
                if (group.Is(GroupState.Dead)) return ErrorCode.CoordinatorNotAvailable;
                if (group.IsStaticMemberFenced(groupInstanceId, memberId)) return ErrorCode.FencedInstanceId;
                if (!group.Members.TryGetValue(memberId, out var member)) return ErrorCode.UnknownMemberId;
                if (generationId != group.GenerationId) return ErrorCode.IllegalGeneration;
                switch (group.State)
                {
                    case GroupState.Empty:
                        return ErrorCode.UnknownMemberId;
                    case GroupState.PreparingRebalance:
                        member.HeartbeatDeadline = Now + member.SessionTimeoutMs;
                        return ErrorCode.RebalanceInProgress;
                    default:
                        member.HeartbeatDeadline = Now + member.SessionTimeoutMs;
                        return ErrorCode.None;
                }
            }
            finally
            {
                Arm(group);
            }
        }
    }

    // ------------------------------------------------------------------ LeaveGroup

    /// <summary>Per leaving member (member id, instance id, reason): the error for that member. Top-level error separately.</summary>
    public (ErrorCode TopLevel, List<ErrorCode> Members) Leave(string groupId, IReadOnlyList<(string MemberId, string? GroupInstanceId, string? Reason)> leaving)
    {
        if (string.IsNullOrEmpty(groupId)) return (ErrorCode.InvalidGroupId, []);
        if (AvailabilityOf(groupId) is var a && a != ErrorCode.None) return (a, []);
        if (!_groups.TryGetValue(groupId, out var group))
            return (ErrorCode.None, leaving.Select(_ => ErrorCode.UnknownMemberId).ToList());
        lock (group)
        {
            try
            {
                if (group.Is(GroupState.Dead)) return (ErrorCode.CoordinatorNotAvailable, []);
                var errors = new List<ErrorCode>(leaving.Count);
                foreach (var (memberIdIn, instanceId, reason) in leaving)
                {
                    string memberId = memberIdIn;
                    if (memberId.Length == 0 && instanceId != null)
                    {
                        if (!group.StaticMembers.TryGetValue(instanceId, out var found)) { errors.Add(ErrorCode.UnknownMemberId); continue; }
                        memberId = found;
                    }
                    else if (group.IsStaticMemberFenced(instanceId, memberId)) { errors.Add(ErrorCode.FencedInstanceId); continue; }

                    if (group.PendingMembers.Remove(memberId))
                    {
                        errors.Add(ErrorCode.None);
                        TryCompleteJoin(group);
                        continue;
                    }
                    if (!group.Members.TryGetValue(memberId, out var member)) { errors.Add(ErrorCode.UnknownMemberId); continue; }
                    if (member.GroupInstanceId != null && instanceId != null && member.GroupInstanceId != instanceId)
                    {
                        errors.Add(group.StaticMembers.ContainsKey(instanceId) ? ErrorCode.FencedInstanceId : ErrorCode.UnknownMemberId);
                        continue;
                    }
                    RemoveMemberAndUpdateGroup(group, member, $"removing member {memberId} on LeaveGroup" + (reason != null ? $"; client reason: {reason}" : ""));
                    errors.Add(ErrorCode.None);
                }
                return (ErrorCode.None, errors);
            }
            finally
            {
                Arm(group);
            }
        }
    }

    private void RemoveMemberAndUpdateGroup(ClassicGroup group, GroupMember member, string reason)
    {
        member.AwaitingJoin?.TrySetResult(JoinResult.Failed(ErrorCode.UnknownMemberId, member.MemberId));
        member.AwaitingJoin = null;
        member.AwaitingSync?.TrySetResult(SyncResult.Failed(ErrorCode.UnknownMemberId));
        member.AwaitingSync = null;
        group.Remove(member.MemberId);
        LogMemberRemoved(_logger, group.GroupId, member.MemberId, reason);
        switch (group.State)
        {
            case GroupState.Stable or GroupState.CompletingRebalance:
                PrepareRebalance(group, reason);
                break;
            case GroupState.PreparingRebalance:
                TryCompleteJoin(group);
                break;
        }
    }

    // ------------------------------------------------------------------ Describe, list, delete

    public GroupDescription Describe(string groupId)
    {
        if (AvailabilityOf(groupId) is var a && a != ErrorCode.None) return new(a, groupId, "", "", "", []);
        if (!_groups.TryGetValue(groupId, out var group))
            return new(ErrorCode.None, groupId, nameof(GroupState.Dead), "", NoProtocol, [], $"Group {groupId} not found.");
        lock (group)
        {
            if (group.Consumer != null) return new(ErrorCode.None, groupId, nameof(GroupState.Dead), "", NoProtocol, [], $"Group {groupId} is not a classic group.");
            if (group.Is(GroupState.Dead)) return new(ErrorCode.None, groupId, nameof(GroupState.Dead), "", NoProtocol, [], $"Group {groupId} not found.");
            bool stable = group.Is(GroupState.Stable);
            var members = group.Members.Values.Select(m => stable
                ? new MemberDescription(m.MemberId, m.GroupInstanceId, m.ClientId, m.ClientHost, m.MetadataFor(group.ProtocolName!), m.Assignment)
                : new MemberDescription(m.MemberId, m.GroupInstanceId, m.ClientId, m.ClientHost, [], [])).ToList();
            return new(ErrorCode.None, groupId, group.State.ToString(), group.ProtocolType ?? "", stable ? group.ProtocolName! : NoProtocol, members);
        }
    }

    /// <summary>How many members a listed group has (either protocol).</summary>
    public int MemberCount(GroupListing group) =>
        group.GroupType == "consumer" ? DescribeConsumerGroup(group.GroupId).Members.Count : Describe(group.GroupId).Members.Count;

    public (ErrorCode Error, List<GroupListing> Groups) List(IReadOnlyCollection<string> statesFilter, IReadOnlyCollection<string> typesFilter)
    {
        if (Availability is var a && a != ErrorCode.None) return (a, []);
        var result = new List<GroupListing>();
        foreach (var group in _groups.Values)
        {
            lock (group)
            {
                if (group.Is(GroupState.Dead)) continue;
                string state = group.Consumer?.State ?? group.State.ToString();
                string type = group.GroupType;
                if (statesFilter.Count > 0 && !statesFilter.Any(s => string.Equals(s, state, StringComparison.OrdinalIgnoreCase))) continue;
                if (typesFilter.Count > 0 && !typesFilter.Any(s => string.Equals(s, type, StringComparison.OrdinalIgnoreCase))) continue;
                result.Add(new GroupListing(group.GroupId, group.Consumer != null ? "consumer" : group.ProtocolType ?? "", state, type));
            }
        }
        result.Sort((x, y) => string.CompareOrdinal(x.GroupId, y.GroupId));
        return (ErrorCode.None, result);
    }

    public ErrorCode DeleteGroup(string groupId)
    {
        if (AvailabilityOf(groupId) is var a && a != ErrorCode.None) return a;
        if (!_groups.TryGetValue(groupId, out var group)) return ErrorCode.GroupIdNotFound;
        lock (group)
        {
            if (group.Is(GroupState.Dead)) return ErrorCode.GroupIdNotFound;
            if (!group.Is(GroupState.Empty) || group.Consumer is { Members.Count: > 0 }) return ErrorCode.NonEmptyGroup;
            var err = RemoveGroup(group);
            if (err == ErrorCode.None) LogGroupDeleted(_logger, groupId);
            return err;
        }
    }

    /// <summary>Writes tombstones for the group and its offsets and marks it Dead. Caller holds the group lock.</summary>
    private ErrorCode RemoveGroup(ClassicGroup group)
    {
        var err = DeleteCommitted(group, group.Offsets.Keys.ToList(), groupToo: true);
        if (err != ErrorCode.None) return err;
        group.TransitionTo(GroupState.Dead);
        Arm(group);
        _groups.TryRemove(new(group.GroupId, group));
        return ErrorCode.None;
    }

    // ------------------------------------------------------------------ Timers

    /// <summary>Points the group's timer at its earliest deadline (a session, a join phase, a pending sync, a pending
    /// member), or cancels it. Called under the group lock after every change, so each expiry fires at its deadline.</summary>
    private void Arm(ClassicGroup group)
    {
        string key = "classic/" + group.GroupId;
        if (group.Is(GroupState.Dead) || _shutdown)
        {
            _timers.Cancel(key);
            return;
        }
        long due = long.MaxValue;
        foreach (var m in group.Members.Values) due = Math.Min(due, m.HeartbeatDeadline);
        foreach (var d in group.PendingMembers.Values) due = Math.Min(due, d);
        if (group.Is(GroupState.PreparingRebalance)) due = Math.Min(due, group.JoinDeadline);
        if (group.PendingSync.Count > 0 && group.State is GroupState.CompletingRebalance or GroupState.Stable) due = Math.Min(due, group.PendingSyncDeadline);
        if (due == long.MaxValue) _timers.Cancel(key);
        else if (_timers.DueOf(key) != due) _timers.ScheduleAt(key, due, () => OnGroupDeadline(group.GroupId));
    }

    private void OnGroupDeadline(string groupId)
    {
        if (_loading || !_groups.TryGetValue(groupId, out var group)) return;
        lock (group)
        {
            try
            {
                if (group.Is(GroupState.Dead)) return;
                long now = Now;
                ExpireMembers(group, now);
                if (group.Is(GroupState.PreparingRebalance) && now >= group.JoinDeadline) OnJoinDeadline(group);
                if (group.PendingSync.Count > 0 && now >= group.PendingSyncDeadline
                    && group.State is GroupState.CompletingRebalance or GroupState.Stable)
                {
                    var missing = group.PendingSync.ToList();
                    foreach (var id in missing)
                        if (group.Members.TryGetValue(id, out var m))
                            RemoveMemberAndUpdateGroup(group, m, $"removing member {id} because it did not send SyncGroup within the rebalance timeout");
                    group.PendingSync.Clear();
                }
            }
            finally
            {
                Arm(group);
            }
        }
    }

    private void ScheduleRetentionCheck() =>
        _timers.Schedule("offsets-retention", Cfg.OffsetsRetentionCheckIntervalMs, () =>
        {
            try
            {
                ExpireOffsets();
            }
            finally
            {
                if (!_shutdown) ScheduleRetentionCheck();
            }
        });

    private void ExpireMembers(ClassicGroup group, long now)
    {
        foreach (var (id, deadline) in group.PendingMembers.ToList())
        {
            if (now < deadline) continue;
            group.PendingMembers.Remove(id);
            LogMemberRemoved(_logger, group.GroupId, id, "it did not complete its join (pending member expired)");
            if (group.Is(GroupState.PreparingRebalance)) TryCompleteJoin(group);
        }
        foreach (var m in group.Members.Values.ToList())
        {
            if (now < m.HeartbeatDeadline) continue;
            if (!m.IsNew && (m.AwaitingJoin != null || m.AwaitingSync != null))
            {
                m.HeartbeatDeadline = now + m.SessionTimeoutMs; // blocked in a rebalance: that counts as alive
                continue;
            }
            RemoveMemberAndUpdateGroup(group, m, $"removing member {m.MemberId} on heartbeat expiration (session timeout {m.SessionTimeoutMs} ms)");
        }
    }

    private void OnJoinDeadline(ClassicGroup group)
    {
        if (group.InitialDelayedJoin && group.NewMemberAdded && group.InitialDelayRemainingMs > 0)
        {
            group.NewMemberAdded = false;
            long delay = Math.Min(Cfg.GroupInitialRebalanceDelayMs, group.InitialDelayRemainingMs);
            group.InitialDelayRemainingMs = Math.Max(group.InitialDelayRemainingMs - delay, 0);
            group.JoinDeadline = Now + delay;
            return;
        }
        group.InitialDelayedJoin = false;
        CompleteJoin(group);
    }

    /// <summary>Stops serving: pending joins and syncs are answered with NOT_COORDINATOR, as when Kafka moves a coordinator.</summary>
    public void Dispose()
    {
        _shutdown = true;
        _timers.Dispose();
        foreach (var group in _groups.Values)
            lock (group) AnswerWaiting(group, ErrorCode.NotCoordinator);
    }

    private static void AnswerWaiting(ClassicGroup group, ErrorCode error)
    {
        foreach (var m in group.Members.Values)
        {
            m.AwaitingJoin?.TrySetResult(JoinResult.Failed(error, m.MemberId));
            m.AwaitingJoin = null;
            m.AwaitingSync?.TrySetResult(SyncResult.Failed(error));
            m.AwaitingSync = null;
        }
    }

    /// <summary>Drops a group this coordinator no longer holds (its partition moved): whoever waits on it is answered
    /// NOT_COORDINATOR, its timers stop, and requests that still hold it see it Dead. Caller holds the group lock.</summary>
    private void Unload(ClassicGroup group)
    {
        AnswerWaiting(group, ErrorCode.NotCoordinator);
        group.TransitionTo(GroupState.Dead);
        _timers.Cancel("classic/" + group.GroupId);
        if (group.Consumer is { } cg)
            foreach (var id in cg.Members.Keys)
            {
                _timers.Cancel(SessionKey(group.GroupId, id));
                _timers.Cancel(RebalanceKey(group.GroupId, id));
            }
    }

    // for tests: wait until the offsets log has been read
    public async Task WaitLoadedAsync()
    {
        while (_loading) await Task.Delay(10).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "group {Group}: preparing to rebalance (was {State}, generation {Generation}): {Reason}")]
    private static partial void LogRebalance(ILogger logger, string group, string state, int generation, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "group {Group}: generation {Generation} with protocol {Protocol} and {Members} member(s)")]
    private static partial void LogGeneration(ILogger logger, string group, int generation, string protocol, int members);

    [LoggerMessage(Level = LogLevel.Information, Message = "group {Group}: stable in generation {Generation} with {Members} member(s)")]
    private static partial void LogStable(ILogger logger, string group, int generation, int members);

    [LoggerMessage(Level = LogLevel.Information, Message = "group {Group}: {Member} removed: {Reason}")]
    private static partial void LogMemberRemoved(ILogger logger, string group, string member, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "group {Group}: static member {Instance} rejoined; member id {Old} replaced by {New}")]
    private static partial void LogStaticReplaced(ILogger logger, string group, string instance, string old, string @new);

    [LoggerMessage(Level = LogLevel.Information, Message = "group {Group}: the empty consumer group became a classic group")]
    private static partial void LogConsumerDowngraded(ILogger logger, string group);

    [LoggerMessage(Level = LogLevel.Information, Message = "deleted group {Group}")]
    private static partial void LogGroupDeleted(ILogger logger, string group);

    [LoggerMessage(Level = LogLevel.Information, Message = "expired {Count} committed offset(s)")]
    private static partial void LogOffsetsExpired(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "loaded {Groups} group(s) and {Offsets} committed offset(s) from {Records} record(s) of __consumer_offsets (partition {Partition}) in {Ms} ms")]
    private static partial void LogLoaded(ILogger logger, string partition, int groups, int offsets, long records, long ms);

    [LoggerMessage(Level = LogLevel.Warning, Message = "__consumer_offsets partition {Partition} offset {Offset}: unreadable record skipped: {Message}")]
    private static partial void LogBadRecord(ILogger logger, int partition, long offset, string message);

    [LoggerMessage(Level = LogLevel.Error, Message = "could not load __consumer_offsets")]
    private static partial void LogLoadFailed(ILogger logger, Exception e);

    [LoggerMessage(Level = LogLevel.Error, Message = "group coordinator timer {Key} failed")]
    private static partial void LogGroupTickFailed(ILogger logger, Exception e, string key);

    [LoggerMessage(Level = LogLevel.Information, Message = "removed {Count} committed offset(s) of deleted topic {Topic}")]
    private static partial void LogOffsetsOfDeletedTopic(ILogger logger, int count, string topic);

    [LoggerMessage(Level = LogLevel.Warning, Message = "could not write to __consumer_offsets: {Message}")]
    private static partial void LogAppendFailed(ILogger logger, string message);
}
