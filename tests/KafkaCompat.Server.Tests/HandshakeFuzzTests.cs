using System.Text;
using KafkaCompat.Fuzzing;
using KafkaCompat.TestSupport;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>The handshake fuzz target (SASL exchanges and TLS handshakes before authentication) as a unit test: its
/// seeds and every input that once failed replay cleanly, and seeded mutations of the seeds end only in refusals.</summary>
public sealed class HandshakeFuzzTests
{
    private static IEnumerable<byte[]> Regressions()
    {
        var dir = Path.Combine(RepoPaths.Root, "tests", "KafkaCompat.Server.Tests", "HandshakeRegressions");
        return Directory.GetFiles(dir).Where(f => !f.EndsWith(".md", StringComparison.Ordinal)).Order(StringComparer.Ordinal).Select(File.ReadAllBytes);
    }

    [Fact]
    public void SeedsAndPastFailuresReplay()
    {
        var seeds = HandshakeFuzzTarget.Seeds().ToList();
        Assert.Contains(seeds, s => s.Name == "aa-tls-client-hello" && s.Input.Length > 100); // a real ClientHello was recorded
        foreach (var input in seeds.Select(s => s.Input).Concat(Regressions()))
            HandshakeFuzzTarget.Run(input);
    }

    [Fact]
    public void MutatedExchangesEndOnlyInRefusals()
    {
        var seeds = HandshakeFuzzTarget.Seeds().Where(s => !s.Name.Contains("tls", StringComparison.Ordinal)).Select(s => s.Input).ToArray();
        var rng = new Random(20261201);
        for (int i = 0; i < 3000; i++)
        {
            var input = (byte[])seeds[rng.Next(seeds.Length)].Clone();
            for (int r = 0, rounds = 1 + rng.Next(3); r < rounds && input.Length > 1; r++)
            {
                int at = 1 + rng.Next(input.Length - 1);
                switch (rng.Next(4))
                {
                    case 0: input[at] ^= (byte)(1 << rng.Next(8)); break;
                    case 1: input[at] = (byte)",=\u0001\0"[rng.Next(4)]; break;
                    case 2: input = input[..at]; break;
                    default: input[at] = (byte)rng.Next(256); break;
                }
            }
            var ex = Record.Exception(() => HandshakeFuzzTarget.Run(input));
            Assert.True(ex is null, $"mutation {i} ({Convert.ToHexString(input.AsSpan(0, Math.Min(64, input.Length)))}): {ex}");
        }
    }

    [Fact]
    public void MutatedClientHellosEndOnlyInTlsRefusals()
    {
        var hello = HandshakeFuzzTarget.Seeds().Single(s => s.Name.Contains("tls", StringComparison.Ordinal)).Input;
        var rng = new Random(20261202);
        for (int i = 0; i < 200; i++)
        {
            var input = (byte[])hello.Clone();
            int at = 1 + rng.Next(input.Length - 1);
            if (rng.Next(3) == 0) input = input[..at];
            else input[at] = (byte)rng.Next(256);
            var ex = Record.Exception(() => HandshakeFuzzTarget.Run(input));
            Assert.True(ex is null, $"mutation {i} at {at}: {ex}");
        }
    }

    [Fact]
    public void GarbageInsteadOfAClientHelloIsRefusedAsTlsRefusesIt()
    {
        foreach (var garbage in new[] { "GET / HTTP/1.1\r\n\r\n", "\u0016\u0003\u0001\u0000\u0005hello", "\0\0\0\u0010\0\u0012\0\u0003" })
            HandshakeFuzzTarget.Run((byte[])[0x80, .. Encoding.Latin1.GetBytes(garbage)]);
    }
}
