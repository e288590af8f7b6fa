// The __consumer_offsets records of consumer groups (KIP-848), in Kafka's layouts: the key is an int16 version and
// classic (int16-length) strings; the value is an int16 version (0) and a flexible body (compact lengths, tagged
// fields at the end of every struct).
//   key 3  group metadata            (group)          value: group epoch
//   key 4  partition metadata        (group)          value: the subscribed topics with id and partition count
//   key 5  member metadata           (group, member)  value: instance, rack, client, subscription, rebalance timeout, assignor
//   key 6  target assignment epoch   (group)          value: assignment epoch
//   key 7  target assignment member  (group, member)  value: the member's target partitions
//   key 8  current member assignment (group, member)  value: member epoch, previous epoch, state, assigned, revoking
using KafkaCompat.Protocol;

namespace KafkaCompat.Broker.Groups;

public readonly record struct ConsumerRecordKey(short Version, string Group, string? Member);

public static class ConsumerGroupRecords
{
    public const short GroupMetadata = 3, PartitionMetadata = 4, MemberMetadata = 5, TargetMetadata = 6, TargetMember = 7, CurrentAssignment = 8;

    public static bool IsConsumerKey(short version) => version is >= GroupMetadata and <= CurrentAssignment;

    private static byte[] Build(Action<KafkaWriter> write) => GroupRecords.Build(write);

    public static byte[] Key(short version, string group, string? member = null) => Build(w =>
    {
        w.WriteInt16(version);
        w.WriteString(group, compact: false);
        if (version is MemberMetadata or TargetMember or CurrentAssignment) w.WriteString(member!, compact: false);
    });

    public static short PeekKeyVersion(ReadOnlyMemory<byte> key) =>
        key.Length >= 2 ? System.Buffers.Binary.BinaryPrimitives.ReadInt16BigEndian(key.Span) : (short)-1;

    public static ConsumerRecordKey ReadKey(ReadOnlyMemory<byte> key) => Read(key, (ref KafkaReader r) =>
    {
        short v = r.ReadInt16();
        string group = r.ReadString(false);
        string? member = v is MemberMetadata or TargetMember or CurrentAssignment ? r.ReadString(false) : null;
        return new ConsumerRecordKey(v, group, member);
    });

    // ---- values ----

    private static void Tags(KafkaWriter w) => w.WriteUnsignedVarInt(0);

    private static void WritePartitions(KafkaWriter w, TopicPartitions tps)
    {
        w.WriteArrayLength(tps.Count, compact: true);
        foreach (var (t, ps) in tps)
        {
            w.WriteUuid(t);
            w.WriteArrayLength(ps.Count, compact: true);
            foreach (int p in ps) w.WriteInt32(p);
            Tags(w);
        }
    }

    public static byte[] GroupMetadataValue(int epoch) => Build(w =>
    {
        w.WriteInt16(0);
        w.WriteInt32(epoch);
        Tags(w);
    });

    public static byte[] PartitionMetadataValue(IEnumerable<SubscribedTopic> topics) => Build(w =>
    {
        var list = topics.ToList();
        w.WriteInt16(0);
        w.WriteArrayLength(list.Count, compact: true);
        foreach (var t in list)
        {
            w.WriteUuid(t.Id);
            w.WriteString(t.Name, compact: true);
            w.WriteInt32(t.Partitions);
            w.WriteArrayLength(0, compact: true); // no rack information per partition
            Tags(w);
        }
        Tags(w);
    });

    public static byte[] MemberMetadataValue(ConsumerMember m) => Build(w =>
    {
        w.WriteInt16(0);
        w.WriteNullableString(m.InstanceId, compact: true);
        w.WriteNullableString(m.RackId, compact: true);
        w.WriteString(m.ClientId, compact: true);
        w.WriteString(m.ClientHost, compact: true);
        w.WriteArrayLength(m.SubscribedTopicNames.Count, compact: true);
        foreach (var t in m.SubscribedTopicNames) w.WriteString(t, compact: true);
        w.WriteNullableString(m.SubscribedTopicRegex, compact: true);
        w.WriteInt32(m.RebalanceTimeoutMs);
        w.WriteNullableString(m.ServerAssignor, compact: true);
        Tags(w);
    });

    public static byte[] TargetMetadataValue(int assignmentEpoch) => Build(w =>
    {
        w.WriteInt16(0);
        w.WriteInt32(assignmentEpoch);
        Tags(w);
    });

    public static byte[] TargetMemberValue(TopicPartitions target) => Build(w =>
    {
        w.WriteInt16(0);
        WritePartitions(w, target);
        Tags(w);
    });

    public static byte[] CurrentAssignmentValue(ConsumerMember m) => Build(w =>
    {
        w.WriteInt16(0);
        w.WriteInt32(m.MemberEpoch);
        w.WriteInt32(m.PreviousMemberEpoch);
        w.WriteInt8((sbyte)m.State);
        WritePartitions(w, m.Assigned);
        WritePartitions(w, m.PendingRevocation);
        Tags(w);
    });

    // ---- reading ----

    private static T Read<T>(ReadOnlyMemory<byte> bytes, GroupRecords.ReadBody<T> body) => GroupRecords.Read(bytes, body);

    private static void SkipTags(ref KafkaReader r) => GroupRecords.SkipTags(ref r);

    private static void Version0(ref KafkaReader r)
    {
        short v = r.ReadInt16();
        if (v != 0) throw new FormatException($"unknown consumer group value version {v}");
    }

    private static TopicPartitions ReadPartitions(ref KafkaReader r)
    {
        var tps = new TopicPartitions();
        int n = r.ReadArrayLength(true);
        for (int i = 0; i < n; i++)
        {
            var id = r.ReadUuid();
            int k = r.ReadArrayLength(true);
            var set = new SortedSet<int>();
            for (int j = 0; j < k; j++) set.Add(r.ReadInt32());
            SkipTags(ref r);
            if (set.Count > 0) tps[id] = set;
        }
        return tps;
    }

    public static int ReadEpochValue(ReadOnlyMemory<byte> value) => Read(value, (ref KafkaReader r) =>
    {
        Version0(ref r);
        return r.ReadInt32();
    });

    public static List<SubscribedTopic> ReadPartitionMetadataValue(ReadOnlyMemory<byte> value) => Read(value, (ref KafkaReader r) =>
    {
        Version0(ref r);
        int n = r.ReadArrayLength(true);
        var list = new List<SubscribedTopic>(Math.Max(0, Math.Min(n, 64)));
        for (int i = 0; i < n; i++)
        {
            var id = r.ReadUuid();
            string name = r.ReadString(true);
            int partitions = r.ReadInt32();
            int racks = r.ReadArrayLength(true);
            for (int j = 0; j < racks; j++)
            {
                r.ReadInt32();
                int rn = r.ReadArrayLength(true);
                for (int k = 0; k < rn; k++) r.ReadString(true);
                SkipTags(ref r);
            }
            SkipTags(ref r);
            list.Add(new SubscribedTopic(id, name, partitions));
        }
        return list;
    });

    /// <summary>The metadata fields of a member (its assignment fields are left at their defaults).</summary>
    public static ConsumerMember ReadMemberMetadataValue(string memberId, ReadOnlyMemory<byte> value) => Read(value, (ref KafkaReader r) =>
    {
        Version0(ref r);
        string? instance = r.ReadNullableString(true);
        string? rack = r.ReadNullableString(true);
        string clientId = r.ReadString(true);
        string clientHost = r.ReadString(true);
        int n = r.ReadArrayLength(true);
        var topics = new List<string>(Math.Max(0, Math.Min(n, 64)));
        for (int i = 0; i < n; i++) topics.Add(r.ReadString(true));
        string? regex = r.ReadNullableString(true);
        int rebalance = r.ReadInt32();
        string? assignor = r.ReadNullableString(true);
        SkipTags(ref r);
        return new ConsumerMember
        {
            MemberId = memberId, InstanceId = instance, RackId = rack, ClientId = clientId, ClientHost = clientHost,
            SubscribedTopicNames = topics, SubscribedTopicRegex = regex, RebalanceTimeoutMs = rebalance, ServerAssignor = assignor,
        };
    });

    public static TopicPartitions ReadTargetMemberValue(ReadOnlyMemory<byte> value) => Read(value, (ref KafkaReader r) =>
    {
        Version0(ref r);
        var tps = ReadPartitions(ref r);
        SkipTags(ref r);
        return tps;
    });

    public static (int Epoch, int Previous, MemberState State, TopicPartitions Assigned, TopicPartitions Revoking) ReadCurrentAssignmentValue(ReadOnlyMemory<byte> value) =>
        Read(value, (ref KafkaReader r) =>
        {
            Version0(ref r);
            int epoch = r.ReadInt32();
            int previous = r.ReadInt32();
            var state = (MemberState)r.ReadInt8();
            var assigned = ReadPartitions(ref r);
            var revoking = ReadPartitions(ref r);
            SkipTags(ref r);
            return (epoch, previous, state, assigned, revoking);
        });
}
