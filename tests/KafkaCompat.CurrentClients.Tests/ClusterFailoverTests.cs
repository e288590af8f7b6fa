using Confluent.Kafka;
using Confluent.Kafka.Admin;
using KafkaCompat.Testing;
using KafkaCompat.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace KafkaCompat.CurrentClients.Tests;

/// <summary>Three brokers in one process with Confluent.Kafka 2.16.0 (librdkafka 2.16): the scenarios of
/// <see cref="ClusterScenarioTests"/>, and preferred leader election through the admin client (ElectLeaders).</summary>
public sealed class ClusterFailoverTests(ITestOutputHelper output) : ClusterScenarioTests(output, "2.16", validatesPositions: true)
{
    [Fact]
    public async Task ElectLeadersGivesPreferredLeadersBack()
    {
        await ClusterScenarios.CreateTopic(Kafka, "elect", 2, 3);
        var t = Kafka.Broker.Logs.Get("elect")!;
        int preferred = Kafka.Broker.Cluster.Partition(t, 0).Replicas[0];
        Assert.True(await Kafka.Cluster.StopBrokerAsync(preferred));
        Assert.True(await Kafka.Cluster.StartBrokerAsync(preferred));
        Assert.NotEqual(preferred, Kafka.Broker.Cluster.Partition(t, 0).Leader); // back as a follower
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = Kafka.BootstrapServers }).Build();
        var parts = new[] { new TopicPartition("elect", 0), new TopicPartition("elect", 1) };
        // partition 1's preferred leader may lead already: that one is ELECTION_NOT_NEEDED, which the client reports
        ElectLeadersResult result;
        try
        {
            result = await admin.ElectLeadersAsync(ElectionType.Preferred, parts);
        }
        catch (ElectLeadersException e)
        {
            result = new ElectLeadersResult { TopicPartitions = e.Results.TopicPartitions };
        }
        var p0 = result.TopicPartitions.Single(p => p.Partition == 0);
        Assert.False(p0.Error.IsError, p0.Error.ToString());
        Assert.Equal(preferred, Kafka.Broker.Cluster.Partition(t, 0).Leader);
        // asked again: nothing to do, and the client says so per partition
        var again = await Assert.ThrowsAsync<ElectLeadersException>(() => admin.ElectLeadersAsync(ElectionType.Preferred, parts));
        Assert.All(again.Results.TopicPartitions, p => Assert.Equal(ErrorCode.ElectionNotNeeded, p.Error.Code));
        // a partition that does not exist
        var unknown = await Assert.ThrowsAsync<ElectLeadersException>(() => admin.ElectLeadersAsync(ElectionType.Preferred, [new TopicPartition("elect", 7)]));
        Assert.Equal(ErrorCode.UnknownTopicOrPart, unknown.Results.TopicPartitions.Single().Error.Code);
    }
}
