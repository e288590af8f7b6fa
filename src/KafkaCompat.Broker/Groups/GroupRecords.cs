// Keys and values of the internal __consumer_offsets log, in the layouts Apache Kafka uses, so the log reads
// the same way to Kafka's tools: offset keys (key version 0/1: group, topic, partition), group keys (version 2:
// group), offset values (v1 when an explicit expiry is set, else v3) and group metadata values (v3).
// A record with a null value is a tombstone for its key.
using KafkaCompat.Protocol;

namespace KafkaCompat.Broker.Groups;

public sealed record OffsetKey(string Group, string Topic, int Partition);

public sealed record CommittedOffset(long Offset, int LeaderEpoch, string Metadata, long CommitTimestamp, long ExpireTimestamp);

public sealed record StoredMember(string MemberId, string? GroupInstanceId, string ClientId, string ClientHost,
    int RebalanceTimeoutMs, int SessionTimeoutMs, byte[] Subscription, byte[] Assignment);

public sealed record StoredGroup(string ProtocolType, int Generation, string? Protocol, string? Leader, long StateTimestamp,
    IReadOnlyList<StoredMember> Members);

public static class GroupRecords
{
    // ---- writing (KafkaWriter: int16-length strings, int32-length bytes, as in Kafka's non-flexible versions) ----
    internal static byte[] Build(Action<KafkaWriter> write)
    {
        using var w = new KafkaWriter();
        write(w);
        return w.ToArray();
    }

    public static byte[] OffsetKeyBytes(string group, string topic, int partition) => Build(w =>
    {
        w.WriteInt16(1);
        w.WriteString(group, compact: false);
        w.WriteString(topic, compact: false);
        w.WriteInt32(partition);
    });

    public static byte[] GroupKeyBytes(string group) => Build(w =>
    {
        w.WriteInt16(2);
        w.WriteString(group, compact: false);
    });

    public static byte[] OffsetValueBytes(CommittedOffset o) => Build(w =>
    {
        if (o.ExpireTimestamp >= 0)
        {
            w.WriteInt16(1);
            w.WriteInt64(o.Offset);
            w.WriteString(o.Metadata, compact: false);
            w.WriteInt64(o.CommitTimestamp);
            w.WriteInt64(o.ExpireTimestamp);
        }
        else
        {
            w.WriteInt16(3);
            w.WriteInt64(o.Offset);
            w.WriteInt32(o.LeaderEpoch);
            w.WriteString(o.Metadata, compact: false);
            w.WriteInt64(o.CommitTimestamp);
        }
    });

    public static byte[] GroupValueBytes(StoredGroup g) => Build(w =>
    {
        w.WriteInt16(3);
        w.WriteString(g.ProtocolType, compact: false);
        w.WriteInt32(g.Generation);
        w.WriteNullableString(g.Protocol, compact: false);
        w.WriteNullableString(g.Leader, compact: false);
        w.WriteInt64(g.StateTimestamp);
        w.WriteArrayLength(g.Members.Count, compact: false);
        foreach (var m in g.Members)
        {
            w.WriteString(m.MemberId, compact: false);
            w.WriteNullableString(m.GroupInstanceId, compact: false);
            w.WriteString(m.ClientId, compact: false);
            w.WriteString(m.ClientHost, compact: false);
            w.WriteInt32(m.RebalanceTimeoutMs);
            w.WriteInt32(m.SessionTimeoutMs);
            w.WriteBytes(m.Subscription, compact: false);
            w.WriteBytes(m.Assignment, compact: false);
        }
    });

    // ---- reading (KafkaReader; anything unreadable is a FormatException for the loader to skip) ----
    internal delegate T ReadBody<T>(ref KafkaReader r);

    /// <summary>Reads a record key or value; anything unreadable is a FormatException (the loader logs and skips it).</summary>
    internal static T Read<T>(ReadOnlyMemory<byte> bytes, ReadBody<T> body)
    {
        try
        {
            var r = new KafkaReader(bytes);
            return body(ref r);
        }
        catch (ProtocolException e)
        {
            throw new FormatException("unreadable __consumer_offsets record: " + e.Message, e);
        }
    }

    // the classic versions read a null string or bytes as empty; the flexible version (v4) refuses null there
    private static string Str(ref KafkaReader r, bool compact = false) => compact ? r.ReadString(true) : r.ReadNullableString(false) ?? "";

    private static byte[] Bytes(ref KafkaReader r, bool compact = false) => compact ? r.ReadBytes(true).ToArray() : r.ReadNullableBytes(false)?.ToArray() ?? [];

    internal static void SkipTags(ref KafkaReader r)
    {
        int n = r.ReadTagCount();
        for (int i = 0; i < n; i++)
        {
            r.ReadUnsignedVarInt();
            uint size = r.ReadUnsignedVarInt();
            r.Skip(size > int.MaxValue ? -1 : (int)size);
        }
    }

    /// <summary>Either an offset key or a group key (the other is null); null for key versions we don't know.</summary>
    public static (OffsetKey? Offset, string? Group) ReadKey(ReadOnlyMemory<byte> key) => Read(key, (ref KafkaReader r) =>
    {
        short version = r.ReadInt16();
        return version switch
        {
            0 or 1 => (new OffsetKey(Str(ref r), Str(ref r), r.ReadInt32()), (string?)null),
            2 => ((OffsetKey?)null, Str(ref r)),
            _ => (null, null),
        };
    });

    public static CommittedOffset ReadOffsetValue(ReadOnlyMemory<byte> value) => Read(value, (ref KafkaReader r) =>
    {
        short version = r.ReadInt16();
        switch (version)
        {
            case 0:
            {
                long off = r.ReadInt64();
                string meta = Str(ref r);
                return new CommittedOffset(off, -1, meta, r.ReadInt64(), -1);
            }
            case 1:
            {
                long off = r.ReadInt64();
                string meta = Str(ref r);
                long ts = r.ReadInt64();
                return new CommittedOffset(off, -1, meta, ts, r.ReadInt64());
            }
            case 2:
            {
                long off = r.ReadInt64();
                string meta = Str(ref r);
                return new CommittedOffset(off, -1, meta, r.ReadInt64(), -1);
            }
            case 3 or 4: // v4 (flexible) starts like v3; its trailing tagged fields carry nothing we keep
            {
                long off = r.ReadInt64();
                int epoch = r.ReadInt32();
                string meta = Str(ref r, compact: version == 4);
                return new CommittedOffset(off, epoch, meta, r.ReadInt64(), -1);
            }
            default:
                throw new FormatException($"unknown offset value version {version}");
        }
    });

    /// <summary>Group metadata value v0-v4 (v4 is the flexible one: compact lengths and tagged fields).</summary>
    public static StoredGroup ReadGroupValue(ReadOnlyMemory<byte> value) => Read(value, (ref KafkaReader r) =>
    {
        short version = r.ReadInt16();
        if (version is < 0 or > 4) throw new FormatException($"unknown group value version {version}");
        bool flexible = version == 4;
        string protocolType = Str(ref r, flexible);
        int generation = r.ReadInt32();
        string? protocol = r.ReadNullableString(flexible);
        string? leader = r.ReadNullableString(flexible);
        long stateTs = version >= 2 ? r.ReadInt64() : -1;
        int n = r.ReadArrayLength(flexible);
        if (n < 0) throw new FormatException("null member array");
        var members = new List<StoredMember>(n);
        for (int i = 0; i < n; i++)
        {
            string memberId = Str(ref r, flexible);
            string? instance = version >= 3 ? r.ReadNullableString(flexible) : null;
            string clientId = Str(ref r, flexible);
            string clientHost = Str(ref r, flexible);
            int rebalance = version >= 1 ? r.ReadInt32() : -1;
            int session = r.ReadInt32();
            if (rebalance < 0) rebalance = session;
            byte[] sub = Bytes(ref r, flexible);
            byte[] assign = Bytes(ref r, flexible);
            if (flexible) SkipTags(ref r);
            members.Add(new StoredMember(memberId, instance, clientId, clientHost, rebalance, session, sub, assign));
        }
        return new StoredGroup(protocolType, generation, protocol, leader, stateTs, members);
    });

    /// <summary>Java's String.hashCode, so a group lands on the same __consumer_offsets partition as in Kafka.</summary>
    public static int PartitionFor(string groupId, int partitions)
    {
        int h = 0;
        foreach (char c in groupId) h = unchecked(31 * h + c);
        int abs = h == int.MinValue ? 0 : Math.Abs(h);
        return abs % partitions;
    }
}
