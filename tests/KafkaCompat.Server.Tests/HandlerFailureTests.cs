using KafkaCompat.Broker;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using KafkaCompat.Records;
using KafkaCompat.Testing;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>One error tier: a handler that fails (here by fault injection, as a bug would) answers its request with
/// UNKNOWN_SERVER_ERROR where the response has room for an error, and the connection goes on serving; only a
/// response without any error field closes the connection. The broker keeps running either way.</summary>
public sealed class HandlerFailureTests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    public async Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start();
        await _b.Broker.Groups.WaitLoadedAsync();
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    private static ProduceRequest Produce(string topic) => new()
    {
        Acks = -1, TimeoutMs = 5000,
        TopicData = [new() { Name = topic, PartitionData = [new() { Index = 0, Records = new RecordBatchBuilder().Add("k"u8, "v"u8, 1000).Build() }] }],
    };

    [Fact]
    public void AFailedProduceIsAnsweredPerPartitionAndTheConnectionLives()
    {
        _b.Broker.CreateTopic("hf", 1, 1, new(), validateOnly: false);
        using var c = new RawClient(_b.Port);
        _b.Broker.Faults.FailHandlers(ApiKey.Produce, 1);
        var failed = c.Call<ProduceRequest, ProduceResponse>(Produce("hf"), 9);
        var p = failed.Responses.Single().PartitionResponses.Single();
        Assert.Equal((ErrorCode.UnknownServerError, -1L), (p.ErrorCode, p.BaseOffset));
        var ok = c.Call<ProduceRequest, ProduceResponse>(Produce("hf"), 9);
        Assert.Equal(ErrorCode.None, ok.Responses.Single().PartitionResponses.Single().ErrorCode);
        Assert.Equal(1, _b.Broker.Logs.Get("hf")!.Partitions[0].HighWatermark);
    }

    [Fact]
    public void ATopLevelErrorCarriesTheFailure()
    {
        using var c = new RawClient(_b.Port);
        _b.Broker.Faults.FailHandlers(ApiKey.Heartbeat, 1);
        var hb = c.Call<HeartbeatRequest, HeartbeatResponse>(new HeartbeatRequest { GroupId = "g", GenerationId = 1, MemberId = "m" }, 4);
        Assert.Equal(ErrorCode.UnknownServerError, hb.ErrorCode);
        _b.Broker.Faults.FailHandlers(ApiKey.EndTxn, 1);
        var end = c.Call<EndTxnRequest, EndTxnResponse>(new EndTxnRequest { TransactionalId = "x", ProducerId = 1, ProducerEpoch = 0, Committed = true }, 3);
        Assert.Equal(ErrorCode.UnknownServerError, end.ErrorCode);
        // the same connection goes on
        Assert.Equal(ErrorCode.UnknownMemberId, c.Call<HeartbeatRequest, HeartbeatResponse>(new HeartbeatRequest { GroupId = "g", GenerationId = 1, MemberId = "m" }, 4).ErrorCode);
    }

    [Fact]
    public async Task AHandlerLeftRunningByAGoneClientEndsBeforeItsConnectionDoes()
    {
        // An ApiVersions delayed 300 ms and a produce delayed 1.5 s arrive together; once the ApiVersions has started
        // the client resets the connection. Before the produce waits, the ApiVersions answer is flushed: the socket is
        // gone, so that fails while the produce still runs. The produce parses its frame after its delay, so the
        // connection must not end (and give the frame back to the pool) before the produce has been carried out.
        _b.Broker.CreateTopic("gone", 1, 1, new(), validateOnly: false);
        var log = _b.Broker.Logs.Get("gone")!.Partitions[0];
        int slow = _b.Broker.Faults.Add(new FaultSpec(FaultKind.Latency, ApiKey.ApiVersions, LatencyMs: 300, Count: 1));
        _b.Broker.Faults.Add(new FaultSpec(FaultKind.Latency, ApiKey.Produce, LatencyMs: 1500, Count: 1));
        using (var a = new RawClient(_b.Port))
        {
            a.Stream.Socket.LingerState = new System.Net.Sockets.LingerOption(true, 0); // a reset on close
            a.SendRaw([.. RawClient.Frame(new ApiVersionsRequest(), 0, 1), .. RawClient.Frame(Produce("gone"), 9, 2)]);
            await WaitFor(() => !_b.Broker.Faults.List().Any(f => f.Id == slow && f.Fired == 0), "the ApiVersions started");
        }
        await WaitFor(() => _b.Server.ConnectionCount == 0, $"{_b.Server.ConnectionCount} connections left");
        Assert.Equal(1, log.HighWatermark);
        using var again = new RawClient(_b.Port);
        Assert.Equal(ErrorCode.None, again.Call<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest(), 0).ErrorCode);
    }

    private static async Task WaitFor(Func<bool> condition, string what)
    {
        for (int i = 0; i < 400 && !condition(); i++) await Task.Delay(25);
        Assert.True(condition(), what);
    }

    [Fact]
    public void AResponseWithoutAnErrorFieldClosesOnlyThatConnection()
    {
        using (var c = new RawClient(_b.Port))
        {
            _b.Broker.Faults.FailHandlers(ApiKey.DescribeGroups, 1);
            c.Send(new DescribeGroupsRequest { Groups = ["g"] }, 5);
            Assert.True(c.IsClosedByPeer(TimeSpan.FromSeconds(10)));
        }
        using var again = new RawClient(_b.Port);
        Assert.Equal(ErrorCode.None, again.Call<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest(), 0).ErrorCode);
    }
}
