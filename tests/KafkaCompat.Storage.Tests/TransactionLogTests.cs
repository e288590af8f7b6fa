using KafkaCompat.Protocol;
using KafkaCompat.Records;
using Xunit;

namespace KafkaCompat.Storage.Tests;

/// <summary>Transactions on one partition log: the last stable offset, COMMIT/ABORT markers, the aborted-transaction
/// index (.txnindex) and its rebuild, and read_committed reads.</summary>
public sealed class TransactionLogTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kc-txnlog-" + Guid.NewGuid().ToString("N")[..10]);
    private string PartDir => Path.Combine(_dir, "t-0");

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private static byte[] Batch(long pid, short epoch, int seq, bool transactional, int records = 2) =>
        Build(new RecordBatchBuilder { ProducerId = pid, ProducerEpoch = epoch, BaseSequence = seq, Transactional = transactional }, records);

    private static byte[] Plain(int records = 1) => Build(new RecordBatchBuilder(), records);

    private static byte[] Build(RecordBatchBuilder b, int records)
    {
        for (int i = 0; i < records; i++) b.Add(BitConverter.GetBytes(i), new byte[10], 1000 + i);
        return b.Build();
    }

    private PartitionLog Open(bool clean = true, LogConfig? config = null) => PartitionLog.Open(_dir, "t", 0, config ?? new LogConfig(), clean);

    [Fact]
    public void TheLastStableOffsetWaitsForTheOldestOpenTransaction()
    {
        using var log = Open();
        log.Append(Plain());                                  // 0
        Assert.Equal(1, log.LastStableOffset);
        log.Append(Batch(7, 0, 0, transactional: true));      // 1-2, txn of 7 opens at 1
        log.Append(Batch(8, 0, 0, transactional: true));      // 3-4, txn of 8 opens at 3
        log.Append(Plain());                                  // 5
        Assert.Equal(1, log.LastStableOffset);
        Assert.Equal(6, log.HighWatermark);
        log.AppendMarker(7, 0, 0, commit: true, 2000);        // 6
        Assert.Equal(3, log.LastStableOffset);
        log.AppendMarker(8, 0, 0, commit: false, 2000);       // 7
        Assert.Equal(8, log.LastStableOffset);
        Assert.Equal(new AbortedTxn(8, 3, 7, 8), Assert.Single(log.AbortedTransactions(0, 8)));
        Assert.Empty(log.AbortedTransactions(0, 3));          // ends before the aborted records start
    }

    [Fact]
    public void MarkersAreControlBatchesInKafkasLayout()
    {
        var b = PartitionLog.ControlBatch(42, 3, 5, commit: true, 1234);
        Assert.Equal(BatchError.None, RecordBatch.Validate(b, out _));
        Assert.True(RecordBatch.IsControl(b));
        Assert.True(RecordBatch.IsTransactional(b));
        Assert.Equal(42, RecordBatch.ProducerId(b));
        Assert.Equal(3, RecordBatch.ProducerEpoch(b));
        Assert.Equal(-1, RecordBatch.BaseSequence(b));
        Assert.Equal((true, 5), ProducerStateManager.ReadMarker(b));
        var rec = Assert.Single(RecordReader.ReadBatch(b));
        Assert.Equal(new byte[] { 0, 0, 0, 1 }, rec.Key!.Value.ToArray());      // version 0, COMMIT
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0, 5 }, rec.Value!.Value.ToArray()); // version 0, coordinator epoch 5
        Assert.Equal((false, 5), ProducerStateManager.ReadMarker(PartitionLog.ControlBatch(42, 3, 5, commit: false, 1234)));
    }

    [Fact]
    public void ReadCommittedStopsAtTheLastStableOffset()
    {
        using var log = Open();
        log.Append(Plain());
        log.Append(Batch(7, 0, 0, transactional: true));
        log.Append(Plain());
        var r = log.Read(0, 1 << 20, true, log.LastStableOffset);
        using (r.Lease) Assert.Equal(1, RecordBatch.LastOffset(r.Records.Span) + 1);
        Assert.Equal(0, log.Read(1, 1 << 20, true, log.LastStableOffset).Records.Length);
    }

    [Fact]
    public void ANonTransactionalWriteInsideAnOpenTransactionIsInvalidTxnState()
    {
        using var log = Open();
        log.Append(Batch(7, 0, 0, transactional: true));
        var e = Assert.Throws<KafkaException>(() => log.Append(Batch(7, 0, 2, transactional: false)));
        Assert.Equal(ErrorCode.InvalidTxnState, e.Error);
        log.AppendMarker(7, 0, 0, commit: true, 2000);
        log.Append(Batch(7, 0, 2, transactional: false));
    }

    [Fact]
    public void AMarkerWithAnOlderEpochIsRefused()
    {
        using var log = Open();
        log.Append(Batch(7, 2, 0, transactional: true));
        Assert.Equal(ErrorCode.InvalidProducerEpoch, Assert.Throws<KafkaException>(() => log.AppendMarker(7, 1, 0, true, 2000)).Error);
        log.AppendMarker(7, 3, 0, commit: false, 2000); // a coordinator that fenced the producer aborts with a newer epoch
        Assert.Equal(3, log.GetProducer(7)!.Epoch);
        Assert.Equal(ErrorCode.InvalidProducerEpoch, Assert.Throws<KafkaException>(() => log.Append(Batch(7, 2, 2, transactional: true))).Error);
    }

    [Fact]
    public void OpenTransactionsAndTheIndexSurviveACleanStopACrashAndALostIndex()
    {
        using (var log = Open())
        {
            log.Append(Batch(7, 0, 0, transactional: true));
            log.AppendMarker(7, 0, 0, commit: false, 2000);
            log.Append(Batch(8, 0, 0, transactional: true));
        }
        using (var log = Open(clean: true))
        {
            Assert.Equal(3, log.LastStableOffset);
            Assert.Equal(new AbortedTxn(7, 0, 2, 3), Assert.Single(log.AbortedTransactions(0, 10)));
        }
        // a crash that lost the snapshot and the index: both come back from the log
        foreach (var f in Directory.GetFiles(PartDir, "*.snapshot").Concat(Directory.GetFiles(PartDir, "*.txnindex"))) File.Delete(f);
        using (var log = Open(clean: false))
        {
            Assert.Equal(3, log.LastStableOffset);
            Assert.Equal(7, Assert.Single(log.AbortedTransactions(0, 10)).ProducerId);
            Assert.Equal([(3L, 8L)], log.OngoingTransactions());
            log.AppendMarker(8, 0, 0, commit: true, 2000);
            Assert.Equal(log.HighWatermark, log.LastStableOffset);
        }
        Assert.Equal(TransactionIndex.EntrySize, new FileInfo(TransactionIndex.PathFor(PartDir, 0)).Length);
    }

    [Fact]
    public void RetentionTakesTheIndexOfDeletedSegmentsWithIt()
    {
        using var log = Open(config: new LogConfig { SegmentBytes = 300 });
        for (int i = 0; i < 4; i++)
        {
            log.Append(Batch(7, 0, i * 2, transactional: true));
            log.AppendMarker(7, 0, 0, commit: false, 2000);
        }
        Assert.Equal(4, log.AbortedTransactions(0, long.MaxValue).Count);
        log.DeleteRecordsBefore(log.HighWatermark);
        Assert.All(log.AbortedTransactions(0, long.MaxValue), a => Assert.True(a.LastOffset >= log.LogStartOffset));
        Assert.All(Directory.GetFiles(PartDir, "*.txnindex"),
            f => Assert.True(long.Parse(Path.GetFileNameWithoutExtension(f)) >= log.Segments[0].BaseOffset));
    }
}

/// <summary>Compaction of a transactional log: aborted records are dropped and never win a key, markers stay,
/// kept batches stay transactional, and an open transaction's segment is left alone.</summary>
public sealed class TransactionCompactionTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kc-txncompact-" + Guid.NewGuid().ToString("N")[..10]);

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private static byte[] Txn(long pid, int seq, string key, string value) =>
        new RecordBatchBuilder { ProducerId = pid, ProducerEpoch = 0, BaseSequence = seq, Transactional = true }
            .Add(System.Text.Encoding.UTF8.GetBytes(key), System.Text.Encoding.UTF8.GetBytes(value), 1000).Build();

    private static byte[] Plain(string key, string value) =>
        new RecordBatchBuilder().Add(System.Text.Encoding.UTF8.GetBytes(key), System.Text.Encoding.UTF8.GetBytes(value), 1000).Build();

    private static List<(long Offset, string Key, string Value, bool Transactional, bool Control)> All(PartitionLog log)
    {
        var list = new List<(long, string, string, bool, bool)>();
        log.ScanBatches((seg, pos) =>
        {
            var b = seg.Span(pos, RecordBatch.TotalSize(seg.Span(pos, RecordBatch.HeaderSize))).ToArray();
            foreach (var r in RecordReader.ReadBatch(b))
                list.Add((r.Offset, RecordBatch.IsControl(b) ? "" : System.Text.Encoding.UTF8.GetString(r.Key!.Value.Span),
                    RecordBatch.IsControl(b) ? "" : System.Text.Encoding.UTF8.GetString(r.Value!.Value.Span), RecordBatch.IsTransactional(b), RecordBatch.IsControl(b)));
            return true;
        });
        return list;
    }

    [Fact]
    public void AbortedRecordsGoAndCommittedOnesWin()
    {
        var cfg = new LogConfig { SegmentBytes = 250, CompactPolicy = true, DeletePolicy = false };
        using var log = PartitionLog.Open(_dir, "c", 0, cfg, clean: true);
        log.Append(Txn(7, 0, "k", "committed"));         // 0
        log.Append(Txn(7, 1, "j", "committed-j"));       // 1
        log.AppendMarker(7, 0, 0, commit: true, 2000);   // 2
        log.Append(Txn(8, 0, "k", "aborted"));           // 3: later than offset 0, but aborted
        log.AppendMarker(8, 0, 0, commit: false, 2000);  // 4
        log.Append(Plain("x", "1"));                     // 5
        log.Append(Plain("x", "2"));                     // 6
        Assert.NotNull(log.Compact(3000, force: true));
        var after = All(log);
        Assert.Contains(after, r => r is { Key: "k", Value: "committed", Transactional: true });
        Assert.DoesNotContain(after, r => r.Value == "aborted");
        Assert.Equal(2, after.Count(r => r.Control));       // both markers stay
        Assert.Contains(after, r => r is { Key: "j", Transactional: true });
    }

    [Fact]
    public void ASegmentWithAnOpenTransactionIsNotCleaned()
    {
        var cfg = new LogConfig { SegmentBytes = 250, CompactPolicy = true, DeletePolicy = false };
        using var log = PartitionLog.Open(_dir, "c", 0, cfg, clean: true);
        log.Append(Plain("k", "old"));
        log.Append(Txn(9, 0, "k", "open"));              // its transaction stays open
        for (int i = 0; i < 6; i++) log.Append(Plain("k", "new" + i));
        Assert.True(log.Segments.Count > 2);
        long lso = log.LastStableOffset;
        Assert.Equal(1, lso);
        log.Compact(3000, force: true);
        Assert.Contains(All(log), r => r.Value == "open");
    }
}
