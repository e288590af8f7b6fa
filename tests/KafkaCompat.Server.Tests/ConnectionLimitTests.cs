using KafkaCompat.Broker.Config;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using KafkaCompat.Records;
using KafkaCompat.Testing;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>max.connections.per.ip and its overrides: a connection past its address's limit is closed at once, and
/// the place is free again when one of the others closes.</summary>
public sealed class PerIpConnectionLimitTests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    public Task InitializeAsync()
    {
        // one per address, except 127.0.0.1 which may hold three
        _b = EmbeddedBroker.Start(settings: new Dictionary<string, string>
        {
            ["max.connections.per.ip"] = "1",
            ["max.connections.per.ip.overrides"] = "127.0.0.1:3",
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    private static bool Works(RawClient c)
    {
        try
        {
            return c.Call<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest(), 0).ErrorCode == ErrorCode.None;
        }
        catch (IOException)
        {
            return false;
        }
    }

    [Fact]
    public async Task TheConnectionPastTheLimitIsClosedAndTheSlotComesBack()
    {
        var open = Enumerable.Range(0, 3).Select(_ => new RawClient(_b.Port)).ToList();
        try
        {
            Assert.All(open, c => Assert.True(Works(c)));
            using (var fourth = new RawClient(_b.Port))
            {
                Assert.True(fourth.IsClosedByPeer(TimeSpan.FromSeconds(10)));
            }
            Assert.Equal(1, _b.Server.RejectedConnections);
            Assert.All(open, c => Assert.True(Works(c))); // the others are untouched

            open[0].Dispose();
            open.RemoveAt(0);
            for (int i = 0; i < 200 && _b.Server.ConnectionCount > 2; i++) await Task.Delay(25);
            var again = new RawClient(_b.Port);
            open.Add(again);
            Assert.True(Works(again));
        }
        finally
        {
            foreach (var c in open) c.Dispose();
        }
    }

    /// <summary>max.connections.per.ip.overrides is a dynamic broker config: a change applies to the next connection.</summary>
    [Fact]
    public void ADynamicOverrideAppliesToTheNextConnection()
    {
        var r = _b.Broker.ChangeBrokerConfigs("", validateOnly: false, _ => (new() { ["max.connections.per.ip.overrides"] = "127.0.0.1:1" }, default));
        Assert.True(r.Ok, r.Message);
        using var first = new RawClient(_b.Port);
        Assert.True(Works(first));
        using (var second = new RawClient(_b.Port))
            Assert.True(second.IsClosedByPeer(TimeSpan.FromSeconds(10)));
        Assert.Equal(1, _b.Server.RejectedConnections);
    }
}

/// <summary>max.connections: past it, a new connection is not accepted (it waits in the listen backlog, as with Kafka's
/// acceptor) until another one closes.</summary>
public sealed class MaxConnectionsTests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(settings: new Dictionary<string, string> { ["max.connections"] = "2" });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    [Fact]
    public async Task ANewConnectionWaitsForAFreeSlot()
    {
        using var first = new RawClient(_b.Port);
        Assert.Equal(ErrorCode.None, first.Call<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest(), 0).ErrorCode);
        using var second = new RawClient(_b.Port);
        Assert.Equal(ErrorCode.None, second.Call<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest(), 0).ErrorCode);
        using var third = new RawClient(_b.Port); // the kernel completes the handshake; the broker does not accept
        int id = third.Send(new ApiVersionsRequest(), 0);
        var answer = Task.Run(() => third.ReadFrame(flexibleHeader: false));
        await Task.Delay(500);
        Assert.False(answer.IsCompleted, "the third connection was served while two were open");
        Assert.Equal(2, _b.Server.ConnectionCount);
        first.Dispose();
        var (corr, _) = await answer.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(id, corr);
        Assert.Equal(ErrorCode.None, second.Call<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest(), 0).ErrorCode);
    }

    private void SetMaxConnections(string value)
    {
        var r = _b.Broker.ChangeBrokerConfigs("1", validateOnly: false, _ => (new() { ["max.connections"] = value }, default));
        Assert.True(r.Ok, r.Message);
    }

    /// <summary>max.connections is a dynamic broker config: a raised limit lets waiting connections in at once; a lowered
    /// one closes nothing, and new connections wait until enough of the open ones have closed.</summary>
    [Fact]
    public async Task ADynamicChangeMovesTheLimit()
    {
        var open = new List<RawClient> { new(_b.Port), new(_b.Port) };
        try
        {
            Assert.All(open, c => Assert.Equal(ErrorCode.None, c.Call<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest(), 0).ErrorCode));
            var third = new RawClient(_b.Port);
            open.Add(third);
            third.Send(new ApiVersionsRequest(), 0);
            var answer = Task.Run(() => third.ReadFrame(flexibleHeader: false));
            await Task.Delay(300);
            Assert.False(answer.IsCompleted, "the third connection was served while two were open");
            SetMaxConnections("3");
            await answer.WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(3, _b.Server.MaxConnections);

            // down to 1 with 3 open: all three stay, and a fourth waits until all three have closed
            SetMaxConnections("1");
            Assert.All(open, c => Assert.Equal(ErrorCode.None, c.Call<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest(), 0).ErrorCode));
            using var fourth = new RawClient(_b.Port);
            fourth.Send(new ApiVersionsRequest(), 0);
            var late = Task.Run(() => fourth.ReadFrame(flexibleHeader: false));
            for (int i = 0; i < 2; i++)
            {
                open[0].Dispose();
                open.RemoveAt(0);
                await Task.Delay(300);
                Assert.False(late.IsCompleted, $"served with {open.Count} open under max.connections=1");
            }
            open[0].Dispose();
            open.RemoveAt(0);
            await late.WaitAsync(TimeSpan.FromSeconds(20));
        }
        finally
        {
            foreach (var c in open) c.Dispose();
        }
    }
}

/// <summary>queued.max.request.bytes: a request's size is reserved from one broker-wide budget when its length is read,
/// before its bytes are buffered; a request that does not fit waits (reading nothing) until others are served.</summary>
public sealed class QueuedRequestBytesTests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(settings: new Dictionary<string, string>
        {
            ["socket.request.max.bytes"] = "200000",
            ["queued.max.request.bytes"] = "200000",
        });
        _b.Broker.CreateTopic("queued", 1, 1, new(), validateOnly: false);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    private static byte[] ProduceFrame(int valueBytes, int correlationId)
    {
        var b = new RecordBatchBuilder();
        b.Add("k"u8, new byte[valueBytes], DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        return RawClient.Frame(new ProduceRequest
        {
            Acks = 1, TimeoutMs = 5000,
            TopicData = [new() { Name = "queued", PartitionData = [new() { Index = 0, Records = b.Build() }] }],
        }, 8, correlationId);
    }

    private static async Task WaitFor(Func<bool> condition, string what)
    {
        for (int i = 0; i < 400 && !condition(); i++) await Task.Delay(25);
        Assert.True(condition(), what);
    }

    [Fact]
    public async Task ARequestThatDoesNotFitWaitsUntilMemoryIsFree()
    {
        var pool = _b.Server.RequestMemory;
        using var a = new RawClient(_b.Port);
        using var c = new RawClient(_b.Port);
        using var small = new RawClient(_b.Port);
        var frameA = ProduceFrame(150_000, 1);
        var frameC = ProduceFrame(100_000, 2);
        // A: all but the last bytes of a 150 kB request; its whole size is reserved
        a.SendRaw(frameA[..^100]);
        await WaitFor(() => pool.InUse >= frameA.Length, $"A reserved {pool.InUse} bytes");
        // a small request still fits beside it
        Assert.Equal(ErrorCode.None, small.Call<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest(), 0).ErrorCode);
        // C: 100 kB more does not fit: its connection waits before buffering anything
        c.SendRaw(frameC);
        await WaitFor(() => pool.Waiting == 1, $"{pool.Waiting} connections waiting");
        Assert.True(pool.InUse <= 200_000);
        // A completes: it is served, and C goes on
        a.SendRaw(frameA[^100..]);
        var (corrA, _) = a.ReadFrame(flexibleHeader: false);
        Assert.Equal(1, corrA);
        var (corrC, body) = c.ReadFrame(flexibleHeader: false);
        Assert.Equal(2, corrC);
        var r = new KafkaReader(body);
        var produced = ProduceResponse.Read(ref r, 8).Responses[0].PartitionResponses[0];
        Assert.Equal((ErrorCode.None, 1L), (produced.ErrorCode, produced.BaseOffset));
        await WaitFor(() => pool.InUse == 0 && pool.Waiting == 0, $"{pool.InUse} bytes still reserved");
    }

    [Fact]
    public void KafkasCrossKeyRulesAreChecked()
    {
        var cfg = new BrokerConfig();
        cfg.Apply("queued.max.request.bytes", "1000");
        Assert.Equal("queued.max.request.bytes must be larger or equal to socket.request.max.bytes", cfg.CheckConsistency());
        cfg.Apply("queued.max.request.bytes", "-1");
        Assert.Null(cfg.CheckConsistency());
        cfg.Apply("max.connections.per.ip", "0");
        Assert.Contains("max.connections.per.ip can be set to zero only if", cfg.CheckConsistency());
        cfg.Apply("max.connections.per.ip.overrides", "10.0.0.1:5");
        Assert.Null(cfg.CheckConsistency());
        cfg.Apply("max.connections.per.ip.overrides", "10.0.0.1");
        Assert.Contains("max.connections.per.ip.overrides", cfg.CheckConsistency());
    }
}

/// <summary>While a request waits (a long-polling Fetch), the requests pipelined behind it are not read ahead into
/// memory: they stay in the socket (the client's writes block), and are served after it, in order.</summary>
public sealed class PipelinedBehindLongPollTests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start();
        _b.Broker.CreateTopic("lp", 1, 1, new(), validateOnly: false);
        _b.Broker.CreateTopic("lp-bulk", 1, 1, new(), validateOnly: false);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    [Fact]
    public async Task RequestsBehindALongPollStayInTheSocketAndAreServedInOrder()
    {
        using var c = new RawClient(_b.Port);
        var fetch = RawClient.Frame(new FetchRequest
        {
            ReplicaId = -1, MaxWaitMs = 2000, MinBytes = 1, MaxBytes = 1 << 20,
            Topics = [new() { Topic = "lp", Partitions = [new() { Partition = 0, FetchOffset = 0, PartitionMaxBytes = 1 << 20 }] }],
        }, 11, 1);
        // 48 MB of acks=0 produce requests (no answers) behind it: far more than the socket buffers hold, so the
        // writes block until the broker reads again, which it does only after the fetch
        const int frames = 480;
        var b = new RecordBatchBuilder();
        b.Add("k"u8, new byte[100_000], DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var produce = RawClient.Frame(new ProduceRequest
        {
            Acks = 0, TimeoutMs = 5000,
            TopicData = [new() { Name = "lp-bulk", PartitionData = [new() { Index = 0, Records = b.Build() }] }],
        }, 8, 2);
        var last = RawClient.Frame(new ApiVersionsRequest(), 0, 3);
        c.SendRaw(fetch);
        var writer = Task.Run(() =>
        {
            for (int i = 0; i < frames; i++) c.SendRaw(produce);
            c.SendRaw(last);
        });
        await Task.Delay(1000);
        Assert.False(writer.IsCompleted, "48 MB behind a waiting fetch were taken in");
        Assert.Equal(0, _b.Broker.Logs.Get("lp-bulk")!.Partitions[0].HighWatermark);
        var (first, _) = c.ReadFrame(flexibleHeader: false);
        Assert.Equal(1, first); // the fetch answers first, after its wait
        var (next, _) = c.ReadFrame(flexibleHeader: false);
        Assert.Equal(3, next); // then the ApiVersions behind every produce
        await writer.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(frames, _b.Broker.Logs.Get("lp-bulk")!.Partitions[0].HighWatermark);
    }
}
