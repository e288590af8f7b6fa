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
