using Confluent.Kafka;
using KafkaCompat.Testing;
using Xunit;

namespace KafkaCompat.Testing.Sample;

/// <summary>The fixture's options and controls, as a test author uses them.</summary>
public class FixtureTests
{
    private static async Task ProduceAsync(EmbeddedKafka kafka, string topic, int count)
    {
        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers, Acks = Acks.All }).Build();
        for (int i = 0; i < count; i++) await producer.ProduceAsync(topic, new Message<Null, string> { Value = $"v{i}" });
    }

    [Fact]
    public async Task ATemporaryLogIsRemovedAndAKeptOneReopens()
    {
        string temporary;
        await using (var kafka = await EmbeddedKafka.StartAsync())
        {
            temporary = kafka.DataDirectory;
            Assert.True(Directory.Exists(temporary));
        }
        Assert.False(Directory.Exists(temporary), "the temporary data directory outlived the broker");

        var kept = Directory.CreateTempSubdirectory("sample-kept-").FullName;
        try
        {
            await using (var kafka = await EmbeddedKafka.StartAsync(new EmbeddedKafkaOptions { DataDirectory = kept }))
            {
                await kafka.CreateTopicAsync("kept", partitions: 1);
                await ProduceAsync(kafka, "kept", 5);
            }
            Assert.True(Directory.Exists(kept));
            await using (var again = await EmbeddedKafka.StartAsync(new EmbeddedKafkaOptions { DataDirectory = kept }))
                Assert.Equal([5L], again.EndOffsets("kept"));
        }
        finally
        {
            Directory.Delete(kept, recursive: true);
        }
    }

    [Fact]
    public async Task BrokerSettingsTakeKafkasKeysAndABadOneFailsTheStart()
    {
        await using (var kafka = await EmbeddedKafka.StartAsync(new EmbeddedKafkaOptions { Settings = { ["num.partitions"] = "4" } }))
        {
            await kafka.CreateTopicAsync("defaulted");
            Assert.Equal(4, kafka.EndOffsets("defaulted").Count);
            var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => kafka.CreateTopicAsync("defaulted"));
            Assert.Contains("TOPIC_ALREADY_EXISTS", refused.Message);
        }
        await Assert.ThrowsAnyAsync<ArgumentException>(() => EmbeddedKafka.StartAsync(new EmbeddedKafkaOptions { Settings = { ["num.partitions"] = "many" } }));
    }

    [Fact]
    public async Task AClusterKeepsTakingWritesWhenTheLeaderStops()
    {
        await using var kafka = await EmbeddedKafka.StartAsync(new EmbeddedKafkaOptions { Brokers = 3 });
        Assert.Equal([1, 2, 3], kafka.BrokerIds);
        Assert.Equal(3, kafka.BootstrapServers.Split(',').Length);
        await kafka.CreateTopicAsync("replicated", partitions: 1, replicationFactor: 3);
        await ProduceAsync(kafka, "replicated", 3);
        int leader = kafka.LeaderOf("replicated", 0);
        await kafka.StopBrokerAsync(leader);
        Assert.NotEqual(leader, kafka.LeaderOf("replicated", 0));
        await ProduceAsync(kafka, "replicated", 3);
        Assert.Equal([6L], kafka.EndOffsets("replicated"));
        await kafka.StartBrokerAsync(leader);
        await Assert.ThrowsAsync<InvalidOperationException>(() => kafka.StartBrokerAsync(leader)); // already running
    }

    [Fact]
    public async Task WaitingForAGroupTimesOutWhenNoOneJoins()
    {
        await using var kafka = await EmbeddedKafka.StartAsync();
        Assert.Equal(("Dead", 0), kafka.GroupState("nobody"));
        await Assert.ThrowsAsync<TimeoutException>(() => kafka.WaitForGroupAsync("nobody", timeout: TimeSpan.FromMilliseconds(200)));
    }
}
