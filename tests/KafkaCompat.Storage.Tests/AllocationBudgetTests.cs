using KafkaCompat.Records;
using KafkaCompat.Storage;
using KafkaCompat.TestSupport;
using Xunit;

namespace KafkaCompat.Storage.Tests;

/// <summary>
/// Allocation budgets of the log's hot paths, read from the runtime's per-thread allocation counter (deterministic,
/// not a timing): bytes allocated per call, averaged over many calls after a warm-up. A change that makes a hot path
/// allocate more fails here; a budget is lowered when the code gets there (issue 14 wants 0 where the data allows).
/// </summary>
public sealed class AllocationBudgetTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kc-alloc-" + Guid.NewGuid().ToString("N")[..10]);

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private static byte[] TenRecordBatch()
    {
        var builder = new RecordBatchBuilder();
        var value = new byte[100];
        for (int i = 0; i < 10; i++) builder.Add(default, value, 1_700_000_000_000 + i, nullKey: true);
        return builder.Build();
    }

    [Fact]
    public void AppendAndReadStayWithinTheirBudgets()
    {
        var batch = TenRecordBatch();
        using var log = PartitionLog.Open(_dir, "t", 0, new LogConfig(), clean: true);
        // the batch check before an append: nothing
        Assert.Equal(0, Allocations.BytesPerCall(() => RecordBatch.Validate(batch, out _)));
        // an append: nothing (the log end is published through a sequence lock, not a new object)
        Assert.Equal(0, Allocations.BytesPerCall(() => log.Append(batch)));
        // a read: nothing (the lease that keeps the mapping alive until the response is sent is the mapped file's own)
        long offset = 0;
        Assert.Equal(0, Allocations.BytesPerCall(() => log.Read(offset++ % 1000, 1 << 16, minOneBatch: true).Lease?.Dispose()));
    }
}
