using Xunit;

namespace KafkaCompat.CurrentClients.Tests;

public sealed class ClientVersionTests
{
    /// <summary>The tests of this project are only worth something on the current librdkafka: fail, never fall back.</summary>
    [Fact]
    public void ConfluentKafkaRunsOnItsOwnLibrdkafka216() =>
        Assert.Equal("2.16.0", Confluent.Kafka.Library.VersionString);
}
