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
public sealed class ClusterFailoverProcessTests(ITestOutputHelper output) : ClusterProcessTests
{
    [Theory]
    [InlineData("idempotent")]
    [InlineData("plain")]
    public Task Librdkafka202(string mode) =>
        ClientScripts.RunAsync(output, Kafka.Port, "/usr/bin/python3", "confluent_failover_test.py", suffix: null, Kafka.BootstrapServers, AdminUrl, mode, "2.0.2");

    [Fact]
    public Task KafkaPython() =>
        ClientScripts.RunAsync(output, Kafka.Port, "/usr/bin/python3", "kafka_python_failover_test.py", suffix: null, Kafka.BootstrapServers, AdminUrl);

    [Theory]
    [InlineData("idempotent")]
    [InlineData("plain")]
    public Task Kafkajs(string mode) =>
        ClientScripts.RunAsync(output, Kafka.Port, "node", "kafkajs_failover_test.js", suffix: null, Kafka.BootstrapServers, AdminUrl, mode);

    [Fact]
    public Task KafkajsReassignsPartitions() =>
        ClientScripts.RunAsync(output, Kafka.Port, "node", "kafkajs_reassign_test.js", suffix: null, Kafka.BootstrapServers);
}
