using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Testing;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>The SASL exchange on the wire, byte by byte: what a connection may send before it authenticates, the
/// v0 handshake's raw frames, SaslAuthenticate's answers, and the refusals, each closing only the connection at fault.
/// And the PLAIN mechanism and the JAAS options it reads its users from.</summary>
public sealed class SaslProtocolTests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;
    private int SaslPort => _b.Server.BoundPorts[1];

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(settings: new Dictionary<string, string>
        {
            ["listeners"] = "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
            ["sasl.enabled.mechanisms"] = "PLAIN",
            ["listener.name.sasl_plaintext.plain.sasl.jaas.config"] =
                "org.apache.kafka.common.security.plain.PlainLoginModule required user_alice=\"alice-secret\" user_quote=\"a\\\"b\";",
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    internal static byte[] Request(short key, short version, int correlation, Action<KafkaWriter> body, bool flexible = false)
    {
        using var w = new KafkaWriter();
        w.WriteInt16(key);
        w.WriteInt16(version);
        w.WriteInt32(correlation);
        w.WriteNullableString("test", compact: false);
        if (flexible) w.WriteUnsignedVarInt(0);
        body(w);
        var bytes = w.ToArray();
        var frame = new byte[4 + bytes.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, bytes.Length);
        bytes.CopyTo(frame, 4);
        return frame;
    }

    /// <summary>The next frame's bytes (after its size); null when the connection closed.</summary>
    internal static async Task<byte[]?> ReadFrame(NetworkStream s)
    {
        var size = new byte[4];
        try
        {
            await s.ReadExactlyAsync(size).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is EndOfStreamException or IOException)
        {
            return null;
        }
        var body = new byte[BinaryPrimitives.ReadInt32BigEndian(size)];
        await s.ReadExactlyAsync(body);
        return body;
    }

    private static byte[] Handshake(short version, string mechanism) => Request(17, version, 1, w => w.WriteNullableString(mechanism, compact: false));

    private static byte[] Plain(string user, string password) => Encoding.UTF8.GetBytes($"\0{user}\0{password}");

    private async Task<(TcpClient Client, NetworkStream Stream)> Connect(int port)
    {
        var c = new TcpClient();
        await c.ConnectAsync("127.0.0.1", port);
        return (c, c.GetStream());
    }

    [Fact]
    public async Task AV1HandshakeThenSaslAuthenticateServesTheConnection()
    {
        var (c, s) = await Connect(SaslPort);
        using var _ = c;
        await s.WriteAsync(Handshake(1, "PLAIN"));
        var hs = await ReadFrame(s);
        var r = new KafkaReader(hs!);
        Assert.Equal(1, r.ReadInt32()); // correlation id
        Assert.Equal((short)ErrorCode.None, r.ReadInt16());
        Assert.Equal(1, r.ReadInt32());
        Assert.Equal("PLAIN", r.ReadNullableString(false));

        // SaslAuthenticate v1: the session lifetime (0: none configured)
        await s.WriteAsync(Request(36, 1, 2, w => w.WriteNullableBytes(Plain("alice", "alice-secret"), compact: false)));
        var auth = new KafkaReader((await ReadFrame(s))!);
        Assert.Equal(2, auth.ReadInt32());
        Assert.Equal((short)ErrorCode.None, auth.ReadInt16());
        Assert.Null(auth.ReadNullableString(false));
        Assert.Equal(0, auth.ReadNullableBytes(false)!.Value.Length);
        Assert.Equal(0L, auth.ReadInt64());

        // now served: an ApiVersions answer
        await s.WriteAsync(Request(18, 0, 3, _ => { }));
        Assert.Equal(3, new KafkaReader((await ReadFrame(s))!).ReadInt32());
        // a second SaslAuthenticate is out of place
        await s.WriteAsync(Request(36, 1, 4, w => w.WriteNullableBytes(Plain("alice", "alice-secret"), compact: false)));
        var again = new KafkaReader((await ReadFrame(s))!);
        again.ReadInt32();
        Assert.Equal((short)ErrorCode.IllegalSaslState, again.ReadInt16());
    }

    [Fact]
    public async Task AV0HandshakeTakesRawTokenFramesAndAWrongPasswordClosesWithoutAnswer()
    {
        var (c, s) = await Connect(SaslPort);
        using (c)
        {
            await s.WriteAsync(Handshake(0, "PLAIN"));
            Assert.NotNull(await ReadFrame(s));
            var token = Plain("alice", "alice-secret");
            var frame = new byte[4 + token.Length];
            BinaryPrimitives.WriteInt32BigEndian(frame, token.Length);
            token.CopyTo(frame, 4);
            await s.WriteAsync(frame);
            Assert.Equal(0, (await ReadFrame(s))?.Length); // PLAIN's success: an empty raw frame
            await s.WriteAsync(Request(18, 0, 9, _ => { }));
            Assert.Equal(9, new KafkaReader((await ReadFrame(s))!).ReadInt32());
        }
        var (c2, s2) = await Connect(SaslPort);
        using (c2)
        {
            await s2.WriteAsync(Handshake(0, "PLAIN"));
            Assert.NotNull(await ReadFrame(s2));
            var token = Plain("alice", "wrong");
            var frame = new byte[4 + token.Length];
            BinaryPrimitives.WriteInt32BigEndian(frame, token.Length);
            token.CopyTo(frame, 4);
            await s2.WriteAsync(frame);
            Assert.Null(await ReadFrame(s2)); // closed, no answer
        }
    }

    [Fact]
    public async Task RefusalsCloseTheConnectionAtFaultOnly()
    {
        // a wrong password over v1: SASL_AUTHENTICATION_FAILED with Kafka's message, then closed
        var (c, s) = await Connect(SaslPort);
        using (c)
        {
            await s.WriteAsync(Handshake(1, "PLAIN"));
            await ReadFrame(s);
            await s.WriteAsync(Request(36, 2, 2, w => { w.WriteBytes(Plain("alice", "nope"), compact: true); w.WriteUnsignedVarInt(0); }, flexible: true));
            var r = new KafkaReader((await ReadFrame(s))!);
            r.ReadInt32();
            r.ReadUnsignedVarInt(); // response header v1 tags
            Assert.Equal((short)ErrorCode.SaslAuthenticationFailed, r.ReadInt16());
            Assert.Equal("Authentication failed: Invalid username or password", r.ReadNullableString(true));
            Assert.Null(await ReadFrame(s));
        }
        // an unknown mechanism: UNSUPPORTED_SASL_MECHANISM listing the enabled ones, then closed
        (c, s) = await Connect(SaslPort);
        using (c)
        {
            await s.WriteAsync(Handshake(1, "SCRAM-SHA-512"));
            var r = new KafkaReader((await ReadFrame(s))!);
            r.ReadInt32();
            Assert.Equal((short)ErrorCode.UnsupportedSaslMechanism, r.ReadInt16());
            Assert.Equal(1, r.ReadInt32());
            Assert.Equal("PLAIN", r.ReadNullableString(false));
            Assert.Null(await ReadFrame(s));
        }
        // a request before authentication (a client without SASL): closed without answer
        (c, s) = await Connect(SaslPort);
        using (c)
        {
            await s.WriteAsync(Request(3, 1, 5, w => w.WriteInt32(-1)));
            Assert.Null(await ReadFrame(s));
        }
        // garbage in the handshake: closed
        (c, s) = await Connect(SaslPort);
        using (c)
        {
            await s.WriteAsync(new byte[] { 0, 0, 0, 12, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8 });
            Assert.Null(await ReadFrame(s));
        }
        // a raw token frame larger than sasl.server.max.receive.size before authentication: closed
        (c, s) = await Connect(SaslPort);
        using (c)
        {
            await s.WriteAsync(Handshake(0, "PLAIN"));
            await ReadFrame(s);
            var big = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(big, 10 << 20);
            await s.WriteAsync(big);
            Assert.Null(await ReadFrame(s));
        }
        // and the SASL listener serves a good client after all that
        (c, s) = await Connect(SaslPort);
        using (c)
        {
            await s.WriteAsync(Handshake(1, "PLAIN"));
            await ReadFrame(s);
            await s.WriteAsync(Request(36, 0, 2, w => w.WriteNullableBytes(Plain("alice", "alice-secret"), compact: false)));
            var r = new KafkaReader((await ReadFrame(s))!);
            r.ReadInt32();
            Assert.Equal((short)ErrorCode.None, r.ReadInt16());
        }
    }

    [Fact]
    public async Task OnAListenerWithoutSaslAHandshakeIsIllegalSaslState()
    {
        var (c, s) = await Connect(_b.Port);
        using var _ = c;
        await s.WriteAsync(Handshake(1, "PLAIN"));
        var r = new KafkaReader((await ReadFrame(s))!);
        r.ReadInt32();
        Assert.Equal((short)ErrorCode.IllegalSaslState, r.ReadInt16());
        Assert.Equal(0, r.ReadInt32());
    }

    [Fact]
    public void PlainChecksItsThreeTokensWithKafkasMessages()
    {
        var users = JaasConfig.PlainUsers("org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" password=\"x\" user_alice=\"alice-secret\" user_quote=\"a\\\"b\";");
        Assert.Equal(new Dictionary<string, string> { ["alice"] = "alice-secret", ["quote"] = "a\"b" }, users);
        var plain = new PlainMechanism(users);
        string? Error(string token) => plain.Evaluate(Encoding.UTF8.GetBytes(token)).Error;
        Assert.Equal("User:alice", plain.Evaluate(Encoding.UTF8.GetBytes("\0alice\0alice-secret")).Principal);
        Assert.Equal("User:alice", plain.Evaluate(Encoding.UTF8.GetBytes("alice\0alice\0alice-secret")).Principal); // kafka-python's authzid
        Assert.Equal("Invalid SASL/PLAIN response: expected 3 tokens, got 2", Error("alice\0alice-secret"));
        Assert.Equal("Authentication failed: username not specified", Error("\0\0x"));
        Assert.Equal("Authentication failed: password not specified", Error("\0alice\0"));
        Assert.Equal("Authentication failed: Invalid username or password", Error("\0alice\0wrong"));
        Assert.Equal("Authentication failed: Invalid username or password", Error("\0nobody\0alice-secret"));
        Assert.Equal("Authentication failed: Client requested an authorization id that is different from username", Error("bob\0alice\0alice-secret"));
    }
}

/// <summary>KIP-368 on the wire: with connections.max.reauth.ms an authentication has a lifetime, sent in
/// SaslAuthenticate v1; the client re-authenticates on its connection (same mechanism, same user), and a connection
/// that does not is closed at its next request after the lifetime.</summary>
public sealed class SaslReauthenticationTests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(settings: new Dictionary<string, string>
        {
            ["listeners"] = "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
            ["sasl.enabled.mechanisms"] = "PLAIN",
            ["connections.max.reauth.ms"] = "4000",
            ["sasl.jaas.config"] = "org.apache.kafka.common.security.plain.PlainLoginModule required user_alice=\"a\" user_bob=\"b\";",
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    private static byte[] Frame(short key, short version, int correlation, Action<KafkaWriter> body) =>
        SaslProtocolTests.Request(key, version, correlation, body);

    /// <summary>The next answer's body after its correlation id; null when the connection closed.</summary>
    private static async Task<byte[]?> Answer(NetworkStream s) => await SaslProtocolTests.ReadFrame(s) is { } frame ? frame[4..] : null;

    /// <summary>Handshake v1 and SaslAuthenticate v1 as <paramref name="user"/>: the error and the lifetime.</summary>
    private static async Task<(short Error, long Lifetime)> Authenticate(NetworkStream s, string user, string password)
    {
        await s.WriteAsync(Frame(17, 1, 1, w => w.WriteNullableString("PLAIN", compact: false)));
        Assert.Equal((short)ErrorCode.None, BinaryPrimitives.ReadInt16BigEndian((await Answer(s))!));
        await s.WriteAsync(Frame(36, 1, 2, w => w.WriteNullableBytes(Encoding.UTF8.GetBytes($"\0{user}\0{password}"), compact: false)));
        return Read((await Answer(s))!);
    }

    private static (short Error, long Lifetime) Read(byte[] body)
    {
        var r = new KafkaReader(body);
        short error = r.ReadInt16();
        r.ReadNullableString(false);
        r.ReadNullableBytes(false);
        return (error, r.ReadInt64());
    }

    private static async Task<bool> Served(NetworkStream s)
    {
        await s.WriteAsync(Frame(18, 0, 3, _ => { }));
        return await Answer(s) != null;
    }

    [Fact]
    public async Task ASessionLastsItsLifetimeUnlessReauthenticated()
    {
        using var keeps = new TcpClient();
        await keeps.ConnectAsync("127.0.0.1", _b.Server.BoundPorts[1]);
        using var lapses = new TcpClient();
        await lapses.ConnectAsync("127.0.0.1", _b.Server.BoundPorts[1]);
        var (s1, s2) = (keeps.GetStream(), lapses.GetStream());
        Assert.Equal(((short)0, 4000L), await Authenticate(s1, "alice", "a"));
        Assert.Equal(((short)0, 4000L), await Authenticate(s2, "alice", "a"));
        Assert.True(await Served(s1));

        await Task.Delay(2500);
        Assert.Equal(((short)0, 4000L), await Authenticate(s1, "alice", "a")); // re-authenticated on its connection
        await Task.Delay(2500);
        Assert.True(await Served(s1));   // within its renewed lifetime
        Assert.False(await Served(s2));  // past its lifetime: closed

        // re-authenticating as someone else fails, and closes the connection
        using var other = new TcpClient();
        await other.ConnectAsync("127.0.0.1", _b.Server.BoundPorts[1]);
        var s3 = other.GetStream();
        await Authenticate(s3, "alice", "a");
        Assert.Equal((short)ErrorCode.SaslAuthenticationFailed, (await Authenticate(s3, "bob", "b")).Error);
        Assert.False(await Served(s3));
    }
}
