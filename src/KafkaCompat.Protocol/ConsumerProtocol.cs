namespace KafkaCompat.Protocol;

/// <summary>
/// The "consumer" embedded protocol that every Kafka client puts inside JoinGroup and SyncGroup: a member's
/// subscription (version 0: the topics, no user data) and its assignment (topics with their partitions). Reading
/// tolerates what other clients write (later versions append fields) and gives an empty answer for bytes it cannot read.
/// </summary>
public static class ConsumerProtocol
{
    public static byte[] Subscription(IEnumerable<string> topics)
    {
        using var w = new KafkaWriter();
        w.WriteInt16(0);
        var list = topics.ToList();
        w.WriteArrayLength(list.Count, compact: false);
        foreach (var t in list) w.WriteString(t, compact: false);
        w.WriteInt32(-1); // no user data
        return w.ToArray();
    }

    /// <summary>The topics of a subscription; empty when it cannot be read.</summary>
    public static IReadOnlyList<string> SubscribedTopics(ReadOnlyMemory<byte> subscription)
    {
        try
        {
            var r = new KafkaReader(subscription);
            r.ReadInt16();
            int n = r.ReadArrayLength(compact: false);
            var topics = new List<string>(Math.Max(n, 0));
            for (int i = 0; i < n; i++) topics.Add(r.ReadNullableString(false) ?? "");
            return topics;
        }
        catch (ProtocolException)
        {
            return [];
        }
    }

    public static byte[] Assignment(IEnumerable<(string Topic, IReadOnlyList<int> Partitions)> owned)
    {
        using var w = new KafkaWriter();
        w.WriteInt16(0);
        var list = owned.ToList();
        w.WriteArrayLength(list.Count, compact: false);
        foreach (var (t, parts) in list)
        {
            w.WriteString(t, compact: false);
            w.WriteArrayLength(parts.Count, compact: false);
            foreach (var p in parts) w.WriteInt32(p);
        }
        w.WriteInt32(-1); // no user data
        return w.ToArray();
    }

    /// <summary>The partitions of an assignment; empty for an empty or unreadable one.</summary>
    public static List<(string Topic, int Partition)> AssignedPartitions(ReadOnlyMemory<byte> assignment)
    {
        var result = new List<(string, int)>();
        try
        {
            var r = new KafkaReader(assignment);
            r.ReadInt16();
            int n = r.ReadArrayLength(compact: false);
            for (int i = 0; i < n; i++)
            {
                string t = r.ReadNullableString(false) ?? "";
                int m = r.ReadArrayLength(compact: false);
                for (int j = 0; j < m; j++) result.Add((t, r.ReadInt32()));
            }
        }
        catch (ProtocolException)
        {
            result.Clear();
        }
        return result;
    }
}
