using KafkaCompat.Broker.Groups;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using KafkaCompat.Records;
using KafkaCompat.Testing;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>
/// Transactions version 2 (KIP-890) over the wire, in the sequence the Java 4.x producer uses once the broker
/// finalizes transaction.version 2 (read from its TransactionManager; the Java client cannot run here): no
/// AddPartitionsToTxn or AddOffsetsToTxn, Produce v12 and TxnOffsetCommit v5 add their partitions themselves, and
/// EndTxn v5 ends each transaction with an epoch bump that its answer hands to the producer.
/// </summary>
public sealed class TransactionsV2Tests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    public async Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start();
        await _b.Broker.Transactions.WaitLoadedAsync();
        await _b.Broker.Groups.WaitLoadedAsync();
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    private static byte[] TxnBatch(long pid, short epoch, int seq, params string[] values)
    {
        var b = new RecordBatchBuilder { ProducerId = pid, ProducerEpoch = epoch, BaseSequence = seq, Transactional = true };
        foreach (var v in values) b.Add("k"u8, System.Text.Encoding.UTF8.GetBytes(v), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        return b.Build();
    }

    private static ErrorCode Produce(RawClient c, string txnId, string topic, int partition, byte[] batch, short version = 12)
    {
        var resp = c.Call<ProduceRequest, ProduceResponse>(new ProduceRequest
        {
            TransactionalId = txnId, Acks = -1, TimeoutMs = 5000,
            TopicData = [new() { Name = topic, PartitionData = [new() { Index = partition, Records = batch }] }],
        }, version);
        return (ErrorCode)resp.Responses.Single().PartitionResponses.Single().ErrorCode;
    }

    private static EndTxnResponse End(RawClient c, string txnId, long pid, short epoch, bool commit) =>
        c.Call<EndTxnRequest, EndTxnResponse>(new EndTxnRequest { TransactionalId = txnId, ProducerId = pid, ProducerEpoch = epoch, Committed = commit }, 5);

    [Fact]
    public void ApiVersionsFinalizesTransactionVersion2()
    {
        using var c = new RawClient(_b.Port);
        var v4 = c.Call<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest { ClientSoftwareName = "test", ClientSoftwareVersion = "1" }, 4);
        var finalized = Assert.Single(v4.FinalizedFeatures!, f => f.Name == "transaction.version");
        Assert.Equal((2, 2), (finalized.MinVersionLevel, finalized.MaxVersionLevel));
        Assert.True(v4.FinalizedFeaturesEpoch >= 0);
        var supported = Assert.Single(v4.SupportedFeatures!, f => f.Name == "transaction.version");
        Assert.Equal((0, 2), (supported.MinVersion, supported.MaxVersion));
        Assert.Contains(v4.ApiKeys, k => k.ApiKey == (short)ApiKey.Produce && k.MaxVersion >= 12);
        Assert.Contains(v4.ApiKeys, k => k.ApiKey == (short)ApiKey.EndTxn && k.MaxVersion == 5);
        Assert.Contains(v4.ApiKeys, k => k.ApiKey == (short)ApiKey.TxnOffsetCommit && k.MaxVersion == 5);
        // v3: a supported feature with minimum 0 is left out for old clients, the finalized level stays
        var v3 = c.Call<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest { ClientSoftwareName = "test", ClientSoftwareVersion = "1" }, 3);
        Assert.True(v3.SupportedFeatures is null || v3.SupportedFeatures.Count == 0);
        Assert.Single(v3.FinalizedFeatures!, f => f.Name == "transaction.version");
    }

    [Fact]
    public void TransactionsEndWithAnEpochBumpAndPartitionsJoinThroughProduce()
    {
        const string txnId = "tv2-app", topic = "tv2-out", input = "tv2-in";
        _b.Broker.CreateTopic(topic, 2, 1, new(), validateOnly: false);
        _b.Broker.CreateTopic(input, 1, 1, new(), validateOnly: false);
        using var c = new RawClient(_b.Port);
        var init = c.Call<InitProducerIdRequest, InitProducerIdResponse>(new InitProducerIdRequest { TransactionalId = txnId, TransactionTimeoutMs = 60000 }, 5);
        Assert.Equal(ErrorCode.None, init.ErrorCode);
        long pid = init.ProducerId;
        short epoch = init.ProducerEpoch;

        // a transaction: two partitions joined by Produce v12, offsets by TxnOffsetCommit v5
        Assert.Equal(ErrorCode.None, Produce(c, txnId, topic, 0, TxnBatch(pid, epoch, 0, "a", "b")));
        Assert.Equal(ErrorCode.None, Produce(c, txnId, topic, 1, TxnBatch(pid, epoch, 0, "c")));
        var commit = c.Call<TxnOffsetCommitRequest, TxnOffsetCommitResponse>(new TxnOffsetCommitRequest
        {
            TransactionalId = txnId, GroupId = "tv2-group", ProducerId = pid, ProducerEpoch = epoch, GenerationId = -1, MemberId = "",
            Topics = [new() { Name = input, Partitions = [new() { PartitionIndex = 0, CommittedOffset = 17 }] }],
        }, 5);
        Assert.Equal(ErrorCode.None, commit.Topics.Single().Partitions.Single().ErrorCode);
        var log0 = _b.Broker.Logs.Get(topic)!.Partitions[0];
        Assert.Equal(0, log0.LastStableOffset);
        var described = _b.Broker.Transactions.Describe(txnId)!;
        Assert.Equal(3, described.Partitions.Count);
        Assert.Equal(2, described.ClientTransactionVersion);

        var ended = End(c, txnId, pid, epoch, commit: true);
        Assert.Equal((ErrorCode.None, pid, (short)(epoch + 1)), (ended.ErrorCode, ended.ProducerId, ended.ProducerEpoch));
        Assert.Equal(log0.HighWatermark, log0.LastStableOffset);
        Assert.Equal((short)(epoch + 1), log0.GetProducer(pid)!.Epoch); // the marker carried the new epoch
        Assert.Equal(17, _b.Broker.Groups.FetchOffsets("tv2-group", [(input, [0])], requireStable: true).Offsets.Single().Offset);

        // the next transaction runs on the new epoch from sequence 0; the old epoch is fenced
        short next = ended.ProducerEpoch;
        Assert.Equal(ErrorCode.InvalidProducerEpoch, Produce(c, txnId, topic, 0, TxnBatch(pid, epoch, 2, "zombie")));
        Assert.Equal(ErrorCode.None, Produce(c, txnId, topic, 0, TxnBatch(pid, next, 0, "d")));
        var aborted = End(c, txnId, pid, next, commit: false);
        Assert.Equal((ErrorCode.None, (short)(next + 1)), (aborted.ErrorCode, aborted.ProducerEpoch));
        Assert.Single(log0.AbortedTransactions(0, long.MaxValue));
        // a retried EndTxn (its answer was lost) gets the same answer; the other outcome is INVALID_TXN_STATE
        var retry = End(c, txnId, pid, next, commit: false);
        Assert.Equal((ErrorCode.None, aborted.ProducerEpoch), (retry.ErrorCode, retry.ProducerEpoch));
        Assert.Equal(ErrorCode.InvalidTxnState, End(c, txnId, pid, next, commit: true).ErrorCode);
        // an older epoch than that is fenced
        Assert.Equal(ErrorCode.ProducerFenced, End(c, txnId, pid, epoch, commit: false).ErrorCode);
        // aborting with nothing open is allowed in version 2 and bumps the epoch too
        var empty = End(c, txnId, pid, aborted.ProducerEpoch, commit: false);
        Assert.Equal((ErrorCode.None, (short)(aborted.ProducerEpoch + 1)), (empty.ErrorCode, empty.ProducerEpoch));
    }

    [Fact]
    public void AVersion1ClientStillGetsVersion1Semantics()
    {
        const string txnId = "tv1-app", topic = "tv1-out";
        _b.Broker.CreateTopic(topic, 1, 1, new(), validateOnly: false);
        using var c = new RawClient(_b.Port);
        var init = c.Call<InitProducerIdRequest, InitProducerIdResponse>(new InitProducerIdRequest { TransactionalId = txnId, TransactionTimeoutMs = 60000 }, 4);
        // Produce v11 does not add the partition: it must be added first
        Assert.Equal(ErrorCode.TransactionAbortable, Produce(c, txnId, topic, 0, TxnBatch(init.ProducerId, init.ProducerEpoch, 0, "x"), version: 11));
        Assert.Equal(ErrorCode.InvalidTxnState, Produce(c, txnId, topic, 0, TxnBatch(init.ProducerId, init.ProducerEpoch, 0, "x"), version: 10));
        var add = c.Call<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse>(new AddPartitionsToTxnRequest
        {
            V3AndBelowTransactionalId = txnId, V3AndBelowProducerId = init.ProducerId, V3AndBelowProducerEpoch = init.ProducerEpoch,
            V3AndBelowTopics = [new() { Name = topic, Partitions = [0] }],
        }, 3);
        Assert.Equal(ErrorCode.None, add.ResultsByTopicV3AndBelow.Single().ResultsByPartition.Single().PartitionErrorCode);
        Assert.Equal(ErrorCode.None, Produce(c, txnId, topic, 0, TxnBatch(init.ProducerId, init.ProducerEpoch, 0, "x"), version: 11));
        var end = c.Call<EndTxnRequest, EndTxnResponse>(new EndTxnRequest { TransactionalId = txnId, ProducerId = init.ProducerId, ProducerEpoch = init.ProducerEpoch, Committed = true }, 4);
        Assert.Equal(ErrorCode.None, end.ErrorCode);
        Assert.Equal(init.ProducerEpoch, _b.Broker.Transactions.Describe(txnId)!.ProducerEpoch); // no bump in version 1
    }
}
