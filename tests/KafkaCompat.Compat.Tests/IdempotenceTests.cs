using KafkaCompat.Protocol;
using KafkaCompat.Testing;
using KafkaCompat.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace KafkaCompat.Compat.Tests;

/// <summary>Idempotent producers of the stock clients on Debian's librdkafka 2.0.2 (Confluent.Kafka 1.9.3,
/// confluent-kafka-python) and kafkajs 2.2.4, while the broker drops some Produce responses after appending,
/// so the clients retry batches it already holds.</summary>
public sealed class IdempotenceTests(ITestOutputHelper output) : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(settings: ConfluentGroupTests.FastGroups);
        return _b.Broker.Groups.WaitLoadedAsync();
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    [Fact]
    public Task ConfluentKafkaRetriedBatchesAreStoredOnce() =>
        IdempotenceScenarios.RetriedBatchesAreStoredOnce(_b, "idem-cs-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public async Task ConfluentKafkaPythonOnDebianLibrdkafka()
    {
        string suffix = Guid.NewGuid().ToString("N")[..8];
        _b.Broker.Faults.DropResponses(ApiKey.Produce, every: 4, times: 4);
        await ClientScripts.RunAsync(output, _b.Port, "/usr/bin/python3", "confluent_idempotence_test.py", suffix, "2.0.2");
        Assert.True(_b.Broker.Logs.Get("idem-py-" + suffix)!.Partitions.Sum(p => p.DuplicatesAnswered) >= 1, "no retried batch reached the broker");
    }

    [Fact]
    public async Task KafkaJs()
    {
        string suffix = Guid.NewGuid().ToString("N")[..8];
        _b.Broker.Faults.DropResponses(ApiKey.Produce, every: 4, times: 3);
        await ClientScripts.RunAsync(output, _b.Port, "node", "kafkajs_idempotence_test.js", suffix);
        Assert.True(_b.Broker.Logs.Get("idem-js-" + suffix)!.Partitions.Sum(p => p.DuplicatesAnswered) >= 1, "no retried batch reached the broker");
    }
}
