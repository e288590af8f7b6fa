using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using KafkaCompat.Broker.Security;
using KafkaCompat.Client;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using KafkaCompat.Testing;
using Xunit;
using static KafkaCompat.Server.Tests.SaslProtocolTests;

namespace KafkaCompat.Server.Tests;

/// <summary>SASL/SCRAM on the wire, byte by byte (SaslAuthenticate and v0 raw frames), with Kafka's failure messages;
/// the SCRAM user APIs with the controller's rules; the credentials' file; <c>--add-scram</c>.</summary>
public sealed class ScramTests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;
    private int SaslPort => _b.Server.BoundPorts[1];
    private string Plaintext => $"127.0.0.1:{_b.Port}";

    private static readonly Dictionary<string, string> Settings = new()
    {
        ["listeners"] = "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
        ["sasl.enabled.mechanisms"] = "SCRAM-SHA-256,SCRAM-SHA-512",
    };

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(settings: Settings, addScram:
            ["SCRAM-SHA-256=[name=alice,password=alice-secret]", "SCRAM-SHA-512=[name=alice,iterations=8192,password=\"alice-secret\"]"]);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    private async Task<(TcpClient Client, NetworkStream Stream)> Connect()
    {
        var c = new TcpClient();
        await c.ConnectAsync("127.0.0.1", SaslPort);
        return (c, c.GetStream());
    }

    private static byte[] Handshake(short version, string mechanism) => Request(17, version, 1, w => w.WriteNullableString(mechanism, compact: false));

    private static byte[] Authenticate(int correlation, byte[] token) => Request(36, 1, correlation, w => w.WriteNullableBytes(token, compact: false));

    private static byte[] Raw(byte[] token)
    {
        var frame = new byte[4 + token.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, token.Length);
        token.CopyTo(frame, 4);
        return frame;
    }

    /// <summary>A SaslAuthenticate v1 answer: error, message, token, lifetime.</summary>
    private static async Task<(ErrorCode Error, string? Message, byte[] Token)> ReadAuthenticate(NetworkStream s)
    {
        var frame = await ReadFrame(s);
        Assert.NotNull(frame);
        var r = new KafkaReader(frame);
        r.ReadInt32();
        var error = (ErrorCode)r.ReadInt16();
        var message = r.ReadNullableString(false);
        var token = r.ReadNullableBytes(false)!.Value.ToArray();
        r.ReadInt64();
        return (error, message, token);
    }

    private async Task<NetworkStream> HandshakeV1(TcpClient c, string mechanism)
    {
        var s = c.GetStream();
        await s.WriteAsync(Handshake(1, mechanism));
        var hs = new KafkaReader((await ReadFrame(s))!);
        hs.ReadInt32();
        Assert.Equal((short)ErrorCode.None, hs.ReadInt16());
        return s;
    }

    [Theory]
    [InlineData("SCRAM-SHA-256", 4096)]
    [InlineData("SCRAM-SHA-512", 8192)]
    public async Task TheExchangeAuthenticatesAndTheBrokerProvesItHoldsTheKey(string mechanism, int iterations)
    {
        using var c = new TcpClient();
        await c.ConnectAsync("127.0.0.1", SaslPort);
        var s = await HandshakeV1(c, mechanism);
        var client = new ScramClient(Scram.Parse(mechanism), "alice", "alice-secret");
        await s.WriteAsync(Authenticate(2, client.First()));
        var first = await ReadAuthenticate(s);
        Assert.Equal(ErrorCode.None, first.Error);
        var serverFirst = Encoding.UTF8.GetString(first.Token);
        Assert.Matches($"^r=[^,]+,s=[A-Za-z0-9+/=]+,i={iterations}$", serverFirst);
        await s.WriteAsync(Authenticate(3, client.Final(first.Token)));
        var final = await ReadAuthenticate(s);
        Assert.Equal(ErrorCode.None, final.Error);
        Assert.True(client.VerifyServerFinal(final.Token), Encoding.UTF8.GetString(final.Token));
        // served now
        await s.WriteAsync(Request(18, 0, 4, _ => { }));
        Assert.Equal(4, new KafkaReader((await ReadFrame(s))!).ReadInt32());
    }

    [Fact]
    public async Task AV0HandshakeCarriesTheTokensInRawFrames()
    {
        var (c, s) = await Connect();
        using var _ = c;
        await s.WriteAsync(Handshake(0, "SCRAM-SHA-256"));
        Assert.NotNull(await ReadFrame(s));
        var client = new ScramClient(ScramMechanism.ScramSha256, "alice", "alice-secret");
        await s.WriteAsync(Raw(client.First()));
        var serverFirst = await ReadFrame(s);
        await s.WriteAsync(Raw(client.Final(serverFirst)));
        Assert.True(client.VerifyServerFinal(await ReadFrame(s)));
        await s.WriteAsync(Request(18, 0, 5, _ => { }));
        Assert.Equal(5, new KafkaReader((await ReadFrame(s))!).ReadInt32());
    }

    [Fact]
    public async Task AWrongPasswordGetsKafkasGenericMessageAndTheConnectionCloses()
    {
        var (c, s) = await Connect();
        using var _ = c;
        await HandshakeV1(c, "SCRAM-SHA-256");
        var client = new ScramClient(ScramMechanism.ScramSha256, "alice", "not-her-password");
        await s.WriteAsync(Authenticate(2, client.First()));
        var first = await ReadAuthenticate(s);
        await s.WriteAsync(Authenticate(3, client.Final(first.Token)));
        var final = await ReadAuthenticate(s);
        Assert.Equal(ErrorCode.SaslAuthenticationFailed, final.Error);
        Assert.Equal("Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256", final.Message);
        Assert.Null(await ReadFrame(s));
    }

    [Fact]
    public async Task AnUnknownUserFailsAtTheFirstMessage()
    {
        var (c, s) = await Connect();
        using var _ = c;
        await HandshakeV1(c, "SCRAM-SHA-512");
        await s.WriteAsync(Authenticate(2, new ScramClient(ScramMechanism.ScramSha512, "mallory", "x").First()));
        var first = await ReadAuthenticate(s);
        Assert.Equal(ErrorCode.SaslAuthenticationFailed, first.Error);
        Assert.Equal("Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512", first.Message);
        Assert.Empty(first.Token); // no salt or iterations given away
        Assert.Null(await ReadFrame(s));
    }

    [Fact]
    public async Task AnotherAuthorizationIdIsRefusedInKafkasWords()
    {
        var (c, s) = await Connect();
        using var _ = c;
        await HandshakeV1(c, "SCRAM-SHA-256");
        await s.WriteAsync(Authenticate(2, "n,a=admin,n=alice,r=abcdef"u8.ToArray()));
        var first = await ReadAuthenticate(s);
        Assert.Equal(ErrorCode.SaslAuthenticationFailed, first.Error);
        Assert.Equal("Authentication failed: Client requested an authorization id that is different from username", first.Message);
    }

    [Fact]
    public async Task AFinalNonceThatEndsWithTheServersIsTakenAsLibrdkafkaSendsIt()
    {
        // librdkafka writes its own nonce before the whole nonce of the server's first message; Kafka checks the end
        var (c, s) = await Connect();
        using var _ = c;
        await HandshakeV1(c, "SCRAM-SHA-256");
        const string bare = "n=alice,r=rdkafka-nonce";
        await s.WriteAsync(Authenticate(2, Encoding.UTF8.GetBytes("n,," + bare)));
        var serverFirst = Encoding.UTF8.GetString((await ReadAuthenticate(s)).Token);
        var fields = serverFirst.Split(',');
        var salted = Scram.SaltedPassword(ScramMechanism.ScramSha256, "alice-secret", Convert.FromBase64String(fields[1][2..]), int.Parse(fields[2][2..]));
        string withoutProof = "c=biws,r=rdkafka-nonce" + fields[0][2..];
        string authMessage = bare + "," + serverFirst + "," + withoutProof;
        var proof = Convert.ToBase64String(Scram.ClientProof(ScramMechanism.ScramSha256, salted, authMessage));
        await s.WriteAsync(Authenticate(3, Encoding.UTF8.GetBytes(withoutProof + ",p=" + proof)));
        var final = await ReadAuthenticate(s);
        Assert.Equal(ErrorCode.None, final.Error);
        Assert.Equal("v=" + Convert.ToBase64String(Scram.ServerSignature(ScramMechanism.ScramSha256, Scram.ServerKey(ScramMechanism.ScramSha256, salted), authMessage)),
            Encoding.UTF8.GetString(final.Token));
    }

    [Fact]
    public async Task AFinalMessageWithAnotherNonceFails()
    {
        var (c, s) = await Connect();
        using var _ = c;
        await HandshakeV1(c, "SCRAM-SHA-256");
        var client = new ScramClient(ScramMechanism.ScramSha256, "alice", "alice-secret");
        await s.WriteAsync(Authenticate(2, client.First()));
        var first = await ReadAuthenticate(s);
        var final = Encoding.UTF8.GetString(client.Final(first.Token));
        // the same proof with the nonce's last character changed
        int p = final.IndexOf(",p=", StringComparison.Ordinal) - 1;
        var tampered = final[..p] + (final[p] == 'x' ? 'y' : 'x') + final[(p + 1)..];
        await s.WriteAsync(Authenticate(3, Encoding.UTF8.GetBytes(tampered)));
        Assert.Equal(ErrorCode.SaslAuthenticationFailed, (await ReadAuthenticate(s)).Error);
        Assert.Null(await ReadFrame(s));
    }

    [Theory]
    [InlineData("hello")]
    [InlineData("y,,n=alice,r=abc")] // channel binding is not offered
    [InlineData("n,,n=alice")]
    [InlineData("n,,n=al=ZZice,r=abc")]
    [InlineData("n,,n=alice,r=abc,tokenauth=true")] // delegation tokens are not served
    [InlineData("\u00ff\u00fe")]
    public async Task AMalformedFirstMessageFailsAndTheListenerServesOthers(string message)
    {
        var (c, s) = await Connect();
        using (c)
        {
            await HandshakeV1(c, "SCRAM-SHA-256");
            await s.WriteAsync(Authenticate(2, message == "\u00ff\u00fe" ? [0xff, 0xfe] : Encoding.UTF8.GetBytes(message)));
            var first = await ReadAuthenticate(s);
            Assert.Equal(ErrorCode.SaslAuthenticationFailed, first.Error);
            Assert.Equal("Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256", first.Message);
        }
        await using var ok = await KafkaClient.ConnectAsync($"127.0.0.1:{SaslPort}", security: Alice("SCRAM-SHA-256"));
        Assert.NotNull(ok.ClusterId);
    }

    private static ClientSecurity Alice(string mechanism, string password = "alice-secret", string user = "alice") =>
        new() { Protocol = "SASL_PLAINTEXT", Mechanism = mechanism, Username = user, Password = password };

    [Fact]
    public async Task AUserAddedOverTheWireLogsInAndARemovedOneNoLonger()
    {
        await using (var admin = await KafkaClient.ConnectAsync(Plaintext))
            await ScramAdmin.UpsertAsync(admin, "carol", ScramMechanism.ScramSha512, "carol-secret", 4096, default);
        await using (var carol = await KafkaClient.ConnectAsync($"127.0.0.1:{SaslPort}", security: Alice("SCRAM-SHA-512", "carol-secret", "carol")))
            Assert.NotNull(carol.ClusterId);
        // only the mechanism she has
        var other = await Assert.ThrowsAsync<KafkaErrorException>(() => KafkaClient.ConnectAsync($"127.0.0.1:{SaslPort}", security: Alice("SCRAM-SHA-256", "carol-secret", "carol")));
        Assert.Equal(ErrorCode.SaslAuthenticationFailed, other.Code);
        await using (var admin = await KafkaClient.ConnectAsync(Plaintext))
            await ScramAdmin.DeleteAsync(admin, "carol", ScramMechanism.ScramSha512, default);
        var gone = await Assert.ThrowsAsync<KafkaErrorException>(() => KafkaClient.ConnectAsync($"127.0.0.1:{SaslPort}", security: Alice("SCRAM-SHA-512", "carol-secret", "carol")));
        Assert.Equal(ErrorCode.SaslAuthenticationFailed, gone.Code);
    }

    private static AlterUserScramCredentialsRequest.ScramCredentialUpsertion Upsert(string name, sbyte mechanism = 1, int iterations = 4096) =>
        new() { Name = name, Mechanism = mechanism, Iterations = iterations, Salt = new byte[] { 1, 2, 3 }, SaltedPassword = new byte[32] };

    [Fact]
    public async Task AlterFollowsTheControllersRules()
    {
        await using var client = await KafkaClient.ConnectAsync(Plaintext);
        var conn = await client.AdminAsync();
        var resp = await conn.SendAsync<AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse>(new AlterUserScramCredentialsRequest
        {
            Deletions =
            [
                new() { Name = "nobody", Mechanism = 1 },
                new() { Name = "alice", Mechanism = 1 },
                new() { Name = "", Mechanism = 1 },
            ],
            Upsertions =
            [
                Upsert("alice", 2), // a user changed twice, whatever the mechanism: neither change is made
                Upsert("few", iterations: 4095),
                Upsert("many", iterations: 16385),
                Upsert("odd", mechanism: 3),
                Upsert("dave", 2),
                Upsert("edge", iterations: 16384),
            ],
        });
        var results = resp.Results.Select(r => (r.User, r.ErrorCode, r.ErrorMessage)).ToList();
        Assert.Equal(
        [
            ("dave", ErrorCode.None, null), ("edge", ErrorCode.None, null),
            ("nobody", ErrorCode.ResourceNotFound, "Attempt to delete a user credential that does not exist"),
            ("alice", ErrorCode.DuplicateResource, "A user credential cannot be altered twice in the same request"),
            ("", ErrorCode.UnacceptableCredential, "Username must not be empty"),
            ("few", ErrorCode.UnacceptableCredential, "Too few iterations"),
            ("many", ErrorCode.UnacceptableCredential, "Too many iterations"),
            ("odd", ErrorCode.UnsupportedSaslMechanism, "Unknown SCRAM mechanism"),
        ], results);
        Assert.Equal([(ScramMechanism.ScramSha512, 4096)], _b.Broker.Scram.Describe("dave"));
        Assert.Equal([(ScramMechanism.ScramSha256, 4096), (ScramMechanism.ScramSha512, 8192)], _b.Broker.Scram.Describe("alice"));
        Assert.Equal([(ScramMechanism.ScramSha256, 16384)], _b.Broker.Scram.Describe("edge"));
    }

    [Fact]
    public async Task DescribeNamesMissingAndRepeatedUsers()
    {
        await using var client = await KafkaClient.ConnectAsync(Plaintext);
        var conn = await client.AdminAsync();
        var resp = await conn.SendAsync<DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse>(new DescribeUserScramCredentialsRequest
        {
            Users = [new() { Name = "alice" }, new() { Name = "ghost" }, new() { Name = "rep" }, new() { Name = "rep" }],
        });
        Assert.Equal(ErrorCode.None, resp.ErrorCode);
        Assert.Equal(3, resp.Results.Count);
        Assert.Equal([(1, 4096), (2, 8192)], resp.Results[0].CredentialInfos.Select(c => ((int)c.Mechanism, c.Iterations)));
        Assert.Equal((ErrorCode.ResourceNotFound, "Attempt to describe a user credential that does not exist: ghost"), (resp.Results[1].ErrorCode, resp.Results[1].ErrorMessage));
        Assert.Equal((ErrorCode.DuplicateResource, "Cannot describe SCRAM credentials for the same user twice in a single request: rep"), (resp.Results[2].ErrorCode, resp.Results[2].ErrorMessage));
        var all = await ScramAdmin.DescribeAsync(client, [], default);
        Assert.Contains(all, u => u.User == "alice" && u.Credentials.Count == 2);
    }

    [Fact]
    public async Task CredentialsSurviveARestartAndTheFileHoldsNoPassword()
    {
        string dir = Path.Combine(Path.GetTempPath(), "kafkacompat-scram-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            await using (var first = EmbeddedBroker.Start(dir, Settings, addScram: ["SCRAM-SHA-256=[name=frank,password=frank-secret-42]"]))
            {
            }
            var text = await File.ReadAllTextAsync(Path.Combine(dir, ScramCredentialStore.FileName));
            Assert.Contains("frank", text);
            Assert.DoesNotContain("frank-secret-42", text);
            Assert.DoesNotContain(Convert.ToBase64String("frank-secret-42"u8), text);
            await using var again = EmbeddedBroker.Start(dir, Settings);
            await using var frank = await KafkaClient.ConnectAsync($"127.0.0.1:{again.Server.BoundPorts[1]}", security: Alice("SCRAM-SHA-256", "frank-secret-42", "frank"));
            Assert.NotNull(frank.ClusterId);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void ADamagedCredentialsFileStopsTheStart()
    {
        string dir = Directory.CreateTempSubdirectory("kafkacompat-scram-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, ScramCredentialStore.FileName), "{\"alice\": {\"SCRAM-SHA-256\": {\"salt\": \"***\"");
            var e = Assert.ThrowsAny<Exception>(() => ScramCredentialStore.Open(dir));
            Assert.Contains(ScramCredentialStore.FileName, e.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void AddScramTakesKafkaStoragesForms()
    {
        var plain = ScramCredentialStore.ParseAddScram("SCRAM-SHA-256=[name=alice,password=alice-secret]");
        Assert.Equal(("alice", ScramMechanism.ScramSha256, 4096), (plain.User, plain.Mechanism, plain.Credential!.Iterations));
        var salt = Convert.ToBase64String("saltsalt"u8);
        var salted = Convert.ToBase64String(Scram.SaltedPassword(ScramMechanism.ScramSha512, "pw", "saltsalt"u8, 8192));
        var given = ScramCredentialStore.ParseAddScram($"SCRAM-SHA-512=[name=\"a,b\",iterations=8192,salt=\"{salt}\",saltedpassword=\"{salted}\"]");
        Assert.Equal("a,b", given.User);
        Assert.Equal(ScramCredential.FromSaltedPassword(ScramMechanism.ScramSha512, [.. "saltsalt"u8], Convert.FromBase64String(salted), 8192).StoredKey, given.Credential!.StoredKey);
        // the same password and salt give the same keys
        var fromPassword = ScramCredentialStore.ParseAddScram($"SCRAM-SHA-512=[name=x,iterations=8192,salt={salt},password=pw]");
        Assert.Equal(given.Credential.ServerKey, fromPassword.Credential!.ServerKey);

        foreach (var bad in new[]
        {
            "SCRAM-SHA-1=[name=a,password=b]", "SCRAM-SHA-256=[password=b]", "SCRAM-SHA-256=[name=a]", "SCRAM-SHA-256=name=a,password=b",
            "SCRAM-SHA-256=[name=a,password=b,iterations=100]", "SCRAM-SHA-256=[name=a,password=b,colour=red]", "SCRAM-SHA-256=[name=a,salt=@@,saltedpassword=AA==]",
        })
            Assert.Throws<ArgumentException>(() => ScramCredentialStore.ParseAddScram(bad));
    }
}
