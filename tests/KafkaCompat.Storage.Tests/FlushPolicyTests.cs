using KafkaCompat.Records;
using Xunit;

namespace KafkaCompat.Storage.Tests;

/// <summary>flush.messages and flush.ms decide when appended data is synced to disk.</summary>
public sealed class FlushPolicyTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kc-flush-" + Guid.NewGuid().ToString("N")[..10]);

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private static byte[] Batch(int records)
    {
        var b = new RecordBatchBuilder();
        for (int i = 0; i < records; i++) b.Add("k"u8, "v"u8, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        return b.Build();
    }

    [Fact]
    public void FlushMessagesOneSyncsEveryAppend()
    {
        using var log = PartitionLog.Open(_dir, "t", 0, new LogConfig { FlushMessages = 1 }, clean: true);
        for (int i = 0; i < 5; i++) log.Append(Batch(1));
        Assert.Equal(5, log.PolicyFlushes);
    }

    [Fact]
    public void FlushMessagesCountsRecordsNotRequests()
    {
        using var log = PartitionLog.Open(_dir, "t", 0, new LogConfig { FlushMessages = 10 }, clean: true);
        log.Append(Batch(4));
        log.Append(Batch(4));
        Assert.Equal(0, log.PolicyFlushes);
        log.Append(Batch(4)); // 12 records: past 10
        Assert.Equal(1, log.PolicyFlushes);
        log.Append(Batch(9));
        Assert.Equal(1, log.PolicyFlushes);
        log.Append(Batch(1));
        Assert.Equal(2, log.PolicyFlushes);
    }

    [Fact]
    public async Task FlushMsSyncsOnceTheOldestWriteIsOldEnough()
    {
        using var log = PartitionLog.Open(_dir, "t", 0, new LogConfig { FlushMs = 200 }, clean: true);
        Assert.False(log.FlushIfDue()); // nothing written
        log.Append(Batch(1));
        Assert.False(log.FlushIfDue());
        await Task.Delay(300);
        Assert.True(log.FlushIfDue());
        Assert.False(log.FlushIfDue()); // nothing new since
        Assert.Equal(1, log.PolicyFlushes);
    }

    [Fact]
    public void TheDefaultLeavesSyncingToTheOperatingSystem()
    {
        using var log = PartitionLog.Open(_dir, "t", 0, new LogConfig(), clean: true);
        for (int i = 0; i < 100; i++) log.Append(Batch(10));
        Assert.Equal(0, log.PolicyFlushes);
    }
}
