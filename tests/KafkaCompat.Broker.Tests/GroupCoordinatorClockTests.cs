using KafkaCompat.Broker.Groups;
using KafkaCompat.Protocol;
using Xunit;

namespace KafkaCompat.Broker.Tests;

/// <summary>The classic group coordinator on the injected clock: session timeouts expire members when the fake
/// clock passes them, with no sleeping.</summary>
public sealed class GroupCoordinatorClockTests : IDisposable
{
    private readonly BrokerFixture _f = new(new() { ["group.initial.rebalance.delay.ms"] = "0", ["group.min.session.timeout.ms"] = "1000" });

    public void Dispose() => _f.Dispose();

    [Fact]
    public async Task AMemberThatStopsHeartbeatingExpiresWhenTheClockPassesItsSessionTimeout()
    {
        var g = _f.Broker.Groups;
        var join = new JoinRequestData("g", "", null, "consumer", [("range", [0, 1])], SessionTimeoutMs: 5000, RebalanceTimeoutMs: 5000,
            ClientId: "c", ClientHost: "/127.0.0.1", RequireKnownMemberId: false, Reason: null);
        var joined = await g.JoinAsync(join).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(ErrorCode.None, joined.Error);
        var synced = await g.SyncAsync("g", joined.GenerationId, joined.MemberId, null, "consumer", "range", new() { [joined.MemberId] = [1] }).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(ErrorCode.None, synced.Error);
        _f.Clock.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(ErrorCode.None, g.Heartbeat("g", joined.GenerationId, joined.MemberId, null));
        _f.Clock.Advance(TimeSpan.FromSeconds(4)); // 4 s after the heartbeat: still alive
        Assert.Equal(ErrorCode.None, g.Heartbeat("g", joined.GenerationId, joined.MemberId, null));
        for (int i = 0; i < 60; i++) _f.Clock.Advance(TimeSpan.FromMilliseconds(100)); // 6 s of timer ticks
        Assert.Equal(ErrorCode.UnknownMemberId, g.Heartbeat("g", joined.GenerationId, joined.MemberId, null));
        Assert.Equal("Empty", g.Describe("g").State);
    }

    private async Task<JoinResult> JoinAndSync(string group, string? instanceId, int sessionMs, int rebalanceMs)
    {
        var g = _f.Broker.Groups;
        var join = new JoinRequestData(group, "", instanceId, "consumer", [("range", [0, 1])], SessionTimeoutMs: sessionMs, RebalanceTimeoutMs: rebalanceMs,
            ClientId: "c", ClientHost: "/127.0.0.1", RequireKnownMemberId: false, Reason: null);
        var joined = await g.JoinAsync(join).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(ErrorCode.None, joined.Error);
        var synced = await g.SyncAsync(group, joined.GenerationId, joined.MemberId, instanceId, "consumer", "range", new() { [joined.MemberId] = [1] }).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(ErrorCode.None, synced.Error);
        return joined;
    }

    [Fact]
    public async Task AStaticMemberExpiresAtItsLastHeartbeatPlusTheSessionTimeoutToTheMillisecond()
    {
        var g = _f.Broker.Groups;
        var joined = await JoinAndSync("static", "instance-1", sessionMs: 6000, rebalanceMs: 6000);
        _f.Clock.Advance(TimeSpan.FromMilliseconds(300));
        Assert.Equal(ErrorCode.None, g.Heartbeat("static", joined.GenerationId, joined.MemberId, "instance-1"));
        _f.Clock.Advance(TimeSpan.FromMilliseconds(5999)); // one millisecond before the deadline: still a member
        Assert.Single(g.Describe("static").Members);
        Assert.Equal(ErrorCode.NonEmptyGroup, g.DeleteGroup("static"));
        _f.Clock.Advance(TimeSpan.FromMilliseconds(1)); // the deadline: the timer fires now, not on a later sweep
        Assert.Empty(g.Describe("static").Members);
        Assert.Equal(ErrorCode.None, g.DeleteGroup("static"));
    }

    [Fact]
    public async Task TheJoinPhaseEndsAtTheRebalanceTimeoutToTheMillisecond()
    {
        var g = _f.Broker.Groups;
        var first = await JoinAndSync("rb", null, sessionMs: 30_000, rebalanceMs: 4000);
        // a second member joins: the group waits up to the rebalance timeout for the first to rejoin
        var second = g.JoinAsync(new JoinRequestData("rb", "", null, "consumer", [("range", [0, 1])], SessionTimeoutMs: 30_000, RebalanceTimeoutMs: 4000,
            ClientId: "c2", ClientHost: "/127.0.0.1", RequireKnownMemberId: false, Reason: null));
        Assert.Equal("PreparingRebalance", g.Describe("rb").State);
        _f.Clock.Advance(TimeSpan.FromMilliseconds(3999));
        Assert.False(second.IsCompleted);
        _f.Clock.Advance(TimeSpan.FromMilliseconds(1));
        var joined = await second.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(ErrorCode.None, joined.Error);
        Assert.Equal(first.GenerationId + 1, joined.GenerationId);
        Assert.DoesNotContain(g.Describe("rb").Members, m => m.MemberId == first.MemberId);
    }
}
