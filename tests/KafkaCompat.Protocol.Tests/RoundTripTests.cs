using System.Collections;
using System.Reflection;
using KafkaCompat.Protocol.Messages;
using Xunit;

namespace KafkaCompat.Protocol.Tests;

/// <summary>Every version of every generated message: write, read back, write again, same bytes; every
/// truncation fails with ProtocolException and nothing else.</summary>
public class RoundTripTests
{
    public static IEnumerable<object[]> AllMessagesAllVersions()
    {
        foreach (var t in MessageTypes())
        {
            short lo = (short)t.GetProperty("LowestVersion", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;
            short hi = (short)t.GetProperty("HighestVersion", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;
            for (short v = lo; v <= hi; v++) yield return [t.Name, v];
        }
    }

    internal static IEnumerable<Type> MessageTypes() =>
        typeof(MetadataRequest).Assembly.GetTypes()
            .Where(t => t.IsClass && !t.IsNested && t.Namespace == "KafkaCompat.Protocol.Messages")
            .OrderBy(t => t.Name);

    [Fact]
    public void EverySpecProducedMessages()
    {
        var names = MessageTypes().Select(t => t.Name).ToHashSet();
        foreach (var api in new[] { "ApiVersions", "Metadata", "Produce", "Fetch", "ListOffsets", "CreateTopics", "DeleteTopics" })
        {
            Assert.Contains(api + "Request", names);
            Assert.Contains(api + "Response", names);
        }
        Assert.Contains("RequestHeader", names);
        Assert.Contains("ResponseHeader", names);
    }

    [Theory]
    [MemberData(nameof(AllMessagesAllVersions))]
    public void RoundTrips(string typeName, short version)
    {
        var type = MessageTypes().Single(t => t.Name == typeName);
        for (int seed = 0; seed < 3; seed++)
        {
            var rng = new Random(seed * 7919 + version);
            var msg = (IKafkaMessage)Populate(type, rng, 0);
            var bytes1 = Encode(msg, version);
            var decoded = Decode(type, bytes1, version, out int consumed);
            Assert.Equal(bytes1.Length, consumed);
            var bytes2 = Encode(decoded, version);
            Assert.Equal(bytes1, bytes2);

            for (int cut = 0; cut < bytes1.Length; cut += Math.Max(1, bytes1.Length / 64))
            {
                var truncated = bytes1.AsMemory(0, cut);
                try
                {
                    Decode(type, truncated, version, out int used);
                    // a prefix can only parse when the rest is optional (never for these messages)
                    Assert.Fail($"{typeName} v{version}: {cut} of {bytes1.Length} bytes parsed ({used} used)");
                }
                catch (TargetInvocationException e) when (e.InnerException is ProtocolException) { }
            }
        }
    }

    internal static byte[] Encode(IKafkaMessage msg, short version)
    {
        using var w = new KafkaWriter();
        msg.Write(w, version);
        return w.ToArray();
    }

    private delegate object ReadFn(ReadOnlyMemory<byte> mem, short version, out int consumed);

    internal static IKafkaMessage Decode(Type type, ReadOnlyMemory<byte> bytes, short version, out int consumed)
    {
        var m = typeof(RoundTripTests).GetMethod(nameof(DecodeGeneric), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(type);
        var args = new object?[] { bytes, version, 0 };
        var result = (IKafkaMessage)m.Invoke(null, args)!;
        consumed = (int)args[2]!;
        return result;
    }

    private static IKafkaMessage DecodeGeneric<T>(ReadOnlyMemory<byte> bytes, short version, out int consumed) where T : IKafkaMessage<T>
    {
        var r = new KafkaReader(bytes);
        var m = T.Read(ref r, version);
        consumed = r.Position;
        return m;
    }

    internal static object Populate(Type type, Random rng, int depth)
    {
        var obj = Activator.CreateInstance(type)!;
        foreach (var f in type.GetFields(BindingFlags.Public | BindingFlags.Instance))
            f.SetValue(obj, Value(f.FieldType, rng, depth));
        return obj;
    }

    private static object? Value(Type t, Random rng, int depth)
    {
        var underlying = Nullable.GetUnderlyingType(t);
        if (underlying != null)
            return rng.Next(4) == 0 ? null : Value(underlying, rng, depth);
        if (t == typeof(bool)) return rng.Next(2) == 1;
        if (t == typeof(sbyte)) return (sbyte)rng.Next(-128, 128);
        if (t == typeof(short)) return (short)rng.Next(short.MinValue, short.MaxValue);
        if (t == typeof(ErrorCode)) return (ErrorCode)rng.Next(short.MinValue, short.MaxValue);
        if (t == typeof(ushort)) return (ushort)rng.Next(0, ushort.MaxValue);
        if (t == typeof(int)) return rng.Next(int.MinValue, int.MaxValue);
        if (t == typeof(long)) return rng.NextInt64(long.MinValue, long.MaxValue);
        if (t == typeof(double)) return rng.NextDouble();
        if (t == typeof(Guid)) return Guid.NewGuid();
        if (t == typeof(string)) return rng.Next(5) == 0 ? null : "s" + rng.Next(100000) + (rng.Next(3) == 0 ? "é✓" : "");
        if (t == typeof(ReadOnlyMemory<byte>))
        {
            var b = new byte[rng.Next(0, 3) == 0 ? 2000 : rng.Next(0, 40)];
            rng.NextBytes(b);
            return new ReadOnlyMemory<byte>(b);
        }
        if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(List<>))
        {
            if (rng.Next(6) == 0) return null;
            var list = (IList)Activator.CreateInstance(t)!;
            int n = depth > 3 ? 0 : rng.Next(0, 3);
            for (int i = 0; i < n; i++) list.Add(Value(t.GetGenericArguments()[0], rng, depth + 1) ?? DefaultFor(t.GetGenericArguments()[0]));
            return list;
        }
        if (t.IsClass) return rng.Next(5) == 0 ? null : Populate(t, rng, depth + 1);
        throw new InvalidOperationException($"no generator for {t}");
    }

    private static object DefaultFor(Type t) => t == typeof(string) ? "" : Activator.CreateInstance(t)!;
}
