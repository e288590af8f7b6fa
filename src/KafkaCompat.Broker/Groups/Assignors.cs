// The server-side assignors of consumer groups (group.consumer.assignors): "uniform" (Kafka's default: balanced and
// sticky) and "range" (contiguous ranges per topic). Both are deterministic: the same members, subscriptions and
// previous target give the same answer, so a reload computes what the live broker computed.
namespace KafkaCompat.Broker.Groups;

/// <summary>What an assignor sees of a member: its id and the topics it subscribes to (ids, resolved).</summary>
public sealed record AssignorMember(string MemberId, IReadOnlySet<Guid> Topics, TopicPartitions PreviousTarget);

public interface IConsumerAssignor
{
    string Name { get; }
    Dictionary<string, TopicPartitions> Assign(IReadOnlyList<AssignorMember> members, IReadOnlyDictionary<Guid, int> partitionCounts);
}

public static class Assignors
{
    public static readonly IConsumerAssignor Uniform = new UniformAssignor();
    public static readonly IConsumerAssignor Range = new RangeAssignor();

    /// <summary>The assignor for a name in group.consumer.assignors: "uniform" / "range", or Kafka's class names.</summary>
    public static IConsumerAssignor? Find(string name) => name.Trim() switch
    {
        "uniform" or "org.apache.kafka.coordinator.group.assignor.UniformAssignor" => Uniform,
        "range" or "org.apache.kafka.coordinator.group.assignor.RangeAssignor" => Range,
        _ => null,
    };
}

/// <summary>Every subscribed partition goes to a subscriber; counts differ by at most one between members that could
/// take each other's partitions. Sticky: a partition stays with its previous owner unless balance needs it moved.</summary>
public sealed class UniformAssignor : IConsumerAssignor
{
    public string Name => "uniform";

    public Dictionary<string, TopicPartitions> Assign(IReadOnlyList<AssignorMember> members, IReadOnlyDictionary<Guid, int> partitionCounts)
    {
        var ordered = members.OrderBy(m => m.MemberId, StringComparer.Ordinal).ToList();
        var result = ordered.ToDictionary(m => m.MemberId, _ => new TopicPartitions(), StringComparer.Ordinal);
        var count = ordered.ToDictionary(m => m.MemberId, _ => 0, StringComparer.Ordinal);
        var owner = new Dictionary<(Guid, int), string>();
        var byTopic = new Dictionary<Guid, List<AssignorMember>>();
        foreach (var m in ordered)
            foreach (var t in m.Topics)
                if (partitionCounts.ContainsKey(t))
                {
                    if (!byTopic.TryGetValue(t, out var l)) byTopic[t] = l = new();
                    l.Add(m);
                }

        // every member's fair share: what an even split of the partitions it can take would give it
        var total = byTopic.Sum(kv => partitionCounts[kv.Key]);
        int subscribers = ordered.Count(m => m.Topics.Any(byTopic.ContainsKey));
        int ceiling = subscribers == 0 ? 0 : (total + subscribers - 1) / subscribers;

        // 1. keep previous owners, up to the ceiling
        foreach (var m in ordered)
            foreach (var (t, p) in m.PreviousTarget.All())
            {
                if (!byTopic.ContainsKey(t) || !m.Topics.Contains(t) || p >= partitionCounts[t] || owner.ContainsKey((t, p))) continue;
                if (count[m.MemberId] >= ceiling) continue;
                owner[(t, p)] = m.MemberId;
                result[m.MemberId].Add(t, p);
                count[m.MemberId]++;
            }
        // 2. the rest to the least loaded subscriber
        foreach (var (t, subs) in byTopic.OrderBy(kv => kv.Key))
            for (int p = 0; p < partitionCounts[t]; p++)
            {
                if (owner.ContainsKey((t, p))) continue;
                var to = subs.MinBy(s => count[s.MemberId])!;
                owner[(t, p)] = to.MemberId;
                result[to.MemberId].Add(t, p);
                count[to.MemberId]++;
            }
        // 3. balance: move from the most to the least loaded member that can take the partition
        for (int guard = 0; guard < total * 2; guard++)
        {
            bool moved = false;
            foreach (var ((t, p), from) in owner.OrderBy(kv => kv.Key).ToList())
            {
                var to = byTopic[t].MinBy(s => count[s.MemberId])!;
                if (count[from] - count[to.MemberId] <= 1) continue;
                result[from][t].Remove(p);
                if (result[from][t].Count == 0) result[from].Remove(t);
                result[to.MemberId].Add(t, p);
                owner[(t, p)] = to.MemberId;
                count[from]--;
                count[to.MemberId]++;
                moved = true;
            }
            if (!moved) break;
        }
        return result;
    }
}

/// <summary>Per topic, its subscribers sorted by member id take contiguous ranges; the first ones take one more when
/// the partitions do not divide evenly.</summary>
public sealed class RangeAssignor : IConsumerAssignor
{
    public string Name => "range";

    public Dictionary<string, TopicPartitions> Assign(IReadOnlyList<AssignorMember> members, IReadOnlyDictionary<Guid, int> partitionCounts)
    {
        var result = members.ToDictionary(m => m.MemberId, _ => new TopicPartitions(), StringComparer.Ordinal);
        foreach (var (t, n) in partitionCounts.OrderBy(kv => kv.Key))
        {
            var subs = members.Where(m => m.Topics.Contains(t)).Select(m => m.MemberId).Order(StringComparer.Ordinal).ToList();
            if (subs.Count == 0) continue;
            int quota = n / subs.Count, extra = n % subs.Count, next = 0;
            for (int i = 0; i < subs.Count; i++)
            {
                int take = quota + (i < extra ? 1 : 0);
                for (int k = 0; k < take; k++) result[subs[i]].Add(t, next++);
            }
        }
        return result;
    }
}
