using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Testing;
using KafkaCompat.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace KafkaCompat.Compat.Tests;

/// <summary>ACLs as stock clients meet them (tests/clients/acl_test.py): kafka-python 2.0.2 and confluent-kafka-python
/// on librdkafka 2.0.2, as a SASL/PLAIN user with some ACLs: served where allowed, TOPIC_ and
/// GROUP_AUTHORIZATION_FAILED elsewhere, deny over allow, and topics she may not describe hidden.</summary>
public sealed class AclClientTests(ITestOutputHelper output) : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(settings: TestCertificates.AclListeners());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    /// <summary>The topics and ACLs acl_test.py expects for <paramref name="suffix"/>.</summary>
    internal static void Prepare(EmbeddedBroker b, string suffix)
    {
        foreach (var k in new[] { "ok", "ro", "deny", "hidden" })
            b.Broker.CreateTopic($"acl-{k}-{suffix}", 1, 1, new(), validateOnly: false);
        AclBinding Alice(AclResourceType type, string name, AclOperation op, AclPermissionType permission = AclPermissionType.Allow) =>
            new(type, name, AclPatternType.Literal, "User:alice", "*", op, permission);
        b.Broker.Authorizer.Store.Add(
        [
            Alice(AclResourceType.Topic, $"acl-ok-{suffix}", AclOperation.Read), Alice(AclResourceType.Topic, $"acl-ok-{suffix}", AclOperation.Write),
            Alice(AclResourceType.Group, $"acl-group-{suffix}", AclOperation.Read),
            Alice(AclResourceType.Topic, $"acl-ro-{suffix}", AclOperation.Read),
            Alice(AclResourceType.Topic, $"acl-deny-{suffix}", AclOperation.All), Alice(AclResourceType.Topic, $"acl-deny-{suffix}", AclOperation.Write, AclPermissionType.Deny),
        ]);
    }

    private Task Run(string client)
    {
        string suffix = Guid.NewGuid().ToString("N")[..8];
        Prepare(_b, suffix);
        return ClientScripts.RunAsync(output, _b.Port, "/usr/bin/python3", "acl_test.py", (IReadOnlyDictionary<string, string>?)null, suffix,
            _b.Server.BoundPorts[1].ToString(), client);
    }

    [Fact]
    public Task KafkaPython() => Run("kafka-python");

    [Fact]
    public Task ConfluentKafkaPython() => Run("confluent");
}
