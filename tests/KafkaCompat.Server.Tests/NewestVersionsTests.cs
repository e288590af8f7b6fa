using KafkaCompat.Broker.Groups;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using KafkaCompat.Testing;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>The versions Kafka 4.0-4.2 added, over the wire: what each new field means and how the broker answers
/// it (ListOffsets 9-11, Fetch 17-18, Metadata 13, DescribeGroups 6, DescribeCluster 2, Produce 13 and OffsetCommit/
/// OffsetFetch 10 by topic id, OffsetForLeaderEpoch, DescribeLogDirs, DescribeTopicPartitions).</summary>
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

    [Fact]
    public void OffsetForLeaderEpochAnswersWhereEpochZeroEnds()
    {
        var log = _b.Broker.Logs.Create("ofle", 2, new())!.Partitions[0];
        for (int i = 0; i < 3; i++)
        {
            var batch = new KafkaCompat.Records.RecordBatchBuilder();
            batch.Add("k"u8.ToArray(), "v"u8.ToArray(), 1000 + i);
            log.Append(batch.Build());
        }
        foreach (short v in new short[] { 0, 1, 2, 3, 4 })
        {
            var resp = _c.Call<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>(new OffsetForLeaderEpochRequest
            {
                ReplicaId = -1,
                Topics = [new() { Topic = "ofle", Partitions = [
                    new() { Partition = 0, LeaderEpoch = 0, CurrentLeaderEpoch = 0 },
                    new() { Partition = 1, LeaderEpoch = 0, CurrentLeaderEpoch = -1 },
                    new() { Partition = 0, LeaderEpoch = 3, CurrentLeaderEpoch = 0 },
                    new() { Partition = 7, LeaderEpoch = 0 }] },
                    new() { Topic = "no-such-topic", Partitions = [new() { Partition = 0, LeaderEpoch = 0 }] }],
            }, v);
            var ps = resp.Topics[0].Partitions;
            Assert.Equal((ErrorCode.None, 3L), (ps[0].ErrorCode, ps[0].EndOffset));
            Assert.Equal((ErrorCode.None, 0L), (ps[1].ErrorCode, ps[1].EndOffset));
            Assert.Equal((ErrorCode.None, -1L), (ps[2].ErrorCode, ps[2].EndOffset)); // an epoch this log never had
            Assert.Equal(ErrorCode.UnknownTopicOrPartition, ps[3].ErrorCode);
            Assert.Equal(ErrorCode.UnknownTopicOrPartition, resp.Topics[1].Partitions[0].ErrorCode);
            if (v >= 1) Assert.Equal((0, -1), (ps[0].LeaderEpoch, ps[2].LeaderEpoch));
        }
        // v2+: the caller's idea of the current leader epoch is checked
        var fenced = _c.Call<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>(new OffsetForLeaderEpochRequest
        {
            ReplicaId = -1, Topics = [new() { Topic = "ofle", Partitions = [new() { Partition = 0, LeaderEpoch = 0, CurrentLeaderEpoch = 5 }] }],
        }, 4);
        Assert.Equal(ErrorCode.UnknownLeaderEpoch, fenced.Topics[0].Partitions[0].ErrorCode);
    }

    [Fact]
    public void DescribeLogDirsListsTheDataDirectoryWithPartitionSizes()
    {
        var log = _b.Broker.Logs.Create("dld", 2, new())!.Partitions[1];
        var batch = new KafkaCompat.Records.RecordBatchBuilder();
        batch.Add("k"u8.ToArray(), new byte[1000], 1000);
        log.Append(batch.Build());
        foreach (short v in new short[] { 0, 1, 2, 3, 4 })
        {
            var resp = _c.Call<DescribeLogDirsRequest, DescribeLogDirsResponse>(new DescribeLogDirsRequest
            {
                Topics = [new() { Topic = "dld", Partitions = [0, 1] }, new() { Topic = "no-such-topic", Partitions = [0] }],
            }, v);
            var dir = Assert.Single(resp.Results);
            Assert.Equal(ErrorCode.None, dir.ErrorCode);
            Assert.Equal(Path.GetFullPath(_b.DataDir), dir.LogDir);
            var t = Assert.Single(dir.Topics);
            Assert.Equal([0L, log.SizeInBytes], t.Partitions.OrderBy(p => p.PartitionIndex).Select(p => p.PartitionSize));
            Assert.True(t.Partitions[1].PartitionSize > 1000 || t.Partitions[0].PartitionSize > 1000);
            if (v >= 4) Assert.True(dir.TotalBytes > 0 && dir.UsableBytes > 0 && dir.UsableBytes <= dir.TotalBytes);
            else Assert.Equal(-1, dir.TotalBytes);
        }
        var all = _c.Call<DescribeLogDirsRequest, DescribeLogDirsResponse>(new DescribeLogDirsRequest { Topics = null }, 4);
        Assert.Contains(all.Results[0].Topics, x => x.Name == "dld");
        var none = _c.Call<DescribeLogDirsRequest, DescribeLogDirsResponse>(new DescribeLogDirsRequest { Topics = [] }, 4);
        Assert.Empty(none.Results[0].Topics);
    }

    [Fact]
    public void DescribeTopicPartitionsPagesWithACursor()
    {
        _b.Broker.Logs.Create("dtp-a", 3, new());
        var b = _b.Broker.Logs.Create("dtp-b", 4, new())!;
        DescribeTopicPartitionsResponse Call(int limit, DescribeTopicPartitionsRequest.CursorData? cursor, params string[] topics) =>
            _c.Call<DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse>(new DescribeTopicPartitionsRequest
            {
                Topics = topics.Select(t => new DescribeTopicPartitionsRequest.TopicRequest { Name = t }).ToList(),
                ResponsePartitionLimit = limit, Cursor = cursor,
            }, 0);

        // 7 partitions, 5 per page: a, then b's first two; the cursor names b-2
        var first = Call(5, null, "dtp-b", "dtp-a", "dtp-missing");
        Assert.Equal(["dtp-a", "dtp-b"], first.Topics.Select(t => t.Name));
        Assert.Equal(3, first.Topics[0].Partitions.Count);
        Assert.Equal([0, 1], first.Topics[1].Partitions.Select(p => p.PartitionIndex));
        Assert.Equal(b.Id, first.Topics[1].TopicId);
        Assert.Equal(("dtp-b", 2), (first.NextCursor!.TopicName, first.NextCursor.PartitionIndex));
        var p0 = first.Topics[0].Partitions[0];
        Assert.Equal((_b.Broker.NodeId, 0), (p0.LeaderId, p0.LeaderEpoch));
        Assert.Equal([_b.Broker.NodeId], p0.IsrNodes);

        var second = Call(5, new() { TopicName = first.NextCursor.TopicName, PartitionIndex = first.NextCursor.PartitionIndex }, "dtp-b", "dtp-a", "dtp-missing");
        Assert.Equal(["dtp-b", "dtp-missing"], second.Topics.Select(t => t.Name));
        Assert.Equal([2, 3], second.Topics[0].Partitions.Select(p => p.PartitionIndex));
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, second.Topics[1].ErrorCode);
        Assert.Null(second.NextCursor);

        // exactly full at the end of a topic: the next page starts at the next topic
        var exact = Call(3, null, "dtp-a", "dtp-b");
        Assert.Equal(("dtp-b", 0), (exact.NextCursor!.TopicName, exact.NextCursor.PartitionIndex));
        // no topics: all of them (the internal ones flagged); a cursor outside the list asked for is refused
        Assert.Contains(Call(2000, null).Topics, t => t.Name == "dtp-a");
        var bad = Call(10, new() { TopicName = "elsewhere", PartitionIndex = 0 }, "dtp-a");
        Assert.Equal(ErrorCode.InvalidRequest, Assert.Single(bad.Topics).ErrorCode);
    }

    [Fact]
    public void ProduceV13AndOffsetCommitFetchV10NameTopicsById()
    {
        var t = _b.Broker.Logs.Create("by-id", 2, new())!;
        var batch = new KafkaCompat.Records.RecordBatchBuilder();
        batch.Add("k"u8.ToArray(), "v"u8.ToArray(), 1000);
        var unknown = Guid.NewGuid();
        var produced = _c.Call<ProduceRequest, ProduceResponse>(new ProduceRequest
        {
            Acks = -1, TimeoutMs = 5000,
            TopicData = [new() { TopicId = t.Id, PartitionData = [new() { Index = 1, Records = batch.Build() }] },
                         new() { TopicId = unknown, PartitionData = [new() { Index = 0, Records = batch.Build() }] }],
        }, 13);
        Assert.Equal(t.Id, produced.Responses[0].TopicId);
        Assert.Equal((ErrorCode.None, 0L), (produced.Responses[0].PartitionResponses[0].ErrorCode, produced.Responses[0].PartitionResponses[0].BaseOffset));
        Assert.Equal(1, t.Partitions[1].HighWatermark);
        Assert.Equal(ErrorCode.UnknownTopicId, produced.Responses[1].PartitionResponses[0].ErrorCode);
        Assert.Null(_b.Broker.Logs.Get(unknown)); // an id never creates a topic

        var committed = _c.Call<OffsetCommitRequest, OffsetCommitResponse>(new OffsetCommitRequest
        {
            GroupId = "by-id-group", GenerationIdOrMemberEpoch = -1, MemberId = "",
            Topics = [new() { TopicId = t.Id, Partitions = [new() { PartitionIndex = 1, CommittedOffset = 1, CommittedMetadata = "m" }] },
                      new() { TopicId = unknown, Partitions = [new() { PartitionIndex = 0, CommittedOffset = 1 }] }],
        }, 10);
        Assert.Equal(ErrorCode.None, committed.Topics.Single(x => x.TopicId == t.Id).Partitions[0].ErrorCode);
        Assert.Equal(ErrorCode.UnknownTopicId, committed.Topics.Single(x => x.TopicId == unknown).Partitions[0].ErrorCode);

        var fetched = _c.Call<OffsetFetchRequest, OffsetFetchResponse>(new OffsetFetchRequest
        {
            Groups = [new() { GroupId = "by-id-group", Topics = [new() { TopicId = t.Id, PartitionIndexes = [0, 1] }, new() { TopicId = unknown, PartitionIndexes = [0] }] }],
        }, 10).Groups.Single();
        var known = fetched.Topics.Single(x => x.TopicId == t.Id).Partitions;
        Assert.Equal([-1L, 1L], known.OrderBy(p => p.PartitionIndex).Select(p => p.CommittedOffset));
        Assert.Equal(ErrorCode.UnknownTopicId, fetched.Topics.Single(x => x.TopicId == unknown).Partitions[0].ErrorCode);
        var all = _c.Call<OffsetFetchRequest, OffsetFetchResponse>(new OffsetFetchRequest { Groups = [new() { GroupId = "by-id-group", Topics = null }] }, 10).Groups.Single();
        Assert.Equal(t.Id, Assert.Single(all.Topics).TopicId);
        // v9 still by name
        var byName = _c.Call<OffsetFetchRequest, OffsetFetchResponse>(new OffsetFetchRequest { Groups = [new() { GroupId = "by-id-group", Topics = null }] }, 9).Groups.Single();
        Assert.Equal("by-id", Assert.Single(byName.Topics).Name);
    }

    [Fact]
    public void ListConfigResourcesListsTopicsTheBrokerAndGroups()
    {
        _b.Broker.Logs.Create("lcr-topic", 1, new());
        _b.Broker.Groups.Commit("lcr-group", -1, "", null, -1, [new CommitEntry("lcr-topic", 0, 0, -1, null, -1)]);
        ListConfigResourcesResponse Call(short v, params sbyte[] types) =>
            _c.Call<ListConfigResourcesRequest, ListConfigResourcesResponse>(new ListConfigResourcesRequest { ResourceTypes = types.ToList() }, v);

        var v0 = Call(0);
        Assert.Equal(ErrorCode.None, v0.ErrorCode);
        Assert.Empty(v0.ConfigResources); // no client-metrics resources
        var all = Call(1);
        Assert.Contains(all.ConfigResources, r => (r.ResourceName, r.ResourceType) == ("lcr-topic", 2));
        Assert.Contains(all.ConfigResources, r => (r.ResourceName, r.ResourceType) == (_b.Broker.NodeId.ToString(), 4));
        Assert.Contains(all.ConfigResources, r => (r.ResourceName, r.ResourceType) == ("lcr-group", 32));
        var groupsOnly = Call(1, 32);
        Assert.All(groupsOnly.ConfigResources, r => Assert.Equal(32, r.ResourceType));
        Assert.Equal(ErrorCode.UnsupportedVersion, Call(1, 3).ErrorCode);
    }

    [Fact]
    public void ApiVersionsFinalizesGroupVersion1ForTheConsumerProtocol()
    {
        var v4 = _c.Call<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest { ClientSoftwareName = "t", ClientSoftwareVersion = "1" }, 4);
        var finalized = Assert.Single(v4.FinalizedFeatures!, f => f.Name == "group.version");
        Assert.Equal((1, 1), (finalized.MinVersionLevel, finalized.MaxVersionLevel));
        var supported = Assert.Single(v4.SupportedFeatures!, f => f.Name == "group.version");
        Assert.Equal((0, 1), (supported.MinVersion, supported.MaxVersion));
        // before v4 a supported feature with minimum 0 is left out (KAFKA-17492); the finalized level stays
        var v3 = _c.Call<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest { ClientSoftwareName = "t", ClientSoftwareVersion = "1" }, 3);
        Assert.DoesNotContain(v3.SupportedFeatures ?? [], f => f.Name == "group.version");
        Assert.Contains(v3.FinalizedFeatures!, f => f.Name == "group.version");
    }
}
