using KafkaCompat.Testing;
using Xunit;
using Xunit.Abstractions;

namespace KafkaCompat.TestSupport;

/// <summary>A test class's broker with secure listeners and the throwaway PKI they use: PLAINTEXT, SSL and MTLS
/// (<see cref="TestCertificates.TlsListeners"/>) or PLAINTEXT, SASL_PLAINTEXT and SASL_SSL
/// (<see cref="TestCertificates.SaslListeners"/>). The client scripts take the second and third listeners' ports and
/// the PKI folder after PORT and SUFFIX.</summary>
public abstract class SecureListenersTest(ITestOutputHelper output, bool sasl) : IAsyncLifetime
{
    private protected readonly TestCertificates Pki = new();
    private protected EmbeddedBroker Broker = null!;

    public Task InitializeAsync()
    {
        Broker = sasl ? EmbeddedBroker.Start(settings: Pki.SaslListeners(), addScram: TestCertificates.ScramUsers) : EmbeddedBroker.Start(settings: Pki.TlsListeners());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await Broker.DisposeAsync();
        Pki.Dispose();
    }

    /// <summary>Runs a script of tests/clients with PORT SUFFIX SECOND_PORT THIRD_PORT CERT_DIR and <paramref name="extra"/>.</summary>
    private protected Task RunScript(string program, string script, IReadOnlyDictionary<string, string>? environment, params string[] extra) =>
        ClientScripts.RunAsync(output, Broker.Port, program, script, environment, null,
            [Broker.Server.BoundPorts[1].ToString(), Broker.Server.BoundPorts[2].ToString(), Pki.Dir, .. extra]);
}
