using KafkaCompat.Broker.Groups;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using KafkaCompat.Testing;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>The versions Kafka 4.0-4.2 added, over the wire: what each new field means and how the broker answers
/// it (ListOffsets 9-11, Fetch 17-18, Metadata 13, DescribeGroups 6, DescribeCluster 2).</summary>
public sealed class NewestVersionsTests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;
    private RawClient _c = null!;

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(settings: new Dictionary<string, string> { ["group.initial.rebalance.delay.ms"] = "0" });
        _c = new RawClient(_b.Port);
        return _b.Broker.Groups.WaitLoadedAsync();
    }

    public async Task DisposeAsync()
    {
        _c.Dispose();
        await _b.DisposeAsync();
    }

    private ListOffsetsResponse.ListOffsetsPartitionResponse ListOffsets(string topic, long timestamp, short version) =>
        _c.Call<ListOffsetsRequest, ListOffsetsResponse>(new ListOffsetsRequest
        {
            ReplicaId = -1,
            Topics = [new() { Name = topic, Partitions = [new() { PartitionIndex = 0, Timestamp = timestamp }] }],
            TimeoutMs = 5000,
        }, version).Topics.Single().Partitions.Single();

    [Fact]
    public void ListOffsetsTieredTimestampsAnswerNothingWithoutTieredStorage()
    {
        var log = _b.Broker.Logs.Create("lo-new", 1, new())!.Partitions[0];
        var batch = new KafkaCompat.Records.RecordBatchBuilder();
        batch.Add("k"u8.ToArray(), "v"u8.ToArray(), 1000);
        log.Append(batch.Build());

        // -5 latest tiered (v9+): no remote storage, so offset, timestamp and leader epoch are -1
        var tiered = ListOffsets("lo-new", -5, 9);
        Assert.Equal((ErrorCode.None, -1L, -1L, -1), (tiered.ErrorCode, tiered.Offset, tiered.Timestamp, tiered.LeaderEpoch));
        Assert.Equal(ErrorCode.UnsupportedVersion, ListOffsets("lo-new", -5, 8).ErrorCode);
        // -6 earliest pending upload (v11+)
        var pending = ListOffsets("lo-new", -6, 11);
        Assert.Equal((ErrorCode.None, -1L, -1L, -1), (pending.ErrorCode, pending.Offset, pending.Timestamp, pending.LeaderEpoch));
        Assert.Equal(ErrorCode.UnsupportedVersion, ListOffsets("lo-new", -6, 10).ErrorCode);
        Assert.Equal(ErrorCode.UnsupportedVersion, ListOffsets("lo-new", -7, 11).ErrorCode);
        // the usual targets at the newest versions (v10 carries a timeout)
        Assert.Equal(1, ListOffsets("lo-new", -1, 11).Offset);
        Assert.Equal(0, ListOffsets("lo-new", -2, 10).Offset);
        Assert.Equal(0, ListOffsets("lo-new", -4, 9).Offset);
    }

    [Fact]
    public void FetchV17AndV18CarryTheReplicaTagsAndReadAsBefore()
    {
        var t = _b.Broker.Logs.Create("fetch-new", 1, new())!;
        var batch = new KafkaCompat.Records.RecordBatchBuilder();
        batch.Add("k"u8.ToArray(), "v"u8.ToArray(), 1000);
        t.Partitions[0].Append(batch.Build());
        foreach (short v in new short[] { 17, 18 })
        {
            var resp = _c.Call<FetchRequest, FetchResponse>(new FetchRequest
            {
                ReplicaId = -1, MaxWaitMs = 10, MinBytes = 1, MaxBytes = 1 << 20,
                Topics = [new() { TopicId = t.Id, Partitions = [new() { Partition = 0, FetchOffset = 0, PartitionMaxBytes = 1 << 20,
                    ReplicaDirectoryId = Guid.NewGuid(), HighWatermark = 5 }] }],
            }, v);
            var p = resp.Responses.Single().Partitions.Single();
            Assert.Equal(ErrorCode.None, p.ErrorCode);
            Assert.Equal(1, p.HighWatermark);
            Assert.True(p.Records!.Value.Length > 61);
        }
    }

    [Fact]
    public void MetadataV13HasATopLevelErrorCode()
    {
        var resp = _c.Call<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = null }, 13);
        Assert.Equal(ErrorCode.None, resp.ErrorCode);
        Assert.Single(resp.Brokers);
    }

    [Fact]
    public void DescribeGroupsV6ReportsUnknownAndConsumerGroupsAsNotFound()
    {
        DescribeGroupsResponse.DescribedGroup Describe(string id, short v) =>
            _c.Call<DescribeGroupsRequest, DescribeGroupsResponse>(new DescribeGroupsRequest { Groups = [id] }, v).Groups.Single();

        var old = Describe("no-such-group", 5);
        Assert.Equal((ErrorCode.None, "Dead"), (old.ErrorCode, old.GroupState));
        var v6 = Describe("no-such-group", 6);
        Assert.Equal(ErrorCode.GroupIdNotFound, v6.ErrorCode);
        Assert.Equal("Group no-such-group not found.", v6.ErrorMessage);

        _b.Broker.Logs.Create("dg-new", 1, new());
        var joined = _b.Broker.Groups.ConsumerHeartbeat(new ConsumerHeartbeatRequest("kip848-dg", "m1", 0, null, null, 30000, ["dg-new"], null, null,
            new TopicPartitions(), "c", "/127.0.0.1", 1));
        Assert.Equal(ErrorCode.None, joined.Error);
        var consumer = Describe("kip848-dg", 6);
        Assert.Equal(ErrorCode.GroupIdNotFound, consumer.ErrorCode);
        Assert.Equal("Group kip848-dg is not a classic group.", consumer.ErrorMessage);
        Assert.Equal((ErrorCode.None, "Dead"), (Describe("kip848-dg", 5).ErrorCode, Describe("kip848-dg", 5).GroupState));
    }

    [Fact]
    public void DescribeClusterV2ListsTheBrokerAsNotFenced()
    {
        var resp = _c.Call<DescribeClusterRequest, DescribeClusterResponse>(new DescribeClusterRequest { IncludeFencedBrokers = true }, 2);
        Assert.Equal(ErrorCode.None, resp.ErrorCode);
        var b = Assert.Single(resp.Brokers);
        Assert.False(b.IsFenced);
        Assert.Equal(_b.Port, b.Port);
    }
}
