using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using KafkaCompat.Broker.Config;
using KafkaCompat.Testing;
using KafkaCompat.TestSupport;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>Kafka's listener keys and TLS settings as the broker reads them: what makes sense is served, what does not
/// stops the start with Kafka's reason (exit code 2 from serve).</summary>
public sealed class ListenerConfigTests : IDisposable
{
    private readonly TestCertificates _pki = new();

    public void Dispose() => _pki.Dispose();

    private static BrokerConfig Config(params (string Key, string Value)[] settings)
    {
        var config = new BrokerConfig { Host = "127.0.0.1", Port = 9092 };
        foreach (var (k, v) in settings) config.Apply(k, v);
        return config;
    }

    [Fact]
    public void ListenersAdvertisedListenersAndTheProtocolMapAreReadByName()
    {
        var config = Config(("listeners", "PLAINTEXT://127.0.0.1:9092,INTERNAL://0.0.0.0:9093,SECURE://[::1]:9094"),
            ("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT,SECURE:SSL"),
            ("advertised.listeners", "SECURE://kafka.example:19094,PLAINTEXT://localhost:9092"));
        var l = Listeners.Of(config);
        Assert.Equal(["PLAINTEXT", "INTERNAL", "SECURE"], l.Select(x => x.Name));
        Assert.Equal([9092, 9093, 9094], l.Select(x => x.Port));
        Assert.Equal(["127.0.0.1", "0.0.0.0", "::1"], l.Select(x => x.Host));
        Assert.Equal([SecurityProtocol.Plaintext, SecurityProtocol.Plaintext, SecurityProtocol.Ssl], l.Select(x => x.Protocol));
        Assert.Equal(("kafka.example", (int?)19094), (l[2].AdvertisedHost, l[2].AdvertisedPort));
        Assert.Equal(("localhost", (int?)9092), (l[0].AdvertisedHost, l[0].AdvertisedPort));
        Assert.Null(l[1].AdvertisedHost);
        // a listener-prefixed key wins over the broker-wide one
        config.Set("ssl.client.auth", "none");
        config.Set("listener.name.secure.ssl.client.auth", "required");
        Assert.Equal(("none", "required"), (l[0].Setting(config, "ssl.client.auth"), l[2].Setting(config, "ssl.client.auth")));
    }

    [Theory]
    [InlineData("PLAINTEXT://:9092,PLAINTEXT://:9093", null, "Each listener must have a different name")]
    [InlineData("PLAINTEXT://:9092,SSL://:9092", null, "Each listener must have a different port")]
    [InlineData("PLAINTEXT://:9092,CUSTOM://:9093", null, "No security protocol defined for listener CUSTOM")]
    [InlineData("PLAINTEXT://:9092,CUSTOM://:9093", "PLAINTEXT:PLAINTEXT,CUSTOM:TLS", "unknown security protocol TLS")]
    [InlineData("PLAINTEXT://:9092,SASL_SSL://:9093", null, "SASL mechanism GSSAPI is not served (set sasl.enabled.mechanisms to PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER)")]
    [InlineData("PLAINTEXT://localhost", null, "unable to parse PLAINTEXT://localhost")]
    public void ListenersThatMakeNoSenseAreRefused(string listeners, string? map, string reason)
    {
        var settings = new List<(string, string)> { ("listeners", listeners) };
        if (map != null) settings.Add(("listener.security.protocol.map", map));
        string? problem;
        try
        {
            problem = Config([.. settings]).CheckConsistency();
        }
        catch (ArgumentException e)
        {
            problem = e.Message;
        }
        Assert.NotNull(problem);
        Assert.Contains(reason, problem);
    }

    [Fact]
    public void SeveralBrokersMayNotHaveListenersWhosePortsMeet()
    {
        var config = Config(("listeners", "PLAINTEXT://127.0.0.1:9092,SSL://127.0.0.1:9093"));
        config.Brokers = 3;
        Assert.Contains("port 9093 is taken twice", config.CheckConsistency());
        config.Apply("listeners", "PLAINTEXT://127.0.0.1:9092,SSL://127.0.0.1:9192");
        Assert.Null(config.CheckConsistency());
    }

    [Fact]
    public void KeystoresAreReadAndBadOnesRefusedWithTheKeyToFix()
    {
        var listener = new ListenerSpec("SSL", "127.0.0.1", 0, SecurityProtocol.Ssl, null, null);
        string Problem(params (string, string)[] settings)
        {
            var e = Assert.Throws<ArgumentException>(() => TlsOptions.Load(Config(settings), listener));
            return e.Message;
        }
        Assert.Contains("needs a certificate: ssl.keystore.location", Problem());
        Assert.Contains("JKS (the default) is Java's own format", Problem(("ssl.keystore.location", _pki.Server)));
        Assert.Contains("no such file", Problem(("ssl.keystore.type", "PEM"), ("ssl.keystore.location", "/nonexistent.pem")));
        Assert.Contains("SSL key store password cannot be specified with PEM format",
            Problem(("ssl.keystore.type", "PEM"), ("ssl.keystore.location", _pki.Server), ("ssl.keystore.password", "x")));
        Assert.Contains("ssl.client.auth=required needs the CAs",
            Problem(("ssl.keystore.type", "PEM"), ("ssl.keystore.location", _pki.Server), ("ssl.client.auth", "required")));
        Assert.Contains("ssl.enabled.protocols: TLSv1.1 is not served",
            Problem(("ssl.keystore.type", "PEM"), ("ssl.keystore.location", _pki.Server), ("ssl.enabled.protocols", "TLSv1.1")));

        // PEM as a file and inline; PKCS12 with its password (and a wrong one refused)
        var pem = TlsOptions.Load(Config(("ssl.keystore.type", "PEM"), ("ssl.keystore.location", _pki.Server)), listener);
        Assert.Equal("CN=localhost", pem.Certificate.Subject);
        var text = File.ReadAllText(_pki.Server);
        var inline = TlsOptions.Load(Config(("ssl.keystore.type", "PEM"), ("ssl.keystore.certificate.chain", text), ("ssl.keystore.key", text)), listener);
        Assert.Equal(pem.Certificate.Thumbprint, inline.Certificate.Thumbprint);
        string p12 = Path.Combine(_pki.Dir, "server.p12");
        File.WriteAllBytes(p12, pem.Certificate.Export(X509ContentType.Pkcs12, "secret"));
        var pkcs12 = TlsOptions.Load(Config(("ssl.keystore.type", "PKCS12"), ("ssl.keystore.location", p12), ("ssl.keystore.password", "secret")), listener);
        Assert.True(pkcs12.Certificate.HasPrivateKey);
        Assert.Contains("a wrong ssl.keystore.password?", Problem(("ssl.keystore.type", "PKCS12"), ("ssl.keystore.location", p12), ("ssl.keystore.password", "wrong")));
    }

    [Fact]
    public async Task AClientCertificatesSubjectIsThePrincipalAndNoCertificateIsAnonymous()
    {
        using var client = _pki.LoadClient();
        Assert.Equal("User:" + TestCertificates.ClientSubject, TlsOptions.Principal(client));
        Assert.Equal("User:ANONYMOUS", TlsOptions.Principal(null));

        // and the listener asks for it: with the certificate an ApiVersions request is answered over TLS; without one
        // the connection ends (in TLS 1.3 the refusal arrives after the client's handshake completes, on the first read)
        await using var b = EmbeddedBroker.Start(settings: new Dictionary<string, string>
        {
            ["listeners"] = "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0",
            ["ssl.keystore.type"] = "PEM", ["ssl.keystore.location"] = _pki.Server,
            ["ssl.client.auth"] = "required", ["ssl.truststore.type"] = "PEM", ["ssl.truststore.location"] = _pki.Ca,
        });
        int port = b.Server.BoundPorts[1];
        async Task<bool> Answered(X509Certificate2? cert)
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync("127.0.0.1", port);
            await using var ssl = new SslStream(tcp.GetStream());
            try
            {
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = "localhost",
                    ClientCertificates = cert is null ? null : [cert],
                    RemoteCertificateValidationCallback = (_, c, _, _) => c != null,
                });
                // ApiVersions v0, correlation id 7, no client id
                await ssl.WriteAsync(new byte[] { 0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 7, 0xff, 0xff });
                var head = new byte[8];
                await ssl.ReadExactlyAsync(head);
                return head[7] == 7;
            }
            catch (Exception e) when (e is System.Security.Authentication.AuthenticationException or IOException)
            {
                return false;
            }
        }
        Assert.True(await Answered(client));
        Assert.False(await Answered(null));
        Assert.True(await Answered(client)); // and it still serves
    }
}
