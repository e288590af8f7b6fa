using System.Buffers.Binary;
using System.ComponentModel;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;

namespace KafkaCompat.Fuzzing;

/// <summary>
/// What a client can make the broker do before it is authenticated, past the frame decoders: the SASL exchange of
/// each mechanism (PLAIN, SCRAM-SHA-256/512, OAUTHBEARER) through <see cref="SaslSession"/>, and the server side of a
/// TLS handshake. The first byte picks the case: below 0x80 a SASL mechanism (bits 0-1) and the handshake version
/// (bit 2); from 0x80 TLS. For SASL the rest is the client's tokens, each a 16-bit length and its bytes (a last one cut
/// short takes what is left); for TLS it is what the client sends.
/// </summary>
/// <remarks>A SASL mechanism never throws: every bad token is a failed step. A TLS handshake on garbage may only end
/// in the exceptions <c>KafkaConnection</c> catches and logs (AuthenticationException, IOException,
/// OperationCanceledException, SocketException, Win32Exception). Anything else is a crash.</remarks>
public static class HandshakeFuzzTarget
{
    public static readonly string[] Mechanisms = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"];

    /// <summary>The server's SCRAM nonce, fixed so a seed's proof can be right.</summary>
    public const string ServerNonce = "fuzz-server-nonce";

    private static readonly Dictionary<string, string> PlainUsers = new() { ["alice"] = "alice-secret" };

    private static readonly Dictionary<(string, ScramMechanism), ScramCredential> ScramUsers = new()
    {
        [("alice", ScramMechanism.ScramSha256)] = ScramCredential.FromSaltedPassword(ScramMechanism.ScramSha256, "salt-256"u8.ToArray(),
            Scram.SaltedPassword(ScramMechanism.ScramSha256, "alice-secret", "salt-256"u8, Scram.MinIterations), Scram.MinIterations),
        [("alice", ScramMechanism.ScramSha512)] = ScramCredential.FromSaltedPassword(ScramMechanism.ScramSha512, "salt-512"u8.ToArray(),
            Scram.SaltedPassword(ScramMechanism.ScramSha512, "alice-secret", "salt-512"u8, Scram.MinIterations), Scram.MinIterations),
    };

    private static ISaslMechanism? Create(string mechanism) => mechanism switch
    {
        "PLAIN" => new PlainMechanism(PlainUsers),
        "SCRAM-SHA-256" or "SCRAM-SHA-512" => new ScramServer(Scram.Parse(mechanism), (u, m) => ScramUsers.GetValueOrDefault((u, m)), () => ServerNonce),
        "OAUTHBEARER" => new OAuthBearerServer(OAuthBearerServer.Options.Default),
        _ => null,
    };

    private static readonly Lazy<X509Certificate2> Certificate = new(() =>
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null);
    });

    /// <summary>Runs one input; throws only for a bug (see the remarks).</summary>
    public static void Run(ReadOnlyMemory<byte> input)
    {
        if (input.Length == 0) return;
        if (input.Span[0] >= 0x80) Tls(input[1..]);
        else Sasl(Mechanisms[input.Span[0] & 3], (short)((input.Span[0] >> 2) & 1 ^ 1), input[1..]);
    }

    private static void Sasl(string mechanism, short version, ReadOnlyMemory<byte> tokens)
    {
        var session = new SaslSession(Mechanisms, Create) { LifetimeMs = 60_000 };
        if (session.Handshake(mechanism, version) != ErrorCode.None) throw new InvalidOperationException($"{mechanism} was refused");
        var rest = tokens;
        while (rest.Length > 0 && session.State == SaslState.Authenticate)
        {
            int length = rest.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(rest.Span) : rest.Length;
            rest = rest[Math.Min(2, rest.Length)..];
            var token = rest[..Math.Min(length, rest.Length)];
            rest = rest[token.Length..];
            var step = session.Authenticate(token.Span);
            if (step.Error != null && session.State != SaslState.Failed) throw new InvalidOperationException("a failed step left the session open");
            if (step.Complete && (session.State != SaslState.Complete || step.Principal is null)) throw new InvalidOperationException("a complete step without a principal");
            // a completed session may re-authenticate with its mechanism (KIP-368): the next tokens do
            if (session.State == SaslState.Complete && rest.Length > 0 && session.Handshake(mechanism, 1) != ErrorCode.None) return;
        }
    }

    private static void Tls(ReadOnlyMemory<byte> hello)
    {
        using var ssl = new SslStream(new ScriptedStream(hello), leaveInnerStreamOpen: false);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = Certificate.Value,
                ClientCertificateRequired = false,
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            }, deadline.Token).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException or SocketException or Win32Exception) { }
    }

    /// <summary>The other side of a TLS handshake: it sends the given bytes, then hangs up; what it is sent is kept in
    /// <paramref name="written"/> (when given), else dropped.</summary>
    private sealed class ScriptedStream(ReadOnlyMemory<byte> input, MemoryStream? written = null) : Stream
    {
        private ReadOnlyMemory<byte> _left = input;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
        public override int Read(Span<byte> buffer)
        {
            int n = Math.Min(buffer.Length, _left.Length);
            _left.Span[..n].CopyTo(buffer);
            _left = _left[n..];
            return n;
        }
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) => new(Read(buffer.Span));
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => Task.FromResult(Read(buffer.AsSpan(offset, count)));
        public override void Write(byte[] buffer, int offset, int count) => written?.Write(buffer, offset, count);
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default)
        {
            written?.Write(buffer.Span);
            return ValueTask.CompletedTask;
        }
        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct)
        {
            Write(buffer, offset, count);
            return Task.CompletedTask;
        }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    /// <summary>Inputs that reach deep: a right and a wrong exchange of each mechanism over both handshake versions, a
    /// re-authentication, and a TLS ClientHello from .NET's client.</summary>
    public static IEnumerable<(string Name, byte[] Input)> Seeds()
    {
        static byte[] Frame(int selector, params byte[][] tokens)
        {
            var ms = new MemoryStream();
            ms.WriteByte((byte)selector);
            foreach (var t in tokens)
            {
                ms.WriteByte((byte)(t.Length >> 8));
                ms.WriteByte((byte)t.Length);
                ms.Write(t);
            }
            return ms.ToArray();
        }
        for (int v = 0; v < 2; v++)
        {
            yield return ($"plain-v{1 - v}", Frame(v << 2, Encoding.UTF8.GetBytes("\0alice\0alice-secret")));
            yield return ($"plain-wrong-v{1 - v}", Frame(v << 2, Encoding.UTF8.GetBytes("alice\0alice\0nope")));
            foreach (var (index, m) in new[] { (1, ScramMechanism.ScramSha256), (2, ScramMechanism.ScramSha512) })
            {
                var client = new ScramClient(m, "alice", "alice-secret", "client-nonce");
                var first = client.First();
                var server = new ScramServer(m, (u, mm) => ScramUsers.GetValueOrDefault((u, mm)), () => ServerNonce);
                var serverFirst = server.Evaluate(first).Challenge;
                var final = client.Final(serverFirst);
                yield return ($"{Scram.Name(m).ToLowerInvariant()}-v{1 - v}", Frame(index | v << 2, first, final, first, client.Final(serverFirst)));
            }
            string token = $"{B64("{\"alg\":\"none\"}")}.{B64("{\"sub\":\"alice\",\"exp\":99999999999}")}.";
            yield return ($"oauthbearer-v{1 - v}", Frame(3 | v << 2, Encoding.UTF8.GetBytes($"n,,\u0001auth=Bearer {token}\u0001\u0001")));
            yield return ($"oauthbearer-invalid-v{1 - v}", Frame(3 | v << 2, Encoding.UTF8.GetBytes($"n,a=bob,\u0001auth=Bearer {token}x\u0001k=v\u0001\u0001"), [1]));
        }
        var hello = new MemoryStream();
        try
        {
            using var client = new SslStream(new ScriptedStream(ReadOnlyMemory<byte>.Empty, hello));
            client.AuthenticateAsClient(new SslClientAuthenticationOptions { TargetHost = "localhost", RemoteCertificateValidationCallback = (_, _, _, _) => true });
        }
        catch (Exception e) when (e is AuthenticationException or IOException) { }
        yield return ("aa-tls-client-hello", [0x80, .. hello.ToArray()]);
    }

    private static string B64(string json) => Convert.ToBase64String(Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
