// The state of a consumer group of the new protocol (KIP-848): the group epoch, the target assignment and its epoch,
// and per member its subscription and its current assignment with the member epoch. Only the replay of
// __consumer_offsets records changes it (GroupCoordinator.Consumer.cs): the heartbeat computes records, the
// runtime writes them and replays them here, and loading after a restart is the same replay.
namespace KafkaCompat.Broker.Groups;

/// <summary>Where a member is in reconciling its assignment with the target (Kafka's byte values).</summary>
public enum MemberState : sbyte
{
    Stable = 0,
    /// <summary>The member still owns partitions it must give up before it gets the next epoch.</summary>
    UnrevokedPartitions = 1,
    /// <summary>The member is at the target epoch but waits for partitions other members still own.</summary>
    UnreleasedPartitions = 2,
    Unknown = 127,
}

/// <summary>Partitions by topic id, kept sorted so two assignments compare and print the same way.</summary>
public sealed class TopicPartitions : SortedDictionary<Guid, SortedSet<int>>
{
    public static readonly TopicPartitions Empty = new();

    public TopicPartitions Clone()
    {
        var c = new TopicPartitions();
        foreach (var (t, ps) in this) c[t] = new SortedSet<int>(ps);
        return c;
    }

    public void Add(Guid topic, int partition)
    {
        if (!TryGetValue(topic, out var set)) this[topic] = set = new SortedSet<int>();
        set.Add(partition);
    }

    public bool Contains(Guid topic, int partition) => TryGetValue(topic, out var set) && set.Contains(partition);

    public int PartitionCount => Values.Sum(s => s.Count);

    public bool SameAs(TopicPartitions other)
    {
        if (other.Count != Count) return false;
        foreach (var (t, ps) in this)
            if (!other.TryGetValue(t, out var o) || !o.SetEquals(ps)) return false;
        return true;
    }

    public IEnumerable<(Guid Topic, int Partition)> All() => this.SelectMany(kv => kv.Value.Select(p => (kv.Key, p)));

    public override string ToString() => string.Join("; ", this.Select(kv => $"{kv.Key}-[{string.Join(",", kv.Value)}]"));
}

/// <summary>One member of a consumer group: what it subscribes to, and where its assignment stands.</summary>
public sealed record ConsumerMember
{
    public required string MemberId { get; init; }
    public string? InstanceId { get; init; }
    public string? RackId { get; init; }
    public string ClientId { get; init; } = "";
    public string ClientHost { get; init; } = "";
    public IReadOnlyList<string> SubscribedTopicNames { get; init; } = [];
    public string? SubscribedTopicRegex { get; init; }
    public int RebalanceTimeoutMs { get; init; } = -1;
    public string? ServerAssignor { get; init; }

    public int MemberEpoch { get; init; }
    public int PreviousMemberEpoch { get; init; }
    public MemberState State { get; init; } = MemberState.Stable;
    public TopicPartitions Assigned { get; init; } = TopicPartitions.Empty;
    public TopicPartitions PendingRevocation { get; init; } = TopicPartitions.Empty;

    public bool IsReconciledTo(int epoch) => State == MemberState.Stable && MemberEpoch == epoch;

    /// <summary>The fields of the member metadata record (not the assignment).</summary>
    public bool SameMetadata(ConsumerMember o) =>
        InstanceId == o.InstanceId && RackId == o.RackId && ClientId == o.ClientId && ClientHost == o.ClientHost
        && SubscribedTopicNames.SequenceEqual(o.SubscribedTopicNames) && SubscribedTopicRegex == o.SubscribedTopicRegex
        && RebalanceTimeoutMs == o.RebalanceTimeoutMs && ServerAssignor == o.ServerAssignor;

    /// <summary>The fields of the current assignment record.</summary>
    public bool SameAssignment(ConsumerMember o) =>
        MemberEpoch == o.MemberEpoch && PreviousMemberEpoch == o.PreviousMemberEpoch && State == o.State
        && Assigned.SameAs(o.Assigned) && PendingRevocation.SameAs(o.PendingRevocation);

    public bool SameSubscription(ConsumerMember o) =>
        SubscribedTopicNames.SequenceEqual(o.SubscribedTopicNames) && SubscribedTopicRegex == o.SubscribedTopicRegex && ServerAssignor == o.ServerAssignor;
}

/// <summary>A topic as a group's subscription sees it: its id and partition count.</summary>
public readonly record struct SubscribedTopic(Guid Id, string Name, int Partitions);

/// <summary>The new-protocol state of a group. Guarded by the lock of the <see cref="ClassicGroup"/> that holds it
/// (the group id, its offsets and its lock are shared by both kinds).</summary>
public sealed class ConsumerGroup
{
    public int GroupEpoch { get; set; }
    public int AssignmentEpoch { get; set; }
    public Dictionary<string, ConsumerMember> Members { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, TopicPartitions> TargetAssignment { get; } = new(StringComparer.Ordinal);
    /// <summary>The topics the members subscribe to, as of the last epoch bump (topic name to id and partition count).</summary>
    public SortedDictionary<string, SubscribedTopic> SubscriptionMetadata { get; set; } = new(StringComparer.Ordinal);
    /// <summary>The topic layout version (<c>LogManager.LayoutVersion</c>) the subscription metadata was last checked
    /// against; not persisted (a reload checks again).</summary>
    public long CheckedLayoutVersion { get; set; } = -1;

    public ConsumerMember? StaticMember(string instanceId) => Members.Values.FirstOrDefault(m => m.InstanceId == instanceId);

    public TopicPartitions TargetOf(string memberId) => TargetAssignment.GetValueOrDefault(memberId) ?? TopicPartitions.Empty;

    /// <summary>Kafka's group states: Empty, Assigning (the group epoch is ahead of the target assignment),
    /// Reconciling (a member is not yet at the target), Stable.</summary>
    public string State
    {
        get
        {
            if (Members.Count == 0) return "Empty";
            if (GroupEpoch > AssignmentEpoch) return "Assigning";
            foreach (var m in Members.Values)
                if (!m.IsReconciledTo(AssignmentEpoch)) return "Reconciling";
            return "Stable";
        }
    }

    /// <summary>The epoch of the member that owns (or is still revoking) a partition; -1 when it is free.</summary>
    public Dictionary<(Guid, int), int> PartitionEpochs()
    {
        var epochs = new Dictionary<(Guid, int), int>();
        foreach (var m in Members.Values)
        {
            foreach (var tp in m.Assigned.All()) epochs[tp] = m.MemberEpoch;
            foreach (var tp in m.PendingRevocation.All()) epochs[tp] = m.MemberEpoch;
        }
        return epochs;
    }
}

/// <summary>
/// Kafka's reconciliation of one member towards its target assignment (the current-assignment builder): a member
/// first gives up what the target takes away (UNREVOKED_PARTITIONS, epoch kept), then gets the target epoch and the
/// partitions that are free; partitions other members still own follow once released (UNRELEASED_PARTITIONS).
/// </summary>
public static class Reconciliation
{
    public static ConsumerMember Next(ConsumerMember member, int targetEpoch, TopicPartitions target,
        Func<Guid, int, int> partitionEpoch, TopicPartitions? owned)
    {
        switch (member.State)
        {
            case MemberState.Stable:
                return member.MemberEpoch != targetEpoch ? Compute(member, member.MemberEpoch, targetEpoch, target, partitionEpoch, owned) : member;
            case MemberState.UnrevokedPartitions:
                if (OwnsAny(owned, member.PendingRevocation)) return member;
                return Compute(member, member.MemberEpoch + 1, targetEpoch, target, partitionEpoch, owned);
            case MemberState.UnreleasedPartitions:
                return Compute(member, member.MemberEpoch, targetEpoch, target, partitionEpoch, owned);
            default:
                return Compute(member, targetEpoch, targetEpoch, target, partitionEpoch, owned);
        }
    }

    /// <summary>Whether the member still reports owning one of <paramref name="partitions"/> (an unknown list: yes).</summary>
    private static bool OwnsAny(TopicPartitions? owned, TopicPartitions partitions)
    {
        if (owned is null) return true;
        foreach (var (t, ps) in owned)
            if (partitions.TryGetValue(t, out var pending) && ps.Overlaps(pending)) return true;
        return false;
    }

    private static ConsumerMember Compute(ConsumerMember member, int revokingEpoch, int targetEpoch, TopicPartitions target,
        Func<Guid, int, int> partitionEpoch, TopicPartitions? owned)
    {
        bool unreleased = false;
        var assigned = new TopicPartitions();
        var revoke = new TopicPartitions();
        var pendingAssignment = new TopicPartitions();
        foreach (var topic in target.Keys.Union(member.Assigned.Keys))
        {
            var want = target.GetValueOrDefault(topic) ?? [];
            var have = member.Assigned.GetValueOrDefault(topic) ?? [];
            foreach (int p in have)
            {
                if (want.Contains(p)) assigned.Add(topic, p);
                else revoke.Add(topic, p);
            }
            foreach (int p in want)
            {
                if (have.Contains(p)) continue;
                if (partitionEpoch(topic, p) != -1) unreleased = true;
                else pendingAssignment.Add(topic, p);
            }
        }
        if (revoke.Count > 0 && OwnsAny(owned, revoke))
        {
            return member with
            {
                State = MemberState.UnrevokedPartitions,
                PreviousMemberEpoch = member.MemberEpoch, MemberEpoch = revokingEpoch,
                Assigned = assigned, PendingRevocation = revoke,
            };
        }
        foreach (var (t, p) in pendingAssignment.All()) assigned.Add(t, p);
        return member with
        {
            State = unreleased ? MemberState.UnreleasedPartitions : MemberState.Stable,
            PreviousMemberEpoch = member.MemberEpoch, MemberEpoch = targetEpoch,
            Assigned = assigned, PendingRevocation = TopicPartitions.Empty,
        };
    }
}
