using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using KafkaCompat.Testing;
using Xunit;
using G = KafkaCompat.Server.Tests.GroupProtocolTests;

namespace KafkaCompat.Server.Tests;

/// <summary>Committed offsets and group membership survive a clean restart and kill -9.</summary>
public sealed class GroupDurabilityTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kc-grp-durable-" + Guid.NewGuid().ToString("N")[..10]);

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    [Fact]
    public async Task OffsetsAndMembershipSurviveACleanRestart()
    {
        JoinGroupResponse member;
        var b = EmbeddedBroker.Start(_dir, G.FastGroups);
        try
        {
            await b.Broker.Groups.WaitLoadedAsync();
            using var c = new RawClient(b.Port);
            G.CreateTopic(c, "durable", 2);
            member = G.JoinFully(c, "g-durable", sessionMs: 30000, topic: "durable");
            Assert.Equal(ErrorCode.None, G.Sync(c, "g-durable", member.GenerationId, member.MemberId, null, (member.MemberId, [4, 2])).ErrorCode);
            for (int i = 1; i <= 50; i++)
                Assert.Equal(ErrorCode.None, G.Commit(c, "g-durable", member.GenerationId, member.MemberId, "durable", i % 2, i, metadata: $"meta-{i}", epoch: 0).Topics[0].Partitions[0].ErrorCode);
            Assert.Equal(ErrorCode.None, G.Commit(c, "g-standalone", -1, "", "durable", 0, 777).Topics[0].Partitions[0].ErrorCode);
            Assert.Equal(ErrorCode.None, G.Commit(c, "g-deleted", -1, "", "durable", 0, 1).Topics[0].Partitions[0].ErrorCode);
            Assert.Equal(ErrorCode.None, c.Call<DeleteGroupsRequest, DeleteGroupsResponse>(new DeleteGroupsRequest { GroupsNames = ["g-deleted"] }, 2).Results[0].ErrorCode);
        }
        finally
        {
            await b.StopAsync();
        }

        var again = EmbeddedBroker.Start(_dir, G.FastGroups);
        try
        {
            await again.Broker.Groups.WaitLoadedAsync();
            using var c = new RawClient(again.Port);
            var p0 = G.FetchOffset(c, "g-durable", "durable", 0);
            var p1 = G.FetchOffset(c, "g-durable", "durable", 1);
            Assert.Equal((50L, "meta-50"), (p0.CommittedOffset, p0.Metadata));
            Assert.Equal((49L, "meta-49"), (p1.CommittedOffset, p1.Metadata));
            Assert.Equal(777, G.FetchOffset(c, "g-standalone", "durable", 0).CommittedOffset);
            Assert.Equal(-1, G.FetchOffset(c, "g-deleted", "durable", 0).CommittedOffset);

            // the member is still in the group, in the same generation, with its assignment: it just keeps heartbeating
            var d = G.Describe(c, "g-durable");
            Assert.Equal("Stable", d.GroupState);
            Assert.Equal("range", d.ProtocolData);
            var m = Assert.Single(d.Members);
            Assert.Equal(member.MemberId, m.MemberId);
            Assert.Equal(new byte[] { 4, 2 }, m.MemberAssignment.ToArray());
            Assert.Equal(ErrorCode.None, G.Heartbeat(c, "g-durable", member.GenerationId, member.MemberId));
            Assert.Equal(new byte[] { 4, 2 }, G.Sync(c, "g-durable", member.GenerationId, member.MemberId).Assignment.ToArray());
            Assert.DoesNotContain(c.Call<ListGroupsRequest, ListGroupsResponse>(new ListGroupsRequest(), 4).Groups, g => g.GroupId == "g-deleted");
        }
        finally
        {
            await again.StopAsync();
        }
    }

    [Fact]
    public async Task KillNineDuringCommitsKeepsEveryAcknowledgedCommit()
    {
        string[] fast = ["--set", "group.initial.rebalance.delay.ms=0", "--set", "group.min.session.timeout.ms=500"];
        long lastAcked = -1;
        string memberId = "";
        int generation = -1;
        for (int round = 0; round < 2; round++)
        {
            var (proc, port) = DurabilityTests.StartProcess(_dir, fast);
            try
            {
                using var c = new RawClient(port);
                if (round == 0)
                {
                    G.CreateTopic(c, "crash-offsets", 1);
                    var m = G.JoinFully(c, "g-crash", sessionMs: 60000, topic: "crash-offsets");
                    Assert.Equal(ErrorCode.None, G.Sync(c, "g-crash", m.GenerationId, m.MemberId, null, (m.MemberId, [9])).ErrorCode);
                    (memberId, generation) = (m.MemberId, m.GenerationId);
                }
                else
                {
                    // after the first kill the member is still known, in the same generation (once the offsets log is read)
                    // (heartbeats are accepted blindly while loading, so wait on ListGroups, which reports the load)
                    var loadUntil = DateTime.UtcNow.AddSeconds(20);
                    while (c.Call<ListGroupsRequest, ListGroupsResponse>(new ListGroupsRequest(), 4).ErrorCode == Protocol.ErrorCode.CoordinatorLoadInProgress
                           && DateTime.UtcNow < loadUntil)
                        await Task.Delay(20);
                    Assert.Equal(ErrorCode.None, G.Heartbeat(c, "g-crash", generation, memberId));
                }
                var killer = Task.Run(async () =>
                {
                    await Task.Delay(300 + round * 200);
                    proc.Kill(entireProcessTree: true); // SIGKILL
                });
                try
                {
                    long next = lastAcked + 1;
                    while (!killer.IsCompleted)
                    {
                        var r = G.Commit(c, "g-crash", generation, memberId, "crash-offsets", 0, next);
                        Assert.Equal(ErrorCode.None, r.Topics[0].Partitions[0].ErrorCode);
                        lastAcked = next++;
                    }
                }
                catch (IOException) { }
                catch (InvalidOperationException) { }
                await killer;
            }
            finally
            {
                if (!proc.HasExited) proc.Kill(entireProcessTree: true); // a failed assertion must not leave the broker running
                proc.WaitForExit();
                proc.Dispose();
            }
        }
        Assert.True(lastAcked > 20, $"only {lastAcked} commits acknowledged");
        var (final, finalPort) = DurabilityTests.StartProcess(_dir, fast);
        try
        {
            using var c = new RawClient(finalPort);
            OffsetFetchResponse.OffsetFetchResponsePartition p;
            var until = DateTime.UtcNow.AddSeconds(20);
            while (true)
            {
                var r = c.Call<OffsetFetchRequest, OffsetFetchResponse>(new OffsetFetchRequest
                {
                    GroupId = "g-crash", Topics = [new() { Name = "crash-offsets", PartitionIndexes = [0] }],
                }, 7);
                if (r.ErrorCode == Protocol.ErrorCode.CoordinatorLoadInProgress && DateTime.UtcNow < until) { await Task.Delay(50); continue; }
                Assert.Equal(ErrorCode.None, r.ErrorCode);
                p = r.Topics[0].Partitions[0];
                break;
            }
            // the last acknowledged commit is there (one more may have been written but not acknowledged)
            Assert.InRange(p.CommittedOffset, lastAcked, lastAcked + 1);
            var d = G.Describe(c, "g-crash");
            Assert.Equal("Stable", d.GroupState);
            Assert.Equal(memberId, Assert.Single(d.Members).MemberId);
        }
        finally
        {
            final.Kill(entireProcessTree: true);
            final.WaitForExit();
        }
    }
}
