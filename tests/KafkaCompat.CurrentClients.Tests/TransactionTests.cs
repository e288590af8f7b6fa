using KafkaCompat.Testing;
using KafkaCompat.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace KafkaCompat.CurrentClients.Tests;

/// <summary>Transactions on librdkafka 2.16 (Confluent.Kafka 2.16.0, and Debian's confluent-kafka-python given the
/// same library).</summary>
public sealed class TransactionTests(ITestOutputHelper output) : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;
    private static string Suffix => Guid.NewGuid().ToString("N")[..8];

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(settings: new Dictionary<string, string>
        {
            ["group.initial.rebalance.delay.ms"] = "0",
            ["group.min.session.timeout.ms"] = "1000",
            ["transaction.abort.timed.out.transaction.cleanup.interval.ms"] = "200",
        });
        return _b.Broker.Groups.WaitLoadedAsync();
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    [Fact]
    public Task CommitAbortAndTheTwoViews() => TransactionScenarios.CommitAbortAndTheTwoViews(_b, "txv-" + Suffix);

    [Fact]
    public Task ConsumeTransformProduce() => TransactionScenarios.ConsumeTransformProduce(_b, Suffix);

    [Fact]
    public Task Fencing() => TransactionScenarios.ASecondInstanceFencesTheFirst(_b, "txf-" + Suffix);

    [Fact]
    public Task Timeout() => TransactionScenarios.ATimedOutTransactionIsAborted(_b, "txt-" + Suffix);

    [Fact]
    public Task ConfluentKafkaPythonOnLibrdkafka216() =>
        ClientScripts.RunAsync(output, _b.Port, "/usr/bin/python3", "confluent_transactions_test.py", CurrentLibrdkafka.PythonEnvironment, Suffix, "2.16.0");
}
