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
}
