using Confluent.Kafka;
using KafkaCompat.Testing;
using KafkaCompat.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace KafkaCompat.Compat.Tests;

/// <summary>Three brokers in one process with Confluent.Kafka 1.9.3 on Debian's librdkafka 2.0.2: the scenarios of
/// <see cref="ClusterScenarios"/>, as the 2.16 test project runs them.</summary>
public sealed class ClusterFailoverTests(ITestOutputHelper output) : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(brokers: 3, settings: ClusterScenarios.Settings);
        return _b.Broker.Groups.WaitLoadedAsync();
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    [Fact]
    public async Task ThreeBrokersListedAndLeadersSpread()
    {
        Assert.StartsWith("2.0.2", Library.VersionString);
        await ClusterScenarios.ThreeBrokersListedAndLeadersSpread(_b);
    }

    [Fact]
    public Task ProducerAndGroupContinueWhileTheLeadersBrokerIsStoppedAndRestarted() =>
        ClusterScenarios.ProducerAndGroupContinueWhileTheLeadersBrokerIsStoppedAndRestarted(_b, output, validatesPositions: false);
}
