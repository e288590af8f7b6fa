using System.Collections;
using System.Reflection;
using KafkaCompat.Protocol.Messages;
using Xunit;

namespace KafkaCompat.Protocol.Tests;

/// <summary>
/// ReadInto reads a message into an object read before (a connection's previous request of the same API), reusing its
/// lists and the messages in them: whatever the earlier message held, at whatever version, the result must equal a
/// fresh Read field for field, down to the fields the new version does not carry (back to their defaults).
/// </summary>
public class ReadIntoTests
{
    public static IEnumerable<object[]> AllMessages() => RoundTripTests.MessageTypes().Select(t => new object[] { t.Name });

    [Theory]
    [MemberData(nameof(AllMessages))]
    public void ReadingIntoAnEarlierMessageEqualsAFreshRead(string typeName)
    {
        var type = RoundTripTests.MessageTypes().Single(t => t.Name == typeName);
        var m = typeof(ReadIntoTests).GetMethod(nameof(Check), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(type);
        try
        {
            m.Invoke(null, []);
        }
        catch (TargetInvocationException e) when (e.InnerException != null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
        }
    }

    private static void Check<T>() where T : class, IKafkaMessage<T>
    {
        var rng = new Random(typeof(T).Name.Length * 31 + 7);
        for (short before = T.LowestVersion; before <= T.HighestVersion; before++)
            for (short now = T.LowestVersion; now <= T.HighestVersion; now++)
                for (int seed = 0; seed < 2; seed++)
                {
                    var earlier = Read<T>(RoundTripTests.Encode((IKafkaMessage)RoundTripTests.Populate(typeof(T), rng, 0), before), before, null, out _);
                    var bytes = RoundTripTests.Encode((IKafkaMessage)RoundTripTests.Populate(typeof(T), rng, 0), now);
                    var fresh = Read<T>(bytes, now, null, out int freshUsed);
                    var reused = Read<T>(bytes, now, earlier, out int reusedUsed);
                    Assert.Same(earlier, reused);
                    Assert.Equal(freshUsed, reusedUsed);
                    var diff = Difference(fresh, reused, typeof(T).Name);
                    Assert.True(diff is null, $"{typeof(T).Name} v{now} read into a v{before} message: {diff}");
                    Assert.Equal(bytes, RoundTripTests.Encode(reused, now));
                }
    }

    private static T Read<T>(byte[] bytes, short version, T? reuse, out int used) where T : class, IKafkaMessage<T>
    {
        var r = new KafkaReader(bytes);
        var m = T.ReadInto(ref r, version, reuse);
        used = r.Position;
        return m;
    }

    /// <summary>The path of the first field that differs, or null.</summary>
    internal static string? Difference(object? a, object? b, string path)
    {
        if (a is null || b is null) return a is null && b is null ? null : $"{path}: {a ?? "null"} vs {b ?? "null"}";
        var t = a.GetType();
        if (t != b.GetType()) return $"{path}: {t.Name} vs {b.GetType().Name}";
        if (a is ReadOnlyMemory<byte> ma)
            return ma.Span.SequenceEqual(((ReadOnlyMemory<byte>)b).Span) ? null : $"{path}: bytes differ";
        if (a is IList la)
        {
            var lb = (IList)b;
            if (la.Count != lb.Count) return $"{path}: {la.Count} vs {lb.Count} elements";
            for (int i = 0; i < la.Count; i++)
                if (Difference(la[i], lb[i], $"{path}[{i}]") is { } d) return d;
            return null;
        }
        if (t.Namespace == "KafkaCompat.Protocol.Messages" && t.IsClass)
        {
            foreach (var f in t.GetFields(BindingFlags.Public | BindingFlags.Instance))
                if (Difference(f.GetValue(a), f.GetValue(b), $"{path}.{f.Name}") is { } d) return d;
            return null;
        }
        return Equals(a, b) ? null : $"{path}: {a} vs {b}";
    }

    [Fact]
    public void ResetMakesEveryMessageAndStructLikeANewOne()
    {
        var rng = new Random(11);
        int checkedTypes = 0;
        foreach (var top in RoundTripTests.MessageTypes())
            foreach (var t in top.GetNestedTypes().Prepend(top).Where(t => typeof(IResettable).IsAssignableFrom(t)))
            {
                for (int seed = 0; seed < 3; seed++)
                {
                    var m = (IResettable)RoundTripTests.Populate(t, rng, 0);
                    m.Reset();
                    Assert.Null(Difference(Activator.CreateInstance(t), m, t.Name));
                }
                checkedTypes++;
            }
        Assert.True(checkedTypes > 200, $"{checkedTypes} types");
    }

    [Fact]
    public void TheComparisonSeesADifferenceDeepInAList()
    {
        var a = new ProduceRequest { TopicData = [new() { Name = "t", PartitionData = [new() { Index = 1, Records = new byte[] { 1, 2 } }] }] };
        var b = new ProduceRequest { TopicData = [new() { Name = "t", PartitionData = [new() { Index = 1, Records = new byte[] { 1, 3 } }] }] };
        Assert.Null(Difference(a, a, "m"));
        Assert.Equal("m.TopicData[0].PartitionData[0].Records: bytes differ", Difference(a, b, "m"));
    }

    [Fact]
    public void AProduceReadAgainReusesItsListsAndPartitions()
    {
        var three = new ProduceRequest { Acks = -1, TopicData = [new() { Name = "a", PartitionData = [new() { Index = 0 }, new() { Index = 1 }, new() { Index = 2 }] }] };
        var one = new ProduceRequest { Acks = 1, TopicData = [new() { Name = "b", PartitionData = [new() { Index = 7 }] }] };
        var first = Read<ProduceRequest>(RoundTripTests.Encode(three, 9), 9, null, out _);
        var partitions = first.TopicData[0].PartitionData;
        var p0 = partitions[0];
        var second = Read<ProduceRequest>(RoundTripTests.Encode(one, 9), 9, first, out _);
        Assert.Same(partitions, second.TopicData[0].PartitionData);
        Assert.Same(p0, second.TopicData[0].PartitionData[0]);
        Assert.Equal(7, second.TopicData[0].PartitionData.Single().Index);
        Assert.Equal("b", second.TopicData[0].Name);
        Assert.Equal((short)1, second.Acks);
    }
}
