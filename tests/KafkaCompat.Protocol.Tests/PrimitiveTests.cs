using Xunit;

namespace KafkaCompat.Protocol.Tests;

public class PrimitiveTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(-1)]
    [InlineData(63)]
    [InlineData(-64)]
    [InlineData(int.MaxValue)]
    [InlineData(int.MinValue)]
    public void VarIntsRoundTrip(int v)
    {
        using var w = new KafkaWriter();
        w.WriteVarInt(v);
        w.WriteVarLong(v * 3L);
        var r = new KafkaReader(w.ToArray());
        Assert.Equal(v, r.ReadVarInt());
        Assert.Equal(v * 3L, r.ReadVarLong());
        Assert.True(r.End);
    }

    [Fact]
    public void ZigZagMatchesTheProtocolExamples()
    {
        // the protocol guide's examples: 0->0, -1->1, 1->2, -2->3, 300 -> ac 02 (unsigned)
        using var w = new KafkaWriter();
        w.WriteVarInt(0); w.WriteVarInt(-1); w.WriteVarInt(1); w.WriteVarInt(-2); w.WriteUnsignedVarInt(300);
        Assert.Equal(new byte[] { 0, 1, 2, 3, 0xac, 0x02 }, w.ToArray());
    }

    [Fact]
    public void ReaderFailsOnceAtTheEnd()
    {
        var r = new KafkaReader(new byte[] { 0, 1, 2 });
        Assert.Equal(1, r.ReadInt16());
        try { r.ReadInt32(); Assert.Fail("read past end"); } catch (ProtocolException) { }
    }

    [Fact]
    public void HostileLengthsDoNotAllocate()
    {
        // array count of 2^31-1 with 4 bytes left must fail before any list is made
        var r = new KafkaReader(new byte[] { 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0 });
        try { r.ReadArrayLength(false); Assert.Fail("accepted"); } catch (ProtocolException) { }
        var c = new KafkaReader(new byte[] { 0xff, 0xff, 0xff, 0xff, 0x0f });
        try { c.ReadNullableString(true); Assert.Fail("accepted"); } catch (ProtocolException) { }
    }

    [Fact]
    public void UuidIsBigEndianOnTheWire()
    {
        var g = Guid.Parse("00112233-4455-6677-8899-aabbccddeeff");
        using var w = new KafkaWriter();
        w.WriteUuid(g);
        Assert.Equal(Convert.FromHexString("00112233445566778899aabbccddeeff"), w.ToArray());
    }

    [Fact]
    public void ErrorNamesAreKafkas()
    {
        Assert.Equal("UNKNOWN_TOPIC_OR_PARTITION", ErrorCode.UnknownTopicOrPartition.KafkaName());
        Assert.Equal("TOPIC_ALREADY_EXISTS", ErrorCode.TopicAlreadyExists.KafkaName());
        Assert.Equal((short)82, (short)ErrorCode.FencedInstanceId);
        Assert.True(ErrorCode.NotLeaderOrFollower.IsRetriable());
        Assert.False(ErrorCode.InvalidConfig.IsRetriable());
    }

    [Fact]
    public void ARentedWriterComesBackEmptyAndTwoInUseAreTwo()
    {
        var first = KafkaWriter.Rent();
        for (int i = 0; i < 3000; i++) first.WriteInt32(i); // past the first chunk
        var second = KafkaWriter.Rent();
        Assert.NotSame(first, second);
        second.WriteInt16(7);
        var third = KafkaWriter.Rent(); // a third while two are out: a new one
        Assert.NotSame(first, third);
        Assert.NotSame(second, third);
        third.Dispose();
        second.Dispose();
        first.Dispose();
        first.Dispose(); // a second Dispose of a spare does nothing
        var again = KafkaWriter.Rent();
        Assert.Equal(0, again.Length);
        Assert.Equal(0, again.Segments.Length);
        again.WriteInt32(0x01020304);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, again.ToArray());
        var other = KafkaWriter.Rent();
        Assert.NotSame(again, other);
        Assert.Equal(0, other.Length);
        other.Dispose();
        again.Dispose();
    }

    [Fact]
    public void AWriterReleasesItsLeasesOnceWhenDisposed()
    {
        int released = 0;
        var w = KafkaWriter.Rent();
        w.AddLease(new Released(() => released++));
        w.Dispose();
        Assert.Equal(1, released);
        var next = KafkaWriter.Rent();
        next.Dispose(); // the spare's lease list was emptied: nothing released twice
        Assert.Equal(1, released);
    }

    private sealed class Released(Action onDispose) : IDisposable
    {
        public void Dispose() => onDispose();
    }
}
