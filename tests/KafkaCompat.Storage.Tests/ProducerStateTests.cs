using KafkaCompat.Protocol;
using KafkaCompat.Records;
using Xunit;

namespace KafkaCompat.Storage.Tests;

/// <summary>Idempotent producers on one partition log: epochs, sequences, retries answered with their first offsets,
/// and the producer state surviving a clean stop, a crash, retention and expiry.</summary>
public sealed class ProducerStateTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kc-pstate-" + Guid.NewGuid().ToString("N")[..10]);

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private static byte[] Batch(long pid, short epoch, int seq, int records = 2, long ts = 1000)
    {
        var b = new RecordBatchBuilder { ProducerId = pid, ProducerEpoch = epoch, BaseSequence = seq };
        for (int i = 0; i < records; i++) b.Add(BitConverter.GetBytes(i), new byte[10], ts + i);
        return b.Build();
    }

    private PartitionLog Open(bool clean = true, LogConfig? config = null) =>
        PartitionLog.Open(_dir, "t", 0, config ?? new LogConfig(), clean);

    private static ErrorCode Refusal(PartitionLog log, byte[] batch) =>
        Assert.Throws<KafkaException>(() => log.Append(batch)).Error;

    [Fact]
    public void SequencesInOrderAppendAndARetryGetsItsFirstOffsets()
    {
        using var log = Open();
        var a = log.Append(Batch(7, 0, 0));
        var b = log.Append(Batch(7, 0, 2, records: 3));
        Assert.Equal((0L, 1L), (a.BaseOffset, a.LastOffset));
        Assert.Equal((2L, 4L), (b.BaseOffset, b.LastOffset));
        // the retry of the first batch is not written again
        var retry = log.Append(Batch(7, 0, 0));
        Assert.True(retry.Duplicate);
        Assert.Equal((0L, 1L), (retry.BaseOffset, retry.LastOffset));
        Assert.Equal(5, log.HighWatermark);
        // Kafka answers a duplicate with the stored batch's largest timestamp as the append time
        Assert.Equal(1001, retry.LogAppendTime);
    }

    [Fact]
    public void OnlyTheLastFiveBatchesAreRecognisedAsRetries()
    {
        using var log = Open();
        for (int i = 0; i < 6; i++) log.Append(Batch(7, 0, i * 2));
        Assert.True(log.Append(Batch(7, 0, 2)).Duplicate); // second batch: still among the last five
        Assert.Equal(ErrorCode.OutOfOrderSequenceNumber, Refusal(log, Batch(7, 0, 0))); // first: forgotten
        Assert.Equal(12, log.HighWatermark);
    }

    [Fact]
    public void AGapOrAnOverlapIsOutOfOrderAndWritesNothing()
    {
        using var log = Open();
        log.Append(Batch(7, 0, 0));
        Assert.Equal(ErrorCode.OutOfOrderSequenceNumber, Refusal(log, Batch(7, 0, 3)));
        Assert.Equal(ErrorCode.OutOfOrderSequenceNumber, Refusal(log, Batch(7, 0, 1)));
        Assert.Equal(2, log.HighWatermark);
        Assert.Equal(0, log.Append(Batch(7, 0, 2)).BaseOffset - 2);
    }

    [Fact]
    public void EpochsFenceOlderProducersAndANewEpochStartsAtZero()
    {
        using var log = Open();
        log.Append(Batch(7, 0, 0));
        Assert.Equal(ErrorCode.OutOfOrderSequenceNumber, Refusal(log, Batch(7, 1, 5)));
        log.Append(Batch(7, 1, 0));
        Assert.Equal(ErrorCode.InvalidProducerEpoch, Refusal(log, Batch(7, 0, 2)));
        Assert.Equal(1, log.GetProducer(7)!.Epoch);
    }

    [Fact]
    public void AnUnknownProducerMayStartAtAnySequenceAndIdsAreIndependent()
    {
        using var log = Open();
        log.Append(Batch(7, 3, 40));
        log.Append(Batch(8, 0, 0));
        log.Append(Batch(7, 3, 42));
        Assert.Equal(43, log.GetProducer(7)!.LastSeq);
        Assert.Equal(1, log.GetProducer(8)!.LastSeq);
    }

    [Fact]
    public void SequenceWrapsAfterIntMax()
    {
        using var log = Open();
        log.Append(Batch(7, 0, int.MaxValue - 1)); // sequences MaxValue-1, MaxValue
        log.Append(Batch(7, 0, 0));
        Assert.Equal(1, log.GetProducer(7)!.LastSeq);
        Assert.Equal(ErrorCode.OutOfOrderSequenceNumber, Refusal(log, Batch(7, 0, 5)));
    }

    [Fact]
    public void ABatchWithAProducerIdButNoSequenceIsAnInvalidRecord()
    {
        using var log = Open();
        Assert.Equal(ErrorCode.InvalidRecord, Refusal(log, Batch(7, 0, -1)));
        Assert.Equal(0, log.HighWatermark);
    }

    [Fact]
    public void PlainBatchesAreNotTracked()
    {
        using var log = Open();
        log.Append(Batch(-1, -1, -1));
        log.Append(Batch(-1, -1, -1));
        Assert.Empty(log.ActiveProducers());
    }

    [Fact]
    public void StateSurvivesACleanStopThroughTheSnapshot()
    {
        using (var log = Open())
        {
            log.Append(Batch(7, 2, 0));
            log.Append(Batch(7, 2, 2));
        }
        Assert.Single(ProducerStateManager.ListSnapshots(Path.Combine(_dir, "t-0")), s => s.Offset == 4);
        using var again = Open(clean: true);
        Assert.True(again.Append(Batch(7, 2, 2)).Duplicate);
        Assert.Equal(ErrorCode.OutOfOrderSequenceNumber, Refusal(again, Batch(7, 2, 9)));
        Assert.Equal(4, again.Append(Batch(7, 2, 4)).BaseOffset);
    }

    [Fact]
    public void AfterACrashStateIsRebuiltFromTheLastSnapshotAndTheLogAfterIt()
    {
        var cfg = new LogConfig { SegmentBytes = 400 };
        string partDir = Path.Combine(_dir, "t-0");
        using (var log = Open(config: cfg))
        {
            for (int i = 0; i < 10; i++) log.Append(Batch(7, 0, i * 2, ts: 1000 + i));
            Assert.True(log.Segments.Count > 2);
            Assert.NotEmpty(ProducerStateManager.ListSnapshots(partDir)); // taken at the rolls
        }
        // a crash: no clean-stop snapshot at the end, and the newest roll snapshot is what is left
        var snaps = ProducerStateManager.ListSnapshots(partDir);
        File.Delete(snaps[^1].Path);
        using var again = Open(clean: false, config: cfg);
        Assert.Equal(19, again.GetProducer(7)!.LastSeq);
        Assert.True(again.Append(Batch(7, 0, 18)).Duplicate);
        Assert.True(again.Append(Batch(7, 0, 16)).Duplicate); // the snapshot's last batch, then the replayed one
        Assert.Equal(20, again.Append(Batch(7, 0, 20)).BaseOffset);
    }

    [Fact]
    public void ACorruptSnapshotIsDiscardedAndTheLogReplayedInstead()
    {
        string partDir = Path.Combine(_dir, "t-0");
        using (var log = Open())
        {
            log.Append(Batch(7, 0, 0));
            log.Append(Batch(7, 0, 2));
        }
        var snap = ProducerStateManager.ListSnapshots(partDir).Single().Path;
        var bytes = File.ReadAllBytes(snap);
        bytes[^3] ^= 0xFF;
        File.WriteAllBytes(snap, bytes);
        using var again = Open(clean: false);
        Assert.False(File.Exists(snap));
        Assert.Equal(3, again.GetProducer(7)!.LastSeq);
    }

    [Fact]
    public void SnapshotLayoutIsKafkas()
    {
        var m = new ProducerStateManager(_dir);
        m.Replay(new RecordBatchBuilder { ProducerId = 0x0102030405060708, ProducerEpoch = 3, BaseSequence = 10 }
            .Add([1], [2], 5000).Add([1], [2], 5001).Build(baseOffset: 100));
        var s = m.Serialize();
        Assert.Equal(2 + 4 + 4 + 46, s.Length);
        Assert.Equal(new byte[] { 0, 1 }, s[..2]);                                    // version 1
        Assert.Equal(Crc32C.Compute(s.AsSpan(6)), System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(s.AsSpan(2)));
        Assert.Equal(new byte[] { 0, 0, 0, 1 }, s[6..10]);                           // one entry
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 0, 3 }, s[10..20]);         // producer id, epoch
        Assert.Equal(11, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(s.AsSpan(20)));   // last sequence
        Assert.Equal(101, System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(s.AsSpan(24)));  // last offset
        Assert.Equal(1, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(s.AsSpan(32)));    // offset delta
        Assert.Equal(5001, System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(s.AsSpan(36))); // timestamp
        Assert.Equal(-1, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(s.AsSpan(44)));   // coordinator epoch
        Assert.Equal(-1, System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(s.AsSpan(48)));   // no open transaction
        var back = ProducerStateManager.Deserialize(s).Single();
        Assert.Equal(new ProducerBatch(10, 11, 101, 1, 5001), back.RetainedBatches.Single());
    }

    [Fact]
    public void IdleProducersExpireAndAnExpiredProducerStartsAfresh()
    {
        using var log = Open();
        log.Append(Batch(7, 0, 0, ts: 1_000));
        log.Append(Batch(8, 0, 0, ts: 50_000));
        Assert.Equal(1, log.RemoveExpiredProducers(nowMs: 60_000, expirationMs: 30_000));
        Assert.Null(log.GetProducer(7));
        Assert.NotNull(log.GetProducer(8));
        log.Append(Batch(7, 0, 30)); // unknown again: any sequence
    }

    [Fact]
    public void DeletedRecordsKeepProducerStateAndTheirSnapshotsGo()
    {
        string partDir = Path.Combine(_dir, "t-0");
        using var log = Open(config: new LogConfig { SegmentBytes = 400 });
        for (int i = 0; i < 10; i++) log.Append(Batch(7, 0, i * 2));
        log.DeleteRecordsBefore(log.HighWatermark);
        Assert.All(ProducerStateManager.ListSnapshots(partDir), s => Assert.True(s.Offset >= log.LogStartOffset));
        Assert.True(log.Append(Batch(7, 0, 18)).Duplicate);
        Assert.Equal(ErrorCode.OutOfOrderSequenceNumber, Refusal(log, Batch(7, 0, 30)));
    }
}
