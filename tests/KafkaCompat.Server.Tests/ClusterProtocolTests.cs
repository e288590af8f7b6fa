using System.Net.Http.Json;
using System.Text.Json;
using KafkaCompat.Broker;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using KafkaCompat.Records;
using KafkaCompat.Testing;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>Three brokers in one process, over the wire: what each broker answers for partitions it does not lead and
/// groups it does not coordinate, leader epochs across a failover, min.insync.replicas, ElectLeaders,
/// AlterPartitionReassignments, the faults and the admin HTTP API.</summary>
public sealed class ClusterProtocolTests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    public async Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(brokers: 3, racks: ["a", "b", "c"], settings: new Dictionary<string, string>
        {
            ["group.initial.rebalance.delay.ms"] = "0",
            ["auto.leader.rebalance.enable"] = "false",
        });
        await _b.Broker.Groups.WaitLoadedAsync();
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    private RawClient To(int node) => new(_b.Cluster.PortOf(node));

    private KafkaCompat.Storage.TopicLogs Topic(string name, int partitions, short rf, Dictionary<string, string?>? configs = null)
    {
        var r = _b.Broker.CreateTopic(name, partitions, rf, configs ?? new(), validateOnly: false);
        Assert.Equal(ErrorCode.None, r.Error);
        return r.Topic!;
    }

    private static byte[] Batch(string value)
    {
        var b = new RecordBatchBuilder();
        b.Add(null, System.Text.Encoding.UTF8.GetBytes(value), 1000);
        return b.Build();
    }

    private static ProduceResponse.PartitionProduceResponse Produce(RawClient c, string topic, int partition, string value, short acks = -1, short version = 11) =>
        c.Call<ProduceRequest, ProduceResponse>(new ProduceRequest
        {
            Acks = acks, TimeoutMs = 5000,
            TopicData = [new() { Name = topic, PartitionData = [new() { Index = partition, Records = Batch(value) }] }],
        }, version).Responses.Single().PartitionResponses.Single();

    [Fact]
    public void MetadataListsTheBrokersWithRacksAndReplicasAreRackAware()
    {
        var t = Topic("md", 6, 3);
        using var c = To(2);
        var md = c.Call<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [new() { Name = "md" }] }, 12);
        Assert.Equal([(1, "a"), (2, "b"), (3, "c")], md.Brokers.Select(b => (b.NodeId, b.Rack!)).OrderBy(x => x.Item1));
        Assert.All(md.Brokers, b => Assert.Equal(_b.Cluster.PortOf(b.NodeId), b.Port));
        Assert.Equal(1, md.ControllerId);
        var parts = md.Topics.Single().Partitions;
        Assert.All(parts, p => Assert.Equal([1, 2, 3], p.ReplicaNodes.Order())); // one replica per rack
        Assert.All(parts, p => Assert.Equal(p.ReplicaNodes[0], p.LeaderId));
        Assert.Equal(3, parts.Select(p => p.LeaderId).Distinct().Count());
        // a replication factor of 2 on three racks: two racks per partition, leaders spread
        var two = Topic("md2", 6, 2);
        Assert.All(Enumerable.Range(0, 6), p => Assert.Equal(2, _b.Broker.Cluster.ReplicasOf(two, p).Distinct().Count()));
        Assert.Equal(ErrorCode.InvalidReplicationFactor, _b.Broker.CreateTopic("md4", 1, 4, new(), false).Error);
    }

    [Fact]
    public void OnlyTheLeaderServesAPartitionAndNamesItselfToOthers()
    {
        var t = Topic("lead", 1, 3);
        var state = _b.Broker.Cluster.Partition(t, 0);
        int follower = state.Replicas.First(r => r != state.Leader);
        using var toFollower = To(follower);
        var wrong = Produce(toFollower, "lead", 0, "x");
        Assert.Equal(ErrorCode.NotLeaderOrFollower, wrong.ErrorCode);
        // v10+ (KIP-951): the current leader and its endpoint come with the error
        var v11 = toFollower.Call<ProduceRequest, ProduceResponse>(new ProduceRequest
        {
            Acks = -1, TimeoutMs = 5000, TopicData = [new() { Name = "lead", PartitionData = [new() { Index = 0, Records = Batch("y") }] }],
        }, 11);
        var p = v11.Responses[0].PartitionResponses[0];
        Assert.Equal((state.Leader, state.LeaderEpoch), (p.CurrentLeader!.LeaderId, p.CurrentLeader.LeaderEpoch));
        Assert.Equal(_b.Cluster.PortOf(state.Leader), Assert.Single(v11.NodeEndpoints!).Port);
        var fetch = toFollower.Call<FetchRequest, FetchResponse>(new FetchRequest
        {
            MaxWaitMs = 0, MaxBytes = 1 << 20,
            Topics = [new() { Topic = "lead", Partitions = [new() { Partition = 0, FetchOffset = 0, PartitionMaxBytes = 1 << 20 }] }],
        }, 12);
        Assert.Equal(ErrorCode.NotLeaderOrFollower, fetch.Responses[0].Partitions[0].ErrorCode);
        using var toLeader = To(state.Leader);
        var written = Produce(toLeader, "lead", 0, "z");
        Assert.Equal((ErrorCode.None, 0L), (written.ErrorCode, written.BaseOffset));
        Assert.Equal(1, t.Partitions[0].HighWatermark); // nothing of the refused requests
    }

    [Fact]
    public void GroupRequestsGoToTheCoordinatorOnly()
    {
        int coordinator = _b.Broker.Groups.CoordinatorNode("g-coord");
        int other = coordinator % 3 + 1;
        using var c = To(other);
        var found = c.Call<FindCoordinatorRequest, FindCoordinatorResponse>(new FindCoordinatorRequest { KeyType = 0, CoordinatorKeys = ["g-coord"] }, 4);
        Assert.Equal((coordinator, _b.Cluster.PortOf(coordinator)), (found.Coordinators[0].NodeId, found.Coordinators[0].Port));
        var hb = c.Call<HeartbeatRequest, HeartbeatResponse>(new HeartbeatRequest { GroupId = "g-coord", GenerationId = 1, MemberId = "m" }, 4);
        Assert.Equal(ErrorCode.NotCoordinator, hb.ErrorCode);
        var described = c.Call<DescribeGroupsRequest, DescribeGroupsResponse>(new DescribeGroupsRequest { Groups = ["g-coord"] }, 5);
        Assert.Equal(ErrorCode.NotCoordinator, described.Groups[0].ErrorCode);
        using var right = To(coordinator);
        Assert.Equal(ErrorCode.UnknownMemberId, right.Call<HeartbeatRequest, HeartbeatResponse>(new HeartbeatRequest { GroupId = "g-coord", GenerationId = 1, MemberId = "m" }, 4).ErrorCode);
    }

    [Fact]
    public async Task AFailoverBumpsTheLeaderEpochAndOffsetForLeaderEpochSaysWhereTheOldOneEnded()
    {
        var t = Topic("epochs", 1, 3);
        var before = _b.Broker.Cluster.Partition(t, 0);
        using (var c = To(before.Leader))
            for (int i = 0; i < 3; i++) Assert.Equal(ErrorCode.None, Produce(c, "epochs", 0, $"e0-{i}").ErrorCode);
        Assert.True(await _b.Cluster.StopBrokerAsync(before.Leader));
        try
        {
            var after = _b.Broker.Cluster.Partition(t, 0);
            Assert.Equal(before.LeaderEpoch + 1, after.LeaderEpoch);
            Assert.Equal(2, after.Isr.Length);
            using var c = To(after.Leader);
            Assert.Equal(ErrorCode.None, Produce(c, "epochs", 0, "e1").ErrorCode);
            // batches carry the epoch they were written in
            var read = t.Partitions[0].Read(3, 1 << 20, minOneBatch: true);
            using (read.Lease) Assert.Equal(after.LeaderEpoch, RecordBatch.LeaderEpoch(read.Records.Span));
            // the old epoch ended at offset 3, the new one is at the log end
            var ends = c.Call<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>(new OffsetForLeaderEpochRequest
            {
                ReplicaId = -1,
                Topics = [new() { Topic = "epochs", Partitions = [
                    new() { Partition = 0, CurrentLeaderEpoch = after.LeaderEpoch, LeaderEpoch = before.LeaderEpoch },
                    new() { Partition = 0, CurrentLeaderEpoch = after.LeaderEpoch, LeaderEpoch = after.LeaderEpoch },
                    new() { Partition = 0, CurrentLeaderEpoch = before.LeaderEpoch, LeaderEpoch = before.LeaderEpoch },
                    new() { Partition = 0, CurrentLeaderEpoch = after.LeaderEpoch + 1, LeaderEpoch = before.LeaderEpoch }] }],
            }, 4).Topics[0].Partitions;
            Assert.Equal((ErrorCode.None, before.LeaderEpoch, 3L), (ends[0].ErrorCode, ends[0].LeaderEpoch, ends[0].EndOffset));
            Assert.Equal((ErrorCode.None, after.LeaderEpoch, 4L), (ends[1].ErrorCode, ends[1].LeaderEpoch, ends[1].EndOffset));
            Assert.Equal(ErrorCode.FencedLeaderEpoch, ends[2].ErrorCode);
            Assert.Equal(ErrorCode.UnknownLeaderEpoch, ends[3].ErrorCode);
            // a fetch with the old epoch is fenced
            var fenced = c.Call<FetchRequest, FetchResponse>(new FetchRequest
            {
                MaxWaitMs = 0, MaxBytes = 1 << 20,
                Topics = [new() { Topic = "epochs", Partitions = [new() { Partition = 0, FetchOffset = 0, CurrentLeaderEpoch = before.LeaderEpoch, PartitionMaxBytes = 1 << 20 }] }],
            }, 12);
            Assert.Equal(ErrorCode.FencedLeaderEpoch, fenced.Responses[0].Partitions[0].ErrorCode);
        }
        finally
        {
            Assert.True(await _b.Cluster.StartBrokerAsync(before.Leader));
        }
        Assert.Equal(3, _b.Broker.Cluster.Partition(t, 0).Isr.Length);
        // preferred leader election gives it back (a third epoch)
        var elect = To(1).Call<ElectLeadersRequest, ElectLeadersResponse>(new ElectLeadersRequest
        {
            ElectionType = 0, TopicPartitions = [new() { Topic = "epochs", Partitions = [0] }],
        }, 2);
        Assert.Equal(ErrorCode.None, elect.ReplicaElectionResults[0].PartitionResult[0].ErrorCode);
        Assert.Equal((before.Leader, before.LeaderEpoch + 2), (_b.Broker.Cluster.Partition(t, 0).Leader, _b.Broker.Cluster.Partition(t, 0).LeaderEpoch));
        var again = To(1).Call<ElectLeadersRequest, ElectLeadersResponse>(new ElectLeadersRequest
        {
            ElectionType = 0, TopicPartitions = [new() { Topic = "epochs", Partitions = [0] }],
        }, 2);
        Assert.Equal(ErrorCode.ElectionNotNeeded, again.ReplicaElectionResults[0].PartitionResult[0].ErrorCode);
    }

    [Fact]
    public async Task TheNewCoordinatorReloadsTheGroupFromItsPartition()
    {
        Topic("reload-t", 1, 3);
        const string group = "g-reload";
        int coordinator = _b.Broker.Groups.CoordinatorNode(group);
        using var a = To(coordinator);
        var joined = GroupProtocolTests.JoinFully(a, group, topic: "reload-t");
        Assert.Equal((ErrorCode.None, 1), (joined.ErrorCode, joined.GenerationId));
        Assert.Equal(ErrorCode.None, GroupProtocolTests.Sync(a, group, 1, joined.MemberId, null, (joined.MemberId, [1, 2, 3])).ErrorCode);
        Assert.Equal(ErrorCode.None, GroupProtocolTests.Commit(a, group, 1, joined.MemberId, "reload-t", 0, 42).Topics[0].Partitions[0].ErrorCode);
        // a second member's join starts a rebalance that waits for the first member: state only the coordinator's memory has
        using var b = To(coordinator);
        var first = GroupProtocolTests.Join(b, group, topic: "reload-t", rebalanceMs: 30_000);
        var pending = Task.Run(() => GroupProtocolTests.Join(b, group, first.MemberId, topic: "reload-t", rebalanceMs: 30_000));
        while (_b.Broker.Groups.Describe(group).State != "PreparingRebalance") await Task.Delay(5);

        var offsets = _b.Broker.Logs.Get(KafkaCompat.Broker.Groups.GroupCoordinator.OffsetsTopic)!;
        int partition = _b.Broker.Groups.PartitionFor(group);
        int next = _b.Broker.Cluster.Partition(offsets, partition).Isr.First(r => r != coordinator);
        Assert.Equal(ErrorCode.None, _b.Broker.Cluster.MoveLeader(offsets, partition, next).Error);
        Assert.Equal(next, _b.Broker.Groups.CoordinatorNode(group));

        // as from Kafka's old coordinator: the waiting join is answered NOT_COORDINATOR
        Assert.Equal(ErrorCode.NotCoordinator, (await pending.WaitAsync(TimeSpan.FromSeconds(20))).ErrorCode);
        Assert.Equal(ErrorCode.NotCoordinator, GroupProtocolTests.Heartbeat(a, group, 1, joined.MemberId));
        // the new coordinator has what was written: generation 1, its one member and the offset; not the rebalance
        using var n = To(next);
        var described = n.Call<DescribeGroupsRequest, DescribeGroupsResponse>(new DescribeGroupsRequest { Groups = [group] }, 5).Groups.Single();
        Assert.Equal((ErrorCode.None, "Stable"), (described.ErrorCode, described.GroupState));
        Assert.Equal([joined.MemberId], described.Members.Select(m => m.MemberId));
        Assert.Equal(ErrorCode.None, GroupProtocolTests.Heartbeat(n, group, 1, joined.MemberId));
        Assert.Equal(42, GroupProtocolTests.FetchOffset(n, group, "reload-t", 0).CommittedOffset);

        // while a partition is loading its groups answer COORDINATOR_LOAD_IN_PROGRESS (heartbeats are taken blindly)
        _b.Broker.Groups.MarkLoading(partition);
        var loading = n.Call<OffsetFetchRequest, OffsetFetchResponse>(new OffsetFetchRequest
        {
            GroupId = group, Topics = [new() { Name = "reload-t", PartitionIndexes = [0] }],
        }, 7);
        Assert.Equal(ErrorCode.CoordinatorLoadInProgress, loading.ErrorCode);
        Assert.Equal(ErrorCode.None, GroupProtocolTests.Heartbeat(n, group, 1, joined.MemberId));
        Assert.Equal(ErrorCode.CoordinatorLoadInProgress, GroupProtocolTests.Commit(n, group, 1, joined.MemberId, "reload-t", 0, 43).Topics[0].Partitions[0].ErrorCode);
        _b.Broker.Groups.Reload(partition);
        Assert.Equal(ErrorCode.None, GroupProtocolTests.Commit(n, group, 1, joined.MemberId, "reload-t", 0, 43).Topics[0].Partitions[0].ErrorCode);
    }

    [Fact]
    public void TheNewTransactionCoordinatorReloadsAndFinishesTheTransaction()
    {
        var t = Topic("reload-txn", 1, 3);
        const string id = "txn-reload";
        int coordinator = _b.Broker.Transactions.CoordinatorNode(id);
        using var c = To(coordinator);
        var init = c.Call<InitProducerIdRequest, InitProducerIdResponse>(new InitProducerIdRequest { TransactionalId = id, TransactionTimeoutMs = 60_000 }, 4);
        Assert.Equal(ErrorCode.None, init.ErrorCode);
        var added = c.Call<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse>(new AddPartitionsToTxnRequest
        {
            V3AndBelowTransactionalId = id, V3AndBelowProducerId = init.ProducerId, V3AndBelowProducerEpoch = init.ProducerEpoch,
            V3AndBelowTopics = [new() { Name = "reload-txn", Partitions = [0] }],
        }, 3);
        Assert.Equal(ErrorCode.None, added.ResultsByTopicV3AndBelow[0].ResultsByPartition[0].PartitionErrorCode);
        var leader = _b.Broker.Cluster.Partition(t, 0).Leader;
        var b = new RecordBatchBuilder { ProducerId = init.ProducerId, ProducerEpoch = init.ProducerEpoch, BaseSequence = 0, Transactional = true };
        b.Add(null, "in-txn"u8.ToArray(), 1000);
        using (var p = To(leader))
            Assert.Equal(ErrorCode.None, p.Call<ProduceRequest, ProduceResponse>(new ProduceRequest
            {
                TransactionalId = id, Acks = -1, TimeoutMs = 5000,
                TopicData = [new() { Name = "reload-txn", PartitionData = [new() { Index = 0, Records = b.Build() }] }],
            }, 9).Responses[0].PartitionResponses[0].ErrorCode);
        Assert.Equal(0, t.Partitions[0].LastStableOffset);

        var state = _b.Broker.Logs.Get(KafkaCompat.Broker.Transactions.TransactionCoordinator.TransactionTopic)!;
        int partition = _b.Broker.Transactions.PartitionFor(id);
        int next = _b.Broker.Cluster.Partition(state, partition).Isr.First(r => r != coordinator);
        Assert.Equal(ErrorCode.None, _b.Broker.Cluster.MoveLeader(state, partition, next).Error);

        EndTxnResponse End(RawClient to) => to.Call<EndTxnRequest, EndTxnResponse>(new EndTxnRequest
        {
            TransactionalId = id, ProducerId = init.ProducerId, ProducerEpoch = init.ProducerEpoch, Committed = true,
        }, 3);
        Assert.Equal(ErrorCode.NotCoordinator, End(c).ErrorCode);
        using var n = To(next);
        // the reloaded state knows the open transaction and its partition: the commit completes it
        Assert.Equal(ErrorCode.None, End(n).ErrorCode);
        Assert.Equal(2, t.Partitions[0].LastStableOffset); // the record and the COMMIT marker
    }

    [Fact]
    public async Task AcksAllNeedsMinInSyncReplicas()
    {
        var t = Topic("isr", 1, 2, new() { ["min.insync.replicas"] = "2" });
        var state = _b.Broker.Cluster.Partition(t, 0);
        int follower = state.Replicas.First(r => r != state.Leader);
        Assert.True(await _b.Cluster.StopBrokerAsync(follower));
        try
        {
            using var c = To(state.Leader);
            var r = Produce(c, "isr", 0, "x");
            Assert.Equal(ErrorCode.NotEnoughReplicas, r.ErrorCode);
            Assert.Contains("min.isr", r.ErrorMessage);
            Assert.Equal(ErrorCode.None, Produce(c, "isr", 0, "y", acks: 1).ErrorCode); // acks=1 needs the leader only
            Assert.Equal(1, t.Partitions[0].HighWatermark);
        }
        finally
        {
            await _b.Cluster.StartBrokerAsync(follower);
        }
        using var c2 = To(state.Leader);
        Assert.Equal(ErrorCode.None, Produce(c2, "isr", 0, "z").ErrorCode);
    }

    [Fact]
    public void ReassignmentMovesReplicasAndTheLeaderAtOnce()
    {
        var t = Topic("moved", 1, 1);
        int from = _b.Broker.Cluster.Partition(t, 0).Leader;
        int[] to = [from % 3 + 1, (from + 1) % 3 + 1];
        using var c = To(1);
        var resp = c.Call<AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse>(new AlterPartitionReassignmentsRequest
        {
            Topics = [new() { Name = "moved", Partitions = [new() { PartitionIndex = 0, Replicas = [.. to] }] }],
        }, 0);
        Assert.Equal(ErrorCode.None, resp.Responses[0].Partitions[0].ErrorCode);
        var s = _b.Broker.Cluster.Partition(t, 0);
        Assert.Equal(to, s.Replicas);
        Assert.Equal(to, s.Isr);
        Assert.Equal(to[0], s.Leader);
        Assert.Equal(to, _b.Broker.Logs.Get("moved")!.Record.Replicas![0]);
        Assert.Empty(c.Call<ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse>(new ListPartitionReassignmentsRequest(), 0).Topics);
        var bad = c.Call<AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse>(new AlterPartitionReassignmentsRequest
        {
            AllowReplicationFactorChange = false,
            Topics = [new() { Name = "moved", Partitions = [new() { PartitionIndex = 0, Replicas = [1, 2, 3] }, new() { PartitionIndex = 0, Replicas = [9] },
                new() { PartitionIndex = 0, Replicas = [1, 1] }, new() { PartitionIndex = 0, Replicas = null }] }],
        }, 1).Responses[0].Partitions;
        Assert.Equal([ErrorCode.InvalidReplicationFactor, ErrorCode.InvalidReplicaAssignment, ErrorCode.InvalidReplicaAssignment, ErrorCode.NoReassignmentInProgress],
            bad.Select(p => p.ErrorCode));
    }

    [Fact]
    public async Task FaultsAnswerErrorsThrottleDelayAndClearThemselves()
    {
        Topic("faulty", 1, 3);
        var t = _b.Broker.Logs.Get("faulty")!;
        int leader = _b.Broker.Cluster.Partition(t, 0).Leader;
        using var c = To(leader);
        var faults = _b.Broker.Faults;
        // the next two Produce requests on the leader answer NOT_LEADER_OR_FOLLOWER without writing, then it clears
        int id = faults.Add(new FaultSpec(FaultKind.Error, ApiKey.Produce, leader, ErrorCode.NotLeaderOrFollower, Count: 2));
        Assert.Equal(ErrorCode.NotLeaderOrFollower, Produce(c, "faulty", 0, "a").ErrorCode);
        Assert.Single(faults.List(), f => f.Id == id && f.Fired == 1 && f.Remaining == 1);
        Assert.Equal(ErrorCode.NotLeaderOrFollower, Produce(c, "faulty", 0, "b").ErrorCode);
        Assert.Empty(faults.List());
        Assert.Equal(0, t.Partitions[0].HighWatermark);
        Assert.Equal(ErrorCode.None, Produce(c, "faulty", 0, "c").ErrorCode);
        // REQUEST_TIMED_OUT means "written, not confirmed": the records are in the log
        faults.Add(new FaultSpec(FaultKind.Error, ApiKey.Produce, Error: ErrorCode.RequestTimedOut, Count: 1));
        Assert.Equal(ErrorCode.RequestTimedOut, Produce(c, "faulty", 0, "d").ErrorCode);
        Assert.Equal(2, t.Partitions[0].HighWatermark);
        // another broker's fault does not touch this one
        faults.Add(new FaultSpec(FaultKind.Error, ApiKey.Produce, leader % 3 + 1, ErrorCode.NotLeaderOrFollower));
        Assert.Equal(ErrorCode.None, Produce(c, "faulty", 0, "e").ErrorCode);
        faults.Clear();
        // a partition that reports an error, to every partition API
        faults.Add(new FaultSpec(FaultKind.PartitionError, Error: ErrorCode.KafkaStorageError, Topic: "faulty", Partition: 0, Count: 2));
        Assert.Equal(ErrorCode.KafkaStorageError, Produce(c, "faulty", 0, "f").ErrorCode);
        var lo = c.Call<ListOffsetsRequest, ListOffsetsResponse>(new ListOffsetsRequest
        {
            ReplicaId = -1, Topics = [new() { Name = "faulty", Partitions = [new() { PartitionIndex = 0, Timestamp = -1 }] }],
        }, 7);
        Assert.Equal(ErrorCode.KafkaStorageError, lo.Topics[0].Partitions[0].ErrorCode);
        Assert.Empty(faults.List());
        // throttle_time_ms in the answer
        faults.Add(new FaultSpec(FaultKind.Throttle, ApiKey.Metadata, ThrottleMs: 250, Count: 1));
        Assert.Equal(250, c.Call<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [] }, 9).ThrottleTimeMs);
        Assert.Equal(0, c.Call<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [] }, 9).ThrottleTimeMs);
        // latency: the answer is late (asserted by order, not by a clock: a later request on another connection is
        // answered first)
        faults.Add(new FaultSpec(FaultKind.Latency, ApiKey.ApiVersions, leader, LatencyMs: 2000, Count: 1));
        var slow = Task.Run(() => c.Call<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest(), 3));
        await Task.Delay(50);
        using var other = To(leader);
        var fast = other.Call<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest(), 3);
        Assert.False(slow.IsCompleted);
        Assert.Equal(ErrorCode.None, (await slow).ErrorCode);
        Assert.Equal(ErrorCode.None, fast.ErrorCode);
    }

    [Fact]
    public async Task TheAdminHttpApiDrivesTheCluster()
    {
        Topic("http", 1, 3);
        var admin = await _b.StartAdminAsync();
        using var http = new HttpClient { BaseAddress = new Uri(admin.Url) };
        var status = JsonDocument.Parse(await http.GetStringAsync("/v1/cluster")).RootElement;
        Assert.Equal(3, status.GetProperty("brokers").GetArrayLength());
        var part = status.GetProperty("topics").EnumerateArray().Single(t => t.GetProperty("name").GetString() == "http").GetProperty("partitions")[0];
        int leader = part.GetProperty("leader").GetInt32();
        int next = part.GetProperty("replicas").EnumerateArray().Select(r => r.GetInt32()).First(r => r != leader);

        var moved = await http.PostAsJsonAsync("/v1/partitions/http/0/leader", new { broker = next });
        Assert.True(moved.IsSuccessStatusCode, await moved.Content.ReadAsStringAsync());
        Assert.Equal(next, _b.Broker.Cluster.Partition(_b.Broker.Logs.Get("http")!, 0).Leader);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.PostAsJsonAsync("/v1/partitions/nope/0/leader", new { broker = 1 })).StatusCode);

        Assert.True((await http.PostAsync($"/v1/brokers/{next}/stop", null)).IsSuccessStatusCode);
        Assert.False(_b.Broker.Cluster.Node(next)!.Alive);
        Assert.Null(_b.Cluster.Server(next));
        Assert.Equal(System.Net.HttpStatusCode.Conflict, (await http.PostAsync($"/v1/brokers/{next}/stop", null)).StatusCode);
        Assert.True((await http.PostAsync($"/v1/brokers/{next}/start", null)).IsSuccessStatusCode);
        Assert.True(_b.Broker.Cluster.Node(next)!.Alive);

        var armed = await http.PostAsJsonAsync("/v1/faults", new { kind = "error", api = "Produce", error = "NOT_LEADER_OR_FOLLOWER", count = 3 });
        int id = JsonDocument.Parse(await armed.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetInt32();
        Assert.Single(_b.Broker.Faults.List(), f => f.Id == id && f.Spec.Error == ErrorCode.NotLeaderOrFollower && f.Remaining == 3);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, (await http.PostAsJsonAsync("/v1/faults", new { kind = "error", error = "NO_SUCH_ERROR" })).StatusCode);
        Assert.True((await http.DeleteAsync($"/v1/faults/{id}")).IsSuccessStatusCode);
        Assert.Empty(_b.Broker.Faults.List());
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.DeleteAsync($"/v1/faults/{id}")).StatusCode);
    }
}

/// <summary>auto.leader.rebalance.enable: after a broker comes back, its preferred partitions return to it by
/// themselves at the next imbalance check (here every second).</summary>
public sealed class AutoLeaderRebalanceTests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(brokers: 3, settings: new Dictionary<string, string> { ["leader.imbalance.check.interval.seconds"] = "1" });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    [Fact]
    public async Task PreferredLeadersComeBackByThemselves()
    {
        var t = _b.Broker.CreateTopic("rebalanced", 3, 3, new(), false).Topic!;
        int preferred = _b.Broker.Cluster.ReplicasOf(t, 0)[0];
        Assert.True(await _b.Cluster.StopBrokerAsync(preferred, TimeSpan.Zero));
        Assert.NotEqual(preferred, _b.Broker.Cluster.Partition(t, 0).Leader);
        Assert.True(await _b.Cluster.StartBrokerAsync(preferred));
        Assert.NotEqual(preferred, _b.Broker.Cluster.Partition(t, 0).Leader); // back in the ISR, not yet leading
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (_b.Broker.Cluster.Partition(t, 0).Leader != preferred && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.Equal(preferred, _b.Broker.Cluster.Partition(t, 0).Leader);
        Assert.All(Enumerable.Range(0, 3), p => Assert.Equal(_b.Broker.Cluster.ReplicasOf(t, p)[0], _b.Broker.Cluster.Partition(t, p).Leader));
    }
}

/// <summary>A killed broker (a crash, no controlled shutdown): its connections close at once but it keeps its
/// partitions until broker.session.timeout.ms (here 1 s) passes, then it is fenced and they move; killed and started
/// again before that, it keeps them.</summary>
public sealed class KillBrokerTests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(brokers: 3, settings: new Dictionary<string, string>
        {
            ["broker.session.timeout.ms"] = "1000",
            ["auto.leader.rebalance.enable"] = "false",
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    [Fact]
    public async Task PartitionsMoveOnlyAfterTheSessionTimeout()
    {
        var t = _b.Broker.CreateTopic("killed", 1, 3, new(), false).Topic!;
        var before = _b.Broker.Cluster.Partition(t, 0);
        Assert.True(await _b.Cluster.KillBrokerAsync(before.Leader));
        Assert.Null(_b.Cluster.Server(before.Leader));
        Assert.Throws<System.Net.Sockets.SocketException>(() => new RawClient(_b.Cluster.PortOf(before.Leader)));
        // still the leader (clients cannot reach it), still listed
        Assert.Equal((before.Leader, before.LeaderEpoch), (_b.Broker.Cluster.Partition(t, 0).Leader, _b.Broker.Cluster.Partition(t, 0).LeaderEpoch));
        Assert.Contains(_b.Cluster.Status().Brokers, b => b.Id == before.Leader && b.Alive && !b.Listening);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (_b.Broker.Cluster.Partition(t, 0).Leader == before.Leader && DateTime.UtcNow < deadline) await Task.Delay(50);
        var after = _b.Broker.Cluster.Partition(t, 0);
        Assert.NotEqual(before.Leader, after.Leader);
        Assert.Equal(before.LeaderEpoch + 1, after.LeaderEpoch);
        Assert.False(_b.Broker.Cluster.Node(before.Leader)!.Registered);
        Assert.True(await _b.Cluster.StartBrokerAsync(before.Leader));

        // killed and back before the session timeout: nothing moved
        var now = _b.Broker.Cluster.Partition(t, 0);
        Assert.True(await _b.Cluster.KillBrokerAsync(now.Leader));
        Assert.True(await _b.Cluster.StartBrokerAsync(now.Leader));
        await Task.Delay(1500);
        Assert.Equal((now.Leader, now.LeaderEpoch), (_b.Broker.Cluster.Partition(t, 0).Leader, _b.Broker.Cluster.Partition(t, 0).LeaderEpoch));
    }
}
