using KafkaCompat.Broker.Groups;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using Xunit;

namespace KafkaCompat.Broker.Tests;

/// <summary>Request frames captured from real clients (tests/KafkaCompat.Protocol.Tests/Fixtures) fed to the broker's
/// handlers as they arrived on the wire, and the answers checked against what Kafka answers.</summary>
public sealed class CapturedFrameTests : IDisposable
{
    private readonly BrokerFixture _f = new(new() { ["group.initial.rebalance.delay.ms"] = "0" });

    public void Dispose() => _f.Dispose();

    private static readonly string FixtureDir = FindFixtures();

    private static string FindFixtures()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "KafkaCompat.Protocol.Tests", "Fixtures");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException("tests/KafkaCompat.Protocol.Tests/Fixtures");
    }

    /// <summary>Decodes one captured request frame.</summary>
    private static TReq Decode<TReq>(string file) where TReq : IKafkaRequest<TReq>
    {
        var bytes = File.ReadAllBytes(Path.Combine(FixtureDir, file));
        var peek = new KafkaReader(bytes);
        peek.ReadInt16();
        short version = peek.ReadInt16();
        var r = new KafkaReader(bytes);
        RequestHeader.Read(ref r, TReq.IsFlexible(version) ? (short)2 : (short)1);
        return TReq.Read(ref r, version);
    }

    /// <summary>Answers one captured frame with the broker's handler; returns the decoded request and the response.</summary>
    private async Task<(TReq Request, TResp Response)> Answer<TReq, TResp>(string file)
        where TReq : IKafkaRequest<TReq> where TResp : class
    {
        var bytes = File.ReadAllBytes(Path.Combine(FixtureDir, file));
        var peek = new KafkaReader(bytes);
        peek.ReadInt16();
        short version = peek.ReadInt16();
        var r = new KafkaReader(bytes);
        var header = RequestHeader.Read(ref r, TReq.IsFlexible(version) ? (short)2 : (short)1);
        var body = bytes.AsMemory(r.Position);
        var br = new KafkaReader(body);
        var request = TReq.Read(ref br, version);
        var handler = _f.Broker.Apis.All.Single(h => h.Key == TReq.ApiKey);
        var ctx = new RequestContext { Broker = _f.Broker, ApiVersion = version, CorrelationId = header.CorrelationId, ClientId = header.ClientId };
        var response = await handler.HandleAsync(ctx, body);
        return (request, Assert.IsType<TResp>(response));
    }

    [Fact]
    public async Task ClusterAdminFramesAreAnsweredAsOneKafkaBrokerAnswersThem()
    {
        _f.Broker.Logs.Create("fixture-kafkajs-reassign", 1, new());
        _f.Broker.Logs.Create("fixture-librdkafka216-elect", 1, new());
        // librdkafka 2.16's preferred election (v2): the one broker leads the partition already
        var (elect, elected) = await Answer<ElectLeadersRequest, ElectLeadersResponse>("librdkafka216.elect-ElectLeaders-v2-1.bin");
        Assert.Equal(0, elect.ElectionType);
        Assert.Equal(ErrorCode.None, elected.ErrorCode);
        var result = Assert.Single(Assert.Single(elected.ReplicaElectionResults).PartitionResult);
        Assert.Equal((0, ErrorCode.ElectionNotNeeded), (result.PartitionId, result.ErrorCode));
        // kafkajs's reassignment onto the broker that holds the partition: accepted, nothing left in progress
        var (alter, altered) = await Answer<AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse>("kafkajs.reassign-AlterPartitionReassignments-v0-1.bin");
        Assert.Equal([_f.Broker.Config.NodeId], alter.Topics.Single().Partitions.Single().Replicas);
        Assert.Equal(ErrorCode.None, altered.ErrorCode);
        Assert.Equal(ErrorCode.None, Assert.Single(Assert.Single(altered.Responses).Partitions).ErrorCode);
        var (_, listed) = await Answer<ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse>("kafkajs.reassign-ListPartitionReassignments-v0-1.bin");
        Assert.Equal(ErrorCode.None, listed.ErrorCode);
        Assert.Empty(listed.Topics);
    }

    [Fact]
    public async Task Librdkafka216Kip848FramesAreAnsweredAsKafkaAnswersThem()
    {
        var topic = _f.Broker.Logs.Create("fixture-librdkafka216-consumer", 2, new())!;
        _f.Broker.Logs.Create("fixture-librdkafka216-regex", 1, new());

        // Metadata v13 (librdkafka 2.16's first one, no topics): the top-level error code v13 added is NONE
        var (_, md) = await Answer<MetadataRequest, MetadataResponse>("librdkafka216.consumer-Metadata-v13-1.bin");
        Assert.Equal(ErrorCode.None, md.ErrorCode);
        Assert.Single(md.Brokers);

        // the join: the client names itself (KIP-1082) and gets epoch 1 with both partitions, by topic id
        var (join, joined) = await Answer<ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse>("librdkafka216.consumer-ConsumerGroupHeartbeat-v1-1.bin");
        Assert.Equal(ErrorCode.None, joined.ErrorCode);
        Assert.Equal(join.MemberId, joined.MemberId);
        Assert.Equal(1, joined.MemberEpoch);
        Assert.Equal(_f.Broker.Config.GroupConsumerHeartbeatIntervalMs, joined.HeartbeatIntervalMs);
        var assigned = Assert.Single(joined.Assignment!.TopicPartitions);
        Assert.Equal(topic.Id, assigned.TopicId);
        Assert.Equal([0, 1], assigned.Partitions.Order());
        var described = _f.Broker.Groups.DescribeConsumerGroup(join.GroupId);
        var member = Assert.Single(described.Members).Member;
        Assert.Equal("fixture-instance-848", member.InstanceId);
        Assert.Equal(300000, member.RebalanceTimeoutMs);
        Assert.Equal("uniform", member.ServerAssignor);
        Assert.Null(member.SubscribedTopicRegex); // librdkafka sends "" when it has no pattern
        Assert.Equal("uniform", described.AssignorName);

        // the same instance id joining again with a pattern, while the first member holds it
        var (_, regex) = await Answer<ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse>("librdkafka216.regex-ConsumerGroupHeartbeat-v1-1.bin");
        Assert.Equal(ErrorCode.UnreleasedInstanceId, regex.ErrorCode);

        // its commit carries the member epoch the join gave it
        var (_, committed) = await Answer<OffsetCommitRequest, OffsetCommitResponse>("librdkafka216.consumer-OffsetCommit-v9-1.bin");
        Assert.Equal(ErrorCode.None, Assert.Single(Assert.Single(committed.Topics).Partitions).ErrorCode);
        var (_, fetched) = await Answer<OffsetFetchRequest, OffsetFetchResponse>("librdkafka216.consumer-OffsetFetch-v9-1.bin");
        var group = Assert.Single(fetched.Groups);
        Assert.Equal(ErrorCode.None, group.ErrorCode);
        Assert.Equal(3, group.Topics.Single().Partitions.Single(p => p.PartitionIndex == 0).CommittedOffset);

        var (_, describe) = await Answer<ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse>("librdkafka216.consumer-ConsumerGroupDescribe-v0-1.bin");
        var g = Assert.Single(describe.Groups);
        Assert.Equal(ErrorCode.None, g.ErrorCode);
        Assert.Equal("Stable", g.GroupState);
        Assert.Equal(1, g.GroupEpoch);
        var m = Assert.Single(g.Members);
        Assert.Equal(join.MemberId, m.MemberId);
        Assert.Equal("fixture-librdkafka216-consumer", Assert.Single(m.Assignment.TopicPartitions).TopicName);

        // a commit from an older epoch once the member has moved on: STALE_MEMBER_EPOCH
        _f.Broker.Logs.AddPartitions("fixture-librdkafka216-consumer", 3);
        var beat = _f.Broker.Groups.ConsumerHeartbeat(new Groups.ConsumerHeartbeatRequest(join.GroupId, join.MemberId, 1, null, null, -1, null, null, null,
            null, "rdkafka", "/127.0.0.1", 1));
        Assert.Equal(2, beat.MemberEpoch); // the added partition bumped the group epoch and the member took it
        var (_, stale) = await Answer<OffsetCommitRequest, OffsetCommitResponse>("librdkafka216.consumer-OffsetCommit-v9-1.bin");
        Assert.Equal(ErrorCode.StaleMemberEpoch, Assert.Single(Assert.Single(stale.Topics).Partitions).ErrorCode);

        // ListGroups v5 from librdkafka's ListConsumerGroups matching the consumer type: it writes "Consumer", which
        // Kafka parses without regard to case; a classic group stays out of the answer
        _f.Broker.Groups.Commit("fixture-classic-librdkafka216", -1, "", null, -1, [new CommitEntry("fixture-librdkafka216-consumer", 0, 1, 0, null, 1000)]);
        var (list, listed) = await Answer<ListGroupsRequest, ListGroupsResponse>("librdkafka216.consumer-ListGroups-v5-1.bin");
        Assert.Equal(["Consumer"], list.TypesFilter);
        Assert.Equal(ErrorCode.None, listed.ErrorCode);
        var listing = Assert.Single(listed.Groups);
        Assert.Equal((join.GroupId, "consumer"), (listing.GroupId, listing.GroupType));
    }

    [Fact]
    public async Task PlatformaticFramesAtTheNewestVersionsAreAnswered()
    {
        var topic = _f.Broker.Logs.Create("fixture-platformatic", 3, new())!;
        var batch = new KafkaCompat.Records.RecordBatchBuilder();
        batch.Add("k"u8.ToArray(), "v"u8.ToArray(), 1000);
        topic.Partitions[0].Append(batch.Build());

        // ListOffsets v9 (read_committed, earliest): partition 0 starts at 0
        var (_, offsets) = await Answer<ListOffsetsRequest, ListOffsetsResponse>("platformatic-ListOffsets-v9-1.bin");
        Assert.All(offsets.Topics.Single().Partitions, p => Assert.Equal((ErrorCode.None, 0L), (p.ErrorCode, p.Offset)));

        // its own KIP-848 member: a UUID member id, no pattern (null, where librdkafka sends ""), no assignor
        var (join, joined) = await Answer<ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse>("platformatic-ConsumerGroupHeartbeat-v1-1.bin");
        Assert.Null(join.SubscribedTopicRegex);
        Assert.Null(join.ServerAssignor);
        Assert.Equal(ErrorCode.None, joined.ErrorCode);
        Assert.Equal(join.MemberId, joined.MemberId);
        Assert.Equal([0, 1, 2], joined.Assignment!.TopicPartitions.Single().Partitions.Order());
        Assert.Equal("uniform", _f.Broker.Groups.DescribeConsumerGroup(join.GroupId).AssignorName); // the broker's default

        // DescribeLogDirs v4: the data directory with the topic's three partitions, and the file system's sizes
        var (_, dirs) = await Answer<DescribeLogDirsRequest, DescribeLogDirsResponse>("platformatic-DescribeLogDirs-v4-1.bin");
        var dir = Assert.Single(dirs.Results);
        Assert.Equal(3, Assert.Single(dir.Topics).Partitions.Count);
        Assert.True(dir.Topics[0].Partitions.Single(p => p.PartitionIndex == 0).PartitionSize > 0);
        Assert.True(dir.TotalBytes > 0 && dir.UsableBytes > 0);

        // Fetch v17 names its topics by the ids of the broker it was captured from: unknown here, as Kafka answers
        var (fetch, fetched) = await Answer<FetchRequest, FetchResponse>("platformatic-Fetch-v17-1.bin");
        Assert.NotEqual(topic.Id, fetch.Topics[0].TopicId);
        Assert.All(fetched.Responses.SelectMany(r => r.Partitions), p => Assert.Equal(ErrorCode.UnknownTopicId, p.ErrorCode));
    }

    [Fact]
    public async Task PlatformaticDescribeTopicPartitionsPagesByItsCursor()
    {
        var topic = _f.Broker.Logs.Create("fixture-platformatic", 3, new())!;
        _f.Broker.Logs.Create("fixture-platformatic-cursor", 3, new());

        // a page of at most 2 partitions: partitions 0 and 1, then a cursor at partition 2
        var (first, page) = await Answer<DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse>("platformatic-DescribeTopicPartitions-v0-1.bin");
        Assert.Equal(2, first.ResponsePartitionLimit);
        Assert.Null(first.Cursor);
        var described = Assert.Single(page.Topics);
        Assert.Equal((ErrorCode.None, topic.Id), (described.ErrorCode, described.TopicId));
        Assert.Equal([0, 1], described.Partitions.Select(p => p.PartitionIndex));
        Assert.Equal(("fixture-platformatic", 2), (page.NextCursor!.TopicName, page.NextCursor.PartitionIndex));

        // the client's cursor (a nullable struct, present): the rest of the topic and no further cursor
        var (next, rest) = await Answer<DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse>("platformatic.cursor-DescribeTopicPartitions-v0-1.bin");
        Assert.Equal(("fixture-platformatic-cursor", 1), (next.Cursor!.TopicName, next.Cursor.PartitionIndex));
        Assert.Equal([1, 2], Assert.Single(rest.Topics).Partitions.Select(p => p.PartitionIndex));
        Assert.Null(rest.NextCursor);

        // DescribeCluster v1 (endpoint type 1, brokers): this broker, and the cluster id
        var (_, cluster) = await Answer<DescribeClusterRequest, DescribeClusterResponse>("platformatic-DescribeCluster-v1-1.bin");
        Assert.Equal(ErrorCode.None, cluster.ErrorCode);
        Assert.Equal(1, cluster.EndpointType);
        Assert.Single(cluster.Brokers);
    }

    [Fact]
    public async Task Platformatic2ListConfigResourcesAndOffsetForLeaderEpochAreAnswered()
    {
        var topic = _f.Broker.Logs.Create("fixture-platformatic2", 3, new())!;
        var batch = new KafkaCompat.Records.RecordBatchBuilder();
        for (int i = 0; i < 3; i++) batch.Add(null, "v"u8.ToArray(), 1000 + i);
        topic.Partitions[0].Append(batch.Build());
        _f.Broker.Groups.Commit("fixture-group-platformatic2", -1, "", null, -1, [new CommitEntry("fixture-platformatic2", 0, 3, 0, null, 1000)]);

        // ListConfigResources v1 for topics (2) and groups (32): the topic and the group, each with its type
        var (list, listed) = await Answer<ListConfigResourcesRequest, ListConfigResourcesResponse>("platformatic2-ListConfigResources-v1-1.bin");
        Assert.Equal([(sbyte)2, (sbyte)32], list.ResourceTypes);
        Assert.Equal(ErrorCode.None, listed.ErrorCode);
        Assert.Contains(listed.ConfigResources, r => (r.ResourceName, r.ResourceType) == ("fixture-platformatic2", (sbyte)2));
        Assert.Contains(listed.ConfigResources, r => (r.ResourceName, r.ResourceType) == ("fixture-group-platformatic2", (sbyte)32));
        Assert.DoesNotContain(listed.ConfigResources, r => r.ResourceType is not (2 or 32));

        // OffsetForLeaderEpoch v4 from a consumer (replica -1), current and asked epoch 0: epoch 0 ends at each log end
        var (_, ends) = await Answer<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>("platformatic2-OffsetForLeaderEpoch-v4-1.bin");
        var parts = Assert.Single(ends.Topics).Partitions.OrderBy(p => p.Partition).ToList();
        Assert.Equal([(ErrorCode.None, 0, 3L), (ErrorCode.None, 0, 0L), (ErrorCode.None, 0, 0L)],
            parts.Select(p => (p.ErrorCode, p.LeaderEpoch, p.EndOffset)));
    }

    /// <summary>kafka-ts 1.5.0 sends Kafka 4.2's newest versions. Its frames, replayed on a topic created with the id they
    /// name: Produce 13 and Fetch 18 by topic id, ListOffsets 11, OffsetCommit and OffsetFetch 10 by topic id,
    /// DescribeGroups 6, ListGroups 5, DescribeCluster 2, Metadata 13.</summary>
    [Fact]
    public async Task KafkaTsFramesAtKafka42VersionsAreAnsweredAsKafkaAnswersThem()
    {
        var produce = Decode<ProduceRequest>("kafka-ts-Produce-v13-1.bin");
        var id = Assert.Single(produce.TopicData).TopicId;
        Assert.Equal("", produce.TopicData[0].Name); // v13 names the topic only by its id
        var topic = _f.Broker.Logs.Create("kts-topic-fixture", 3, new(), id)!;
        Assert.Equal(id, topic.Id);

        // the idempotent producer's id, then Produce 13: two records per partition, answered by topic id
        var (_, pid) = await Answer<InitProducerIdRequest, InitProducerIdResponse>("kafka-ts-InitProducerId-v5-1.bin");
        Assert.Equal(ErrorCode.None, pid.ErrorCode);
        var (_, produced) = await Answer<ProduceRequest, ProduceResponse>("kafka-ts-Produce-v13-1.bin");
        var answer = Assert.Single(produced.Responses);
        Assert.Equal(id, answer.TopicId); // (v13 writes no name)
        Assert.All(answer.PartitionResponses, p => Assert.Equal((ErrorCode.None, 0L), (p.ErrorCode, p.BaseOffset)));
        Assert.All(topic.Partitions, p => Assert.Equal(2, p.LogEndOffset));

        // Fetch 18 by topic id: the records, answered by topic id
        var (_, fetched) = await Answer<FetchRequest, FetchResponse>("kafka-ts-Fetch-v18-1.bin");
        var fetchedTopic = Assert.Single(fetched.Responses);
        Assert.Equal(id, fetchedTopic.TopicId);
        Assert.Equal(3, fetchedTopic.Partitions.Count);
        Assert.All(fetchedTopic.Partitions, p => Assert.Equal((ErrorCode.None, 2L), (p.ErrorCode, p.HighWatermark)));
        Assert.All(fetchedTopic.Partitions, p => Assert.True(p.Records is { Length: > 0 }));

        // ListOffsets 11 (earliest, with v10's timeout): 0 for each partition
        var (_, offsets) = await Answer<ListOffsetsRequest, ListOffsetsResponse>("kafka-ts-ListOffsets-v11-1.bin");
        Assert.All(offsets.Topics.SelectMany(t => t.Partitions), p => Assert.Equal((ErrorCode.None, 0L), (p.ErrorCode, p.Offset)));

        // OffsetCommit 10 with generation 1 for a group this broker does not have: GROUP_ID_NOT_FOUND, as from v9
        var (commit, committed) = await Answer<OffsetCommitRequest, OffsetCommitResponse>("kafka-ts-OffsetCommit-v10-1.bin");
        Assert.Equal(id, commit.Topics[0].TopicId);
        var commitAnswer = Assert.Single(committed.Topics);
        Assert.Equal(id, commitAnswer.TopicId);
        Assert.All(commitAnswer.Partitions, p => Assert.Equal(ErrorCode.GroupIdNotFound, p.ErrorCode));

        // OffsetFetch 10 by topic id, after the group's offsets were committed: answered by topic id
        _f.Broker.Groups.Commit("kts-classic-fixture", -1, "", null, -1, [.. Enumerable.Range(0, 3).Select(p => new CommitEntry("kts-topic-fixture", p, 2, 0, null, 1000))]);
        var (_, fetchedOffsets) = await Answer<OffsetFetchRequest, OffsetFetchResponse>("kafka-ts-OffsetFetch-v10-1.bin");
        var offsetsTopic = Assert.Single(Assert.Single(fetchedOffsets.Groups).Topics);
        Assert.Equal(id, offsetsTopic.TopicId);
        Assert.All(offsetsTopic.Partitions, p => Assert.Equal((ErrorCode.None, 2L), (p.ErrorCode, p.CommittedOffset)));

        // the consumer-protocol member joins; DescribeGroups 6 describes the classic group and answers the consumer
        // group GROUP_ID_NOT_FOUND with a message; ListGroups 5 with the type filter lists only the consumer group
        var (_, joined) = await Answer<ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse>("kafka-ts-ConsumerGroupHeartbeat-v1-1.bin");
        Assert.Equal(ErrorCode.None, joined.ErrorCode);
        var (_, described) = await Answer<DescribeGroupsRequest, DescribeGroupsResponse>("kafka-ts-DescribeGroups-v6-1.bin");
        Assert.Equal([("kts-classic-fixture", ErrorCode.None), ("kts-consumer-fixture", ErrorCode.GroupIdNotFound)],
            described.Groups.Select(g => (g.GroupId, g.ErrorCode)));
        Assert.Equal("Empty", described.Groups[0].GroupState);
        Assert.False(string.IsNullOrEmpty(described.Groups[1].ErrorMessage));
        var (_, listed) = await Answer<ListGroupsRequest, ListGroupsResponse>("kafka-ts-ListGroups-v5-1.bin");
        Assert.Equal([("kts-consumer-fixture", "consumer")], listed.Groups.Select(g => (g.GroupId, g.GroupType)));

        // DescribeCluster 2 with fenced brokers asked for: this broker, not fenced; Metadata 13 without topics
        var (request, cluster) = await Answer<DescribeClusterRequest, DescribeClusterResponse>("kafka-ts-DescribeCluster-v2-1.bin");
        Assert.True(request.IncludeFencedBrokers);
        Assert.False(Assert.Single(cluster.Brokers).IsFenced);
        var (_, metadata) = await Answer<MetadataRequest, MetadataResponse>("kafka-ts-Metadata-v13-1.bin");
        Assert.Equal((ErrorCode.None, 0), (metadata.ErrorCode, metadata.Topics.Count));
    }
}
