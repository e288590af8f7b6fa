using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using KafkaCompat.Testing;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>Limits as Kafka has them: one request may create at most 10,000 partitions (Kafka's controller caps one
/// user operation at 10,000 records), with Kafka's errors and messages; nothing of a refused request is created.</summary>
public sealed class RequestLimitTests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    [Fact]
    public void CreateTopicsAskingForMoreThan10000PartitionsIsRefusedWhole()
    {
        using var c = new RawClient(_b.Port);
        var resp = c.Call<CreateTopicsRequest, CreateTopicsResponse>(new CreateTopicsRequest
        {
            TimeoutMs = 5000,
            Topics =
            [
                new() { Name = "big-a", NumPartitions = 5000, ReplicationFactor = 1 },
                new() { Name = "big-b", NumPartitions = 5001, ReplicationFactor = 1 },
                new() { Name = "small", NumPartitions = 1, ReplicationFactor = 1 },
            ],
        }, 5);
        Assert.All(resp.Topics, t => Assert.Equal((ErrorCode.PolicyViolation, "Excessively large number of partitions per request."), (t.ErrorCode, t.ErrorMessage)));
        Assert.Null(_b.Broker.Logs.Get("big-a"));
        Assert.Null(_b.Broker.Logs.Get("small"));
        // a hostile count in one topic is refused the same way, before anything is allocated
        var one = c.Call<CreateTopicsRequest, CreateTopicsResponse>(new CreateTopicsRequest
        {
            TimeoutMs = 5000,
            Topics = [new() { Name = "huge", NumPartitions = int.MaxValue, ReplicationFactor = 1 }],
        }, 5);
        Assert.Equal(ErrorCode.PolicyViolation, one.Topics.Single().ErrorCode);
        Assert.Null(_b.Broker.Logs.Get("huge"));
    }

    [Fact]
    public void CreatePartitionsAddingMoreThan10000IsRefusedWhole()
    {
        _b.Broker.CreateTopic("grow", 1, 1, new(), validateOnly: false);
        using var c = new RawClient(_b.Port);
        var resp = c.Call<CreatePartitionsRequest, CreatePartitionsResponse>(new CreatePartitionsRequest
        {
            TimeoutMs = 5000,
            Topics = [new() { Name = "grow", Count = 21_571 }],
        }, 3);
        var r = resp.Results.Single();
        Assert.Equal((ErrorCode.PolicyViolation, "Unable to perform excessively large batch operation."), (r.ErrorCode, r.ErrorMessage));
        Assert.Single(_b.Broker.Logs.Get("grow")!.Partitions);
        // within the limit it still works
        var ok = c.Call<CreatePartitionsRequest, CreatePartitionsResponse>(new CreatePartitionsRequest
        {
            TimeoutMs = 5000,
            Topics = [new() { Name = "grow", Count = 3 }],
        }, 3);
        Assert.Equal(ErrorCode.None, ok.Results.Single().ErrorCode);
        Assert.Equal(3, _b.Broker.Logs.Get("grow")!.Partitions.Length);
    }
}
