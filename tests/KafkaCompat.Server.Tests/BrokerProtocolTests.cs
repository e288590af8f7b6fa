using System.Buffers.Binary;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using KafkaCompat.Records;
using KafkaCompat.Testing;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>Wire behaviour and bad input against one in-process broker.</summary>
public sealed class BrokerProtocolTests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    private static ProduceRequest ProduceOf(string topic, byte[] records, short acks = -1) => new()
    {
        Acks = acks,
        TimeoutMs = 5000,
        TopicData = [new() { Name = topic, PartitionData = [new() { Index = 0, Records = records }] }],
    };

    private static byte[] Batch(params string[] values)
    {
        var b = new RecordBatchBuilder();
        foreach (var v in values) b.Add(default, System.Text.Encoding.UTF8.GetBytes(v), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), nullKey: true);
        return b.Build();
    }

    private void AssertAlive()
    {
        using var c = new RawClient(_b.Port);
        var r = c.Call<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest(), 3);
        Assert.Equal(ErrorCode.None, r.ErrorCode);
    }

    [Fact]
    public void ApiVersionsListsExactlyTheHandlers()
    {
        using var c = new RawClient(_b.Port);
        foreach (short v in new short[] { 0, 1, 2, 3, 4 })
        {
            var r = c.Call<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest { ClientSoftwareName = "t", ClientSoftwareVersion = "1" }, v);
            Assert.Equal(ErrorCode.None, r.ErrorCode);
            var keys = r.ApiKeys.ToDictionary(k => (ApiKey)k.ApiKey, k => (k.MinVersion, k.MaxVersion));
            Assert.Equal(((short)0, (short)13), keys[ApiKey.Produce]);
            Assert.Equal(((short)4, (short)18), keys[ApiKey.Fetch]);
            Assert.Equal(((short)0, (short)11), keys[ApiKey.ListOffsets]);
            Assert.Equal(((short)0, (short)13), keys[ApiKey.Metadata]);
            Assert.Equal(((short)0, (short)4), keys[ApiKey.ApiVersions]);
            Assert.Equal(((short)0, (short)7), keys[ApiKey.CreateTopics]);
            Assert.Equal(((short)0, (short)6), keys[ApiKey.DeleteTopics]);
            Assert.Equal(((short)0, (short)10), keys[ApiKey.OffsetCommit]);
            Assert.Equal(((short)0, (short)10), keys[ApiKey.OffsetFetch]);
            Assert.Equal(((short)0, (short)6), keys[ApiKey.FindCoordinator]);
            Assert.Equal(((short)0, (short)9), keys[ApiKey.JoinGroup]);
            Assert.Equal(((short)0, (short)4), keys[ApiKey.Heartbeat]);
            Assert.Equal(((short)0, (short)5), keys[ApiKey.LeaveGroup]);
            Assert.Equal(((short)0, (short)5), keys[ApiKey.SyncGroup]);
            Assert.Equal(((short)0, (short)6), keys[ApiKey.DescribeGroups]);
            Assert.Equal(((short)0, (short)5), keys[ApiKey.ListGroups]);
            Assert.Equal(((short)0, (short)2), keys[ApiKey.DeleteGroups]);
            Assert.Equal(((short)0, (short)0), keys[ApiKey.OffsetDelete]);
            Assert.Equal(((short)0, (short)2), keys[ApiKey.DeleteRecords]);
            Assert.Equal(((short)0, (short)4), keys[ApiKey.DescribeConfigs]);
            Assert.Equal(((short)0, (short)2), keys[ApiKey.AlterConfigs]);
            Assert.Equal(((short)0, (short)1), keys[ApiKey.IncrementalAlterConfigs]);
            Assert.Equal(((short)0, (short)3), keys[ApiKey.CreatePartitions]);
            Assert.Equal(((short)0, (short)2), keys[ApiKey.DescribeCluster]);
            Assert.Equal(((short)0, (short)5), keys[ApiKey.InitProducerId]);
            Assert.Equal(((short)0, (short)5), keys[ApiKey.AddPartitionsToTxn]);
            Assert.Equal(((short)0, (short)4), keys[ApiKey.AddOffsetsToTxn]);
            Assert.Equal(((short)0, (short)5), keys[ApiKey.EndTxn]);
            Assert.Equal(((short)0, (short)5), keys[ApiKey.TxnOffsetCommit]);
            Assert.Equal(((short)0, (short)0), keys[ApiKey.DescribeProducers]);
            Assert.Equal(((short)0, (short)0), keys[ApiKey.DescribeTransactions]);
            Assert.Equal(((short)0, (short)2), keys[ApiKey.ListTransactions]);
            Assert.Equal(((short)0, (short)1), keys[ApiKey.ConsumerGroupHeartbeat]);
            Assert.Equal(((short)0, (short)1), keys[ApiKey.ConsumerGroupDescribe]);
            Assert.Equal(((short)0, (short)4), keys[ApiKey.OffsetForLeaderEpoch]);
            Assert.Equal(((short)0, (short)4), keys[ApiKey.DescribeLogDirs]);
            Assert.Equal(((short)0, (short)0), keys[ApiKey.DescribeTopicPartitions]);
            Assert.Equal(((short)0, (short)1), keys[ApiKey.ListConfigResources]);
            Assert.Equal(((short)0, (short)2), keys[ApiKey.ElectLeaders]);
            Assert.Equal(((short)0, (short)1), keys[ApiKey.AlterPartitionReassignments]);
            Assert.Equal(((short)0, (short)0), keys[ApiKey.ListPartitionReassignments]);
            Assert.Equal(((short)0, (short)1), keys[ApiKey.SaslHandshake]);
            Assert.Equal(((short)0, (short)2), keys[ApiKey.SaslAuthenticate]);
            Assert.Equal(((short)0, (short)0), keys[ApiKey.DescribeUserScramCredentials]);
            Assert.Equal(((short)0, (short)0), keys[ApiKey.AlterUserScramCredentials]);
            Assert.Equal(((short)0, (short)3), keys[ApiKey.DescribeAcls]);
            Assert.Equal(((short)0, (short)3), keys[ApiKey.CreateAcls]);
            Assert.Equal(((short)0, (short)3), keys[ApiKey.DeleteAcls]);
            Assert.Equal(48, keys.Count);
            Assert.False(keys.ContainsKey((ApiKey)76)); // share groups (KIP-932, ShareGroupHeartbeat) are not served, so not advertised
        }
    }

    [Fact]
    public void UnknownApiVersionsVersionGetsV0AnswerNotADisconnect()
    {
        using var c = new RawClient(_b.Port);
        // a future version with a body we cannot parse: the answer is v0 with error 35
        using var w = new KafkaWriter();
        w.WriteInt16(18); w.WriteInt16(99); w.WriteInt32(7); w.WriteNullableString("future", false);
        w.WriteUnsignedVarInt(0); w.WriteUnsignedVarInt(0x7f);
        var body = w.ToArray();
        var frame = new byte[body.Length + 4];
        BinaryPrimitives.WriteInt32BigEndian(frame, body.Length);
        body.CopyTo(frame, 4);
        c.SendRaw(frame);
        var (corr, bytes) = c.ReadFrame(flexibleHeader: false);
        Assert.Equal(7, corr);
        var r = new KafkaReader(bytes);
        var resp = ApiVersionsResponse.Read(ref r, 0);
        Assert.Equal(ErrorCode.UnsupportedVersion, resp.ErrorCode);
        Assert.Contains(resp.ApiKeys, k => k.ApiKey == 18 && k.MaxVersion == 4);
        // and the connection still works
        Assert.Equal(ErrorCode.None, c.Call<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest(), 0).ErrorCode);
    }

    [Fact]
    public void RandomBytesCloseOnlyThatConnection()
    {
        using var bystander = new RawClient(_b.Port);
        bystander.Call<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest(), 1);
        var rng = new Random(42);
        for (int i = 0; i < 20; i++)
        {
            using var c = new RawClient(_b.Port);
            var junk = new byte[rng.Next(1, 300)];
            rng.NextBytes(junk);
            // keep the size field plausible half the time so the garbage reaches the parser
            if (i % 2 == 0 && junk.Length > 4) BinaryPrimitives.WriteInt32BigEndian(junk, junk.Length - 4);
            c.SendRaw(junk);
            c.Stream.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        }
        Assert.Equal(ErrorCode.None, bystander.Call<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest(), 2).ErrorCode);
        AssertAlive();
    }

    [Fact]
    public void OversizedLengthIsRefusedBeforeBuffering()
    {
        using var c = new RawClient(_b.Port);
        var frame = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(frame, 200 * 1024 * 1024);
        c.SendRaw(frame);
        Assert.True(c.IsClosedByPeer(TimeSpan.FromSeconds(20)));
        using var n = new RawClient(_b.Port);
        BinaryPrimitives.WriteInt32BigEndian(frame, -5);
        n.SendRaw(frame);
        Assert.True(n.IsClosedByPeer(TimeSpan.FromSeconds(20)));
        AssertAlive();
    }

    [Fact]
    public void TruncatedFrameAndUnknownApiKey()
    {
        using (var c = new RawClient(_b.Port))
        {
            var frame = RawClient.Frame(new MetadataRequest(), 1, 1);
            c.SendRaw(frame[..(frame.Length / 2)]);
        } // closed mid-frame
        using (var c = new RawClient(_b.Port))
        {
            var frame = RawClient.Frame(new MetadataRequest(), 1, 1);
            BinaryPrimitives.WriteInt16BigEndian(frame.AsSpan(4), 999);
            c.SendRaw(frame);
            Assert.True(c.IsClosedByPeer(TimeSpan.FromSeconds(20)));
        }
        using (var c = new RawClient(_b.Port))
        {
            // body cut short inside a valid frame: a protocol violation, connection closed
            var frame = RawClient.Frame(ProduceOf("cut", Batch("x")), 7, 1);
            var shortFrame = frame[..^10];
            BinaryPrimitives.WriteInt32BigEndian(shortFrame, shortFrame.Length - 4);
            c.SendRaw(shortFrame);
            Assert.True(c.IsClosedByPeer(TimeSpan.FromSeconds(20)));
        }
        AssertAlive();
    }

    [Fact]
    public void ATransactionalBatchWithoutATransactionalIdIsRefusedWholly()
    {
        // as Kafka: a produce carrying a transactional batch must name its transactional id; the whole request is
        // refused, the plain partition beside it included
        using var c = new RawClient(_b.Port);
        var txn = new RecordBatchBuilder { ProducerId = 7, ProducerEpoch = 0, BaseSequence = 0, Transactional = true }
            .Add(default, "t"u8, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), nullKey: true).Build();
        var request = new ProduceRequest
        {
            Acks = -1, TimeoutMs = 5000,
            TopicData =
            [
                new() { Name = "txn-less-a", PartitionData = [new() { Index = 0, Records = Batch("plain") }] },
                new() { Name = "txn-less-b", PartitionData = [new() { Index = 0, Records = txn }] },
            ],
        };
        var r = c.Call<ProduceRequest, ProduceResponse>(request, 9);
        Assert.All(r.Responses, t => Assert.Equal(ErrorCode.TransactionalIdAuthorizationFailed, t.PartitionResponses[0].ErrorCode));
        var plain = c.Call<ProduceRequest, ProduceResponse>(ProduceOf("txn-less-a", Batch("plain")), 9);
        Assert.Equal((ErrorCode.None, 0L), (plain.Responses[0].PartitionResponses[0].ErrorCode, plain.Responses[0].PartitionResponses[0].BaseOffset));
    }

    [Fact]
    public void BadCrcGetsCorruptMessageAndStoresNothing()
    {
        using var c = new RawClient(_b.Port);
        var bad = Batch("a", "b");
        bad[^2] ^= 0x40;
        var r = c.Call<ProduceRequest, ProduceResponse>(ProduceOf("crc-topic", bad), 9);
        Assert.Equal(ErrorCode.CorruptMessage, r.Responses[0].PartitionResponses[0].ErrorCode);
        Assert.Equal(0, _b.Broker.Logs.Get("crc-topic")!.Partitions[0].HighWatermark);
        var magic = Batch("a");
        magic[RecordBatch.MagicPos] = 1;
        r = c.Call<ProduceRequest, ProduceResponse>(ProduceOf("crc-topic", magic), 9);
        Assert.Equal(ErrorCode.InvalidRecord, r.Responses[0].PartitionResponses[0].ErrorCode);
        var old = c.Call<ProduceRequest, ProduceResponse>(ProduceOf("crc-topic", Batch("a")), 2);
        Assert.Equal(ErrorCode.UnsupportedVersion, old.Responses[0].PartitionResponses[0].ErrorCode);
    }

    [Fact]
    public void PipelinedRequestsAreAnsweredInOrderAndAcksZeroGetsNothing()
    {
        using var c = new RawClient(_b.Port);
        var bytes = new List<byte>();
        bytes.AddRange(RawClient.Frame(ProduceOf("pipe", Batch("a"), acks: 0), 7, 1));
        bytes.AddRange(RawClient.Frame(new MetadataRequest { Topics = [new() { Name = "pipe" }] }, 9, 2));
        bytes.AddRange(RawClient.Frame(ProduceOf("pipe", Batch("b"), acks: 1), 7, 3));
        bytes.AddRange(RawClient.Frame(new ApiVersionsRequest(), 3, 4));
        // one byte per write: framing must not depend on how TCP splits the stream
        foreach (var b in bytes) c.SendRaw([b]);
        Assert.Equal(2, c.ReadFrame(true).CorrelationId);
        var (corr, body) = c.ReadFrame(false);
        Assert.Equal(3, corr);
        var r = new KafkaReader(body);
        Assert.Equal(1, ProduceResponse.Read(ref r, 7).Responses[0].PartitionResponses[0].BaseOffset);
        Assert.Equal(4, c.ReadFrame(false).CorrelationId);
    }

    [Fact]
    public void FetchLongPollsUntilDataArrives()
    {
        using var c = new RawClient(_b.Port);
        c.Call<ProduceRequest, ProduceResponse>(ProduceOf("poll", Batch("first")), 9);
        var fetch = new FetchRequest
        {
            MaxWaitMs = 20_000,
            MinBytes = 1,
            MaxBytes = 1 << 20,
            Topics = [new() { Topic = "poll", Partitions = [new() { Partition = 0, FetchOffset = 1, PartitionMaxBytes = 1 << 20 }] }],
        };
        int id = c.Send(fetch, 11);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        using (var p = new RawClient(_b.Port))
        {
            Thread.Sleep(300);
            p.Call<ProduceRequest, ProduceResponse>(ProduceOf("poll", Batch("second")), 9);
        }
        var (corr, body) = c.ReadFrame(false);
        Assert.Equal(id, corr);
        var r = new KafkaReader(body);
        var resp = FetchResponse.Read(ref r, 11);
        var part = resp.Responses[0].Partitions[0];
        Assert.Equal(2, part.HighWatermark);
        var records = RecordReader.ReadBatch(part.Records!.Value);
        Assert.Equal("second", System.Text.Encoding.UTF8.GetString(records[0].Value!.Value.Span));
        Assert.Equal(1, records[0].Offset);
        // answered by the append, not by the 20 s timeout
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(15), sw.Elapsed.ToString());
    }

    [Fact]
    public void FetchErrorsAndEmptyLongPollTimeout()
    {
        using var c = new RawClient(_b.Port);
        c.Call<ProduceRequest, ProduceResponse>(ProduceOf("fe", Batch("x")), 9);
        var resp = c.Call<FetchRequest, FetchResponse>(new FetchRequest
        {
            MaxWaitMs = 100,
            MinBytes = 1,
            Topics = [new() { Topic = "fe", Partitions = [new() { Partition = 0, FetchOffset = 5, PartitionMaxBytes = 1000 }, new() { Partition = 3, FetchOffset = 0, PartitionMaxBytes = 1000 }] }],
        }, 4);
        Assert.Equal(ErrorCode.OffsetOutOfRange, resp.Responses[0].Partitions[0].ErrorCode);
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, resp.Responses[0].Partitions[1].ErrorCode);
        var idle = c.Call<FetchRequest, FetchResponse>(new FetchRequest
        {
            MaxWaitMs = 200,
            MinBytes = 1,
            Topics = [new() { Topic = "fe", Partitions = [new() { Partition = 0, FetchOffset = 1, PartitionMaxBytes = 1000 }] }],
        }, 4);
        Assert.Equal(ErrorCode.None, idle.Responses[0].Partitions[0].ErrorCode);
        Assert.Equal(0, idle.Responses[0].Partitions[0].Records!.Value.Length);
    }

    [Fact]
    public void MetadataAutoCreatesAndHonoursTheSwitch()
    {
        using var c = new RawClient(_b.Port);
        var m = c.Call<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [new() { Name = "auto-1" }] }, 12);
        Assert.Equal(ErrorCode.None, m.Topics[0].ErrorCode);
        Assert.NotEqual(Guid.Empty, m.Topics[0].TopicId);
        Assert.Equal(_b.Broker.NodeId, m.ControllerId);
        Assert.Equal(0, m.Topics[0].Partitions[0].LeaderEpoch);
        Assert.Equal(_b.Port, m.Brokers[0].Port);
        var no = c.Call<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [new() { Name = "auto-2" }], AllowAutoTopicCreation = false }, 12);
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, no.Topics[0].ErrorCode);
        var bad = c.Call<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [new() { Name = "bad name!" }] }, 1);
        Assert.Equal(ErrorCode.InvalidTopicException, bad.Topics[0].ErrorCode);
    }

    [Fact]
    public void CreateTopicsValidatesLikeKafka()
    {
        using var c = new RawClient(_b.Port);
        CreateTopicsResponse Create(string name, int parts, short rf = -1, params (string, string?)[] cfg) =>
            c.Call<CreateTopicsRequest, CreateTopicsResponse>(new CreateTopicsRequest
            {
                Topics = [new() { Name = name, NumPartitions = parts, ReplicationFactor = rf, Configs = cfg.Select(x => new CreateTopicsRequest.CreatableTopicConfig { Name = x.Item1, Value = x.Item2 }).ToList() }],
            }, 7);
        var ok = Create("ct-1", 3, 1, ("retention.ms", "1000"));
        Assert.Equal(ErrorCode.None, ok.Topics[0].ErrorCode);
        Assert.Equal(3, ok.Topics[0].NumPartitions);
        Assert.Contains(ok.Topics[0].Configs!, x => x.Name == "retention.ms" && x.Value == "1000");
        Assert.Equal(ErrorCode.TopicAlreadyExists, Create("ct-1", 3).Topics[0].ErrorCode);
        Assert.Equal(ErrorCode.InvalidPartitions, Create("ct-2", 0).Topics[0].ErrorCode);
        Assert.Equal(ErrorCode.InvalidReplicationFactor, Create("ct-2", 1, 3).Topics[0].ErrorCode);
        Assert.Equal(ErrorCode.InvalidConfig, Create("ct-2", 1, -1, ("no.such.config", "1")).Topics[0].ErrorCode);
        Assert.Equal(ErrorCode.InvalidConfig, Create("ct-2", 1, -1, ("segment.bytes", "abc")).Topics[0].ErrorCode);
        Assert.Equal(ErrorCode.InvalidTopicException, Create("bad/name", 1).Topics[0].ErrorCode);
        var validate = c.Call<CreateTopicsRequest, CreateTopicsResponse>(new CreateTopicsRequest { ValidateOnly = true, Topics = [new() { Name = "ct-3", NumPartitions = 2, ReplicationFactor = 1 }] }, 4);
        Assert.Equal(ErrorCode.None, validate.Topics[0].ErrorCode);
        Assert.Null(_b.Broker.Logs.Get("ct-3"));
        var del = c.Call<DeleteTopicsRequest, DeleteTopicsResponse>(new DeleteTopicsRequest { TopicNames = ["ct-1", "ct-missing"], TimeoutMs = 1000 }, 4);
        Assert.Equal(ErrorCode.None, del.Responses.Single(r => r.Name == "ct-1").ErrorCode);
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, del.Responses.Single(r => r.Name == "ct-missing").ErrorCode);
    }
}
