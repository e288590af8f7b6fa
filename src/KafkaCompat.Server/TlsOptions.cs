using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using KafkaCompat.Broker.Config;

namespace KafkaCompat.Server;

/// <summary>
/// A TLS listener's settings, from Kafka's keys (listener-prefixed first: <c>listener.name.NAME.ssl.*</c>): the server
/// certificate and key from a PKCS12 file or PEM (a file holding the key and the chain, or the inline
/// <c>ssl.keystore.certificate.chain</c> / <c>ssl.keystore.key</c>), <c>ssl.key.password</c> for an encrypted key, the
/// trusted CAs for client certificates, <c>ssl.client.auth</c> and <c>ssl.enabled.protocols</c>. Any problem is an
/// <see cref="ArgumentException"/> naming the key, so the broker does not start.
/// </summary>
public sealed class TlsOptions
{
    public required X509Certificate2 Certificate { get; init; }
    public X509Certificate2Collection? TrustedCas { get; init; }
    public required string ClientAuth { get; init; }
    public required SslProtocols Protocols { get; init; }

    public static TlsOptions Load(BrokerConfig config, ListenerSpec listener)
    {
        string? S(string key) => listener.Setting(config, key);
        string type = (S("ssl.keystore.type") ?? "JKS").ToUpperInvariant();
        string? location = S("ssl.keystore.location"), chain = S("ssl.keystore.certificate.chain"), key = S("ssl.keystore.key");
        string? keyPassword = S("ssl.key.password");
        X509Certificate2 certificate;
        if (chain != null || key != null)
        {
            if (type != "PEM") throw new ArgumentException("ssl.keystore.certificate.chain and ssl.keystore.key need ssl.keystore.type=PEM");
            if (chain is null || key is null) throw new ArgumentException("ssl.keystore.certificate.chain and ssl.keystore.key are set together");
            if (location != null) throw new ArgumentException("ssl.keystore.location cannot be set with ssl.keystore.certificate.chain");
            certificate = FromPem(chain, key, keyPassword, "ssl.keystore.key");
        }
        else if (location is null)
            throw new ArgumentException($"listener {listener.Name} ({listener.Protocol}) needs a certificate: ssl.keystore.location (or serve --dev-tls for a throwaway one)");
        else
        {
            string where = $"ssl.keystore.location {location}";
            if (!File.Exists(location)) throw new ArgumentException($"{where}: no such file");
            certificate = type switch
            {
                "PKCS12" => Pkcs12(location, S("ssl.keystore.password") ?? keyPassword, where),
                "PEM" when S("ssl.keystore.password") != null => throw new ArgumentException("SSL key store password cannot be specified with PEM format, only key password may be specified"),
                "PEM" => FromPem(File.ReadAllText(location), File.ReadAllText(location), keyPassword, where),
                "JKS" => throw new ArgumentException($"{where}: ssl.keystore.type JKS (the default) is Java's own format; set ssl.keystore.type=PKCS12 or PEM (convert with keytool -importkeystore -deststoretype PKCS12)"),
                _ => throw new ArgumentException($"ssl.keystore.type {type}: PKCS12 or PEM"),
            };
        }
        if (!certificate.HasPrivateKey) throw new ArgumentException($"the certificate of listener {listener.Name} has no private key");

        string clientAuth = (S("ssl.client.auth") ?? "none").ToLowerInvariant();
        if (clientAuth is not ("none" or "requested" or "required"))
            throw new ArgumentException($"ssl.client.auth {clientAuth}: none, requested or required");
        var trusted = Truststore(S, clientAuth);
        var protocols = SslProtocols.None;
        foreach (var p in (S("ssl.enabled.protocols") ?? "TLSv1.2,TLSv1.3").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            protocols |= p switch
            {
                "TLSv1.2" => SslProtocols.Tls12,
                "TLSv1.3" => SslProtocols.Tls13,
                _ => throw new ArgumentException($"ssl.enabled.protocols: {p} is not served (TLSv1.2, TLSv1.3)"),
            };
        return new TlsOptions { Certificate = certificate, TrustedCas = trusted, ClientAuth = clientAuth, Protocols = protocols };
    }

    private static X509Certificate2Collection? Truststore(Func<string, string?> s, string clientAuth)
    {
        string type = (s("ssl.truststore.type") ?? "JKS").ToUpperInvariant();
        string? location = s("ssl.truststore.location"), inline = s("ssl.truststore.certificates");
        var cas = new X509Certificate2Collection();
        if (inline != null) cas.ImportFromPem(inline);
        else if (location != null)
        {
            if (!File.Exists(location)) throw new ArgumentException($"ssl.truststore.location {location}: no such file");
            switch (type)
            {
                case "PEM": cas.ImportFromPemFile(location); break;
                case "PKCS12":
                    cas.AddRange(X509CertificateLoader.LoadPkcs12CollectionFromFile(location, s("ssl.truststore.password")));
                    break;
                default:
                    throw new ArgumentException($"ssl.truststore.type {type}: PKCS12 or PEM (JKS is Java's own format)");
            }
        }
        else if (clientAuth != "none") throw new ArgumentException($"ssl.client.auth={clientAuth} needs the CAs client certificates are checked against: ssl.truststore.location");
        else return null;
        if (cas.Count == 0) throw new ArgumentException("the truststore holds no certificate");
        return cas;
    }

    private static X509Certificate2 Pkcs12(string path, string? password, string where)
    {
        try
        {
            return X509CertificateLoader.LoadPkcs12FromFile(path, password, X509KeyStorageFlags.Exportable);
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new ArgumentException($"{where}: {e.Message} (a wrong ssl.keystore.password?)");
        }
    }

    private static X509Certificate2 FromPem(string certificates, string key, string? password, string where)
    {
        try
        {
            var cert = password is null ? X509Certificate2.CreateFromPem(certificates, key) : X509Certificate2.CreateFromEncryptedPem(certificates, key, password);
            // an ephemeral key cannot be used by the TLS stack on Linux: export and load it again as PKCS12
            return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null);
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new ArgumentException($"{where}: {e.Message}");
        }
    }

    /// <summary>The server side of a TLS handshake with these settings.</summary>
    public SslServerAuthenticationOptions ServerOptions() => new()
    {
        ServerCertificateContext = SslStreamCertificateContext.Create(Certificate, additionalCertificates: null, offline: true),
        EnabledSslProtocols = Protocols,
        ClientCertificateRequired = ClientAuth != "none",
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        RemoteCertificateValidationCallback = ValidateClient,
    };

    private bool ValidateClient(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || TrustedCas is null) return ClientAuth != "required";
        using var check = new X509Chain();
        check.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        check.ChainPolicy.CustomTrustStore.AddRange(TrustedCas);
        check.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain != null) check.ChainPolicy.ExtraStore.AddRange(chain.ChainElements.Select(e => e.Certificate).ToArray());
        return check.Build(AsCertificate2(certificate));
    }

    /// <summary>Kafka's principal for a TLS client: <c>User:</c> and the certificate's subject in RFC 2253 form
    /// (<c>CN=alice,OU=eng,O=Acme</c>), or <c>User:ANONYMOUS</c> without a certificate.</summary>
    public static string Principal(X509Certificate? client)
    {
        if (client is null) return "User:ANONYMOUS";
        var parts = AsCertificate2(client).SubjectName.EnumerateRelativeDistinguishedNames(reversed: true)
            .Select(r => $"{Short(r.GetSingleElementType().Value)}={r.GetSingleElementValue()}");
        return "User:" + string.Join(",", parts);
    }

    /// <summary>The certificate TLS gave (an <see cref="X509Certificate2"/> in practice), as one.</summary>
    private static X509Certificate2 AsCertificate2(X509Certificate certificate) =>
        certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());

    private static string Short(string? oid) => oid switch
    {
        "2.5.4.3" => "CN",
        "2.5.4.11" => "OU",
        "2.5.4.10" => "O",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.6" => "C",
        "2.5.4.9" => "STREET",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => oid ?? "?",
    };
}
