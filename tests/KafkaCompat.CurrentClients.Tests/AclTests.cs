using Confluent.Kafka;
using Confluent.Kafka.Admin;
using KafkaCompat.Testing;
using KafkaCompat.TestSupport;
using Xunit;

namespace KafkaCompat.CurrentClients.Tests;

/// <summary>ACLs with Confluent.Kafka 2.16: its admin client creates, describes and deletes ACLs as a super user and
/// is refused as another; a producer is refused a topic it has READ on only, served once WRITE is added, refused
/// again by a DENY.</summary>
public sealed class AclTests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(settings: TestCertificates.AclListeners());
        _b.Broker.CreateTopic("dotnet-acl", 1, 1, new(), validateOnly: false);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    private ClientConfig As(string user) => new()
    {
        BootstrapServers = $"127.0.0.1:{_b.Server.BoundPorts[1]}",
        SecurityProtocol = SecurityProtocol.SaslPlaintext,
        SaslMechanism = SaslMechanism.Plain,
        SaslUsername = user,
        SaslPassword = user + "-secret",
    };

    private static AclBinding Acl(string topic, Confluent.Kafka.Admin.AclOperation op, AclPermissionType permission = AclPermissionType.Allow,
        ResourcePatternType pattern = ResourcePatternType.Literal) => new()
    {
        Pattern = new ResourcePattern { Type = ResourceType.Topic, Name = topic, ResourcePatternType = pattern },
        Entry = new AccessControlEntry { Principal = "User:alice", Host = "*", Operation = op, PermissionType = permission },
    };

    private static readonly AclBindingFilter AliceTopics = new()
    {
        PatternFilter = new ResourcePatternFilter { Type = ResourceType.Topic, ResourcePatternType = ResourcePatternType.Any },
        EntryFilter = new AccessControlEntryFilter { Principal = "User:alice", Operation = Confluent.Kafka.Admin.AclOperation.Any, PermissionType = AclPermissionType.Any },
    };

    private async Task<ErrorCode> ProduceAsAlice()
    {
        using var p = new ProducerBuilder<Null, string>(new ProducerConfig(As("alice")) { MessageTimeoutMs = 8000 }).Build();
        try
        {
            await p.ProduceAsync("dotnet-acl", new Message<Null, string> { Value = "as-alice" });
            return ErrorCode.NoError;
        }
        catch (ProduceException<Null, string> e)
        {
            return e.Error.Code;
        }
    }

    [Fact]
    public async Task TheAdminClientManagesAclsAndTheyHold()
    {
        Assert.StartsWith("2.16", Library.VersionString);
        using var admin = new AdminClientBuilder(new AdminClientConfig(As("admin"))).Build();
        await admin.CreateAclsAsync([Acl("dotnet-acl", Confluent.Kafka.Admin.AclOperation.Read)]);
        var described = await admin.DescribeAclsAsync(AliceTopics);
        var only = Assert.Single(described.AclBindings);
        Assert.Equal(("dotnet-acl", Confluent.Kafka.Admin.AclOperation.Read, AclPermissionType.Allow), (only.Pattern.Name, only.Entry.Operation, only.Entry.PermissionType));

        Assert.Equal(ErrorCode.TopicAuthorizationFailed, await ProduceAsAlice()); // READ is not WRITE
        await admin.CreateAclsAsync([Acl("dotnet-acl", Confluent.Kafka.Admin.AclOperation.Write)]);
        Assert.Equal(ErrorCode.NoError, await ProduceAsAlice());
        await admin.CreateAclsAsync([Acl("dotnet-", Confluent.Kafka.Admin.AclOperation.Write, AclPermissionType.Deny, ResourcePatternType.Prefixed)]);
        Assert.Equal(ErrorCode.TopicAuthorizationFailed, await ProduceAsAlice()); // deny over allow
        Assert.Equal(1, _b.Broker.Logs.Get("dotnet-acl")!.Partitions[0].HighWatermark);

        // alice may not manage ACLs
        using (var alice = new AdminClientBuilder(new AdminClientConfig(As("alice"))).Build())
        {
            var refused = await Assert.ThrowsAsync<CreateAclsException>(() => alice.CreateAclsAsync([Acl("*", Confluent.Kafka.Admin.AclOperation.All)]));
            Assert.Equal(ErrorCode.ClusterAuthorizationFailed, Assert.Single(refused.Results).Error.Code);
        }

        var deleted = await admin.DeleteAclsAsync([AliceTopics]);
        Assert.Equal(3, Assert.Single(deleted).AclBindings.Count);
        Assert.Empty((await admin.DescribeAclsAsync(AliceTopics)).AclBindings);
    }
}
