using KafkaCompat.Storage;
using Xunit;

namespace KafkaCompat.Storage.Tests;

/// <summary>The partition's leader epochs (leader-epoch-checkpoint): Kafka's answers to OffsetForLeaderEpoch, the file
/// written only when a later epoch begins, and read back after a restart.</summary>
public sealed class LeaderEpochCacheTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("epochs-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void APartitionWithoutAFileHasHadEpochZeroOnly()
    {
        var cache = LeaderEpochCache.Load(_dir);
        Assert.Equal(0, cache.Latest);
        Assert.Equal((0, 42L), cache.EndOffsetFor(0, 42));
        Assert.Equal((-1, -1L), cache.EndOffsetFor(1, 42));
        Assert.Equal((-1, -1L), cache.EndOffsetFor(-1, 42));
        Assert.False(File.Exists(Path.Combine(_dir, LeaderEpochCache.FileName)));
    }

    [Fact]
    public void EpochsEndWhereTheNextBeganAndSurviveARestart()
    {
        var cache = LeaderEpochCache.Load(_dir);
        cache.Assign(1, 10);
        cache.Assign(3, 25);
        cache.Assign(2, 30); // older than the latest: ignored
        Assert.Equal("0\n3\n0 0\n1 10\n3 25\n", File.ReadAllText(Path.Combine(_dir, LeaderEpochCache.FileName)));
        var reloaded = LeaderEpochCache.Load(_dir);
        Assert.Equal([(0, 0L), (1, 10L), (3, 25L)], reloaded.Entries);
        Assert.Equal((0, 10L), reloaded.EndOffsetFor(0, 40));
        Assert.Equal((1, 25L), reloaded.EndOffsetFor(1, 40));
        Assert.Equal((1, 25L), reloaded.EndOffsetFor(2, 40)); // never led: the largest epoch below it
        Assert.Equal((3, 40L), reloaded.EndOffsetFor(3, 40));
        Assert.Equal((-1, -1L), reloaded.EndOffsetFor(4, 40));
        Assert.Equal([0, 1, 1, 3], new long[] { 5, 10, 24, 25 }.Select(reloaded.EpochOf));
    }

    [Fact]
    public void AnEpochThatLedNoRecordIsReplaced()
    {
        var cache = LeaderEpochCache.Load(_dir);
        cache.Assign(1, 10);
        cache.Assign(2, 10);
        Assert.Equal([(0, 0L), (2, 10L)], cache.Entries);
    }

    [Fact]
    public void AnUnreadableFileStartsAgainFromEpochZeroAndSaysSo()
    {
        File.WriteAllText(Path.Combine(_dir, LeaderEpochCache.FileName), "0\n2\n5 10\n");
        var said = new List<string>();
        var cache = LeaderEpochCache.Load(_dir, said.Add);
        Assert.Equal(0, cache.Latest);
        Assert.Single(said);
    }
}
