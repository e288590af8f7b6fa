using KafkaCompat.Protocol;
using Xunit;

namespace KafkaCompat.Protocol.Tests;

/// <summary>The reader decodes repeated strings once per thread; what it returns must still be exactly what was sent.</summary>
public sealed class StringCacheTests
{
    private static string Read(string? s, bool compact)
    {
        using var w = new KafkaWriter();
        w.WriteNullableString(s, compact);
        var r = new KafkaReader(w.ToArray());
        return r.ReadString(compact);
    }

    [Fact]
    public void ARepeatedStringIsDecodedOnce()
    {
        Assert.Same(Read("rdkafka", compact: false), Read("rdkafka", compact: true));
    }

    [Fact]
    public void ManyStringsSharingSlotsComeBackExactly()
    {
        // 5,000 strings over 256 slots: every slot is replaced many times; each read must give its own string
        var rng = new Random(7);
        var strings = Enumerable.Range(0, 5000).Select(i => (i % 3) switch
        {
            0 => $"topic-{i}",
            1 => "été-" + new string((char)('a' + rng.Next(26)), rng.Next(0, 120)) + "-漢字-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture),
            _ => new string('x', 100 + i % 60), // around the cached length limit, and many of one length
        }).ToArray();
        for (int round = 0; round < 2; round++)
            foreach (var s in strings.OrderBy(_ => rng.Next()))
                Assert.Equal(s, Read(s, compact: round == 0));
        Assert.Equal("", Read("", compact: false));
    }

    [Fact]
    public void StringsDifferingInOneByteAreNotConfused()
    {
        var a = new string('a', 64);
        var b = a[..63] + "b";
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(a, Read(a, compact: false));
            Assert.Equal(b, Read(b, compact: false));
        }
    }
}
