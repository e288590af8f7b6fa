using KafkaCompat.Testing;
using KafkaCompat.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace KafkaCompat.Compat.Tests;

/// <summary>Transactions of the stock clients on Debian's librdkafka 2.0.2 (Confluent.Kafka 1.9.3,
/// confluent-kafka-python) and kafkajs 2.2.4.</summary>
public sealed class TransactionTests(ITestOutputHelper output) : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;
    private static string Suffix => Guid.NewGuid().ToString("N")[..8];

    /// <summary>Short group timings, and timed-out transactions looked for every 200 ms.</summary>
    internal static readonly Dictionary<string, string> Settings = new(ConfluentGroupTests.FastGroups)
    {
        ["transaction.abort.timed.out.transaction.cleanup.interval.ms"] = "200",
    };

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(settings: Settings);
        return _b.Broker.Groups.WaitLoadedAsync();
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    [Fact]
    public Task ConfluentKafkaCommitAbortAndTheTwoViews() => TransactionScenarios.CommitAbortAndTheTwoViews(_b, "txv-" + Suffix);

    [Fact]
    public Task ConfluentKafkaConsumeTransformProduce() => TransactionScenarios.ConsumeTransformProduce(_b, Suffix);

    [Fact]
    public Task ConfluentKafkaFencing() => TransactionScenarios.ASecondInstanceFencesTheFirst(_b, "txf-" + Suffix);

    [Fact]
    public Task ConfluentKafkaTimeout() => TransactionScenarios.ATimedOutTransactionIsAborted(_b, "txt-" + Suffix);

    [Fact]
    public Task ConfluentKafkaPythonOnDebianLibrdkafka() =>
        ClientScripts.RunAsync(output, _b.Port, "/usr/bin/python3", "confluent_transactions_test.py", Suffix, "2.0.2");

    [Fact]
    public Task KafkaJs() => ClientScripts.RunAsync(output, _b.Port, "node", "kafkajs_transactions_test.js", Suffix);
}
