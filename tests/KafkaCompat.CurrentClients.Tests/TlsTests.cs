using Confluent.Kafka;
using KafkaCompat.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace KafkaCompat.CurrentClients.Tests;

/// <summary>TLS listeners with librdkafka 2.16: confluent-kafka-python's script (tests/clients/tls_test.py) on it, and
/// Confluent.Kafka 2.16 in this process with a client certificate on a listener that requires one.</summary>
public sealed class TlsTests(ITestOutputHelper output) : SecureListenersTest(output, sasl: false)
{
    [Fact]
    public Task ConfluentKafkaPythonOnLibrdkafka216() =>
        RunScript("/usr/bin/python3", "tls_test.py", CurrentLibrdkafka.PythonEnvironment, "confluent");

    [Fact]
    public async Task ConfluentKafkaWithAClientCertificate()
    {
        Assert.StartsWith("2.16", Library.VersionString);
        var tls = new ClientConfig
        {
            BootstrapServers = $"localhost:{Broker.Server.BoundPorts[2]}",
            SecurityProtocol = SecurityProtocol.Ssl,
            SslCaLocation = Pki.Ca,
            SslCertificateLocation = Pki.ClientCert,
            SslKeyLocation = Pki.ClientKey,
        };
        using (var producer = new ProducerBuilder<Null, string>(new ProducerConfig(tls)).Build())
        {
            var delivered = await producer.ProduceAsync("dotnet-mtls", new Message<Null, string> { Value = "from-dotnet" });
            Assert.Equal(PersistenceStatus.Persisted, delivered.Status);
        }
        using (var consumer = new ConsumerBuilder<Ignore, string>(new ConsumerConfig(tls) { GroupId = "dotnet-mtls", AutoOffsetReset = AutoOffsetReset.Earliest }).Build())
        {
            consumer.Subscribe("dotnet-mtls");
            var record = consumer.Consume(TimeSpan.FromSeconds(30));
            Assert.Equal("from-dotnet", record?.Message.Value);
            consumer.Close();
        }
        // the same without the certificate: the handshake is refused and nothing is delivered
        var anonymous = new ProducerConfig(new ClientConfig(tls.ToDictionary(kv => kv.Key, kv => kv.Value))) { MessageTimeoutMs = 4000 };
        anonymous.SslCertificateLocation = null;
        anonymous.SslKeyLocation = null;
        using var refused = new ProducerBuilder<Null, string>(anonymous).Build();
        var error = await Assert.ThrowsAsync<ProduceException<Null, string>>(() => refused.ProduceAsync("dotnet-mtls", new Message<Null, string> { Value = "x" }));
        Assert.Equal(ErrorCode.Local_MsgTimedOut, error.Error.Code);
        Assert.Equal(1, Broker.Broker.Logs.Get("dotnet-mtls")!.Partitions[0].HighWatermark);
    }
}
