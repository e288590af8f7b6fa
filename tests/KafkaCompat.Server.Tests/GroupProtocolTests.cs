using System.Buffers.Binary;
using System.Text;
using KafkaCompat.Broker;
using KafkaCompat.Broker.Config;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using KafkaCompat.Testing;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>The group APIs on the wire: the state machine's answers and Kafka's error codes for each situation.</summary>
public sealed class GroupProtocolTests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    internal static readonly Dictionary<string, string> FastGroups = new()
    {
        ["group.initial.rebalance.delay.ms"] = "0",
        ["group.min.session.timeout.ms"] = "500",
        ["offsets.retention.check.interval.ms"] = "100",
    };

    public async Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(settings: FastGroups);
        await _b.Broker.Groups.WaitLoadedAsync();
        using var c = Client();
        CreateTopic(c, "t", 1);
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    private RawClient Client() => new(_b.Port);

    /// <summary>A "consumer" protocol subscription: version 0, the topics, no user data.</summary>
    internal static byte[] Subscription(params string[] topics) => ConsumerProtocol.Subscription(topics);

    internal static JoinGroupResponse Join(RawClient c, string group, string memberId = "", string? instance = null, short version = 7,
        int sessionMs = 10000, int rebalanceMs = 10000, string protocol = "range", string topic = "t", string protocolType = "consumer") =>
        c.Call<JoinGroupRequest, JoinGroupResponse>(new JoinGroupRequest
        {
            GroupId = group,
            SessionTimeoutMs = sessionMs,
            RebalanceTimeoutMs = rebalanceMs,
            MemberId = memberId,
            GroupInstanceId = instance,
            ProtocolType = protocolType,
            Protocols = [new() { Name = protocol, Metadata = Subscription(topic) }],
        }, version);

    /// <summary>Join the way a v4+ client does: MEMBER_ID_REQUIRED first, then again with the id.</summary>
    internal static JoinGroupResponse JoinFully(RawClient c, string group, int sessionMs = 10000, string topic = "t")
    {
        var first = Join(c, group, sessionMs: sessionMs, topic: topic);
        Assert.Equal(ErrorCode.MemberIdRequired, first.ErrorCode);
        return Join(c, group, first.MemberId, sessionMs: sessionMs, topic: topic);
    }

    internal static SyncGroupResponse Sync(RawClient c, string group, int generation, string memberId, string? instance = null,
        params (string Member, byte[] Assignment)[] assignments) => SyncAs(c, "range", group, generation, memberId, instance, assignments);

    /// <summary>SyncGroup v5, naming the protocol the member believes the group uses.</summary>
    internal static SyncGroupResponse SyncAs(RawClient c, string protocol, string group, int generation, string memberId, string? instance = null,
        params (string Member, byte[] Assignment)[] assignments) =>
        c.Call<SyncGroupRequest, SyncGroupResponse>(new SyncGroupRequest
        {
            GroupId = group,
            GenerationId = generation,
            MemberId = memberId,
            GroupInstanceId = instance,
            ProtocolType = "consumer",
            ProtocolName = protocol,
            Assignments = assignments.Select(a => new SyncGroupRequest.SyncGroupRequestAssignment { MemberId = a.Member, Assignment = a.Assignment }).ToList(),
        }, 5);

    internal static ErrorCode Heartbeat(RawClient c, string group, int generation, string memberId, string? instance = null) =>
        c.Call<HeartbeatRequest, HeartbeatResponse>(new HeartbeatRequest { GroupId = group, GenerationId = generation, MemberId = memberId, GroupInstanceId = instance }, 4).ErrorCode;

    internal static OffsetCommitResponse Commit(RawClient c, string group, int generation, string memberId, string topic, int partition, long offset,
        string? metadata = "m", int epoch = 0, short version = 8) =>
        c.Call<OffsetCommitRequest, OffsetCommitResponse>(new OffsetCommitRequest
        {
            GroupId = group,
            GenerationIdOrMemberEpoch = generation,
            MemberId = memberId,
            Topics = [new() { Name = topic, Partitions = [new() { PartitionIndex = partition, CommittedOffset = offset, CommittedLeaderEpoch = epoch, CommittedMetadata = metadata }] }],
        }, version);

    internal static OffsetFetchResponse.OffsetFetchResponsePartition FetchOffset(RawClient c, string group, string topic, int partition)
    {
        var r = c.Call<OffsetFetchRequest, OffsetFetchResponse>(new OffsetFetchRequest
        {
            GroupId = group,
            Topics = [new() { Name = topic, PartitionIndexes = [partition] }],
        }, 7);
        Assert.Equal(ErrorCode.None, r.ErrorCode);
        return r.Topics.Single().Partitions.Single();
    }

    /// <summary>Polls the committed offset until it is <paramref name="want"/> (or 10 s pass); returns the last value read.</summary>
    internal static async Task<long> AwaitOffset(RawClient c, string group, string topic, int partition, long want)
    {
        var until = DateTime.UtcNow.AddSeconds(10);
        long offset;
        do
        {
            await Task.Delay(50);
            offset = FetchOffset(c, group, topic, partition).CommittedOffset;
        } while (offset != want && DateTime.UtcNow < until);
        return offset;
    }

    internal static DescribeGroupsResponse.DescribedGroup Describe(RawClient c, string group) =>
        c.Call<DescribeGroupsRequest, DescribeGroupsResponse>(new DescribeGroupsRequest { Groups = [group] }, 5).Groups.Single();

    internal static void CreateTopic(RawClient c, string name, int partitions)
    {
        var r = c.Call<CreateTopicsRequest, CreateTopicsResponse>(new CreateTopicsRequest
        {
            Topics = [new() { Name = name, NumPartitions = partitions, ReplicationFactor = 1 }],
        }, 5);
        Assert.Equal(ErrorCode.None, r.Topics[0].ErrorCode);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(6)]
    public void FindCoordinatorNamesThisBroker(short version)
    {
        using var c = Client();
        var r = c.Call<FindCoordinatorRequest, FindCoordinatorResponse>(new FindCoordinatorRequest { Key = "g", KeyType = 0, CoordinatorKeys = ["g1", "g2"] }, version);
        if (version >= 4)
        {
            Assert.Equal(["g1", "g2"], r.Coordinators.Select(x => x.Key));
            Assert.All(r.Coordinators, x => { Assert.Equal(ErrorCode.None, x.ErrorCode); Assert.Equal(_b.Broker.NodeId, x.NodeId); Assert.Equal(_b.Port, x.Port); Assert.Equal("127.0.0.1", x.Host); });
        }
        else
        {
            Assert.Equal(ErrorCode.None, r.ErrorCode);
            Assert.Equal(_b.Broker.NodeId, r.NodeId);
            Assert.Equal(_b.Port, r.Port);
        }
    }

    [Fact]
    public void FindCoordinatorForTransactionsAndUnknownKeyType()
    {
        using var c = Client();
        Assert.Equal(ErrorCode.None, c.Call<FindCoordinatorRequest, FindCoordinatorResponse>(new FindCoordinatorRequest { Key = "tx", KeyType = 1 }, 3).ErrorCode);
        var bad = c.Call<FindCoordinatorRequest, FindCoordinatorResponse>(new FindCoordinatorRequest { CoordinatorKeys = ["x"], KeyType = 5 }, 4);
        Assert.Equal(ErrorCode.InvalidRequest, bad.Coordinators[0].ErrorCode);
    }

    [Fact]
    public void JoinSyncHeartbeatAndTheErrorsOfEachStep()
    {
        using var c = Client();
        // v4+: an unknown member first gets an id
        var first = Join(c, "g-basic");
        Assert.Equal(ErrorCode.MemberIdRequired, first.ErrorCode);
        Assert.StartsWith("raw-test-", first.MemberId);
        var joined = Join(c, "g-basic", first.MemberId);
        Assert.Equal(ErrorCode.None, joined.ErrorCode);
        Assert.Equal(1, joined.GenerationId);
        Assert.Equal(joined.MemberId, joined.Leader);
        Assert.Equal("range", joined.ProtocolName);
        Assert.Equal("consumer", joined.ProtocolType);
        Assert.Single(joined.Members);

        // before SyncGroup: CompletingRebalance; a commit is refused with REBALANCE_IN_PROGRESS
        Assert.Equal(ErrorCode.RebalanceInProgress, Commit(c, "g-basic", 1, joined.MemberId, "t", 0, 5).Topics[0].Partitions[0].ErrorCode);
        Assert.Equal("CompletingRebalance", Describe(c, "g-basic").GroupState);

        var sync = Sync(c, "g-basic", 1, joined.MemberId, null, (joined.MemberId, [1, 2, 3]));
        Assert.Equal(ErrorCode.None, sync.ErrorCode);
        Assert.Equal(new byte[] { 1, 2, 3 }, sync.Assignment.ToArray());
        Assert.Equal("range", sync.ProtocolName);

        Assert.Equal(ErrorCode.None, Heartbeat(c, "g-basic", 1, joined.MemberId));
        Assert.Equal(ErrorCode.IllegalGeneration, Heartbeat(c, "g-basic", 0, joined.MemberId));
        Assert.Equal(ErrorCode.UnknownMemberId, Heartbeat(c, "g-basic", 1, "nobody"));
        Assert.Equal(ErrorCode.UnknownMemberId, Heartbeat(c, "no-such-group", 1, "nobody"));
        Assert.Equal(ErrorCode.IllegalGeneration, Sync(c, "g-basic", 7, joined.MemberId).ErrorCode);
        Assert.Equal(ErrorCode.UnknownMemberId, Sync(c, "g-basic", 1, "nobody").ErrorCode);

        var described = Describe(c, "g-basic");
        Assert.Equal("Stable", described.GroupState);
        Assert.Equal("range", described.ProtocolData);
        var m = Assert.Single(described.Members);
        Assert.Equal("/127.0.0.1", m.ClientHost);
        Assert.Equal("raw-test", m.ClientId);
        Assert.Equal(new byte[] { 1, 2, 3 }, m.MemberAssignment.ToArray());
        Assert.Equal(Subscription("t"), m.MemberMetadata.ToArray());

        // a commit with the right generation and member
        Assert.Equal(ErrorCode.None, Commit(c, "g-basic", 1, joined.MemberId, "t", 0, 42).Topics[0].Partitions[0].ErrorCode);
        Assert.Equal(ErrorCode.IllegalGeneration, Commit(c, "g-basic", 3, joined.MemberId, "t", 0, 43).Topics[0].Partitions[0].ErrorCode);
        Assert.Equal(ErrorCode.UnknownMemberId, Commit(c, "g-basic", 1, "nobody", "t", 0, 43).Topics[0].Partitions[0].ErrorCode);
        // generation -1 is only for groups without members
        Assert.Equal(ErrorCode.UnknownMemberId, Commit(c, "g-basic", -1, "", "t", 0, 43).Topics[0].Partitions[0].ErrorCode);
        Assert.Equal(42, FetchOffset(c, "g-basic", "t", 0).CommittedOffset);
    }

    [Fact]
    public void JoinRejectsBadInput()
    {
        using var c = Client();
        Assert.Equal(ErrorCode.InvalidGroupId, Join(c, "").ErrorCode);
        Assert.Equal(ErrorCode.InvalidSessionTimeout, Join(c, "g-bad", sessionMs: 100).ErrorCode);
        Assert.Equal(ErrorCode.InvalidSessionTimeout, Join(c, "g-bad", sessionMs: 2_000_000).ErrorCode);
        Assert.Equal(ErrorCode.UnknownMemberId, Join(c, "g-never-existed", "some-member").ErrorCode);
        // v3 and older join directly
        var old = Join(c, "g-bad", version: 3);
        Assert.Equal(ErrorCode.None, old.ErrorCode);
        // another protocol type, or no protocol in common: INCONSISTENT_GROUP_PROTOCOL
        using var c2 = Client();
        Assert.Equal(ErrorCode.InconsistentGroupProtocol, Join(c2, "g-bad", version: 3, protocolType: "connect").ErrorCode);
        Assert.Equal(ErrorCode.InconsistentGroupProtocol, Join(c2, "g-bad", version: 3, protocol: "roundrobin").ErrorCode);
    }

    [Fact]
    public async Task APendingMemberWithAnotherProtocolIsRefusedAndTheGroupCarriesOn()
    {
        using var c1 = Client();
        using var c2 = Client();
        var id1 = Join(c1, "g-mixed").MemberId;
        var id2 = Join(c2, "g-mixed", protocol: "roundrobin", sessionMs: 600).MemberId;
        var join1 = Task.Run(() => Join(c1, "g-mixed", id1));
        await Task.Delay(100);
        // both were pending while the group had no members; the second comes back with a protocol the first lacks
        Assert.Equal(ErrorCode.InconsistentGroupProtocol, Join(c2, "g-mixed", id2, protocol: "roundrobin", sessionMs: 600).ErrorCode);
        // its pending id expires after its session timeout and the first member's join completes on its own
        var r1 = await join1;
        Assert.Equal(ErrorCode.None, r1.ErrorCode);
        Assert.Equal("range", r1.ProtocolName);
        Assert.Single(r1.Members);
    }

    [Fact]
    public async Task ASecondMemberTriggersARebalanceBothRejoinAndSyncTogether()
    {
        using var c1 = Client();
        using var c2 = Client();
        var m1 = JoinFully(c1, "g-two");
        Assert.Equal(ErrorCode.None, Sync(c1, "g-two", m1.GenerationId, m1.MemberId, null, (m1.MemberId, [1])).ErrorCode);

        var first2 = Join(c2, "g-two");
        var join2 = Task.Run(() => Join(c2, "g-two", first2.MemberId));
        // the existing member learns of the rebalance through its heartbeat
        ErrorCode hb;
        var until = DateTime.UtcNow.AddSeconds(10);
        do { hb = Heartbeat(c1, "g-two", m1.GenerationId, m1.MemberId); } while (hb == 0 && DateTime.UtcNow < until);
        Assert.Equal(ErrorCode.RebalanceInProgress, hb);
        Assert.Equal("PreparingRebalance", Describe(c1, "g-two").GroupState);
        // commits of the old generation still go through while the group prepares to rebalance (revocation commits)
        Assert.Equal(ErrorCode.None, Commit(c1, "g-two", m1.GenerationId, m1.MemberId, "t", 0, 1).Topics[0].Partitions[0].ErrorCode);

        var rejoin1 = Join(c1, "g-two", m1.MemberId);
        var r2 = await join2;
        Assert.Equal(ErrorCode.None, rejoin1.ErrorCode);
        Assert.Equal(ErrorCode.None, r2.ErrorCode);
        Assert.Equal(2, rejoin1.GenerationId);
        Assert.Equal(2, r2.GenerationId);
        Assert.Equal(m1.MemberId, rejoin1.Leader);
        Assert.Equal(2, rejoin1.Members.Count);
        Assert.Empty(r2.Members);

        // the follower's SyncGroup waits for the leader's assignment
        var followerSync = Task.Run(() => Sync(c2, "g-two", 2, r2.MemberId));
        await Task.Delay(200);
        Assert.False(followerSync.IsCompleted);
        var leaderSync = Sync(c1, "g-two", 2, m1.MemberId, null, (m1.MemberId, [10]), (r2.MemberId, [20]));
        Assert.Equal(new byte[] { 10 }, leaderSync.Assignment.ToArray());
        Assert.Equal(new byte[] { 20 }, (await followerSync).Assignment.ToArray());

        // a leave rebalances; the remaining member rejoins alone
        var leave = c2.Call<LeaveGroupRequest, LeaveGroupResponse>(new LeaveGroupRequest { GroupId = "g-two", MemberId = r2.MemberId }, 2);
        Assert.Equal(ErrorCode.None, leave.ErrorCode);
        Assert.Equal(ErrorCode.RebalanceInProgress, Heartbeat(c1, "g-two", 2, m1.MemberId));
        var alone = Join(c1, "g-two", m1.MemberId);
        Assert.Equal(3, alone.GenerationId);
        Assert.Single(alone.Members);
        Assert.Equal(ErrorCode.UnknownMemberId,
            c2.Call<LeaveGroupRequest, LeaveGroupResponse>(new LeaveGroupRequest { GroupId = "g-two", MemberId = r2.MemberId }, 2).ErrorCode);
    }

    [Fact]
    public async Task TheProtocolEveryMemberSupportsWinsAndASubscriptionChangeRebalances()
    {
        using var c1 = Client();
        using var c2 = Client();
        JoinGroupRequest Req(string memberId, params (string Name, string Topic)[] protocols) => new()
        {
            GroupId = "g-vote", SessionTimeoutMs = 10000, RebalanceTimeoutMs = 10000, MemberId = memberId, ProtocolType = "consumer",
            Protocols = protocols.Select(p => new JoinGroupRequest.JoinGroupRequestProtocol { Name = p.Name, Metadata = Subscription(p.Topic) }).ToList(),
        };
        // the first member prefers roundrobin, the second only speaks range: range is the one both support
        var a = c1.Call<JoinGroupRequest, JoinGroupResponse>(Req("", ("roundrobin", "t"), ("range", "t")), 3);
        Assert.Equal("roundrobin", a.ProtocolName);
        // SyncGroup v5 naming another protocol than the group's is refused
        Assert.Equal(ErrorCode.InconsistentGroupProtocol, Sync(c1, "g-vote", a.GenerationId, a.MemberId, null, (a.MemberId, [1])).ErrorCode);
        Assert.Equal(ErrorCode.None, SyncAs(c1, "roundrobin", "g-vote", a.GenerationId, a.MemberId, null, (a.MemberId, [1])).ErrorCode);
        var bJoin = Task.Run(() => c2.Call<JoinGroupRequest, JoinGroupResponse>(Req("", ("range", "t")), 3));
        var until = DateTime.UtcNow.AddSeconds(10);
        while (Heartbeat(c1, "g-vote", a.GenerationId, a.MemberId) == 0 && DateTime.UtcNow < until) await Task.Delay(20);
        var a2 = c1.Call<JoinGroupRequest, JoinGroupResponse>(Req(a.MemberId, ("roundrobin", "t"), ("range", "t")), 3);
        var b = await bJoin;
        Assert.Equal("range", a2.ProtocolName);
        Assert.Equal("range", b.ProtocolName);
        Assert.Equal(a2.GenerationId, b.GenerationId);
        var leader = a2.Leader == a2.MemberId ? (c1, a2) : (c2, b);
        var follower = leader.Item2 == a2 ? (c2, b) : (c1, a2);
        var followerSync = Task.Run(() => Sync(follower.Item1, "g-vote", b.GenerationId, follower.Item2.MemberId));
        Assert.Equal(ErrorCode.None, Sync(leader.Item1, "g-vote", b.GenerationId, leader.Item2.MemberId, null, (a2.MemberId, [1]), (b.MemberId, [2])).ErrorCode);
        Assert.Equal(ErrorCode.None, (await followerSync).ErrorCode);
        Assert.Equal("Stable", Describe(c1, "g-vote").GroupState);

        // the follower subscribes to another topic: its join (different metadata) starts a rebalance
        var changed = Task.Run(() => follower.Item1.Call<JoinGroupRequest, JoinGroupResponse>(Req(follower.Item2.MemberId, ("range", "other")), 3));
        until = DateTime.UtcNow.AddSeconds(10);
        while (Heartbeat(leader.Item1, "g-vote", b.GenerationId, leader.Item2.MemberId) == 0 && DateTime.UtcNow < until) await Task.Delay(20);
        Assert.Equal(ErrorCode.RebalanceInProgress, Heartbeat(leader.Item1, "g-vote", b.GenerationId, leader.Item2.MemberId));
        var leaderAgain = leader.Item1.Call<JoinGroupRequest, JoinGroupResponse>(
            leader.Item2 == a2 ? Req(a2.MemberId, ("roundrobin", "t"), ("range", "t")) : Req(b.MemberId, ("range", "t")), 3);
        Assert.Equal(b.GenerationId + 1, leaderAgain.GenerationId);
        Assert.Equal(b.GenerationId + 1, (await changed).GenerationId);
        Assert.Contains(leaderAgain.Members, m => m.Metadata.ToArray().AsSpan().SequenceEqual(Subscription("other")));
    }

    [Fact]
    public async Task AMemberThatStopsHeartbeatingIsExpiredAndTheGroupEmpties()
    {
        using var c = Client();
        var m = JoinFully(c, "g-expire", sessionMs: 600);
        Assert.Equal(ErrorCode.None, Sync(c, "g-expire", m.GenerationId, m.MemberId, null, (m.MemberId, [1])).ErrorCode);
        // with a committed offset the empty group stays (without one the retention check would remove it)
        Assert.Equal(ErrorCode.None, Commit(c, "g-expire", m.GenerationId, m.MemberId, "t", 0, 3).Topics[0].Partitions[0].ErrorCode);
        var until = DateTime.UtcNow.AddSeconds(15);
        string state;
        do
        {
            await Task.Delay(100);
            state = Describe(c, "g-expire").GroupState;
        } while (state != "Empty" && DateTime.UtcNow < until);
        Assert.Equal("Empty", state);
        Assert.Equal(ErrorCode.UnknownMemberId, Heartbeat(c, "g-expire", m.GenerationId, m.MemberId));
        Assert.Empty(Describe(c, "g-expire").Members);
    }

    [Fact]
    public void StaticMemberRestartsWithoutRebalanceAndFencesItsOldId()
    {
        using var c = Client();
        // a static member joins without MEMBER_ID_REQUIRED
        var a = Join(c, "g-static", instance: "inst-a");
        Assert.Equal(ErrorCode.None, a.ErrorCode);
        Assert.Equal(ErrorCode.None, Sync(c, "g-static", a.GenerationId, a.MemberId, "inst-a", (a.MemberId, [7])).ErrorCode);
        Assert.Equal("Stable", Describe(c, "g-static").GroupState);

        // the same instance comes back with no member id: new id, same generation, no rebalance, leader told to skip assignment
        var again = Join(c, "g-static", instance: "inst-a", version: 9);
        Assert.Equal(ErrorCode.None, again.ErrorCode);
        Assert.NotEqual(a.MemberId, again.MemberId);
        Assert.Equal(a.GenerationId, again.GenerationId);
        Assert.True(again.SkipAssignment);
        Assert.Equal("Stable", Describe(c, "g-static").GroupState);
        var sync = Sync(c, "g-static", again.GenerationId, again.MemberId, "inst-a");
        Assert.Equal(new byte[] { 7 }, sync.Assignment.ToArray());

        // before v9 the returning static leader is named by its old id and gets no members, so it assigns nothing
        var v5 = Join(c, "g-static", instance: "inst-a", version: 5);
        Assert.Equal(ErrorCode.None, v5.ErrorCode);
        Assert.Equal(again.MemberId, v5.Leader);
        Assert.NotEqual(v5.MemberId, v5.Leader);
        Assert.Empty(v5.Members);
        Assert.Equal(new byte[] { 7 }, Sync(c, "g-static", v5.GenerationId, v5.MemberId, "inst-a").Assignment.ToArray());
        Assert.Equal(ErrorCode.FencedInstanceId, Heartbeat(c, "g-static", again.GenerationId, again.MemberId, "inst-a"));
        again = v5;

        // the old incarnation is fenced everywhere
        Assert.Equal(ErrorCode.FencedInstanceId, Heartbeat(c, "g-static", a.GenerationId, a.MemberId, "inst-a"));
        Assert.Equal(ErrorCode.FencedInstanceId, Sync(c, "g-static", a.GenerationId, a.MemberId, "inst-a").ErrorCode);
        Assert.Equal(ErrorCode.FencedInstanceId, Join(c, "g-static", a.MemberId, instance: "inst-a").ErrorCode);
        var commit = c.Call<OffsetCommitRequest, OffsetCommitResponse>(new OffsetCommitRequest
        {
            GroupId = "g-static", GenerationIdOrMemberEpoch = a.GenerationId, MemberId = a.MemberId, GroupInstanceId = "inst-a",
            Topics = [new() { Name = "t", Partitions = [new() { PartitionIndex = 0, CommittedOffset = 1 }] }],
        }, 7);
        Assert.Equal(ErrorCode.FencedInstanceId, commit.Topics[0].Partitions[0].ErrorCode);
        Assert.Equal(ErrorCode.None, Heartbeat(c, "g-static", again.GenerationId, again.MemberId, "inst-a"));

        // batched leave by instance id (v3+), with a per-member answer
        var leave = c.Call<LeaveGroupRequest, LeaveGroupResponse>(new LeaveGroupRequest
        {
            GroupId = "g-static",
            Members = [new() { MemberId = "", GroupInstanceId = "inst-a", Reason = "bye" }, new() { MemberId = "", GroupInstanceId = "inst-unknown" }],
        }, 5);
        Assert.Equal(ErrorCode.None, leave.ErrorCode);
        Assert.Equal([(short)0, ErrorCode.UnknownMemberId], leave.Members.Select(x => x.ErrorCode));
        Assert.Equal("Empty", Describe(c, "g-static").GroupState);
    }

    [Fact]
    public void OffsetsCommitFetchAndTheirErrors()
    {
        using var c = Client();
        CreateTopic(c, "offs", 2);
        // a group that does not use group management commits with generation -1
        var ok = Commit(c, "g-simple", -1, "", "offs", 1, 100, metadata: "hello", epoch: 3);
        Assert.Equal(ErrorCode.None, ok.Topics[0].Partitions[0].ErrorCode);
        var fetched = FetchOffset(c, "g-simple", "offs", 1);
        Assert.Equal(100, fetched.CommittedOffset);
        Assert.Equal(3, fetched.CommittedLeaderEpoch);
        Assert.Equal("hello", fetched.Metadata);
        var none = FetchOffset(c, "g-simple", "offs", 0);
        Assert.Equal(-1, none.CommittedOffset);
        Assert.Equal(ErrorCode.None, none.ErrorCode);

        Assert.Equal(ErrorCode.UnknownTopicOrPartition, Commit(c, "g-simple", -1, "", "no-such-topic", 0, 1).Topics[0].Partitions[0].ErrorCode);
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, Commit(c, "g-simple", -1, "", "offs", 9, 1).Topics[0].Partitions[0].ErrorCode);
        Assert.Equal(ErrorCode.OffsetMetadataTooLarge, Commit(c, "g-simple", -1, "", "offs", 0, 1, metadata: new string('x', 5000)).Topics[0].Partitions[0].ErrorCode);
        // a positive generation for a group that does not exist: ILLEGAL_GENERATION up to v8, GROUP_ID_NOT_FOUND from v9
        Assert.Equal(ErrorCode.IllegalGeneration, Commit(c, "g-ghost", 5, "m", "offs", 0, 1).Topics[0].Partitions[0].ErrorCode);
        Assert.Equal(ErrorCode.GroupIdNotFound, Commit(c, "g-ghost", 5, "m", "offs", 0, 1, version: 9).Topics[0].Partitions[0].ErrorCode);

        // v0 and v1 commits, null topics (all offsets) from v2, several groups at once from v8
        Assert.Equal(ErrorCode.None, Commit(c, "g-old", -1, "", "offs", 0, 7, version: 0).Topics[0].Partitions[0].ErrorCode);
        var all = c.Call<OffsetFetchRequest, OffsetFetchResponse>(new OffsetFetchRequest { GroupId = "g-simple", Topics = null }, 3);
        Assert.Equal(100, all.Topics.Single().Partitions.Single().CommittedOffset);
        var multi = c.Call<OffsetFetchRequest, OffsetFetchResponse>(new OffsetFetchRequest
        {
            Groups = [new() { GroupId = "g-simple", Topics = null }, new() { GroupId = "g-old", Topics = [new() { Name = "offs", PartitionIndexes = [0, 1] }] }],
            RequireStable = true,
        }, 8);
        Assert.Equal(100, multi.Groups[0].Topics.Single().Partitions.Single().CommittedOffset);
        Assert.Equal([7L, -1L], multi.Groups[1].Topics.Single().Partitions.Select(p => p.CommittedOffset));

        // OffsetDelete of an empty group's offset, then of a group that does not exist
        var del = c.Call<OffsetDeleteRequest, OffsetDeleteResponse>(new OffsetDeleteRequest
        {
            GroupId = "g-simple", Topics = [new() { Name = "offs", Partitions = [new() { PartitionIndex = 1 }] }],
        }, 0);
        Assert.Equal(ErrorCode.None, del.ErrorCode);
        Assert.Equal(ErrorCode.None, del.Topics[0].Partitions[0].ErrorCode);
        Assert.Equal(-1, FetchOffset(c, "g-simple", "offs", 1).CommittedOffset);
        Assert.Equal(ErrorCode.GroupIdNotFound, c.Call<OffsetDeleteRequest, OffsetDeleteResponse>(new OffsetDeleteRequest { GroupId = "g-none", Topics = [] }, 0).ErrorCode);
    }

    [Fact]
    public async Task AnExplicitRetentionTimeExpiresOffsetsOfAGroupWithoutMembers()
    {
        using var c = Client();
        var r = c.Call<OffsetCommitRequest, OffsetCommitResponse>(new OffsetCommitRequest
        {
            GroupId = "g-retention-time", GenerationIdOrMemberEpoch = -1, MemberId = "", RetentionTimeMs = 1500,
            Topics = [new() { Name = "t", Partitions = [new() { PartitionIndex = 0, CommittedOffset = 5 }] }],
        }, 2);
        Assert.Equal(ErrorCode.None, r.Topics[0].Partitions[0].ErrorCode);
        // the broker default (7 days) would keep it; the explicit retention time does not
        Assert.Equal(5, GroupProtocolTests.FetchOffset(c, "g-retention-time", "t", 0).CommittedOffset);
        Assert.Equal(-1, await AwaitOffset(c, "g-retention-time", "t", 0, -1));
    }

    [Fact]
    public void DeletingATopicDeletesItsCommittedOffsets()
    {
        using var c = Client();
        CreateTopic(c, "gone", 1);
        Assert.Equal(ErrorCode.None, Commit(c, "g-gone", -1, "", "gone", 0, 9).Topics[0].Partitions[0].ErrorCode);
        var del = c.Call<DeleteTopicsRequest, DeleteTopicsResponse>(new DeleteTopicsRequest { TopicNames = ["gone"], TimeoutMs = 1000 }, 4);
        Assert.Equal(ErrorCode.None, del.Responses[0].ErrorCode);
        CreateTopic(c, "gone", 1);
        // a recreated topic starts without the old topic's offsets (auto.offset.reset applies)
        Assert.Equal(-1, FetchOffset(c, "g-gone", "gone", 0).CommittedOffset);
    }

    [Fact]
    public void OffsetDeleteRefusesTopicsAnActiveGroupConsumes()
    {
        using var c = Client();
        CreateTopic(c, "subscribed", 1);
        CreateTopic(c, "other", 1);
        var m = JoinFully(c, "g-od", topic: "subscribed");
        Assert.Equal(ErrorCode.None, Sync(c, "g-od", m.GenerationId, m.MemberId, null, (m.MemberId, [1])).ErrorCode);
        Assert.Equal(ErrorCode.None, Commit(c, "g-od", m.GenerationId, m.MemberId, "subscribed", 0, 5).Topics[0].Partitions[0].ErrorCode);
        Assert.Equal(ErrorCode.None, Commit(c, "g-od", m.GenerationId, m.MemberId, "other", 0, 5).Topics[0].Partitions[0].ErrorCode);
        var del = c.Call<OffsetDeleteRequest, OffsetDeleteResponse>(new OffsetDeleteRequest
        {
            GroupId = "g-od",
            Topics = [new() { Name = "subscribed", Partitions = [new() { PartitionIndex = 0 }] }, new() { Name = "other", Partitions = [new() { PartitionIndex = 0 }] }],
        }, 0);
        Assert.Equal(ErrorCode.None, del.ErrorCode);
        Assert.Equal(ErrorCode.GroupSubscribedToTopic, del.Topics.Single(t => t.Name == "subscribed").Partitions[0].ErrorCode);
        Assert.Equal(ErrorCode.None, del.Topics.Single(t => t.Name == "other").Partitions[0].ErrorCode);
        Assert.Equal(5, FetchOffset(c, "g-od", "subscribed", 0).CommittedOffset);
        Assert.Equal(-1, FetchOffset(c, "g-od", "other", 0).CommittedOffset);
    }

    [Fact]
    public void ListDescribeAndDeleteGroups()
    {
        using var c = Client();
        CreateTopic(c, "ldd", 1);
        var m = JoinFully(c, "g-active");
        Assert.Equal(ErrorCode.None, Sync(c, "g-active", m.GenerationId, m.MemberId, null, (m.MemberId, [1])).ErrorCode);
        Assert.Equal(ErrorCode.None, Commit(c, "g-idle", -1, "", "ldd", 0, 1).Topics[0].Partitions[0].ErrorCode);

        var all = c.Call<ListGroupsRequest, ListGroupsResponse>(new ListGroupsRequest(), 5);
        Assert.Equal(ErrorCode.None, all.ErrorCode);
        var active = all.Groups.Single(g => g.GroupId == "g-active");
        Assert.Equal("consumer", active.ProtocolType);
        Assert.Equal("Stable", active.GroupState);
        Assert.Equal("classic", active.GroupType);
        Assert.Equal("Empty", all.Groups.Single(g => g.GroupId == "g-idle").GroupState);

        var stableOnly = c.Call<ListGroupsRequest, ListGroupsResponse>(new ListGroupsRequest { StatesFilter = ["stable"] }, 4);
        Assert.Contains(stableOnly.Groups, g => g.GroupId == "g-active");
        Assert.DoesNotContain(stableOnly.Groups, g => g.GroupId == "g-idle");
        Assert.Empty(c.Call<ListGroupsRequest, ListGroupsResponse>(new ListGroupsRequest { TypesFilter = ["consumer"] }, 5).Groups);
        Assert.Contains(c.Call<ListGroupsRequest, ListGroupsResponse>(new ListGroupsRequest(), 0).Groups, g => g.GroupId == "g-idle");

        var unknown = Describe(c, "g-unknown");
        Assert.Equal(ErrorCode.None, unknown.ErrorCode);
        Assert.Equal("Dead", unknown.GroupState);
        var withOps = c.Call<DescribeGroupsRequest, DescribeGroupsResponse>(new DescribeGroupsRequest { Groups = ["g-active"], IncludeAuthorizedOperations = true }, 3).Groups[0];
        Assert.NotEqual(int.MinValue, withOps.AuthorizedOperations);
        Assert.Equal(int.MinValue, Describe(c, "g-active").AuthorizedOperations);

        var del = c.Call<DeleteGroupsRequest, DeleteGroupsResponse>(new DeleteGroupsRequest { GroupsNames = ["g-active", "g-idle", "g-unknown"] }, 2);
        Assert.Equal([ErrorCode.NonEmptyGroup, (short)0, ErrorCode.GroupIdNotFound], del.Results.Select(r => r.ErrorCode));
        Assert.Equal(-1, FetchOffset(c, "g-idle", "ldd", 0).CommittedOffset);
        Assert.DoesNotContain(c.Call<ListGroupsRequest, ListGroupsResponse>(new ListGroupsRequest(), 5).Groups, g => g.GroupId == "g-idle");
    }

    [Fact]
    public void ClientsCannotProduceToTheOffsetsTopic()
    {
        using var c = Client();
        CreateTopic(c, "t-internal", 1);
        // the first commit creates __consumer_offsets
        Assert.Equal(ErrorCode.None, Commit(c, "g-internal", -1, "", "t-internal", 0, 1).Topics[0].Partitions[0].ErrorCode);
        var b = new KafkaCompat.Records.RecordBatchBuilder();
        b.Add("k"u8, "v"u8, 1);
        var r = c.Call<ProduceRequest, ProduceResponse>(new ProduceRequest
        {
            Acks = 1, TimeoutMs = 1000,
            TopicData = [new() { Name = "__consumer_offsets", PartitionData = [new() { Index = 0, Records = b.Build() }] }],
        }, 9);
        Assert.Equal(ErrorCode.InvalidTopicException, r.Responses[0].PartitionResponses[0].ErrorCode);
    }
}

/// <summary>Answers while __consumer_offsets is being read, and after the coordinator has stopped.</summary>
public sealed class GroupCoordinatorLifecycleTests
{
    [Fact]
    public async Task RequestsWhileLoadingGetCoordinatorLoadInProgressThenSucceed()
    {
        string dir = Path.Combine(Path.GetTempPath(), "kc-grp-load-" + Guid.NewGuid().ToString("N")[..8]);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var config = new BrokerConfig { Port = 0, Host = "127.0.0.1", DataDir = dir };
        foreach (var (k, v) in GroupProtocolTests.FastGroups) config.Set(k, v);
        var broker = new KafkaBroker(config, null, gate.Task);
        var server = new KafkaServer(broker);
        server.Start();
        try
        {
            using var c = new RawClient(server.LocalEndPoint!.Port);
            Assert.Equal(ErrorCode.CoordinatorLoadInProgress, GroupProtocolTests.Join(c, "g-load").ErrorCode);
            // like Kafka: heartbeats are accepted blindly and SyncGroup says REBALANCE_IN_PROGRESS while loading
            Assert.Equal(ErrorCode.None, GroupProtocolTests.Heartbeat(c, "g-load", 1, "m"));
            Assert.Equal(ErrorCode.RebalanceInProgress, GroupProtocolTests.Sync(c, "g-load", 1, "m").ErrorCode);
            Assert.Equal(ErrorCode.CoordinatorLoadInProgress, GroupProtocolTests.Commit(c, "g-load", -1, "", "t", 0, 1).Topics[0].Partitions[0].ErrorCode);
            var fetch = c.Call<OffsetFetchRequest, OffsetFetchResponse>(new OffsetFetchRequest { GroupId = "g-load", Topics = null }, 7);
            Assert.Equal(ErrorCode.CoordinatorLoadInProgress, fetch.ErrorCode);
            var fetchV1 = c.Call<OffsetFetchRequest, OffsetFetchResponse>(new OffsetFetchRequest { GroupId = "g-load", Topics = [new() { Name = "t", PartitionIndexes = [0] }] }, 1);
            Assert.Equal(ErrorCode.CoordinatorLoadInProgress, fetchV1.Topics[0].Partitions[0].ErrorCode);
            Assert.Equal(ErrorCode.CoordinatorLoadInProgress, c.Call<ListGroupsRequest, ListGroupsResponse>(new ListGroupsRequest(), 4).ErrorCode);
            // FindCoordinator still answers: the coordinator is known, only not ready
            Assert.Equal(ErrorCode.None, c.Call<FindCoordinatorRequest, FindCoordinatorResponse>(new FindCoordinatorRequest { Key = "g-load" }, 3).ErrorCode);

            gate.SetResult();
            await broker.Groups.WaitLoadedAsync();
            Assert.Equal(ErrorCode.MemberIdRequired, GroupProtocolTests.Join(c, "g-load").ErrorCode);
        }
        finally
        {
            await server.DisposeAsync();
            broker.Dispose();
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task AJoinWaitingWhenTheBrokerStopsGetsNotCoordinator()
    {
        var b = EmbeddedBroker.Start(settings: GroupProtocolTests.FastGroups);
        try
        {
            await b.Broker.Groups.WaitLoadedAsync();
            using var c1 = new RawClient(b.Port);
            using var c2 = new RawClient(b.Port);
            var m1 = GroupProtocolTests.JoinFully(c1, "g-stop");
            Assert.Equal(ErrorCode.None, GroupProtocolTests.Sync(c1, "g-stop", m1.GenerationId, m1.MemberId, null, (m1.MemberId, [1])).ErrorCode);
            var first2 = GroupProtocolTests.Join(c2, "g-stop");
            // m2's join waits for m1 to rejoin, which it never does before the coordinator stops
            var pending = Task.Run(() => GroupProtocolTests.Join(c2, "g-stop", first2.MemberId));
            await Task.Delay(300);
            Assert.False(pending.IsCompleted);
            b.Broker.Groups.Dispose();
            Assert.Equal(ErrorCode.NotCoordinator, (await pending).ErrorCode);
            Assert.Equal(ErrorCode.NotCoordinator, GroupProtocolTests.Heartbeat(c1, "g-stop", m1.GenerationId, m1.MemberId));
        }
        finally
        {
            await b.DisposeAsync();
        }
    }
}

/// <summary>Timed behaviour with its own broker settings: the initial rebalance delay gathers early joiners into
/// one generation, and offsets of an empty group expire after offsets.retention.minutes.</summary>
public sealed class GroupTimingTests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    public async Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(settings: new Dictionary<string, string>
        {
            ["group.initial.rebalance.delay.ms"] = "3000",
            ["group.min.session.timeout.ms"] = "500",
            // 0 minutes: an empty group's offsets expire at the next check (Kafka's minimum is 1 minute)
            ["offsets.retention.minutes"] = "0",
            ["offsets.retention.check.interval.ms"] = "100",
            ["group.max.size"] = "2",
        });
        await _b.Broker.Groups.WaitLoadedAsync();
        using var c = new RawClient(_b.Port);
        GroupProtocolTests.CreateTopic(c, "t", 1);
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    [Fact]
    public async Task MembersJoiningWithinTheInitialDelayShareTheFirstGeneration()
    {
        using var c1 = new RawClient(_b.Port);
        using var c2 = new RawClient(_b.Port);
        var first = Task.Run(() => GroupProtocolTests.Join(c1, "g-delay", version: 3));
        await Task.Delay(300);
        Assert.False(first.IsCompleted); // held back by the delay although it is the only member
        var second = GroupProtocolTests.Join(c2, "g-delay", version: 3);
        var r1 = await first;
        Assert.Equal(1, r1.GenerationId);
        Assert.Equal(1, second.GenerationId);
        Assert.Equal(2, (r1.Leader == r1.MemberId ? r1 : second).Members.Count);
    }

    [Fact]
    public async Task OffsetsOfAnEmptyGroupExpireButNotWhileItHasMembers()
    {
        using var c = new RawClient(_b.Port);
        var m = GroupProtocolTests.Join(c, "g-retain", version: 3);
        Assert.Equal(ErrorCode.None, GroupProtocolTests.Sync(c, "g-retain", m.GenerationId, m.MemberId, null, (m.MemberId, [1])).ErrorCode);
        Assert.Equal(ErrorCode.None, GroupProtocolTests.Commit(c, "g-retain", m.GenerationId, m.MemberId, "t", 0, 11).Topics[0].Partitions[0].ErrorCode);
        await Task.Delay(500); // several retention checks pass: the group is not empty, so its offsets stay
        Assert.Equal(ErrorCode.None, GroupProtocolTests.Heartbeat(c, "g-retain", m.GenerationId, m.MemberId));
        Assert.Equal(11, GroupProtocolTests.FetchOffset(c, "g-retain", "t", 0).CommittedOffset);

        c.Call<LeaveGroupRequest, LeaveGroupResponse>(new LeaveGroupRequest { GroupId = "g-retain", MemberId = m.MemberId }, 1);
        Assert.Equal(-1, await GroupProtocolTests.AwaitOffset(c, "g-retain", "t", 0, -1));
        // with no offsets and no members the group itself goes away
        Assert.Equal("Dead", GroupProtocolTests.Describe(c, "g-retain").GroupState);
    }

    [Fact]
    public async Task AStableGroupLosesOffsetsOfTopicsItNoLongerSubscribesTo()
    {
        using var c = new RawClient(_b.Port);
        GroupProtocolTests.CreateTopic(c, "unsubscribed", 1);
        var m = GroupProtocolTests.Join(c, "g-kip496", version: 3); // subscribes to "t" only
        Assert.Equal(ErrorCode.None, GroupProtocolTests.Sync(c, "g-kip496", m.GenerationId, m.MemberId, null, (m.MemberId, [1])).ErrorCode);
        Assert.Equal(ErrorCode.None, GroupProtocolTests.Commit(c, "g-kip496", m.GenerationId, m.MemberId, "t", 0, 4).Topics[0].Partitions[0].ErrorCode);
        Assert.Equal(ErrorCode.None, GroupProtocolTests.Commit(c, "g-kip496", m.GenerationId, m.MemberId, "unsubscribed", 0, 4).Topics[0].Partitions[0].ErrorCode);
        Assert.Equal(-1, await GroupProtocolTests.AwaitOffset(c, "g-kip496", "unsubscribed", 0, -1));
        Assert.Equal(ErrorCode.None, GroupProtocolTests.Heartbeat(c, "g-kip496", m.GenerationId, m.MemberId));
        Assert.Equal(4, GroupProtocolTests.FetchOffset(c, "g-kip496", "t", 0).CommittedOffset);
    }

    [Fact]
    public async Task AThirdMemberIsRefusedAtGroupMaxSize()
    {
        using var c1 = new RawClient(_b.Port);
        using var c2 = new RawClient(_b.Port);
        using var c3 = new RawClient(_b.Port);
        var j1 = Task.Run(() => GroupProtocolTests.Join(c1, "g-max", version: 3));
        var j2 = Task.Run(() => GroupProtocolTests.Join(c2, "g-max", version: 3));
        var until = DateTime.UtcNow.AddSeconds(10);
        while (_b.Broker.Groups.Describe("g-max").Members.Count < 2 && DateTime.UtcNow < until) await Task.Delay(20);
        // two members wait in the (initially delayed) join: a third is over group.max.size=2
        Assert.Equal(Protocol.ErrorCode.GroupMaxSizeReached, GroupProtocolTests.Join(c3, "g-max", version: 3).ErrorCode);
        var r1 = await j1;
        var r2 = await j2;
        Assert.Equal((ErrorCode.None, ErrorCode.None), (r1.ErrorCode, r2.ErrorCode));
        Assert.Equal((1, 1), (r1.GenerationId, r2.GenerationId));
        Assert.Equal(2, (r1.Leader == r1.MemberId ? r1 : r2).Members.Count);
    }
}
