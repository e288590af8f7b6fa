using KafkaCompat.TestSupport;
using KafkaCompat.Testing;
using Xunit;
using Xunit.Abstractions;

namespace KafkaCompat.Compat.Tests;

/// <summary>
/// TLS listeners with stock clients (tests/clients/tls_test.py, kafkajs_tls_test.js): kafka-python 2.0.2,
/// confluent-kafka-python on Debian's librdkafka 2.0.2 and kafkajs 2.2.4, against one broker with three listeners: PLAINTEXT, SSL (no client certificate) and
/// MTLS (an SSL listener with ssl.client.auth=required). Each produces and consumes over TLS with the CA and host name
/// checked, sees the ports of the listener it came in on, is served with a client certificate and refused without
/// one, refuses a broker signed by a CA it does not trust, and is refused as a plaintext client on the TLS port, with
/// the broker serving TLS clients afterwards.
/// </summary>
public sealed class TlsTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly TestCertificates _pki = new();
    private EmbeddedBroker _b = null!;

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(settings: _pki.TlsListeners());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _b.DisposeAsync();
        _pki.Dispose();
    }

    private Task Run(string client) => ClientScripts.RunAsync(output, _b.Port, "/usr/bin/python3", "tls_test.py", (IReadOnlyDictionary<string, string>?)null, null,
        _b.Server.BoundPorts[1].ToString(), _b.Server.BoundPorts[2].ToString(), _pki.Dir, client);

    [Fact]
    public Task KafkaPython() => Run("kafka-python");

    [Fact]
    public Task ConfluentKafkaPython() => Run("confluent");

    [Fact]
    public Task KafkaJs() => ClientScripts.RunAsync(output, _b.Port, "node", "kafkajs_tls_test.js", (IReadOnlyDictionary<string, string>?)null, null,
        _b.Server.BoundPorts[1].ToString(), _b.Server.BoundPorts[2].ToString(), _pki.Dir);
}
