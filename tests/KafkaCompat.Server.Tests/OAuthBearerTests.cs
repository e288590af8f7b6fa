using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Testing;
using Xunit;
using static KafkaCompat.Server.Tests.SaslProtocolTests;

namespace KafkaCompat.Server.Tests;

/// <summary>SASL/OAUTHBEARER with unsecured JWTs: the exchange on the wire (RFC 7628's two-step refusal of an invalid
/// token, v0 raw frames, the session ending with the token), and the validator's claim rules.</summary>
public sealed class OAuthBearerTests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;
    private int SaslPort => _b.Server.BoundPorts[1];

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(settings: new Dictionary<string, string>
        {
            ["listeners"] = "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
            ["sasl.enabled.mechanisms"] = "OAUTHBEARER",
            ["listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config"] =
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub=\"admin\";",
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    private static string B64Url(string json) => Convert.ToBase64String(Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    /// <summary>An unsecured JWS: header, claims and an empty signature.</summary>
    internal static string Token(string claims, string header = """{"alg":"none"}""") => $"{B64Url(header)}.{B64Url(claims)}.";

    private static string Claims(string sub = "alice", double expInSeconds = 3600, string extra = "") =>
        $$"""{"sub":"{{sub}}","iat":{{Now / 1000.0:0.000}},"exp":{{Now / 1000.0 + expInSeconds:0.000}}{{extra}}}""";

    internal static byte[] InitialResponse(string token, string authzid = "", string extensions = "") =>
        Encoding.UTF8.GetBytes($"n,{(authzid.Length > 0 ? "a=" + authzid : "")},\u0001auth=Bearer {token}\u0001{extensions}\u0001");

    private async Task<NetworkStream> Connected(TcpClient c, short handshakeVersion = 1)
    {
        await c.ConnectAsync("127.0.0.1", SaslPort);
        var s = c.GetStream();
        await s.WriteAsync(Request(17, handshakeVersion, 1, w => w.WriteNullableString("OAUTHBEARER", compact: false)));
        var hs = new KafkaReader((await ReadFrame(s))!);
        hs.ReadInt32();
        Assert.Equal((short)ErrorCode.None, hs.ReadInt16());
        return s;
    }

    private static async Task<(ErrorCode Error, string? Message, string Token, long Lifetime)> Authenticate(NetworkStream s, int correlation, byte[] token)
    {
        await s.WriteAsync(Request(36, 1, correlation, w => w.WriteNullableBytes(token, compact: false)));
        var frame = await ReadFrame(s);
        Assert.NotNull(frame);
        var r = new KafkaReader(frame);
        Assert.Equal(correlation, r.ReadInt32());
        var error = (ErrorCode)r.ReadInt16();
        var message = r.ReadNullableString(false);
        var bytes = r.ReadNullableBytes(false)!.Value.ToArray();
        return (error, message, Encoding.UTF8.GetString(bytes), r.ReadInt64());
    }

    [Fact]
    public async Task AValidTokenAuthenticatesUntilItExpires()
    {
        using var c = new TcpClient();
        var s = await Connected(c);
        var ok = await Authenticate(s, 2, InitialResponse(Token(Claims(expInSeconds: 600)), extensions: "traceId=abc\u0001"));
        Assert.Equal((ErrorCode.None, (string?)null, ""), (ok.Error, ok.Message, ok.Token));
        Assert.InRange(ok.Lifetime, 590_000, 600_000); // the session lasts as long as the token
        await s.WriteAsync(Request(18, 0, 3, _ => { }));
        Assert.Equal(3, new KafkaReader((await ReadFrame(s))!).ReadInt32());
    }

    [Theory]
    [InlineData("""{"sub":"alice","exp":1000}""", "{\"alg\":\"none\"}")] // expired long ago
    [InlineData("""{"sub":"alice","exp":99999999999}""", "{\"alg\":\"HS256\"}")] // a signed token is not for this validator
    [InlineData("""{"exp":99999999999}""", "{\"alg\":\"none\"}")] // no principal
    [InlineData("""{"sub":"alice"}""", "{\"alg\":\"none\"}")] // no expiry
    [InlineData("""{"sub":"alice","exp":99999999999,"iat":99999999990}""", "{\"alg\":\"none\"}")] // issued in the future
    [InlineData("not json", "{\"alg\":\"none\"}")]
    public async Task AnInvalidTokenGetsRfc7628sTwoStepRefusal(string claims, string header)
    {
        using var c = new TcpClient();
        var s = await Connected(c);
        var first = await Authenticate(s, 2, InitialResponse(Token(claims, header)));
        Assert.Equal((ErrorCode.None, """{"status":"invalid_token"}""", (string?)null), (first.Error, first.Token, first.Message));
        var second = await Authenticate(s, 3, [0x01]);
        Assert.Equal((ErrorCode.SaslAuthenticationFailed, """{"status":"invalid_token"}"""), (second.Error, second.Message));
        Assert.Null(await ReadFrame(s));
    }

    [Fact]
    public async Task ARequestInTheMiddleOfTheExchangeGetsItsOwnErrorAnswerThenTheConnectionCloses()
    {
        // kafkajs 2.2.4 takes the invalid_token step for success and sends Metadata: Kafka answers it with
        // Metadata's error response (ILLEGAL_SASL_STATE) and closes
        using var c = new TcpClient();
        var s = await Connected(c);
        var first = await Authenticate(s, 2, InitialResponse(Token("""{"sub":"alice","exp":1000}""")));
        Assert.Equal("""{"status":"invalid_token"}""", first.Token);
        await s.WriteAsync(Request(3, 1, 3, w => w.WriteInt32(-1))); // Metadata v1, all topics
        var answer = new KafkaReader((await ReadFrame(s))!);
        Assert.Equal(3, answer.ReadInt32());
        Assert.Equal(0, answer.ReadInt32()); // no brokers
        Assert.Null(await ReadFrame(s));
    }

    [Fact]
    public async Task AnotherAuthorizationIdIsRefusedInKafkasWords()
    {
        using var c = new TcpClient();
        var s = await Connected(c);
        var r = await Authenticate(s, 2, InitialResponse(Token(Claims()), authzid: "admin"));
        Assert.Equal(ErrorCode.SaslAuthenticationFailed, r.Error);
        Assert.Equal("Authentication failed: Client requested an authorization id (admin) that is different from the token's principal name (alice)", r.Message);
    }

    [Theory]
    [InlineData("n,,auth=Bearer x")]
    [InlineData("n,,\u0001auth=Basic abc\u0001\u0001")]
    [InlineData("n,,\u0001user=alice\u0001\u0001")]
    [InlineData("hello")]
    public async Task AMalformedMessageGetsTheGenericFailure(string message)
    {
        using var c = new TcpClient();
        var s = await Connected(c);
        var r = await Authenticate(s, 2, Encoding.UTF8.GetBytes(message));
        Assert.Equal(ErrorCode.SaslAuthenticationFailed, r.Error);
        Assert.Equal("Authentication failed during authentication due to invalid credentials with SASL mechanism OAUTHBEARER", r.Message);
    }

    [Fact]
    public async Task AV0HandshakeTakesTheTokenInARawFrame()
    {
        using var c = new TcpClient();
        var s = await Connected(c, handshakeVersion: 0);
        var token = InitialResponse(Token(Claims()));
        var frame = new byte[4 + token.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, token.Length);
        token.CopyTo(frame, 4);
        await s.WriteAsync(frame);
        Assert.Empty((await ReadFrame(s))!); // kafka-python 2.0.2 expects exactly an empty frame
        await s.WriteAsync(Request(18, 0, 3, _ => { }));
        Assert.Equal(3, new KafkaReader((await ReadFrame(s))!).ReadInt32());
    }

    [Fact]
    public void TheRequiredScopeIsCheckedAndNamedInTheRefusal()
    {
        var options = OAuthBearerServer.Options.FromJaas(
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredValidatorRequiredScope=\"read write\" unsecuredValidatorScopeClaimName=\"scp\";");
        Assert.Equal(["read", "write"], options.RequiredScope);
        var lacking = new OAuthBearerServer(options).Evaluate(InitialResponse(Token(Claims(extra: ""","scp":["read"]"""))));
        Assert.Equal("""{"status":"insufficient_scope", "scope":"[read, write]"}""", Encoding.UTF8.GetString(lacking.Challenge));
        Assert.Null(lacking.Error);
        var granted = new OAuthBearerServer(options).Evaluate(InitialResponse(Token(Claims(extra: ""","scp":"write read" """))));
        Assert.True(granted.Complete);
        Assert.Equal("User:alice", granted.Principal);
    }

    [Fact]
    public void ClockSkewAndThePrincipalClaimAreOptions()
    {
        var options = OAuthBearerServer.Options.FromJaas("x required unsecuredValidatorAllowableClockSkewMs=\"60000\" unsecuredValidatorPrincipalClaimName=\"upn\";");
        var time = new FixedTime(DateTimeOffset.UtcNow);
        string claims = $$"""{"upn":"bob","exp":{{time.GetUtcNow().ToUnixTimeMilliseconds() / 1000 - 30}}}""";
        var step = new OAuthBearerServer(options, time).Evaluate(InitialResponse(Token(claims)));
        Assert.Equal("User:bob", step.Principal); // 30 s past expiry, within 60 s of skew
        Assert.Throws<ArgumentException>(() => OAuthBearerServer.Options.FromJaas("x required unsecuredValidatorAllowableClockSkewMs=\"soon\";"));
    }

    [Fact]
    public void TheSessionEndsWithTheTokenOrTheReauthLimitWhicheverIsFirst()
    {
        var session = new SaslSession(["OAUTHBEARER"], _ => new OAuthBearerServer(OAuthBearerServer.Options.Default)) { LifetimeMs = 60_000 };
        Assert.Equal(ErrorCode.None, session.Handshake("OAUTHBEARER", 1));
        Assert.True(session.Authenticate(InitialResponse(Token(Claims(expInSeconds: 3600)))).Complete);
        Assert.Equal(60_000, session.SessionLifetimeMs);
        // a token that ends sooner ends the session sooner; a token allows re-authentication without the limit
        var bare = new SaslSession(["OAUTHBEARER"], _ => new OAuthBearerServer(OAuthBearerServer.Options.Default));
        bare.Handshake("OAUTHBEARER", 1);
        bare.Authenticate(InitialResponse(Token(Claims(expInSeconds: 30))));
        Assert.InRange(bare.SessionLifetimeMs, 29_000, 30_000);
        Assert.Equal(ErrorCode.None, bare.Handshake("OAUTHBEARER", 1));
        Assert.True(bare.Authenticate(InitialResponse(Token(Claims(expInSeconds: 30)))).Complete);
        Assert.Equal(ErrorCode.None, bare.Handshake("OAUTHBEARER", 1));
        var other = bare.Authenticate(InitialResponse(Token(Claims(sub: "mallory"))));
        Assert.Equal("Cannot change principals during re-authentication from User:alice: User:mallory", other.Error);
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
