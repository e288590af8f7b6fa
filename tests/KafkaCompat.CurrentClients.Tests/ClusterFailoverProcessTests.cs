using KafkaCompat.Testing;
using KafkaCompat.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace KafkaCompat.CurrentClients.Tests;

/// <summary>The failover script of tests/clients on librdkafka 2.16 (confluent-kafka-python through LD_LIBRARY_PATH),
/// with and without idempotence, against three brokers driven through the admin HTTP API: the leader's broker and the
/// coordinator's broker stopped and started, retriable errors injected and retried, a fatal one reported.</summary>
public sealed class ClusterFailoverProcessTests(ITestOutputHelper output) : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;
    private string _admin = "";

    public async Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(brokers: 3, settings: new Dictionary<string, string>
        {
            ["group.initial.rebalance.delay.ms"] = "0",
            ["group.min.session.timeout.ms"] = "1000",
        });
        _admin = (await _b.StartAdminAsync()).Url;
        await _b.Broker.Groups.WaitLoadedAsync();
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    [Theory]
    [InlineData("idempotent")]
    [InlineData("plain")]
    public Task Librdkafka216(string mode) =>
        ClientScripts.RunAsync(output, _b.Port, "/usr/bin/python3", "confluent_failover_test.py", CurrentLibrdkafka.PythonEnvironment, null,
            _b.BootstrapServers, _admin, mode, "2.16.0");
}
