using KafkaCompat.Testing;
using KafkaCompat.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace KafkaCompat.Compat.Tests;

/// <summary>
/// Three brokers in one process, driven through the admin HTTP API by the stock-client failover scripts of
/// tests/clients: librdkafka 2.0.2 (confluent-kafka-python, with and without idempotence), kafka-python 2.0.2 and
/// kafkajs 2.2.4 (with and without idempotence) keep producing with acks=all and consuming in a group while the
/// leader's broker and the group coordinator's broker are stopped and started, retriable errors are injected and
/// retried, and a fatal one reaches the application. Nothing acknowledged is lost; nothing is written twice with
/// idempotence.
/// </summary>
public sealed class ClusterFailoverProcessTests(ITestOutputHelper output) : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;
    private string _admin = "";

    internal static readonly Dictionary<string, string> FastCluster = new()
    {
        ["group.initial.rebalance.delay.ms"] = "0",
        ["group.min.session.timeout.ms"] = "1000",
    };

    public async Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(brokers: 3, settings: FastCluster);
        _admin = (await _b.StartAdminAsync()).Url;
        await _b.Broker.Groups.WaitLoadedAsync();
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    [Theory]
    [InlineData("idempotent")]
    [InlineData("plain")]
    public Task Librdkafka202(string mode) =>
        ClientScripts.RunAsync(output, _b.Port, "/usr/bin/python3", "confluent_failover_test.py", suffix: null, _b.BootstrapServers, _admin, mode, "2.0.2");

    [Fact]
    public Task KafkaPython() =>
        ClientScripts.RunAsync(output, _b.Port, "/usr/bin/python3", "kafka_python_failover_test.py", suffix: null, _b.BootstrapServers, _admin);

    [Theory]
    [InlineData("idempotent")]
    [InlineData("plain")]
    public Task Kafkajs(string mode) =>
        ClientScripts.RunAsync(output, _b.Port, "node", "kafkajs_failover_test.js", suffix: null, _b.BootstrapServers, _admin, mode);

    [Fact]
    public Task KafkajsReassignsPartitions() =>
        ClientScripts.RunAsync(output, _b.Port, "node", "kafkajs_reassign_test.js", suffix: null, _b.BootstrapServers);
}
