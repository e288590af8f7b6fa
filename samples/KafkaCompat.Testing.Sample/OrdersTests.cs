using Confluent.Kafka;
using KafkaCompat.Testing;
using Xunit;

namespace KafkaCompat.Testing.Sample;

/// <summary>What a user writes: a broker in the test process, a Confluent.Kafka producer and consumer against it.</summary>
public class OrdersTests
{
    [Fact]
    public async Task WhatIsProducedIsConsumedAndCommitted()
    {
        await using var kafka = await EmbeddedKafka.StartAsync();
        await kafka.CreateTopicAsync("orders", partitions: 2);

        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build())
        {
            for (int i = 0; i < 10; i++)
                await producer.ProduceAsync("orders", new Message<string, string> { Key = $"k{i}", Value = $"order {i}" });
        }
        Assert.Equal(10, kafka.EndOffsets("orders").Sum());

        using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = kafka.BootstrapServers,
            GroupId = "billing",
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
        }).Build();
        consumer.Subscribe("orders");
        var seen = new List<string>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (seen.Count < 10 && DateTime.UtcNow < deadline)
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { } r)
            {
                seen.Add(r.Message.Value);
                consumer.Commit(r);
            }
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"order {i}").Order(), seen.Order());
        await kafka.WaitForGroupAsync("billing", members: 1);
        long committed = (kafka.CommittedOffset("billing", "orders", 0) ?? 0) + (kafka.CommittedOffset("billing", "orders", 1) ?? 0);
        Assert.Equal(10, committed);
        consumer.Close();
    }

    [Fact]
    public async Task AProducerRetriesThroughAnInjectedError()
    {
        await using var kafka = await EmbeddedKafka.StartAsync(new EmbeddedKafkaOptions { Settings = { ["num.partitions"] = "1" } });
        int fault = kafka.Faults.FailRequests("Produce", "NOT_LEADER_OR_FOLLOWER", count: 2);
        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build();
        var result = await producer.ProduceAsync("auto-created", new Message<Null, string> { Value = "once" });
        Assert.Equal(0, result.Offset.Value);
        Assert.Equal(0, kafka.Faults.Armed); // both injected errors were answered, then the retry went through
        Assert.False(kafka.Faults.Clear(fault));
    }
}
