// Keys and values of the internal __consumer_offsets log, in the layouts Apache Kafka uses, so the log reads
// the same way to Kafka's tools: offset keys (key version 0/1: group, topic, partition), group keys (version 2:
// group), offset values (v1 when an explicit expiry is set, else v3) and group metadata values (v3).
// A record with a null value is a tombstone for its key.
using System.Buffers.Binary;
using System.Text;

namespace KafkaCompat.Broker.Groups;

public sealed record OffsetKey(string Group, string Topic, int Partition);

public sealed record CommittedOffset(long Offset, int LeaderEpoch, string Metadata, long CommitTimestamp, long ExpireTimestamp);

public sealed record StoredMember(string MemberId, string? GroupInstanceId, string ClientId, string ClientHost,
    int RebalanceTimeoutMs, int SessionTimeoutMs, byte[] Subscription, byte[] Assignment);

public sealed record StoredGroup(string ProtocolType, int Generation, string? Protocol, string? Leader, long StateTimestamp,
    IReadOnlyList<StoredMember> Members);

public static class GroupRecords
{
    // ---- writing ----
    private sealed class Buf
    {
        private byte[] _b = new byte[128];
        private int _n;
        private Span<byte> Take(int n)
        {
            if (_n + n > _b.Length) Array.Resize(ref _b, Math.Max(_b.Length * 2, _n + n));
            var s = _b.AsSpan(_n, n);
            _n += n;
            return s;
        }
        public void I16(short v) => BinaryPrimitives.WriteInt16BigEndian(Take(2), v);
        public void I32(int v) => BinaryPrimitives.WriteInt32BigEndian(Take(4), v);
        public void I64(long v) => BinaryPrimitives.WriteInt64BigEndian(Take(8), v);
        public void Str(string? s)
        {
            if (s is null) { I16(-1); return; }
            int len = Encoding.UTF8.GetByteCount(s);
            I16((short)len);
            Encoding.UTF8.GetBytes(s, Take(len));
        }
        public void Bytes(byte[] b)
        {
            I32(b.Length);
            b.CopyTo(Take(b.Length));
        }
        public byte[] ToArray() => _b.AsSpan(0, _n).ToArray();
    }

    public static byte[] OffsetKeyBytes(string group, string topic, int partition)
    {
        var b = new Buf();
        b.I16(1);
        b.Str(group);
        b.Str(topic);
        b.I32(partition);
        return b.ToArray();
    }

    public static byte[] GroupKeyBytes(string group)
    {
        var b = new Buf();
        b.I16(2);
        b.Str(group);
        return b.ToArray();
    }

    public static byte[] OffsetValueBytes(CommittedOffset o)
    {
        var b = new Buf();
        if (o.ExpireTimestamp >= 0)
        {
            b.I16(1);
            b.I64(o.Offset);
            b.Str(o.Metadata);
            b.I64(o.CommitTimestamp);
            b.I64(o.ExpireTimestamp);
        }
        else
        {
            b.I16(3);
            b.I64(o.Offset);
            b.I32(o.LeaderEpoch);
            b.Str(o.Metadata);
            b.I64(o.CommitTimestamp);
        }
        return b.ToArray();
    }

    public static byte[] GroupValueBytes(StoredGroup g)
    {
        var b = new Buf();
        b.I16(3);
        b.Str(g.ProtocolType);
        b.I32(g.Generation);
        b.Str(g.Protocol);
        b.Str(g.Leader);
        b.I64(g.StateTimestamp);
        b.I32(g.Members.Count);
        foreach (var m in g.Members)
        {
            b.Str(m.MemberId);
            b.Str(m.GroupInstanceId);
            b.Str(m.ClientId);
            b.Str(m.ClientHost);
            b.I32(m.RebalanceTimeoutMs);
            b.I32(m.SessionTimeoutMs);
            b.Bytes(m.Subscription);
            b.Bytes(m.Assignment);
        }
        return b.ToArray();
    }

    // ---- reading ----
    private ref struct Rd(ReadOnlySpan<byte> s)
    {
        private readonly ReadOnlySpan<byte> _s = s;
        private int _p;
        private ReadOnlySpan<byte> Take(int n)
        {
            if (n < 0 || _p + n > _s.Length) throw new FormatException("truncated __consumer_offsets record");
            var r = _s.Slice(_p, n);
            _p += n;
            return r;
        }
        public short I16() => BinaryPrimitives.ReadInt16BigEndian(Take(2));
        public int I32() => BinaryPrimitives.ReadInt32BigEndian(Take(4));
        public long I64() => BinaryPrimitives.ReadInt64BigEndian(Take(8));
        public string? Str()
        {
            int len = I16();
            return len < 0 ? null : Encoding.UTF8.GetString(Take(len));
        }
        public byte[] Bytes()
        {
            int len = I32();
            return len < 0 ? [] : Take(len).ToArray();
        }
    }

    /// <summary>Either an offset key or a group key (the other is null); null for key versions we don't know.</summary>
    public static (OffsetKey? Offset, string? Group) ReadKey(ReadOnlySpan<byte> key)
    {
        var r = new Rd(key);
        short version = r.I16();
        switch (version)
        {
            case 0 or 1:
                return (new OffsetKey(r.Str() ?? "", r.Str() ?? "", r.I32()), null);
            case 2:
                return (null, r.Str() ?? "");
            default:
                return (null, null);
        }
    }

    public static CommittedOffset ReadOffsetValue(ReadOnlySpan<byte> value)
    {
        var r = new Rd(value);
        short version = r.I16();
        switch (version)
        {
            case 0:
            {
                long off = r.I64();
                string meta = r.Str() ?? "";
                long ts = r.I64();
                return new CommittedOffset(off, -1, meta, ts, -1);
            }
            case 1:
            {
                long off = r.I64();
                string meta = r.Str() ?? "";
                long ts = r.I64();
                long exp = r.I64();
                return new CommittedOffset(off, -1, meta, ts, exp);
            }
            case 2:
            {
                long off = r.I64();
                string meta = r.Str() ?? "";
                return new CommittedOffset(off, -1, meta, r.I64(), -1);
            }
            case 3 or 4: // v4 (flexible) starts like v3; its trailing tagged fields carry nothing we keep
            {
                long off = r.I64();
                int epoch = r.I32();
                string meta = r.Str() ?? "";
                return new CommittedOffset(off, epoch, meta, r.I64(), -1);
            }
            default:
                throw new FormatException($"unknown offset value version {version}");
        }
    }

    public static StoredGroup ReadGroupValue(ReadOnlySpan<byte> value)
    {
        var r = new Rd(value);
        short version = r.I16();
        if (version is < 0 or > 4) throw new FormatException($"unknown group value version {version}");
        if (version == 4) return ReadFlexibleGroupValue(value);
        string protocolType = r.Str() ?? "";
        int generation = r.I32();
        string? protocol = r.Str();
        string? leader = r.Str();
        long stateTs = version >= 2 ? r.I64() : -1;
        int n = r.I32();
        if (n < 0 || n > 1_000_000) throw new FormatException("bad member count");
        var members = new List<StoredMember>(n);
        for (int i = 0; i < n; i++)
        {
            string memberId = r.Str() ?? "";
            string? instance = version >= 3 ? r.Str() : null;
            string clientId = r.Str() ?? "";
            string clientHost = r.Str() ?? "";
            int rebalance = version >= 1 ? r.I32() : -1;
            int session = r.I32();
            if (rebalance < 0) rebalance = session;
            byte[] sub = r.Bytes();
            byte[] assign = r.Bytes();
            members.Add(new StoredMember(memberId, instance, clientId, clientHost, rebalance, session, sub, assign));
        }
        return new StoredGroup(protocolType, generation, protocol, leader, stateTs, members);
    }

    /// <summary>Group value v4: the v3 fields in compact encodings (unsigned varint lengths + 1), then tagged fields.</summary>
    private static StoredGroup ReadFlexibleGroupValue(ReadOnlySpan<byte> value)
    {
        try
        {
            var r = new Protocol.KafkaReader(value.ToArray());
            r.ReadInt16();
            string protocolType = r.ReadString(compact: true);
            int generation = r.ReadInt32();
            string? protocol = r.ReadNullableString(compact: true);
            string? leader = r.ReadNullableString(compact: true);
            long stateTs = r.ReadInt64();
            int n = r.ReadArrayLength(compact: true);
            if (n < 0) throw new FormatException("null member array");
            var members = new List<StoredMember>(n);
            for (int i = 0; i < n; i++)
            {
                string memberId = r.ReadString(compact: true);
                string? instance = r.ReadNullableString(compact: true);
                string clientId = r.ReadString(compact: true);
                string clientHost = r.ReadString(compact: true);
                int rebalance = r.ReadInt32();
                int session = r.ReadInt32();
                byte[] sub = r.ReadBytes(compact: true).ToArray();
                byte[] assign = r.ReadBytes(compact: true).ToArray();
                SkipTags(ref r);
                members.Add(new StoredMember(memberId, instance, clientId, clientHost, rebalance, session, sub, assign));
            }
            return new StoredGroup(protocolType, generation, protocol, leader, stateTs, members);
        }
        catch (Protocol.ProtocolException e)
        {
            throw new FormatException(e.Message);
        }
    }

    private static void SkipTags(ref Protocol.KafkaReader r)
    {
        int n = r.ReadTagCount();
        for (int i = 0; i < n; i++)
        {
            r.ReadUnsignedVarInt();
            uint size = r.ReadUnsignedVarInt();
            r.Skip(size > int.MaxValue ? -1 : (int)size);
        }
    }

    /// <summary>Topic names from a "consumer" protocol subscription (version, topics, ...); empty if unreadable.</summary>
    public static IReadOnlyList<string> SubscribedTopics(ReadOnlySpan<byte> subscription)
    {
        try
        {
            var r = new Rd(subscription);
            r.I16();
            int n = r.I32();
            if (n < 0 || n > 100_000) return [];
            var topics = new List<string>(n);
            for (int i = 0; i < n; i++) topics.Add(r.Str() ?? "");
            return topics;
        }
        catch (FormatException)
        {
            return [];
        }
    }

    /// <summary>Java's String.hashCode, so a group lands on the same __consumer_offsets partition as in Kafka.</summary>
    public static int PartitionFor(string groupId, int partitions)
    {
        int h = 0;
        foreach (char c in groupId) h = unchecked(31 * h + c);
        int abs = h == int.MinValue ? 0 : Math.Abs(h);
        return abs % partitions;
    }
}
