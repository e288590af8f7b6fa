using Confluent.Kafka;
using KafkaCompat.Testing;
using Xunit;

public class SmokeTests
{
    [Fact]
    public async Task ProduceAndConsume()
    {
        await using var b = EmbeddedBroker.Start();
        using var p = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = b.BootstrapServers }).Build();
        var r = await p.ProduceAsync("smoke", new Message<string, string> { Key = "k", Value = "v" });
        Assert.Equal(0, r.Offset.Value);
    }
}
