using System.Buffers.Binary;
using KafkaCompat.Fuzzing;
using KafkaCompat.Protocol;
using Xunit;

namespace KafkaCompat.Protocol.Tests;

/// <summary>The fuzz target outside the fuzzer: every captured frame and every input that ever failed replays
/// cleanly, and a fixed budget of seeded mutations of the captured frames (bit flips, overwritten length and
/// count fields, truncations, splices) only ever ends in the protocol's own errors. The coverage-guided run is
/// scripts/fuzz.sh (AFL++ through SharpFuzz).</summary>
public sealed class FuzzTargetTests
{
    private static string Dir(string name) => Path.Combine(AppContext.BaseDirectory, name);

    private static IEnumerable<string> Inputs(string dir) =>
        Directory.Exists(Dir(dir)) ? Directory.GetFiles(Dir(dir)).Where(f => !f.EndsWith(".md", StringComparison.Ordinal)).Order(StringComparer.Ordinal) : [];

    [Fact]
    public void EveryRequestTheBrokerServesIsCovered()
    {
        // the target decodes every API in the fixtures, so the fuzzer reaches each decoder from a real frame
        var inFixtures = Inputs("Fixtures").Select(f => (ApiKey)BinaryPrimitives.ReadInt16BigEndian(File.ReadAllBytes(f))).ToHashSet();
        Assert.Empty(inFixtures.Except(FrameFuzzTarget.Covered));
        Assert.True(FrameFuzzTarget.Covered.Count >= 32, $"{FrameFuzzTarget.Covered.Count} request types");
        // and every request type generated from the specs (the ones no client fixture sends too)
        var generated = typeof(Messages.MetadataRequest).Assembly.GetTypes()
            .Where(t => t.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IKafkaRequest<>)))
            .Select(t => (ApiKey)t.GetProperty("ApiKey")!.GetValue(null)!).ToHashSet();
        Assert.Empty(generated.Except(FrameFuzzTarget.Covered));
    }

    [Fact]
    public void CapturedFramesAndPastFailuresReplay()
    {
        int n = 0;
        foreach (var file in Inputs("Fixtures").Concat(Inputs("FuzzRegressions")))
        {
            var ex = Record.Exception(() => FrameFuzzTarget.Run(File.ReadAllBytes(file)));
            Assert.True(ex is null, $"{Path.GetFileName(file)}: {ex}");
            n++;
        }
        Assert.True(n >= 100, $"only {n} inputs");
    }

    [Fact]
    public void SeededMutationsOfTheCapturedFramesOnlyEndInProtocolErrors()
    {
        var seeds = Inputs("Fixtures").Select(File.ReadAllBytes).ToArray();
        var rng = new Random(20261130);
        for (int i = 0; i < 30_000; i++)
        {
            var input = Mutate(seeds[rng.Next(seeds.Length)], seeds[rng.Next(seeds.Length)], rng);
            var ex = Record.Exception(() => FrameFuzzTarget.Run(input));
            Assert.True(ex is null, $"mutation {i} ({Convert.ToHexString(input.AsSpan(0, Math.Min(64, input.Length)))}...): {ex}");
        }
    }

    /// <summary>The network fuzzer's mutations: flips, interesting values over 1/2/4-byte fields (counts, lengths),
    /// truncation, and a splice of two frames.</summary>
    private static byte[] Mutate(byte[] a, byte[] b, Random rng)
    {
        var data = (byte[])a.Clone();
        int rounds = 1 + rng.Next(4);
        for (int r = 0; r < rounds && data.Length > 4; r++)
        {
            int at = 4 + rng.Next(data.Length - 4); // keep the API key and version, so the decoder is reached
            switch (rng.Next(6))
            {
                case 0:
                    data[at] ^= (byte)(1 << rng.Next(8));
                    break;
                case 1:
                    data[at] = (byte)(rng.Next(2) == 0 ? 0xFF : 0x7F);
                    break;
                case 2 when at + 4 <= data.Length:
                    BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(at), rng.Next(5) switch { 0 => -1, 1 => int.MaxValue, 2 => 0x7FFF, 3 => 1 << 20, _ => rng.Next() });
                    break;
                case 3 when at + 2 <= data.Length:
                    BinaryPrimitives.WriteInt16BigEndian(data.AsSpan(at), (short)(rng.Next(3) switch { 0 => -1, 1 => short.MaxValue, _ => rng.Next(short.MaxValue) }));
                    break;
                case 4:
                    data = data[..at];
                    break;
                default:
                    int from = rng.Next(b.Length);
                    data = [.. data[..at], .. b[from..]];
                    break;
            }
        }
        return data;
    }
}
