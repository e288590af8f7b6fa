using Confluent.Kafka;
using Confluent.Kafka.Admin;
using KafkaCompat.Protocol;
using KafkaCompat.Testing;
using Xunit;

namespace KafkaCompat.TestSupport;

/// <summary>Idempotent-producer scenarios for Confluent.Kafka, linked into the test project of each Confluent.Kafka
/// version (1.9.3 on Debian's librdkafka, 2.16.0 on its own), so both run the same checks.</summary>
internal static class IdempotenceScenarios
{
    /// <summary>An idempotent producer sends while the broker drops some Produce responses after appending; every
    /// record is delivered, reported at the offset it is stored at, and stored exactly once, in order.</summary>
    public static async Task RetriedBatchesAreStoredOnce(EmbeddedBroker b, string topic)
    {
        using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = b.BootstrapServers }).Build())
            await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = 2, ReplicationFactor = 1 }]);
        int droppedBefore = b.Broker.Faults.Dropped;
        b.Broker.Faults.DropResponses(ApiKey.Produce, every: 5, times: 4);
        const int n = 400;
        var reports = new DeliveryResult<string, string>[n];
        using (var p = new ProducerBuilder<string, string>(new ProducerConfig
        {
            BootstrapServers = b.BootstrapServers,
            EnableIdempotence = true,
            LingerMs = 2,
            BatchNumMessages = 20,
            RetryBackoffMs = 50,
        }).Build())
        {
            var pending = new List<Task>();
            for (int i = 0; i < n; i++)
            {
                int k = i;
                pending.Add(p.ProduceAsync(new TopicPartition(topic, i % 2), new Message<string, string> { Key = (i % 2).ToString(), Value = i.ToString() })
                    .ContinueWith(t => reports[k] = t.Result, TaskContinuationOptions.ExecuteSynchronously));
                if (i % 40 == 0) await Task.Delay(10); // many produce requests
            }
            await Task.WhenAll(pending);
        }
        Assert.True(b.Broker.Faults.Dropped - droppedBefore >= 2, $"only {b.Broker.Faults.Dropped - droppedBefore} responses were dropped");
        var logs = b.Broker.Logs.Get(topic)!.Partitions;
        Assert.True(logs.Sum(l => l.DuplicatesAnswered) >= 1, "no retried batch reached the broker");

        using var c = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = b.BootstrapServers,
            GroupId = "idem-read-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            EnablePartitionEof = true,
        }).Build();
        c.Assign([new TopicPartitionOffset(topic, 0, 0), new TopicPartitionOffset(topic, 1, 0)]);
        var seen = new List<int>[] { new(), new() };
        int eof = 0;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (eof < 2 && DateTime.UtcNow < deadline)
        {
            var r = c.Consume(TimeSpan.FromMilliseconds(500));
            if (r is null) continue;
            if (r.IsPartitionEOF) { eof++; continue; }
            seen[r.Partition.Value].Add(int.Parse(r.Message.Value));
            Assert.Equal(r.Offset.Value, reports[int.Parse(r.Message.Value)].Offset.Value);
        }
        for (int q = 0; q < 2; q++)
            Assert.Equal(Enumerable.Range(0, n).Where(i => i % 2 == q), seen[q]);
    }
}
