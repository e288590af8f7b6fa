using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using KafkaCompat.Broker.Config;

namespace KafkaCompat.Server;

/// <summary>
/// <c>serve --dev-tls</c>: a throwaway certificate authority and a server certificate signed by it, kept in the data
/// directory (<c>dev-tls/ca.pem</c>, <c>dev-tls/server.pem</c>) and reused while valid, so clients that trust the CA
/// keep trusting restarts. Every TLS listener without its own keystore uses the server certificate; without a TLS
/// listener, an SSL one is added on the port after the plaintext ports (9093 for one broker on 9092).
/// </summary>
public static class DevTls
{
    /// <summary>Prepares the files and the settings; returns the CA's path for clients (ssl.ca.location).</summary>
    public static string Prepare(BrokerConfig config)
    {
        string dir = Path.Combine(config.DataDir, "dev-tls");
        Directory.CreateDirectory(dir);
        string caPath = Path.Combine(dir, "ca.pem"), serverPath = Path.Combine(dir, "server.pem");
        var names = new SortedSet<string>(StringComparer.OrdinalIgnoreCase) { "localhost", "127.0.0.1", "::1", Dns.GetHostName() };
        var listeners = Listeners.Of(config);
        foreach (var l in listeners)
        {
            if (l.Host is not ("0.0.0.0" or "::" or "" or "*")) names.Add(l.Host);
            if (l.AdvertisedHost != null) names.Add(l.AdvertisedHost);
        }
        if (!Valid(caPath, serverPath, names)) Write(caPath, serverPath, names);

        if (!listeners.Any(l => l.Tls))
        {
            var first = listeners[0];
            int port = config.Port == 0 ? 0 : listeners.Max(l => l.Port) + config.Brokers;
            string existing = config.Get("listeners") ?? $"PLAINTEXT://{config.Host}:{config.Port}";
            config.Set("listeners", $"{existing},SSL://{first.Host}:{port}");
        }
        foreach (var l in Listeners.Of(config).Where(l => l.Tls))
        {
            if (l.Setting(config, "ssl.keystore.location") != null || l.Setting(config, "ssl.keystore.key") != null) continue;
            config.Set($"listener.name.{l.Name.ToLowerInvariant()}.ssl.keystore.type", "PEM");
            config.Set($"listener.name.{l.Name.ToLowerInvariant()}.ssl.keystore.location", serverPath);
        }
        return Path.GetFullPath(caPath);
    }

    /// <summary>The files exist, the server certificate is valid for a day more and names every host.</summary>
    private static bool Valid(string caPath, string serverPath, IEnumerable<string> names)
    {
        if (!File.Exists(caPath) || !File.Exists(serverPath)) return false;
        try
        {
            var text = File.ReadAllText(serverPath);
            using var cert = X509Certificate2.CreateFromPem(text, text);
            if (cert.NotAfter < DateTime.Now.AddDays(1)) return false;
            var san = cert.Extensions.OfType<X509SubjectAlternativeNameExtension>().FirstOrDefault();
            if (san is null) return false;
            var have = new HashSet<string>(san.EnumerateDnsNames().Concat(san.EnumerateIPAddresses().Select(a => a.ToString())), StringComparer.OrdinalIgnoreCase);
            return names.All(have.Contains);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static void Write(string caPath, string serverPath, IEnumerable<string> names)
    {
        var now = DateTimeOffset.UtcNow.AddMinutes(-5);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=KafkaCompat development CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var ca = caRequest.CreateSelfSigned(now, now.AddYears(5));

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var n in names)
            if (IPAddress.TryParse(n, out var ip)) san.AddIpAddress(ip);
            else san.AddDnsName(n);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var server = request.Create(ca, now, now.AddYears(1), serial);

        File.WriteAllText(caPath, ca.ExportCertificatePem() + "\n");
        // Kafka's PEM keystore layout: the private key (PKCS#8) and the certificate chain in one file
        File.WriteAllText(serverPath, key.ExportPkcs8PrivateKeyPem() + "\n" + server.ExportCertificatePem() + "\n" + ca.ExportCertificatePem() + "\n");
        File.SetUnixFileMode(serverPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }
}
