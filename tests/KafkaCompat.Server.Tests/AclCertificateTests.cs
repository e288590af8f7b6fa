using KafkaCompat.Broker.Security;
using KafkaCompat.Client;
using KafkaCompat.Protocol;
using KafkaCompat.Testing;
using KafkaCompat.TestSupport;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>ACLs name the principal a client certificate gives (<c>User:</c> + its subject in RFC 2253 form), and a
/// connection without one is User:ANONYMOUS: what each may see on a broker with StandardAuthorizer.</summary>
public sealed class AclCertificateTests : IAsyncLifetime
{
    private readonly TestCertificates _pki = new();
    private EmbeddedBroker _b = null!;

    public Task InitializeAsync()
    {
        var settings = _pki.TlsListeners();
        settings["authorizer.class.name"] = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";
        _b = EmbeddedBroker.Start(settings: settings);
        foreach (var t in new[] { "cert-only", "anyone" }) _b.Broker.CreateTopic(t, 1, 1, new(), validateOnly: false);
        _b.Broker.Authorizer.Store.Add(
        [
            new(AclResourceType.Topic, "cert-only", AclPatternType.Literal, "User:" + TestCertificates.ClientSubject, "*", AclOperation.Describe, AclPermissionType.Allow),
            new(AclResourceType.Topic, "anyone", AclPatternType.Literal, "User:*", "*", AclOperation.Describe, AclPermissionType.Allow),
        ]);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _b.DisposeAsync();
        _pki.Dispose();
    }

    private async Task<List<string?>> TopicsSeen(int port, bool withCertificate)
    {
        var trusted = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
        trusted.ImportFromPemFile(_pki.Ca);
        await using var client = await KafkaClient.ConnectAsync($"localhost:{port}", security: new ClientSecurity
        {
            Protocol = "SSL", TrustedCas = trusted, ClientCertificate = withCertificate ? _pki.LoadClient() : null,
        });
        return [.. (await client.MetadataAsync(null)).Topics.Select(t => t.Name).Order()];
    }

    [Fact]
    public async Task TheCertificatesSubjectIsThePrincipal()
    {
        // MTLS asks for the certificate: alice's subject sees her topic and the one for everyone
        Assert.Equal(["anyone", "cert-only"], await TopicsSeen(_b.Server.BoundPorts[2], withCertificate: true));
        // SSL without a client certificate: User:ANONYMOUS, only what User:* may see
        Assert.Equal(["anyone"], await TopicsSeen(_b.Server.BoundPorts[1], withCertificate: false));
    }
}
