using KafkaCompat.Protocol;

namespace KafkaCompat.Broker.Groups;

/// <summary>The classic group protocol's states, named as Kafka names them in DescribeGroups and ListGroups.</summary>
public enum GroupState { Empty, PreparingRebalance, CompletingRebalance, Stable, Dead }

public readonly record struct JoinMember(string MemberId, string? GroupInstanceId, byte[] Metadata);

public sealed record JoinResult(ErrorCode Error, string MemberId, int GenerationId, string? ProtocolType, string? ProtocolName,
    string LeaderId, bool SkipAssignment, IReadOnlyList<JoinMember> Members)
{
    public static JoinResult Failed(ErrorCode error, string memberId = "") => new(error, memberId, -1, null, null, "", false, []);
}

public sealed record SyncResult(ErrorCode Error, string? ProtocolType, string? ProtocolName, byte[] Assignment)
{
    public static SyncResult Failed(ErrorCode error) => new(error, null, null, []);
}

public sealed class GroupMember
{
    public required string MemberId { get; set; }
    public string? GroupInstanceId { get; init; }
    public required string ClientId { get; set; }
    public required string ClientHost { get; set; }
    public int RebalanceTimeoutMs { get; set; }
    public int SessionTimeoutMs { get; set; }
    public required string ProtocolType { get; set; }
    public required List<(string Name, byte[] Metadata)> Protocols { get; set; }
    public byte[] Assignment { get; set; } = [];
    public TaskCompletionSource<JoinResult>? AwaitingJoin { get; set; }
    public TaskCompletionSource<SyncResult>? AwaitingSync { get; set; }
    /// <summary>Joined but not yet through a completed join phase: expires on the new-member timeout, not the session.</summary>
    public bool IsNew { get; set; }
    /// <summary>Monotonic ms (the coordinator timer's clock) after which the member is expired unless it is blocked in a join or sync.</summary>
    public long HeartbeatDeadline { get; set; }

    public byte[] MetadataFor(string protocol)
    {
        foreach (var (name, meta) in Protocols)
            if (name == protocol) return meta;
        throw new InvalidOperationException($"member {MemberId} does not support {protocol}");
    }

    public bool Matches(List<(string Name, byte[] Metadata)> protocols)
    {
        if (protocols.Count != Protocols.Count) return false;
        for (int i = 0; i < protocols.Count; i++)
            if (protocols[i].Name != Protocols[i].Name || !protocols[i].Metadata.AsSpan().SequenceEqual(Protocols[i].Metadata)) return false;
        return true;
    }
}

/// <summary>One classic consumer group (the JoinGroup/SyncGroup protocol; KIP-848 groups will be another kind):
/// membership, generation, assignment and committed offsets. Guarded by locking the instance.</summary>
public sealed class ClassicGroup(string groupId, int logPartition)
{
    public string GroupId { get; } = groupId;
    /// <summary>The __consumer_offsets partition this group is written to.</summary>
    public int LogPartition { get; } = logPartition;
    public GroupState State { get; set; } = GroupState.Empty;
    public string? ProtocolType { get; set; }
    public string? ProtocolName { get; set; }
    public int GenerationId { get; set; }
    public string? LeaderId { get; set; }
    public long StateTimestamp { get; set; } = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    public Dictionary<string, GroupMember> Members { get; } = new(StringComparer.Ordinal);
    /// <summary>group.instance.id to the member id currently holding it.</summary>
    public Dictionary<string, string> StaticMembers { get; } = new(StringComparer.Ordinal);
    /// <summary>Member ids handed out with MEMBER_ID_REQUIRED, with the deadline for their second join.</summary>
    public Dictionary<string, long> PendingMembers { get; } = new(StringComparer.Ordinal);
    /// <summary>Members of the current generation that have not yet sent SyncGroup.</summary>
    public HashSet<string> PendingSync { get; } = new(StringComparer.Ordinal);
    public long PendingSyncDeadline { get; set; }

    /// <summary>When the join phase ends even if members are missing.</summary>
    public long JoinDeadline { get; set; }
    /// <summary>In the first rebalance of an empty group: wait group.initial.rebalance.delay.ms for more members.</summary>
    public bool InitialDelayedJoin { get; set; }
    public long InitialDelayRemainingMs { get; set; }
    public bool NewMemberAdded { get; set; }

    /// <summary>Set when the group uses the consumer protocol (KIP-848): its members, epochs and assignments. The classic
    /// state is then Empty and unused; the group id, the offsets and this object's lock are shared by both kinds.</summary>
    public ConsumerGroup? Consumer { get; set; }

    /// <summary>"consumer" for a KIP-848 group, "classic" otherwise (ListGroups' group type).</summary>
    public string GroupType => Consumer != null ? "consumer" : "classic";

    public Dictionary<(string Topic, int Partition), CommittedOffset> Offsets { get; } = new();
    /// <summary>Offsets committed inside open transactions, by producer id: they count once the COMMIT marker is
    /// written to the group's offsets partition and are dropped on ABORT.</summary>
    public Dictionary<long, Dictionary<(string Topic, int Partition), CommittedOffset>> PendingTxnOffsets { get; } = new();

    public bool HasPendingTxnOffset(string topic, int partition) => PendingTxnOffsets.Values.Any(p => p.ContainsKey((topic, partition)));
    /// <summary>Environment.TickCount64 of the last lookup that created or found the group for a join or commit.</summary>
    public long LastUsed { get; set; } = Environment.TickCount64;

    public bool Is(GroupState s) => State == s;
    public bool IsLeader(string memberId) => LeaderId == memberId;
    public bool HasMember(string memberId) => Members.ContainsKey(memberId);

    public int RebalanceTimeoutMs => Members.Count == 0 ? 0 : Members.Values.Max(m => m.RebalanceTimeoutMs);

    public bool HasAllMembersJoined => PendingMembers.Count == 0 && Members.Values.All(m => m.AwaitingJoin != null);

    /// <summary>A group.instance.id held by a different member id: the caller is a zombie of an old instance.</summary>
    public bool IsStaticMemberFenced(string? groupInstanceId, string memberId) =>
        groupInstanceId != null && StaticMembers.TryGetValue(groupInstanceId, out var current) && current != memberId;

    public void TransitionTo(GroupState state)
    {
        State = state;
        StateTimestamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    }

    /// <summary>Kafka's rule: an empty group takes any typed protocol list; otherwise the type must match and one protocol be common to all.</summary>
    public bool SupportsProtocols(string protocolType, List<(string Name, byte[] Metadata)> protocols)
    {
        if (Members.Count == 0) return protocolType.Length > 0 && protocols.Count > 0;
        if (ProtocolType != protocolType) return false;
        foreach (var (name, _) in protocols)
            if (Members.Values.All(m => m.Protocols.Exists(p => p.Name == name))) return true;
        return false;
    }

    /// <summary>Among protocols every member supports, the one most members list first.</summary>
    public string SelectProtocol()
    {
        var candidates = Members.Values.First().Protocols.Select(p => p.Name)
            .Where(n => Members.Values.All(m => m.Protocols.Exists(p => p.Name == n))).ToList();
        if (candidates.Count == 0) throw new InvalidOperationException("no protocol common to all members");
        var votes = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var m in Members.Values)
        {
            var vote = m.Protocols.First(p => candidates.Contains(p.Name)).Name;
            votes[vote] = votes.GetValueOrDefault(vote) + 1;
        }
        // ties broken by the first member's preference order, so the choice is deterministic
        return candidates.OrderByDescending(c => votes.GetValueOrDefault(c)).ThenBy(candidates.IndexOf).First();
    }

    public List<JoinMember> CurrentMemberMetadata() =>
        Members.Values.Select(m => new JoinMember(m.MemberId, m.GroupInstanceId, m.MetadataFor(ProtocolName!))).ToList();

    public void Add(GroupMember m)
    {
        if (Members.Count == 0) ProtocolType = m.ProtocolType;
        Members[m.MemberId] = m;
        if (m.GroupInstanceId != null) StaticMembers[m.GroupInstanceId] = m.MemberId;
        LeaderId ??= m.MemberId;
    }

    public void Remove(string memberId)
    {
        if (!Members.Remove(memberId, out var m)) return;
        if (m.GroupInstanceId != null && StaticMembers.TryGetValue(m.GroupInstanceId, out var id) && id == memberId)
            StaticMembers.Remove(m.GroupInstanceId);
        PendingSync.Remove(memberId);
        if (LeaderId == memberId) LeaderId = Members.Keys.FirstOrDefault();
    }

    /// <summary>Topics the group's members subscribe to under the "consumer" protocol; null when that is unknown.</summary>
    public HashSet<string>? SubscribedTopics()
    {
        if (ProtocolType != "consumer" || ProtocolName is null) return null;
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var m in Members.Values)
        {
            var meta = m.Protocols.Find(p => p.Name == ProtocolName).Metadata;
            if (meta is null) return null;
            set.UnionWith(Protocol.ConsumerProtocol.SubscribedTopics(meta));
        }
        return set;
    }

    public static string StateName(GroupState s) => s.ToString();
}
