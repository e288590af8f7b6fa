using KafkaCompat.Broker.Groups;
using KafkaCompat.Broker.Transactions;
using KafkaCompat.Protocol;
using KafkaCompat.Records;
using Xunit;

namespace KafkaCompat.Broker.Tests;

/// <summary>The transaction coordinator's state machine, driven directly on a fake clock.</summary>
public sealed class TransactionCoordinatorTests : IDisposable
{
    private readonly BrokerFixture _f = new(new()
    {
        ["transaction.abort.timed.out.transaction.cleanup.interval.ms"] = "1000",
        ["transaction.max.timeout.ms"] = "60000",
    });

    private KafkaBroker B => _f.Broker;
    private TransactionCoordinator Txn => B.Transactions;

    public void Dispose() => _f.Dispose();

    private InitResult Init(string id, int timeoutMs = 10_000, short version = 4) => Txn.InitProducerId(id, timeoutMs, -1, -1, version);

    private void CreateTopic(string name, int partitions = 1) =>
        Assert.Equal(ErrorCode.None, B.CreateTopic(name, partitions, 1, new(), validateOnly: false).Error);

    private static byte[] TxnBatch(long pid, short epoch, int seq, string value = "v") =>
        new RecordBatchBuilder { ProducerId = pid, ProducerEpoch = epoch, BaseSequence = seq, Transactional = true }
            .Add("k"u8, System.Text.Encoding.UTF8.GetBytes(value), 1000).Build();

    [Fact]
    public void ATransactionalIdKeepsItsProducerIdAndEachInitBumpsTheEpoch()
    {
        var a = Init("app");
        Assert.Equal((ErrorCode.None, (short)0), (a.Error, a.ProducerEpoch));
        var b = Init("app");
        Assert.Equal((a.ProducerId, (short)1), (b.ProducerId, b.ProducerEpoch));
        Assert.NotEqual(a.ProducerId, Init("other").ProducerId);
        _f.Restart();
        var c = Init("app");
        Assert.Equal((a.ProducerId, (short)2), (c.ProducerId, c.ProducerEpoch));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(60_001)]
    public void ATimeoutOutsideTheLimitIsRefused(int timeoutMs) =>
        Assert.Equal(ErrorCode.InvalidTransactionTimeout, Init("t", timeoutMs).Error);

    [Fact]
    public void AnOlderEpochIsFencedWithTheErrorItsVersionKnows()
    {
        CreateTopic("t");
        var old = Init("app");
        Init("app");
        Assert.Equal(ErrorCode.ProducerFenced, Txn.AddPartitions("app", old.ProducerId, old.ProducerEpoch, [("t", 0)], apiVersion: 2));
        Assert.Equal(ErrorCode.InvalidProducerEpoch, Txn.AddPartitions("app", old.ProducerId, old.ProducerEpoch, [("t", 0)], apiVersion: 1));
        Assert.Equal(ErrorCode.InvalidProducerIdMapping, Txn.AddPartitions("nobody", old.ProducerId, 0, [("t", 0)], 3));
        Assert.Equal(ErrorCode.InvalidProducerIdMapping, Txn.AddPartitions("app", old.ProducerId + 1000, 1, [("t", 0)], 3));
        Init("app"); // epoch 2: epoch 0 is neither the current one nor the one before (a retry)
        Assert.Equal(ErrorCode.InvalidProducerEpoch, Txn.InitProducerId("app", 10_000, old.ProducerId, 0, 3).Error);
        Assert.Equal(ErrorCode.ProducerFenced, Txn.InitProducerId("app", 10_000, old.ProducerId, 0, 4).Error);
    }

    [Fact]
    public void CommitWritesMarkersAndEndTxnRetriesAreAnsweredAsKafkaDoes()
    {
        CreateTopic("t", 2);
        var p = Init("app");
        Assert.Equal(ErrorCode.InvalidTxnState, Txn.EndTxn("app", p.ProducerId, p.ProducerEpoch, commit: true, 3)); // nothing open
        Assert.Equal(ErrorCode.None, Txn.AddPartitions("app", p.ProducerId, p.ProducerEpoch, [("t", 0), ("t", 1)], 3));
        var log = B.Logs.Get("t")!.Partitions[0];
        log.Append(TxnBatch(p.ProducerId, p.ProducerEpoch, 0));
        Assert.Equal(0, log.LastStableOffset);
        Assert.Equal(TxnState.Ongoing, Txn.Describe("app")!.State);
        Assert.Equal(ErrorCode.None, Txn.EndTxn("app", p.ProducerId, p.ProducerEpoch, commit: true, 3));
        Assert.Equal(TxnState.CompleteCommit, Txn.Describe("app")!.State);
        Assert.Equal(2, log.HighWatermark);                        // the record and its COMMIT marker
        Assert.Equal(log.HighWatermark, log.LastStableOffset);
        Assert.Equal(1, B.Logs.Get("t")!.Partitions[1].HighWatermark); // a marker on the partition without data too
        Assert.Equal(ErrorCode.None, Txn.EndTxn("app", p.ProducerId, p.ProducerEpoch, commit: true, 3));            // a retry
        Assert.Equal(ErrorCode.InvalidTxnState, Txn.EndTxn("app", p.ProducerId, p.ProducerEpoch, commit: false, 3)); // the other outcome
        Assert.Equal(2, log.HighWatermark);
    }

    [Fact]
    public void AbortIsIndexedAndProduceToAPartitionOutsideTheTransactionIsRefused()
    {
        CreateTopic("t", 2);
        var p = Init("app");
        Txn.AddPartitions("app", p.ProducerId, p.ProducerEpoch, [("t", 0)], 3);
        Assert.Equal(ErrorCode.None, Txn.VerifyProduce("app", p.ProducerId, p.ProducerEpoch, "t", 0));
        Assert.Equal(ErrorCode.InvalidTxnState, Txn.VerifyProduce("app", p.ProducerId, p.ProducerEpoch, "t", 1));
        var log = B.Logs.Get("t")!.Partitions[0];
        log.Append(TxnBatch(p.ProducerId, p.ProducerEpoch, 0));
        Assert.Equal(ErrorCode.None, Txn.EndTxn("app", p.ProducerId, p.ProducerEpoch, commit: false, 3));
        Assert.Equal(p.ProducerId, Assert.Single(log.AbortedTransactions(0, 10)).ProducerId);
        Assert.Equal(ErrorCode.InvalidTxnState, Txn.VerifyProduce("app", p.ProducerId, p.ProducerEpoch, "t", 0)); // nothing open now
    }

    [Fact]
    public void ATransactionPastItsTimeoutIsAbortedAndItsProducerFenced()
    {
        CreateTopic("t");
        var p = Init("app", timeoutMs: 5_000);
        Txn.AddPartitions("app", p.ProducerId, p.ProducerEpoch, [("t", 0)], 3);
        var log = B.Logs.Get("t")!.Partitions[0];
        log.Append(TxnBatch(p.ProducerId, p.ProducerEpoch, 0));
        _f.Clock.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(TxnState.Ongoing, Txn.Describe("app")!.State);
        _f.Clock.Advance(TimeSpan.FromSeconds(2));
        var m = Txn.Describe("app")!;
        Assert.Equal((TxnState.CompleteAbort, (short)(p.ProducerEpoch + 1)), (m.State, m.ProducerEpoch));
        Assert.Equal(log.HighWatermark, log.LastStableOffset);
        Assert.Single(log.AbortedTransactions(0, 10));
        Assert.Equal(ErrorCode.ProducerFenced, Txn.EndTxn("app", p.ProducerId, p.ProducerEpoch, commit: true, 4));
        // the partition refuses the old epoch as well
        Assert.Equal(ErrorCode.InvalidProducerEpoch, Assert.Throws<KafkaException>(() => log.Append(TxnBatch(p.ProducerId, p.ProducerEpoch, 1))).Error);
    }

    [Fact]
    public void InitWhileATransactionIsOpenAbortsItAndAsksTheClientToRetry()
    {
        CreateTopic("t");
        var p = Init("app");
        Txn.AddPartitions("app", p.ProducerId, p.ProducerEpoch, [("t", 0)], 3);
        B.Logs.Get("t")!.Partitions[0].Append(TxnBatch(p.ProducerId, p.ProducerEpoch, 0));
        Assert.Equal(ErrorCode.ConcurrentTransactions, Init("app").Error);
        Assert.Equal(TxnState.CompleteAbort, Txn.Describe("app")!.State);
        var again = Init("app");
        Assert.Equal((ErrorCode.None, (short)(p.ProducerEpoch + 2)), (again.Error, again.ProducerEpoch));
    }

    [Fact]
    public void ARetriedInitWithThePreviousEpochGetsTheCurrentOne()
    {
        var p = Init("app");
        var bumped = Txn.InitProducerId("app", 10_000, p.ProducerId, p.ProducerEpoch, 4);
        Assert.Equal((short)(p.ProducerEpoch + 1), bumped.ProducerEpoch);
        var retry = Txn.InitProducerId("app", 10_000, p.ProducerId, p.ProducerEpoch, 4);
        Assert.Equal((ErrorCode.None, bumped.ProducerEpoch), (retry.Error, retry.ProducerEpoch));
    }

    [Fact]
    public void TransactionalOffsetsArePendingUntilCommittedAndSurviveARestart()
    {
        CreateTopic("in");
        var p = Init("app");
        int offsetsPartition = B.Groups.OffsetsPartitionFor("g");
        Assert.Equal(ErrorCode.None, Txn.AddPartitions("app", p.ProducerId, p.ProducerEpoch, [(GroupCoordinator.OffsetsTopic, offsetsPartition)], 3));
        var r = B.Groups.TxnCommit("g", p.ProducerId, p.ProducerEpoch, -1, "", null, [new CommitEntry("in", 0, 42, -1, "meta", -1)]);
        Assert.Equal(ErrorCode.None, Assert.Single(r).Error);
        Assert.Equal(ErrorCode.UnstableOffsetCommit, Assert.Single(B.Groups.FetchOffsets("g", [("in", [0])], requireStable: true).Offsets).Error);
        Assert.Equal(-1, Assert.Single(B.Groups.FetchOffsets("g", [("in", [0])]).Offsets).Offset);
        _f.Restart(); // still pending after a restart
        Assert.Equal(ErrorCode.UnstableOffsetCommit, Assert.Single(B.Groups.FetchOffsets("g", [("in", [0])], requireStable: true).Offsets).Error);
        Assert.Equal(ErrorCode.None, Txn.EndTxn("app", p.ProducerId, p.ProducerEpoch, commit: true, 3));
        var fetched = Assert.Single(B.Groups.FetchOffsets("g", [("in", [0])], requireStable: true).Offsets);
        Assert.Equal((ErrorCode.None, 42L, "meta"), (fetched.Error, fetched.Offset, fetched.Metadata));
        _f.Restart();
        Assert.Equal(42, Assert.Single(B.Groups.FetchOffsets("g", [("in", [0])]).Offsets).Offset);
    }

    [Fact]
    public void AbortedTransactionalOffsetsAreDropped()
    {
        CreateTopic("in");
        var p = Init("app");
        Txn.AddPartitions("app", p.ProducerId, p.ProducerEpoch, [(GroupCoordinator.OffsetsTopic, B.Groups.OffsetsPartitionFor("g"))], 3);
        B.Groups.TxnCommit("g", p.ProducerId, p.ProducerEpoch, -1, "", null, [new CommitEntry("in", 0, 42, -1, null, -1)]);
        Assert.Equal(ErrorCode.None, Txn.EndTxn("app", p.ProducerId, p.ProducerEpoch, commit: false, 3));
        Assert.Equal((ErrorCode.None, -1L), Assert.Single(B.Groups.FetchOffsets("g", [("in", [0])], requireStable: true).Offsets) is var f ? (f.Error, f.Offset) : default);
        _f.Restart();
        Assert.Equal(-1, Assert.Single(B.Groups.FetchOffsets("g", [("in", [0])]).Offsets).Offset);
    }

    [Fact]
    public void TheStateIsInKafkasRecordLayout()
    {
        var m = new TxnMetadata("app", 1234, 7, 60000, TxnState.Ongoing, [("a", 1), ("a", 0), ("b", 3)], 111, 100, ClientTransactionVersion: 2);
        var v = TransactionRecords.ValueBytes(m);
        Assert.Equal(new byte[] { 0, 1 }, v[..2]);                                     // value version 1
        Assert.Equal(1234, System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(v.AsSpan(2)));
        Assert.Equal(7, System.Buffers.Binary.BinaryPrimitives.ReadInt16BigEndian(v.AsSpan(10)));
        Assert.Equal(60000, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(v.AsSpan(12)));
        Assert.Equal((byte)TxnState.Ongoing, v[16]);
        Assert.Equal(3, v[17]);                                                        // compact array: 2 topics
        var back = TransactionRecords.ReadValue("app", v);
        Assert.Equal(m.Partitions.Order(), back.Partitions.Order());
        Assert.Equal(m with { Partitions = back.Partitions }, back);
        Assert.Equal(new byte[] { 0, 0, 0, 3, (byte)'a', (byte)'p', (byte)'p' }, TransactionRecords.KeyBytes("app"));
        Assert.Equal("app", TransactionRecords.ReadKey(TransactionRecords.KeyBytes("app")));
    }

    [Fact]
    public void ProducerIdsAreNeverGivenTwiceAcrossRestarts()
    {
        var first = new ProducerIdManager(_f.DataDir);
        long a = first.Next(), b = first.Next();
        Assert.Equal(a + 1, b);
        var second = new ProducerIdManager(_f.DataDir); // a restart, even without a clean stop
        Assert.True(second.Next() >= a + ProducerIdManager.BlockSize);
    }
}

/// <summary>Transactions version 2 on the coordinator: recovery from a timeout abort, and the producer id rotation
/// when the epoch runs out.</summary>
public sealed class TransactionVersion2Tests : IDisposable
{
    private readonly BrokerFixture _f = new(new() { ["transaction.abort.timed.out.transaction.cleanup.interval.ms"] = "1000" });
    private TransactionCoordinator Txn => _f.Broker.Transactions;

    public void Dispose() => _f.Dispose();

    [Fact]
    public void AProducerAbortedByTheTimeoutRecoversWithAnAbortAtItsOldEpoch()
    {
        _f.Broker.CreateTopic("t", 1, 1, new(), validateOnly: false);
        var p = Txn.InitProducerId("app", 5_000, -1, -1, 5);
        Assert.Equal(ErrorCode.None, Txn.AddPartitionsImplicitly("app", p.ProducerId, p.ProducerEpoch, [("t", 0)]));
        _f.Clock.Advance(TimeSpan.FromSeconds(7));
        Assert.Equal(TxnState.CompleteAbort, Txn.Describe("app")!.State);
        // the producer learns of it on its next send and aborts at its epoch: a retry of the bump the timeout made
        var r = Txn.EndTxnV2("app", p.ProducerId, p.ProducerEpoch, commit: false);
        Assert.Equal((ErrorCode.None, p.ProducerId, (short)(p.ProducerEpoch + 1)), (r.Error, r.ProducerId, r.ProducerEpoch));
        Assert.Equal(ErrorCode.None, Txn.AddPartitionsImplicitly("app", r.ProducerId, r.ProducerEpoch, [("t", 0)]));
    }

    [Fact]
    public void AnExhaustedEpochMovesTheTransactionalIdToANewProducerId()
    {
        _f.Broker.CreateTopic("t", 1, 1, new(), validateOnly: false);
        InitResult p = default;
        for (int i = 0; i <= short.MaxValue - 2; i++) p = Txn.InitProducerId("app", 10_000, -1, -1, 5);
        Assert.Equal(short.MaxValue - 2, p.ProducerEpoch); // 32765
        Txn.AddPartitionsImplicitly("app", p.ProducerId, p.ProducerEpoch, [("t", 0)]);
        var e1 = Txn.EndTxnV2("app", p.ProducerId, p.ProducerEpoch, commit: true);
        Assert.Equal((ErrorCode.None, p.ProducerId, (short)(short.MaxValue - 1)), (e1.Error, e1.ProducerId, e1.ProducerEpoch));
        Txn.AddPartitionsImplicitly("app", e1.ProducerId, e1.ProducerEpoch, [("t", 0)]);
        var e2 = Txn.EndTxnV2("app", e1.ProducerId, e1.ProducerEpoch, commit: true);
        Assert.Equal(ErrorCode.None, e2.Error);
        Assert.NotEqual(p.ProducerId, e2.ProducerId);
        Assert.Equal(0, e2.ProducerEpoch);
        Assert.Equal(short.MaxValue, _f.Broker.Logs.Get("t")!.Partitions[0].GetProducer(p.ProducerId)!.Epoch); // markers at 32767
        // a retry with the old id is recognised
        var retry = Txn.EndTxnV2("app", p.ProducerId, e1.ProducerEpoch, commit: true);
        Assert.Equal((ErrorCode.None, e2.ProducerId, (short)0), (retry.Error, retry.ProducerId, retry.ProducerEpoch));
        Assert.Equal(p.ProducerId, Txn.Describe("app")!.PreviousProducerId);
    }
}

/// <summary>transactional.id.expiration.ms: an idle transactional id is removed (a tombstone in __transaction_state),
/// also after a restart; one with an open transaction is not.</summary>
public sealed class TransactionalIdExpiryTests : IDisposable
{
    private readonly BrokerFixture _f = new(new()
    {
        ["transactional.id.expiration.ms"] = "60000",
        ["transaction.remove.expired.transaction.cleanup.interval.ms"] = "1000",
        ["transaction.abort.timed.out.transaction.cleanup.interval.ms"] = "1000",
    });

    public void Dispose() => _f.Dispose();

    [Fact]
    public void AnIdleTransactionalIdExpires()
    {
        var txn = _f.Broker.Transactions;
        var idle = txn.InitProducerId("idle", 600_000, -1, -1, 4);
        _f.Broker.CreateTopic("t", 1, 1, new(), validateOnly: false);
        var busy = txn.InitProducerId("busy", 600_000, -1, -1, 4);
        txn.AddPartitions("busy", busy.ProducerId, busy.ProducerEpoch, [("t", 0)], 3);
        for (int i = 0; i < 70; i++) _f.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(txn.Describe("idle"));
        Assert.Equal(TxnState.Ongoing, txn.Describe("busy")!.State);
        _f.Restart();
        Assert.Null(_f.Broker.Transactions.Describe("idle"));
        Assert.NotNull(_f.Broker.Transactions.Describe("busy"));
        // the id starts afresh, with a new producer id
        Assert.NotEqual(idle.ProducerId, _f.Broker.Transactions.InitProducerId("idle", 600_000, -1, -1, 4).ProducerId);
    }
}
