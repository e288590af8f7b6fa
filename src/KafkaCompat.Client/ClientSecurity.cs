using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using KafkaCompat.Protocol;

namespace KafkaCompat.Client;

/// <summary>
/// How the client reaches a secured listener, from the Java client's keys (the properties file Kafka's tools take as
/// <c>--command-config</c>): <c>security.protocol</c> (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL); <c>sasl.mechanism</c>
/// (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) with the user and password of <c>sasl.jaas.config</c> (or librdkafka's
/// <c>sasl.username</c>/<c>sasl.password</c>); <c>ssl.truststore.location</c> (PEM or PKCS12, or librdkafka's
/// <c>ssl.ca.location</c>) for the broker's CA; <c>ssl.keystore.location</c> (PKCS12 or PEM with the key) for a client
/// certificate; <c>ssl.endpoint.identification.algorithm</c> (https by default; empty skips the host name check).
/// </summary>
public sealed class ClientSecurity
{
    public string Protocol { get; init; } = "PLAINTEXT";
    public string Mechanism { get; init; } = "PLAIN";
    public string? Username { get; init; }
    public string? Password { get; init; }
    /// <summary>The CAs trusted for the broker's certificate (null: the system's).</summary>
    public X509Certificate2Collection? TrustedCas { get; init; }
    public X509Certificate2? ClientCertificate { get; init; }
    public bool CheckHostName { get; init; } = true;

    public bool Tls => Protocol is "SSL" or "SASL_SSL";
    public bool Sasl => Protocol is "SASL_PLAINTEXT" or "SASL_SSL";

    public static readonly ClientSecurity Plaintext = new();

    /// <summary>Reads a Java-style properties file (key=value lines, # comments).</summary>
    public static ClientSecurity FromFile(string path)
    {
        var props = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or '!') continue;
            int eq = line.IndexOfAny(['=', ':']);
            if (eq <= 0) throw new ArgumentException($"{path}: expected key=value, got '{line}'");
            props[line[..eq].Trim()] = line[(eq + 1)..].Trim();
        }
        return FromProperties(props);
    }

    /// <summary>The settings of Kafka's client keys; files are found from the working directory, as Kafka's tools do.</summary>
    public static ClientSecurity FromProperties(IReadOnlyDictionary<string, string> props)
    {
        string Get(string key, string fallback = "") => props.TryGetValue(key, out var v) ? v : fallback;
        string? File(string key) => props.TryGetValue(key, out var v) && v.Length > 0 ? v : null;
        var protocol = Get("security.protocol", "PLAINTEXT").ToUpperInvariant();
        if (protocol is not ("PLAINTEXT" or "SSL" or "SASL_PLAINTEXT" or "SASL_SSL"))
            throw new ArgumentException($"security.protocol must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL, not {protocol}");
        var mechanism = Get("sasl.mechanism", Get("sasl.mechanisms", "GSSAPI")).ToUpperInvariant();
        string? user = props.GetValueOrDefault("sasl.username"), password = props.GetValueOrDefault("sasl.password");
        if (props.TryGetValue("sasl.jaas.config", out var jaas))
        {
            var options = JaasOptions.Parse(jaas);
            user ??= options.GetValueOrDefault("username");
            password ??= options.GetValueOrDefault("password");
        }
        if (protocol.StartsWith("SASL", StringComparison.Ordinal))
        {
            if (mechanism is not ("PLAIN" or "SCRAM-SHA-256" or "SCRAM-SHA-512"))
                throw new ArgumentException($"sasl.mechanism {mechanism} is not supported here (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)");
            if (string.IsNullOrEmpty(user) || password is null)
                throw new ArgumentException("SASL needs a user and a password: sasl.jaas.config=... username=\"alice\" password=\"...\"; (or sasl.username and sasl.password)");
        }
        X509Certificate2Collection? cas = null;
        if ((File("ssl.truststore.location") ?? File("ssl.ca.location")) is { } caFile)
        {
            cas = [];
            string type = Get("ssl.truststore.type", caFile.EndsWith(".p12", StringComparison.OrdinalIgnoreCase) || caFile.EndsWith(".pfx", StringComparison.OrdinalIgnoreCase) ? "PKCS12" : "PEM").ToUpperInvariant();
            if (type == "PKCS12") cas.AddRange(X509CertificateLoader.LoadPkcs12CollectionFromFile(caFile, props.GetValueOrDefault("ssl.truststore.password")));
            else if (type == "PEM") cas.ImportFromPemFile(caFile);
            else throw new ArgumentException($"ssl.truststore.type {type} is not supported (PEM or PKCS12)");
        }
        X509Certificate2? clientCert = null;
        if (File("ssl.keystore.location") is { } keystore)
        {
            string type = Get("ssl.keystore.type", keystore.EndsWith(".pem", StringComparison.OrdinalIgnoreCase) ? "PEM" : "PKCS12").ToUpperInvariant();
            clientCert = type == "PEM"
                ? (props.TryGetValue("ssl.key.password", out var kp) ? X509Certificate2.CreateFromEncryptedPemFile(keystore, kp) : X509Certificate2.CreateFromPemFile(keystore))
                : X509CertificateLoader.LoadPkcs12FromFile(keystore, props.GetValueOrDefault("ssl.keystore.password"));
        }
        else if (File("ssl.certificate.location") is { } cert && File("ssl.key.location") is { } key)
            clientCert = X509Certificate2.CreateFromPemFile(cert, key);
        return new ClientSecurity
        {
            Protocol = protocol,
            Mechanism = mechanism,
            Username = user,
            Password = password,
            TrustedCas = cas,
            ClientCertificate = clientCert,
            CheckHostName = Get("ssl.endpoint.identification.algorithm", "https").Length > 0,
        };
    }

    /// <summary>The TLS client side of a connection, checking the broker's certificate against the trusted CAs.</summary>
    internal async Task<Stream> WrapAsync(Stream tcp, string host, CancellationToken ct)
    {
        if (!Tls) return tcp;
        var ssl = new SslStream(tcp, leaveInnerStreamOpen: false);
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = host,
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            ClientCertificates = ClientCertificate is null ? null : [ClientCertificate],
            RemoteCertificateValidationCallback = Validate,
        };
        await ssl.AuthenticateAsClientAsync(options, ct).ConfigureAwait(false);
        return ssl;
    }

    private bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null) return false;
        if (CheckHostName && errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch)) return false;
        if (TrustedCas is null) return (errors & ~SslPolicyErrors.RemoteCertificateNameMismatch) == SslPolicyErrors.None;
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(TrustedCas);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain != null) foreach (var e in chain.ChainPolicy.ExtraStore) custom.ChainPolicy.ExtraStore.Add(e);
        return custom.Build(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
    }

    /// <summary>The SASL tokens of one exchange: the first token, then the answer to each server token (null once
    /// the exchange is complete). Throws <see cref="KafkaErrorException"/> when the server's final SCRAM message does
    /// not prove it holds the password's keys.</summary>
    internal Func<byte[]?, byte[]?> Exchange()
    {
        if (Mechanism == "PLAIN")
        {
            bool sent = false;
            return _ =>
            {
                if (sent) return null;
                sent = true;
                return Encoding.UTF8.GetBytes($"\0{Username}\0{Password}");
            };
        }
        var scram = new ScramClient(Scram.Parse(Mechanism), Username!, Password!);
        int step = 0;
        return server => step++ switch
        {
            0 => scram.First(),
            1 => scram.Final(server),
            2 when scram.VerifyServerFinal(server) => null,
            _ => throw new KafkaErrorException(ErrorCode.SaslAuthenticationFailed, "the broker's final SCRAM message does not prove it knows the credential"),
        };
    }
}
