using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using KafkaCompat.Records;
using KafkaCompat.Testing;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>CreatePartitions and DescribeCluster on the wire.</summary>
public sealed class AdminProtocolTests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;
    private RawClient _c = null!;

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start();
        _c = new RawClient(_b.Port);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _c.Dispose();
        await _b.DisposeAsync();
    }

    private CreatePartitionsResponse.CreatePartitionsTopicResult Grow(string topic, int count, short version = 3, bool validateOnly = false,
        List<CreatePartitionsRequest.CreatePartitionsAssignment>? assignments = null) =>
        _c.Call<CreatePartitionsRequest, CreatePartitionsResponse>(new CreatePartitionsRequest
        {
            Topics = [new() { Name = topic, Count = count, Assignments = assignments }],
            TimeoutMs = 5000,
            ValidateOnly = validateOnly,
        }, version).Results.Single();

    private int MetadataPartitions(string topic) =>
        _c.Call<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [new() { Name = topic }] }, 9)
            .Topics.Single().Partitions.Count;

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void CreatePartitionsGrowsATopicThatThenTakesWritesOnTheNewPartitions(short version)
    {
        string topic = $"grow-v{version}";
        GroupProtocolTests.CreateTopic(_c, topic, 2);
        Assert.Equal(ErrorCode.None, Grow(topic, 5, version, validateOnly: true).ErrorCode);
        Assert.Equal(2, MetadataPartitions(topic));

        var r = Grow(topic, 5, version);
        Assert.Equal((topic, ErrorCode.None, (string?)null), (r.Name, r.ErrorCode, r.ErrorMessage));
        Assert.Equal(5, MetadataPartitions(topic));

        var b = new RecordBatchBuilder();
        b.Add("k"u8, "on the new partition"u8, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var produced = _c.Call<ProduceRequest, ProduceResponse>(new ProduceRequest
        {
            Acks = -1, TimeoutMs = 5000,
            TopicData = [new() { Name = topic, PartitionData = [new() { Index = 4, Records = b.Build() }] }],
        }, 8).Responses[0].PartitionResponses[0];
        Assert.Equal((ErrorCode.None, 0L), (produced.ErrorCode, produced.BaseOffset));
    }

    [Fact]
    public async Task AddedPartitionsSurviveARestart()
    {
        string dir = Path.Combine(Path.GetTempPath(), "kafkacompat-grow-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            await using (var b = EmbeddedBroker.Start(dir))
            {
                using var c = new RawClient(b.Port);
                GroupProtocolTests.CreateTopic(c, "kept", 1);
                var r = c.Call<CreatePartitionsRequest, CreatePartitionsResponse>(new CreatePartitionsRequest
                {
                    Topics = [new() { Name = "kept", Count = 3 }], TimeoutMs = 5000,
                }, 3);
                Assert.Equal(ErrorCode.None, r.Results[0].ErrorCode);
            }
            await using (var again = EmbeddedBroker.Start(dir))
            {
                Assert.Equal(3, again.Broker.Logs.Get("kept")!.Partitions.Length);
                Assert.True(Directory.Exists(Path.Combine(dir, "kept-2")));
            }
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void CreatePartitionsRefusesWhatKafkaRefuses()
    {
        GroupProtocolTests.CreateTopic(_c, "fixed", 3);
        var same = Grow("fixed", 3);
        Assert.Equal(ErrorCode.InvalidPartitions, same.ErrorCode);
        Assert.Equal("Topic already has 3 partition(s).", same.ErrorMessage);
        var fewer = Grow("fixed", 2);
        Assert.Equal(ErrorCode.InvalidPartitions, fewer.ErrorCode);
        Assert.Equal("The topic fixed currently has 3 partition(s); 2 would not be an increase.", fewer.ErrorMessage);
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, Grow("no-such-topic", 4).ErrorCode);
        Assert.Equal(ErrorCode.InvalidTopicException, Grow("bad name!", 4).ErrorCode);

        // manual assignments: one per new partition, on this broker only
        Assert.Equal(ErrorCode.InvalidReplicaAssignment, Grow("fixed", 5, assignments: [new() { BrokerIds = [1] }]).ErrorCode);
        Assert.Equal(ErrorCode.InvalidReplicaAssignment,
            Grow("fixed", 5, assignments: [new() { BrokerIds = [1] }, new() { BrokerIds = [2] }]).ErrorCode);
        Assert.Equal(3, MetadataPartitions("fixed"));
        Assert.Equal(ErrorCode.None, Grow("fixed", 5, assignments: [new() { BrokerIds = [1] }, new() { BrokerIds = [1] }]).ErrorCode);
        Assert.Equal(5, MetadataPartitions("fixed"));

        var dup = _c.Call<CreatePartitionsRequest, CreatePartitionsResponse>(new CreatePartitionsRequest
        {
            Topics = [new() { Name = "fixed", Count = 8 }, new() { Name = "fixed", Count = 9 }], TimeoutMs = 5000,
        }, 3);
        var dupResult = Assert.Single(dup.Results); // one answer per name
        Assert.Equal((ErrorCode.InvalidRequest, "Duplicate topic name."), (dupResult.ErrorCode, dupResult.ErrorMessage));
        Assert.Equal(5, MetadataPartitions("fixed"));
    }

    [Fact]
    public void ABatchLargerThanSegmentBytesStillFitsASegment()
    {
        var r = _c.Call<CreateTopicsRequest, CreateTopicsResponse>(new CreateTopicsRequest
        {
            Topics = [new() { Name = "tiny-segments", NumPartitions = 1, ReplicationFactor = 1, Configs = [new() { Name = "segment.bytes", Value = "1024" }] }],
        }, 5);
        Assert.Equal(ErrorCode.None, r.Topics[0].ErrorCode);
        for (int i = 0; i < 3; i++)
        {
            var b = new RecordBatchBuilder();
            b.Add("k"u8, new byte[4000], DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            var produced = _c.Call<ProduceRequest, ProduceResponse>(new ProduceRequest
            {
                Acks = -1, TimeoutMs = 5000,
                TopicData = [new() { Name = "tiny-segments", PartitionData = [new() { Index = 0, Records = b.Build() }] }],
            }, 8).Responses[0].PartitionResponses[0];
            Assert.Equal((ErrorCode.None, (long)i), (produced.ErrorCode, produced.BaseOffset));
        }
        // like Kafka, one batch may overflow segment.bytes; each one then gets its own segment
        Assert.Equal(3, _b.Broker.Logs.Get("tiny-segments")!.Partitions[0].Segments.Count);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void DescribeClusterNamesThisBrokerAsTheController(short version)
    {
        var r = _c.Call<DescribeClusterRequest, DescribeClusterResponse>(new DescribeClusterRequest { IncludeClusterAuthorizedOperations = true }, version);
        Assert.Equal(ErrorCode.None, r.ErrorCode);
        Assert.Equal(_b.Broker.ClusterId, r.ClusterId);
        Assert.Equal(1, r.ControllerId);
        var only = Assert.Single(r.Brokers);
        Assert.Equal((1, "127.0.0.1", _b.Port), (only.BrokerId, only.Host, only.Port));
        Assert.Null(only.Rack);
        Assert.NotEqual(int.MinValue, r.ClusterAuthorizedOperations);
        Assert.True((r.ClusterAuthorizedOperations & (1 << 8)) != 0); // DESCRIBE

        var noOps = _c.Call<DescribeClusterRequest, DescribeClusterResponse>(new DescribeClusterRequest(), version);
        Assert.Equal(int.MinValue, noOps.ClusterAuthorizedOperations);
    }

    [Fact]
    public void DescribeClusterForControllersIsTheWrongEndpoint()
    {
        var r = _c.Call<DescribeClusterRequest, DescribeClusterResponse>(new DescribeClusterRequest { EndpointType = 2 }, 1);
        Assert.Equal(ErrorCode.MismatchedEndpointType, r.ErrorCode);
        Assert.Empty(r.Brokers);
        var odd = _c.Call<DescribeClusterRequest, DescribeClusterResponse>(new DescribeClusterRequest { EndpointType = 7 }, 1);
        Assert.Equal(ErrorCode.UnsupportedEndpointType, odd.ErrorCode);
    }
}
