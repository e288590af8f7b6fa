using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using KafkaCompat.Testing;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>connections.max.idle.ms, as in Kafka: a connection that sends no request for that long is closed; one in use,
/// or one waiting on a long-poll fetch longer than that, is not.</summary>
public sealed class IdleConnectionTests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(settings: new Dictionary<string, string> { ["connections.max.idle.ms"] = "3000" });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    [Fact]
    public void AnIdleConnectionIsClosedAndABusyOneIsNot()
    {
        using var idle = new RawClient(_b.Port);
        Assert.Equal(ErrorCode.None, idle.Call<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest(), 0).ErrorCode);
        using var busy = new RawClient(_b.Port);
        for (int i = 0; i < 40; i++) // 4 s of requests 100 ms apart, each well inside the 3 s limit even on a loaded machine
        {
            Assert.Equal(ErrorCode.None, busy.Call<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest(), 0).ErrorCode);
            Thread.Sleep(100);
        }
        Assert.True(idle.IsClosedByPeer(TimeSpan.FromSeconds(8)));
        // a long-poll fetch that waits longer than the idle limit is a request being served, not idleness
        _b.Broker.CreateTopic("idle-t", 1, 1, new(), validateOnly: false);
        var fetch = busy.Call<FetchRequest, FetchResponse>(new FetchRequest
        {
            ReplicaId = -1, MaxWaitMs = 4000, MinBytes = 1, MaxBytes = 1 << 20,
            Topics = [new() { Topic = "idle-t", Partitions = [new() { Partition = 0, FetchOffset = 0, PartitionMaxBytes = 1 << 20 }] }],
        }, 11);
        Assert.Equal(ErrorCode.None, fetch.Responses.Single().Partitions.Single().ErrorCode);
        Assert.Equal(ErrorCode.None, busy.Call<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest(), 0).ErrorCode);
    }
}
