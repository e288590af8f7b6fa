using Confluent.Kafka;
using Confluent.Kafka.Admin;
using KafkaCompat.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace KafkaCompat.CurrentClients.Tests;

/// <summary>SASL with librdkafka 2.16 (SaslHandshake v1, SaslAuthenticate v1): confluent-kafka-python's script on it
/// for PLAIN and both SCRAM mechanisms; Confluent.Kafka 2.16 in this process over SASL_SSL, refused with a wrong
/// password; and its admin client managing SCRAM users (AlterUserScramCredentials, DescribeUserScramCredentials).</summary>
public sealed class SaslTests(ITestOutputHelper output) : SecureListenersTest(output, sasl: true)
{
    [Theory]
    [InlineData("PLAIN")]
    [InlineData("SCRAM-SHA-256")]
    [InlineData("SCRAM-SHA-512")]
    [InlineData("OAUTHBEARER")]
    public Task ConfluentKafkaPythonOnLibrdkafka216(string mechanism) =>
        RunScript("/usr/bin/python3", "sasl_test.py", CurrentLibrdkafka.PythonEnvironment, "confluent", mechanism);

    private ClientConfig Client(SaslMechanism mechanism, string user, string password) => new()
    {
        BootstrapServers = $"localhost:{Broker.Server.BoundPorts[2]}",
        SecurityProtocol = SecurityProtocol.SaslSsl,
        SslCaLocation = Pki.Ca,
        SaslMechanism = mechanism,
        SaslUsername = user,
        SaslPassword = password,
    };

    [Theory]
    [InlineData(SaslMechanism.Plain, "Authentication failed: Invalid username or password")]
    [InlineData(SaslMechanism.ScramSha512, "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512")]
    public async Task ConfluentKafkaOverSaslSsl(SaslMechanism mechanism, string refusal)
    {
        Assert.StartsWith("2.16", Library.VersionString);
        string topic = $"dotnet-sasl-{mechanism}";
        using (var producer = new ProducerBuilder<Null, string>(new ProducerConfig(Client(mechanism, "bob", "bob-secret"))).Build())
            Assert.Equal(PersistenceStatus.Persisted, (await producer.ProduceAsync(topic, new Message<Null, string> { Value = "as-bob" })).Status);
        using (var consumer = new ConsumerBuilder<Ignore, string>(new ConsumerConfig(Client(mechanism, "bob", "bob-secret")) { GroupId = topic, AutoOffsetReset = AutoOffsetReset.Earliest }).Build())
        {
            consumer.Subscribe(topic);
            Assert.Equal("as-bob", consumer.Consume(TimeSpan.FromSeconds(30))?.Message.Value);
            consumer.Close();
        }
        // a wrong password: librdkafka reports the broker's reason as an authentication error
        await AssertRefused(Client(mechanism, "bob", "wrong"), topic, refusal);
        Assert.Equal(1, Broker.Broker.Logs.Get(topic)!.Partitions[0].HighWatermark);
    }

    private static async Task AssertRefused(ClientConfig config, string topic, string reason)
    {
        var errors = new List<Error>();
        using var refused = new ProducerBuilder<Null, string>(new ProducerConfig(config) { MessageTimeoutMs = 5000 })
            .SetErrorHandler((_, e) => { lock (errors) errors.Add(e); }).Build();
        await Assert.ThrowsAsync<ProduceException<Null, string>>(() => refused.ProduceAsync(topic, new Message<Null, string> { Value = "x" }));
        lock (errors) Assert.Contains(errors, e => e.Reason.Contains("SASL authentication error: " + reason));
    }

    [Fact]
    public async Task TheAdminClientManagesScramUsers()
    {
        // as bob over SASL_SSL with SCRAM-SHA-256 (no authorizer is configured, so any user may)
        using var admin = new AdminClientBuilder(new AdminClientConfig(Client(SaslMechanism.ScramSha256, "bob", "bob-secret"))).Build();
        await admin.AlterUserScramCredentialsAsync(
        [
            new UserScramCredentialUpsertion
            {
                User = "dora",
                ScramCredentialInfo = new ScramCredentialInfo { Mechanism = Confluent.Kafka.Admin.ScramMechanism.ScramSha256, Iterations = 10000 },
                Password = "dora-secret"u8.ToArray(),
            },
        ]);
        var described = await admin.DescribeUserScramCredentialsAsync(["dora", "bob"]);
        var dora = Assert.Single(described.UserScramCredentialsDescriptions, d => d.User == "dora");
        Assert.Equal((Confluent.Kafka.Admin.ScramMechanism.ScramSha256, 10000), (dora.ScramCredentialInfos.Single().Mechanism, dora.ScramCredentialInfos.Single().Iterations));
        var bob = Assert.Single(described.UserScramCredentialsDescriptions, d => d.User == "bob");
        Assert.Equal([4096, 8192], bob.ScramCredentialInfos.OrderBy(i => i.Mechanism).Select(i => i.Iterations));

        // dora logs in with the password librdkafka salted
        using (var producer = new ProducerBuilder<Null, string>(new ProducerConfig(Client(SaslMechanism.ScramSha256, "dora", "dora-secret"))).Build())
            Assert.Equal(PersistenceStatus.Persisted, (await producer.ProduceAsync("dotnet-dora", new Message<Null, string> { Value = "as-dora" })).Status);

        // Kafka's refusals reach the admin client per user
        var refused = await Assert.ThrowsAsync<AlterUserScramCredentialsException>(() => admin.AlterUserScramCredentialsAsync(
        [
            new UserScramCredentialUpsertion
            {
                User = "eve",
                ScramCredentialInfo = new ScramCredentialInfo { Mechanism = Confluent.Kafka.Admin.ScramMechanism.ScramSha512, Iterations = 100 },
                Password = "x"u8.ToArray(),
            },
        ]));
        Assert.Equal(ErrorCode.UnacceptableCredential, Assert.Single(refused.Results).Error.Code);
        var missing = await Assert.ThrowsAsync<DescribeUserScramCredentialsException>(() => admin.DescribeUserScramCredentialsAsync(["eve"]));
        Assert.Equal(ErrorCode.ResourceNotFound, Assert.Single(missing.Results.UserScramCredentialsDescriptions).Error.Code);

        // removed: dora can no longer log in
        await admin.AlterUserScramCredentialsAsync([new UserScramCredentialDeletion { User = "dora", Mechanism = Confluent.Kafka.Admin.ScramMechanism.ScramSha256 }]);
        await AssertRefused(Client(SaslMechanism.ScramSha256, "dora", "dora-secret"), "dotnet-dora",
            "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256");
    }
}
