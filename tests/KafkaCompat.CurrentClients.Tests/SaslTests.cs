using Confluent.Kafka;
using KafkaCompat.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace KafkaCompat.CurrentClients.Tests;

/// <summary>SASL/PLAIN with librdkafka 2.16 (SaslHandshake v1, SaslAuthenticate v1): confluent-kafka-python's script on
/// it, and Confluent.Kafka 2.16 in this process over SASL_SSL, refused with a wrong password.</summary>
public sealed class SaslTests(ITestOutputHelper output) : SecureListenersTest(output, sasl: true)
{
    [Fact]
    public Task ConfluentKafkaPythonOnLibrdkafka216() =>
        RunScript("/usr/bin/python3", "sasl_test.py", CurrentLibrdkafka.PythonEnvironment, "confluent");

    [Fact]
    public async Task ConfluentKafkaOverSaslSsl()
    {
        Assert.StartsWith("2.16", Library.VersionString);
        ClientConfig Client(string password) => new()
        {
            BootstrapServers = $"localhost:{Broker.Server.BoundPorts[2]}",
            SecurityProtocol = SecurityProtocol.SaslSsl,
            SslCaLocation = Pki.Ca,
            SaslMechanism = SaslMechanism.Plain,
            SaslUsername = "bob",
            SaslPassword = password,
        };
        using (var producer = new ProducerBuilder<Null, string>(new ProducerConfig(Client("bob-secret"))).Build())
            Assert.Equal(PersistenceStatus.Persisted, (await producer.ProduceAsync("dotnet-sasl", new Message<Null, string> { Value = "as-bob" })).Status);
        using (var consumer = new ConsumerBuilder<Ignore, string>(new ConsumerConfig(Client("bob-secret")) { GroupId = "dotnet-sasl", AutoOffsetReset = AutoOffsetReset.Earliest }).Build())
        {
            consumer.Subscribe("dotnet-sasl");
            Assert.Equal("as-bob", consumer.Consume(TimeSpan.FromSeconds(30))?.Message.Value);
            consumer.Close();
        }
        // a wrong password: librdkafka reports the broker's reason as an authentication error
        var errors = new List<Error>();
        using var refused = new ProducerBuilder<Null, string>(new ProducerConfig(Client("wrong")) { MessageTimeoutMs = 5000 })
            .SetErrorHandler((_, e) => { lock (errors) errors.Add(e); }).Build();
        await Assert.ThrowsAsync<ProduceException<Null, string>>(() => refused.ProduceAsync("dotnet-sasl", new Message<Null, string> { Value = "x" }));
        lock (errors) Assert.Contains(errors, e => e.Reason.Contains("SASL authentication error: Authentication failed: Invalid username or password"));
        Assert.Equal(1, Broker.Broker.Logs.Get("dotnet-sasl")!.Partitions[0].HighWatermark);
    }
}
