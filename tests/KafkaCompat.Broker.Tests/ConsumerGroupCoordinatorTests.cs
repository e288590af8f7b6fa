using KafkaCompat.Broker.Groups;
using KafkaCompat.Protocol;
using Xunit;

namespace KafkaCompat.Broker.Tests;

/// <summary>The KIP-848 consumer group coordinator driven directly on a fake clock: Kafka's errors for each wrong
/// heartbeat, revoke-before-assign, session and rebalance timeouts at their deadlines, member epochs on commits, the
/// state reloaded after a restart, and the move between the classic and the consumer protocol.</summary>
public sealed class ConsumerGroupCoordinatorTests : IDisposable
{
    private readonly BrokerFixture _f = new(new()
    {
        ["group.consumer.session.timeout.ms"] = "6000",
        ["group.consumer.min.session.timeout.ms"] = "1000",
        ["group.consumer.heartbeat.interval.ms"] = "500",
        ["group.consumer.min.heartbeat.interval.ms"] = "100",
        ["group.consumer.max.size"] = "3",
        ["group.initial.rebalance.delay.ms"] = "0",
        ["group.min.session.timeout.ms"] = "1000",
    });

    public void Dispose() => _f.Dispose();

    private GroupCoordinator G => _f.Broker.Groups;

    private Guid Topic(string name, int partitions)
    {
        var t = _f.Broker.Logs.Get(name) ?? _f.Broker.Logs.Create(name, partitions, new())!;
        return t.Id;
    }

    private static ConsumerHeartbeatRequest Join(string group, string member, params string[] topics) =>
        new(group, member, 0, null, null, 30_000, topics, null, null, new TopicPartitions(), "client", "/127.0.0.1", 1);

    private static ConsumerHeartbeatRequest Beat(string group, string member, int epoch, TopicPartitions? owned = null) =>
        new(group, member, epoch, null, null, -1, null, null, null, owned, "client", "/127.0.0.1", 1);

    private static TopicPartitions Tp(Guid topic, params int[] partitions)
    {
        var tps = new TopicPartitions();
        foreach (var p in partitions) tps.Add(topic, p);
        return tps;
    }

    [Fact]
    public void ASecondMemberGetsPartitionsOnlyAfterTheFirstRevokedThem()
    {
        var t = Topic("t", 4);
        var a = G.ConsumerHeartbeat(Join("g", "a", "t"));
        Assert.Equal(ErrorCode.None, a.Error);
        Assert.Equal(1, a.MemberEpoch);
        Assert.Equal(4, a.Assignment!.PartitionCount);

        var b = G.ConsumerHeartbeat(Join("g", "b", "t"));
        Assert.Equal(2, b.MemberEpoch);
        Assert.Equal(0, b.Assignment!.PartitionCount); // its target partitions are still a's

        // a heartbeats still owning all four: it is told to keep two, at its old epoch
        var a2 = G.ConsumerHeartbeat(Beat("g", "a", 1, Tp(t, 0, 1, 2, 3)));
        Assert.Equal(1, a2.MemberEpoch);
        Assert.Equal(2, a2.Assignment!.PartitionCount);
        var kept = a2.Assignment!.All().Select(x => x.Partition).ToArray();
        Assert.Equal("Reconciling", G.DescribeConsumerGroup("g").State);

        // b asks again: nothing is free yet
        Assert.Equal(0, G.ConsumerHeartbeat(Beat("g", "b", 2, new TopicPartitions())).Assignment?.PartitionCount ?? 0);

        // a confirms the revocation and moves to epoch 2; then b gets the two released partitions
        var a3 = G.ConsumerHeartbeat(Beat("g", "a", 1, Tp(t, kept)));
        Assert.Equal(2, a3.MemberEpoch);
        // the previous epoch is accepted with a subset of the current partitions (the answer was lost), not with more
        Assert.Equal(ErrorCode.None, G.ConsumerHeartbeat(Beat("g", "a", 1, Tp(t, kept))).Error);
        Assert.Equal(ErrorCode.FencedMemberEpoch, G.ConsumerHeartbeat(Beat("g", "a", 1, Tp(t, 0, 1, 2, 3))).Error);
        var b2 = G.ConsumerHeartbeat(Beat("g", "b", 2, new TopicPartitions()));
        Assert.Equal(2, b2.Assignment!.PartitionCount);
        Assert.Empty(b2.Assignment.All().Select(x => x.Partition).Intersect(kept));
        Assert.Equal("Stable", G.DescribeConsumerGroup("g").State);
    }

    [Fact]
    public void WrongHeartbeatsGetKafkasErrors()
    {
        Topic("t", 2);
        Assert.Equal(ErrorCode.InvalidRequest, G.ConsumerHeartbeat(Join("", "a", "t")).Error);
        Assert.Equal(ErrorCode.InvalidRequest, G.ConsumerHeartbeat(Join("g", "", "t")).Error); // v1: the client names itself
        Assert.Equal(ErrorCode.InvalidRequest, G.ConsumerHeartbeat(Join("g", "a", "t") with { RebalanceTimeoutMs = -1 }).Error);
        Assert.Equal(ErrorCode.InvalidRequest, G.ConsumerHeartbeat(Join("g", "a", "t") with { Owned = null }).Error);
        Assert.Equal(ErrorCode.InvalidRequest, G.ConsumerHeartbeat(Join("g", "a", "t") with { MemberEpoch = -3 }).Error);
        Assert.Equal(ErrorCode.UnsupportedAssignor, G.ConsumerHeartbeat(Join("g", "a", "t") with { ServerAssignor = "sticky" }).Error);
        Assert.Equal(ErrorCode.InvalidRegularExpression, G.ConsumerHeartbeat(Join("g", "a") with { SubscribedTopicRegex = "(a)\\1" }).Error);
        Assert.Equal(ErrorCode.GroupIdNotFound, G.ConsumerHeartbeat(Beat("nope", "a", 1)).Error);

        var a = G.ConsumerHeartbeat(Join("g", "a", "t"));
        Assert.Equal(ErrorCode.UnknownMemberId, G.ConsumerHeartbeat(Beat("g", "zzz", 1)).Error);
        Assert.Equal(ErrorCode.FencedMemberEpoch, G.ConsumerHeartbeat(Beat("g", "a", a.MemberEpoch + 1)).Error);
        G.ConsumerHeartbeat(Join("g", "b", "t"));
        G.ConsumerHeartbeat(Join("g", "c", "t"));
        var full = G.ConsumerHeartbeat(Join("g", "d", "t"));
        Assert.Equal(ErrorCode.GroupMaxSizeReached, full.Error);

        // static members: an instance id held by a live member cannot join again; a wrong member id is fenced
        Topic("s", 2);
        var s1 = G.ConsumerHeartbeat(Join("sg", "s1", "s") with { InstanceId = "i1" });
        Assert.Equal(ErrorCode.None, s1.Error);
        Assert.Equal(ErrorCode.UnreleasedInstanceId, G.ConsumerHeartbeat(Join("sg", "s2", "s") with { InstanceId = "i1" }).Error);
        Assert.Equal(ErrorCode.FencedInstanceId, G.ConsumerHeartbeat(Beat("sg", "s2", 1) with { InstanceId = "i1" }).Error);
        Assert.Equal(ErrorCode.UnknownMemberId, G.ConsumerHeartbeat(Beat("sg", "s2", 1) with { InstanceId = "i9" }).Error);
    }

    [Fact]
    public void AMemberWithoutHeartbeatsIsRemovedAtItsSessionDeadline()
    {
        Topic("t", 2);
        var a = G.ConsumerHeartbeat(Join("g", "a", "t"));
        G.ConsumerHeartbeat(Join("g", "b", "t"));
        _f.Clock.Advance(TimeSpan.FromMilliseconds(3000));
        G.ConsumerHeartbeat(Beat("g", "b", G.DescribeConsumerGroup("g").Members.Single(m => m.Member.MemberId == "b").Member.MemberEpoch));
        _f.Clock.Advance(TimeSpan.FromMilliseconds(2999)); // a: 5,999 ms since its last heartbeat
        Assert.Equal(2, G.DescribeConsumerGroup("g").Members.Count);
        _f.Clock.Advance(TimeSpan.FromMilliseconds(1));
        var d = G.DescribeConsumerGroup("g");
        Assert.Equal("b", Assert.Single(d.Members).Member.MemberId);
        Assert.Equal(ErrorCode.UnknownMemberId, G.ConsumerHeartbeat(Beat("g", "a", a.MemberEpoch)).Error);
    }

    [Fact]
    public void AMemberThatDoesNotRevokeWithinItsRebalanceTimeoutIsRemoved()
    {
        var t = Topic("t", 2);
        G.ConsumerHeartbeat(Join("g", "a", "t") with { RebalanceTimeoutMs = 2000 });
        G.ConsumerHeartbeat(Join("g", "b", "t"));
        var a = G.ConsumerHeartbeat(Beat("g", "a", 1, Tp(t, 0, 1))); // told to give one up
        Assert.Equal(1, a.Assignment!.PartitionCount);
        for (int i = 0; i < 3; i++)
        {
            _f.Clock.Advance(TimeSpan.FromMilliseconds(500));
            G.ConsumerHeartbeat(Beat("g", "a", 1, Tp(t, 0, 1))); // keeps heartbeating, never revokes
            G.ConsumerHeartbeat(Beat("g", "b", 2, new TopicPartitions()));
        }
        Assert.Equal(2, G.DescribeConsumerGroup("g").Members.Count);
        _f.Clock.Advance(TimeSpan.FromMilliseconds(500)); // 2,000 ms after it was asked to revoke
        Assert.Equal("b", Assert.Single(G.DescribeConsumerGroup("g").Members).Member.MemberId);
        var b = G.ConsumerHeartbeat(Beat("g", "b", 2, new TopicPartitions()));
        Assert.Equal(2, b.Assignment!.PartitionCount);
    }

    [Fact]
    public void CommitsAndFetchesCarryTheMemberEpoch()
    {
        Topic("t", 1);
        var a = G.ConsumerHeartbeat(Join("g", "a", "t"));
        var entry = new CommitEntry("t", 0, 5, -1, null, -1);
        Assert.Equal(ErrorCode.None, G.Commit("g", a.MemberEpoch, "a", null, -1, [entry], apiVersion: 9).Single().Error);
        Assert.Equal(ErrorCode.StaleMemberEpoch, G.Commit("g", a.MemberEpoch + 1, "a", null, -1, [entry], apiVersion: 9).Single().Error);
        Assert.Equal(ErrorCode.UnknownMemberId, G.Commit("g", a.MemberEpoch, "x", null, -1, [entry], apiVersion: 9).Single().Error);
        Assert.Equal(ErrorCode.UnsupportedVersion, G.Commit("g", a.MemberEpoch, "a", null, -1, [entry], apiVersion: 8).Single().Error);
        Assert.Equal(ErrorCode.UnknownMemberId, G.Commit("g", -1, "", null, -1, [entry], apiVersion: 9).Single().Error); // not while it has members
        Assert.Equal(ErrorCode.StaleMemberEpoch, G.FetchOffsets("g", null, false, "a", a.MemberEpoch + 1).Error);
        var fetched = G.FetchOffsets("g", null, false, "a", a.MemberEpoch);
        Assert.Equal(5, Assert.Single(fetched.Offsets).Offset);
        Assert.Equal(ErrorCode.None, G.FetchOffsets("g", null).Error); // an admin fetch: no member
    }

    [Fact]
    public void TheGroupIsReloadedAfterARestartWithItsEpochsAndAssignments()
    {
        var t = Topic("t", 3);
        var a = G.ConsumerHeartbeat(Join("g", "a", "t"));
        var b = G.ConsumerHeartbeat(Join("g", "b", "t"));
        G.ConsumerHeartbeat(Beat("g", "a", a.MemberEpoch, a.Assignment));
        var a2 = G.ConsumerHeartbeat(Beat("g", "a", 1, G.DescribeConsumerGroup("g").Members.Single(m => m.Member.MemberId == "a").Member.Assigned));
        var b2 = G.ConsumerHeartbeat(Beat("g", "b", b.MemberEpoch, new TopicPartitions()));
        var before = G.DescribeConsumerGroup("g");
        Assert.Equal("Stable", before.State);

        _f.Restart();
        var after = G.DescribeConsumerGroup("g");
        Assert.Equal(before.GroupEpoch, after.GroupEpoch);
        Assert.Equal(before.AssignmentEpoch, after.AssignmentEpoch);
        Assert.Equal("Stable", after.State);
        foreach (var (m, target) in before.Members)
        {
            var same = after.Members.Single(x => x.Member.MemberId == m.MemberId);
            Assert.Equal(m.MemberEpoch, same.Member.MemberEpoch);
            Assert.True(m.Assigned.SameAs(same.Member.Assigned));
            Assert.True(target.SameAs(same.Target));
            Assert.Equal(m.SubscribedTopicNames, same.Member.SubscribedTopicNames);
        }
        // the members go on with their epochs: no fencing, no reassignment
        var a3 = G.ConsumerHeartbeat(Beat("g", "a", a2.MemberEpoch));
        Assert.Equal(ErrorCode.None, a3.Error);
        Assert.Equal(a2.MemberEpoch, a3.MemberEpoch);
        Assert.Null(a3.Assignment);
    }

    [Fact]
    public async Task AnEmptyClassicGroupBecomesAConsumerGroupAndBack()
    {
        Topic("t", 1);
        // a classic group with a committed offset and no members
        var join = new JoinRequestData("g", "", null, "consumer", [("range", [0, 1])], 6000, 6000, "c", "/127.0.0.1", false, null);
        var joined = await G.JoinAsync(join);
        await G.SyncAsync("g", joined.GenerationId, joined.MemberId, null, "consumer", "range", new() { [joined.MemberId] = [] });
        G.Commit("g", joined.GenerationId, joined.MemberId, null, -1, [new CommitEntry("t", 0, 7, -1, null, -1)]);
        var (_, left) = G.Leave("g", [(joined.MemberId, null, null)]);
        Assert.Equal(ErrorCode.None, left.Single());
        Assert.Equal("classic", G.List([], []).Groups.Single().GroupType);

        var a = G.ConsumerHeartbeat(Join("g", "a", "t"));
        Assert.Equal(ErrorCode.None, a.Error);
        Assert.Equal("consumer", G.List([], ["consumer"]).Groups.Single().GroupType);
        Assert.Empty(G.List([], ["classic"]).Groups);
        Assert.Equal(7, G.FetchOffsets("g", null, false, "a", a.MemberEpoch).Offsets.Single().Offset); // offsets carried over
        // a classic member cannot join while consumer-protocol members are there
        Assert.Equal(ErrorCode.InconsistentGroupProtocol, (await G.JoinAsync(join)).Error);
        Assert.Equal(ErrorCode.NonEmptyGroup, G.DeleteGroup("g"));

        Assert.Equal(ErrorCode.None, G.ConsumerHeartbeat(Beat("g", "a", GroupCoordinator.LeaveEpoch)).Error);
        Assert.Equal("Empty", G.DescribeConsumerGroup("g").State);
        var back = await G.JoinAsync(join);
        Assert.Equal(ErrorCode.None, back.Error);
        Assert.Equal(ErrorCode.GroupIdNotFound, G.DescribeConsumerGroup("g").Error);
        Assert.Equal("classic", G.List([], []).Groups.Single().GroupType);

        // and what the log says after a restart agrees
        _f.Restart();
        Assert.Equal(ErrorCode.GroupIdNotFound, G.DescribeConsumerGroup("g").Error);
        Assert.Equal(7, G.FetchOffsets("g", null).Offsets.Single().Offset);
    }

    [Fact]
    public void AnEmptyConsumerGroupCanBeDeletedWithItsOffsets()
    {
        Topic("t", 1);
        var a = G.ConsumerHeartbeat(Join("g", "a", "t"));
        G.Commit("g", a.MemberEpoch, "a", null, -1, [new CommitEntry("t", 0, 3, -1, null, -1)], apiVersion: 9);
        Assert.Equal(ErrorCode.NonEmptyGroup, G.DeleteGroup("g"));
        Assert.Equal(ErrorCode.None, G.ConsumerHeartbeat(Beat("g", "a", GroupCoordinator.LeaveEpoch)).Error);
        Assert.Equal(ErrorCode.None, G.DeleteGroup("g"));
        Assert.Equal(ErrorCode.GroupIdNotFound, G.DescribeConsumerGroup("g").Error);
        _f.Restart();
        Assert.Equal(ErrorCode.GroupIdNotFound, G.DescribeConsumerGroup("g").Error);
        Assert.Empty(G.FetchOffsets("g", null).Offsets);
        Assert.Empty(G.List([], []).Groups); // the tombstones replayed at the start bring no group back
    }

    [Fact]
    public void TheConsumerProtocolIsNotAdvertisedWhenTurnedOff()
    {
        using var off = new BrokerFixture(new() { ["group.coordinator.rebalance.protocols"] = "classic" });
        Assert.DoesNotContain(off.Broker.Apis.All, h => h.Key == ApiKey.ConsumerGroupHeartbeat);
        Assert.Contains(_f.Broker.Apis.All, h => h.Key == ApiKey.ConsumerGroupHeartbeat);
        // nor is group.version finalized (a Kafka broker with group.version 0 does not serve the protocol)
        Assert.DoesNotContain(Apis.ApiVersionsHandler.Build(off.Broker.Apis, ErrorCode.None, 4).FinalizedFeatures!, f => f.Name == "group.version");
        Assert.Contains(Apis.ApiVersionsHandler.Build(_f.Broker.Apis, ErrorCode.None, 4).FinalizedFeatures!, f => f.Name == "group.version");
    }
}
