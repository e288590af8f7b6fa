using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace KafkaCompat.TestSupport;

/// <summary>A throwaway PKI for TLS tests, written as PEM files into a temporary folder: <c>ca.pem</c>, the broker's
/// <c>server.pem</c> (PKCS#8 key and certificate chain in one file, Kafka's PEM keystore layout; names localhost and
/// 127.0.0.1), a client certificate <c>client.pem</c> + <c>client.key</c> (CN=alice,OU=eng,O=Acme,C=DE) signed by the
/// CA, and <c>other-ca.pem</c>, a CA nothing is signed by.</summary>
public sealed class TestCertificates : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("kafkacompat-pki-").FullName;
    public string Ca => Path.Combine(Dir, "ca.pem");
    public string OtherCa => Path.Combine(Dir, "other-ca.pem");
    public string Server => Path.Combine(Dir, "server.pem");
    public string ClientCert => Path.Combine(Dir, "client.pem");
    public string ClientKey => Path.Combine(Dir, "client.key");
    public const string ClientSubject = "CN=alice,OU=eng,O=Acme,C=DE";

    public TestCertificates()
    {
        var now = DateTimeOffset.UtcNow.AddMinutes(-5);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var ca = SelfSignedCa("CN=KafkaCompat test CA", caKey, now);
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var other = SelfSignedCa("CN=Some other CA", otherKey, now);
        File.WriteAllText(Ca, ca.ExportCertificatePem() + "\n");
        File.WriteAllText(OtherCa, other.ExportCertificatePem() + "\n");

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        using var server = Issue(ca, "CN=localhost", serverKey, now, "1.3.6.1.5.5.7.3.1", san);
        File.WriteAllText(Server, serverKey.ExportPkcs8PrivateKeyPem() + "\n" + server.ExportCertificatePem() + "\n" + ca.ExportCertificatePem() + "\n");

        using var clientKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var client = Issue(ca, "CN=alice, OU=eng, O=Acme, C=DE", clientKey, now, "1.3.6.1.5.5.7.3.2", null);
        File.WriteAllText(ClientCert, client.ExportCertificatePem() + "\n");
        File.WriteAllText(ClientKey, clientKey.ExportPkcs8PrivateKeyPem() + "\n");
    }

    /// <summary>Broker settings with three listeners: PLAINTEXT, SSL (no client certificate) and MTLS (an SSL listener
    /// with ssl.client.auth=required against the CA), the server certificate from this PKI.</summary>
    public Dictionary<string, string> TlsListeners() => new()
    {
        ["listeners"] = "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,MTLS://127.0.0.1:0",
        ["listener.security.protocol.map"] = "PLAINTEXT:PLAINTEXT,SSL:SSL,MTLS:SSL",
        ["ssl.keystore.type"] = "PEM",
        ["ssl.keystore.location"] = Server,
        ["listener.name.mtls.ssl.client.auth"] = "required",
        ["listener.name.mtls.ssl.truststore.type"] = "PEM",
        ["listener.name.mtls.ssl.truststore.location"] = Ca,
        ["group.initial.rebalance.delay.ms"] = "0",
    };

    /// <summary>Broker settings with PLAINTEXT, SASL_PLAINTEXT and SASL_SSL listeners offering PLAIN to the users
    /// alice (alice-secret) and bob (bob-secret).</summary>
    public Dictionary<string, string> SaslListeners()
    {
        const string jaas = "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" password=\"admin-secret\" "
            + "user_alice=\"alice-secret\" user_bob=\"bob-secret\";";
        return new()
        {
            ["listeners"] = "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0",
            ["sasl.enabled.mechanisms"] = "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER",
            ["listener.name.sasl_plaintext.plain.sasl.jaas.config"] = jaas,
            ["listener.name.sasl_ssl.plain.sasl.jaas.config"] = jaas,
            ["ssl.keystore.type"] = "PEM",
            ["ssl.keystore.location"] = Server,
            ["group.initial.rebalance.delay.ms"] = "0",
        };
    }

    /// <summary>Broker settings with PLAINTEXT and SASL_PLAINTEXT listeners offering PLAIN to admin (admin-secret) and
    /// alice (alice-secret), and StandardAuthorizer with admin a super user: the ACL tests' broker.</summary>
    public static Dictionary<string, string> AclListeners() => new()
    {
        ["listeners"] = "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
        ["sasl.enabled.mechanisms"] = "PLAIN",
        ["listener.name.sasl_plaintext.plain.sasl.jaas.config"] =
            "org.apache.kafka.common.security.plain.PlainLoginModule required user_admin=\"admin-secret\" user_alice=\"alice-secret\";",
        ["authorizer.class.name"] = "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        ["super.users"] = "User:admin",
        ["group.initial.rebalance.delay.ms"] = "0",
    };

    /// <summary>The SCRAM credentials of <see cref="SaslListeners"/>' users (PLAIN's are in its JAAS entry): alice and
    /// bob with each mechanism.</summary>
    public static readonly string[] ScramUsers =
    [
        "SCRAM-SHA-256=[name=alice,password=alice-secret]", "SCRAM-SHA-512=[name=alice,password=alice-secret]",
        "SCRAM-SHA-256=[name=bob,password=bob-secret]", "SCRAM-SHA-512=[name=bob,iterations=8192,password=bob-secret]",
    ];

    /// <summary>The client certificate with its key, as .NET loads it.</summary>
    public X509Certificate2 LoadClient() => X509Certificate2.CreateFromPemFile(ClientCert, ClientKey);

    private static X509Certificate2 SelfSignedCa(string subject, ECDsa key, DateTimeOffset now)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(now, now.AddDays(30));
    }

    private static X509Certificate2 Issue(X509Certificate2 ca, string subject, ECDsa key, DateTimeOffset now, string usage, SubjectAlternativeNameBuilder? san)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        if (san != null) request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usage)], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        return request.Create(ca, now, now.AddDays(30), RandomNumberGenerator.GetBytes(12));
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }
}
