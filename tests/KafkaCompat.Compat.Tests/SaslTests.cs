using KafkaCompat.TestSupport;
using KafkaCompat.Testing;
using Xunit;
using Xunit.Abstractions;

namespace KafkaCompat.Compat.Tests;

/// <summary>
/// SASL/PLAIN with stock clients (tests/clients/sasl_test.py, kafkajs_sasl_test.js): kafka-python 2.0.2 (handshake v0
/// and raw token frames), confluent-kafka-python on librdkafka 2.0.2 (handshake v1, SaslAuthenticate v0) and kafkajs
/// 2.2.4 (SaslAuthenticate v1), over SASL_PLAINTEXT and SASL_SSL listeners: the right credentials are served, a wrong
/// password, an unknown user and a client without SASL are refused, and the broker serves everyone else.
/// </summary>
public sealed class SaslTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly TestCertificates _pki = new();
    private EmbeddedBroker _b = null!;

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(settings: _pki.SaslListeners());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _b.DisposeAsync();
        _pki.Dispose();
    }

    private string[] Ports => [_b.Server.BoundPorts[1].ToString(), _b.Server.BoundPorts[2].ToString(), _pki.Dir];

    [Fact]
    public Task KafkaPython() => ClientScripts.RunAsync(output, _b.Port, "/usr/bin/python3", "sasl_test.py", (IReadOnlyDictionary<string, string>?)null, null, [.. Ports, "kafka-python"]);

    [Fact]
    public Task ConfluentKafkaPython() => ClientScripts.RunAsync(output, _b.Port, "/usr/bin/python3", "sasl_test.py", (IReadOnlyDictionary<string, string>?)null, null, [.. Ports, "confluent"]);

    [Fact]
    public Task KafkaJs() => ClientScripts.RunAsync(output, _b.Port, "node", "kafkajs_sasl_test.js", (IReadOnlyDictionary<string, string>?)null, null, Ports);
}
