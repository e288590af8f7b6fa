using System.Buffers.Binary;
using System.Text;
using KafkaCompat.Broker.Groups;
using KafkaCompat.Protocol;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>The __consumer_offsets record layouts and the group-to-partition mapping.</summary>
public sealed class GroupRecordsTests
{
    [Fact]
    public void OffsetKeysAndValuesRoundTrip()
    {
        var (key, group) = GroupRecords.ReadKey(GroupRecords.OffsetKeyBytes("g", "orders", 7));
        Assert.Null(group);
        Assert.Equal(new OffsetKey("g", "orders", 7), key);
        var v3 = new CommittedOffset(42, 5, "meta", 1700000000000, -1);
        Assert.Equal(v3, GroupRecords.ReadOffsetValue(GroupRecords.OffsetValueBytes(v3)));
        Assert.Equal(3, BinaryPrimitives.ReadInt16BigEndian(GroupRecords.OffsetValueBytes(v3)));
        // an explicit expiry needs value v1, which has no leader epoch
        var v1 = new CommittedOffset(42, -1, "", 1700000000000, 1700000300000);
        Assert.Equal(1, BinaryPrimitives.ReadInt16BigEndian(GroupRecords.OffsetValueBytes(v1)));
        Assert.Equal(v1, GroupRecords.ReadOffsetValue(GroupRecords.OffsetValueBytes(v1)));
    }

    [Fact]
    public void GroupValuesRoundTripAndTheFlexibleVersionIsRead()
    {
        var stored = new StoredGroup("consumer", 3, "range", "m1", 1700000000000,
            [new StoredMember("m1", "inst", "client", "/127.0.0.1", 30000, 10000, [1, 2], [3])]);
        var (_, name) = GroupRecords.ReadKey(GroupRecords.GroupKeyBytes("g"));
        Assert.Equal("g", name);
        var back = GroupRecords.ReadGroupValue(GroupRecords.GroupValueBytes(stored));
        Assert.Equal((stored.ProtocolType, stored.Generation, stored.Protocol, stored.Leader, stored.StateTimestamp),
            (back.ProtocolType, back.Generation, back.Protocol, back.Leader, back.StateTimestamp));
        var m = Assert.Single(back.Members);
        Assert.Equal(("m1", "inst", "client", "/127.0.0.1", 30000, 10000), (m.MemberId, m.GroupInstanceId, m.ClientId, m.ClientHost, m.RebalanceTimeoutMs, m.SessionTimeoutMs));
        Assert.Equal(new byte[] { 1, 2 }, m.Subscription);
        Assert.Equal(new byte[] { 3 }, m.Assignment);

        // version 4 (flexible): compact strings and bytes, tagged fields after each member and at the end
        var ms = new MemoryStream();
        void I16(short v) { var b = new byte[2]; BinaryPrimitives.WriteInt16BigEndian(b, v); ms.Write(b); }
        void I32(int v) { var b = new byte[4]; BinaryPrimitives.WriteInt32BigEndian(b, v); ms.Write(b); }
        void I64(long v) { var b = new byte[8]; BinaryPrimitives.WriteInt64BigEndian(b, v); ms.Write(b); }
        void Str(string? s) { if (s == null) { ms.WriteByte(0); return; } var b = Encoding.UTF8.GetBytes(s); ms.WriteByte((byte)(b.Length + 1)); ms.Write(b); }
        void Bytes(byte[] b) { ms.WriteByte((byte)(b.Length + 1)); ms.Write(b); }
        I16(4); Str("consumer"); I32(9); Str("cooperative-sticky"); Str("m9"); I64(5);
        ms.WriteByte(2); // one member
        Str("m9"); Str(null); Str("cli"); Str("/10.0.0.1"); I32(300000); I32(45000); Bytes([7]); Bytes([8, 9]); ms.WriteByte(0);
        ms.WriteByte(0);
        var v4 = GroupRecords.ReadGroupValue(ms.ToArray());
        Assert.Equal(("consumer", 9, "cooperative-sticky", "m9"), (v4.ProtocolType, v4.Generation, v4.Protocol, v4.Leader));
        var m9 = Assert.Single(v4.Members);
        Assert.Null(m9.GroupInstanceId);
        Assert.Equal((300000, 45000), (m9.RebalanceTimeoutMs, m9.SessionTimeoutMs));
        Assert.Equal(new byte[] { 8, 9 }, m9.Assignment);
    }

    [Fact]
    public void AGroupLandsOnTheSamePartitionAsInKafka()
    {
        // Java: "hello".hashCode() == 99162322; "polygenelubricants".hashCode() == Integer.MIN_VALUE, which Kafka's abs maps to 0
        Assert.Equal(99162322 % 50, GroupRecords.PartitionFor("hello", 50));
        Assert.Equal(0, GroupRecords.PartitionFor("polygenelubricants", 50));
        Assert.Equal(0, GroupRecords.PartitionFor("anything", 1));
    }

    [Fact]
    public void ConsumerSubscriptionTopicsAreRead()
    {
        Assert.Equal(["a", "bb"], ConsumerProtocol.SubscribedTopics(GroupProtocolTests.Subscription("a", "bb")));
        Assert.Empty(ConsumerProtocol.SubscribedTopics(new byte[] { 0, 1 }));
    }
}
