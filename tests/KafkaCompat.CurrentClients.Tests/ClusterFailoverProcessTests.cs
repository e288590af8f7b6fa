using KafkaCompat.Testing;
using KafkaCompat.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace KafkaCompat.CurrentClients.Tests;

/// <summary>The failover script of tests/clients on librdkafka 2.16 (confluent-kafka-python through LD_LIBRARY_PATH),
/// with and without idempotence, against three brokers driven through the admin HTTP API: the leader's broker and the
/// coordinator's broker stopped and started, retriable errors injected and retried, a fatal one reported.</summary>
public sealed class ClusterFailoverProcessTests(ITestOutputHelper output) : ClusterProcessTests
{
    [Theory]
    [InlineData("idempotent")]
    [InlineData("plain")]
    public Task Librdkafka216(string mode) =>
        ClientScripts.RunAsync(output, Kafka.Port, "/usr/bin/python3", "confluent_failover_test.py", CurrentLibrdkafka.PythonEnvironment, null,
            Kafka.BootstrapServers, AdminUrl, mode, "2.16.0");
}
