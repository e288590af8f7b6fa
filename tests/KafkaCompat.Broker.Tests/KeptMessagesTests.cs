using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using Xunit;

namespace KafkaCompat.Broker.Tests;

/// <summary>A connection keeps its last Produce request and response to read the next one into, but only a small one:
/// whatever a client sends, what a connection holds between requests stays bounded.</summary>
public sealed class KeptMessagesTests : IDisposable
{
    private readonly BrokerFixture f = new(new());

    public void Dispose() => f.Dispose();

    private static ReadOnlyMemory<byte> Body(int partitions)
    {
        using var w = new KafkaWriter();
        new ProduceRequest
        {
            Acks = 1, TimeoutMs = 1000,
            TopicData = [new() { Name = "kept-messages", PartitionData = [.. Enumerable.Range(0, partitions).Select(i => new ProduceRequest.PartitionProduceData { Index = i })] }],
        }.Write(w, 9);
        return w.ToArray();
    }

    private async Task<MessageCache> Serve(int partitions)
    {
        var cache = new MessageCache();
        var ctx = new RequestContext { Broker = f.Broker, ApiVersion = 9, CorrelationId = 1, Messages = cache };
        var handler = f.Broker.Apis.All.Single(h => h.Key == ApiKey.Produce);
        Assert.IsType<ProduceResponse>(await handler.HandleAsync(ctx, Body(partitions)));
        ctx.ReturnMessages();
        return cache;
    }

    [Fact]
    public async Task ASmallRequestIsKeptAndAHugeOneIsNot()
    {
        var small = await Serve(2);
        Assert.NotNull(small.Take<ProduceRequest>());
        Assert.NotNull(small.Take<ProduceResponse>());
        var huge = await Serve(1025);
        Assert.Null(huge.Take<ProduceRequest>());
        Assert.Null(huge.Take<ProduceResponse>());
    }
}
