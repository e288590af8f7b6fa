using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>StandardAuthorizer's rules, one by one: super users, literal, prefixed and wildcard resources, deny over
/// allow, implied operations, hosts, User:*, allow.everyone.if.no.acl.found, authorizeByResourceType, the filters of
/// DescribeAcls and DeleteAcls, CreateAcls' checks, and the ACL file.</summary>
public sealed class AuthorizerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kafkacompat-acl-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private const string Alice = "User:alice", Bob = "User:bob", Host = "10.0.0.1";

    private static AclBinding Acl(AclResourceType type, string name, AclOperation op, AclPermissionType permission = AclPermissionType.Allow,
        string principal = Alice, string host = "*", AclPatternType pattern = AclPatternType.Literal) => new(type, name, pattern, principal, host, op, permission);

    private Authorizer With(IEnumerable<AclBinding> acls, bool allowIfNone = false, params string[] superUsers)
    {
        var store = AclStore.Open(_dir);
        store.Add([.. acls]);
        return new Authorizer(true, superUsers, allowIfNone, store);
    }

    private static bool Topic(Authorizer a, AclOperation op, string topic, string principal = Alice, string host = Host) =>
        a.Authorize(principal, host, op, AclResourceType.Topic, topic);

    [Fact]
    public void LiteralPrefixedAndWildcardResourcesMatch()
    {
        var a = With([
            Acl(AclResourceType.Topic, "orders", AclOperation.Read),
            Acl(AclResourceType.Topic, "logs-", AclOperation.Write, pattern: AclPatternType.Prefixed),
            Acl(AclResourceType.Topic, "*", AclOperation.Describe, principal: Bob),
        ]);
        Assert.True(Topic(a, AclOperation.Read, "orders"));
        Assert.False(Topic(a, AclOperation.Read, "orders2")); // literal is exact
        Assert.True(Topic(a, AclOperation.Write, "logs-app"));
        Assert.True(Topic(a, AclOperation.Write, "logs-"));
        Assert.False(Topic(a, AclOperation.Write, "log"));
        Assert.True(Topic(a, AclOperation.Describe, "anything", Bob));
        Assert.False(Topic(a, AclOperation.Read, "anything", Bob));
        Assert.False(a.Authorize(Alice, Host, AclOperation.Read, AclResourceType.Group, "orders")); // types are apart
    }

    [Fact]
    public void DenyWinsOverAllowAndDeniesOnlyItsOperation()
    {
        var a = With([
            Acl(AclResourceType.Topic, "*", AclOperation.All),
            Acl(AclResourceType.Topic, "secret", AclOperation.Read, AclPermissionType.Deny),
            Acl(AclResourceType.Topic, "vault-", AclOperation.All, AclPermissionType.Deny, pattern: AclPatternType.Prefixed),
        ]);
        Assert.True(Topic(a, AclOperation.Write, "public"));
        Assert.False(Topic(a, AclOperation.Read, "secret"));
        Assert.True(Topic(a, AclOperation.Describe, "secret")); // DENY READ does not deny DESCRIBE
        Assert.False(Topic(a, AclOperation.Describe, "vault-1")); // DENY ALL denies everything
    }

    [Fact]
    public void AllowsImplyDescribeAndDescribeConfigs()
    {
        var a = With([
            Acl(AclResourceType.Topic, "w", AclOperation.Write),
            Acl(AclResourceType.Topic, "c", AclOperation.AlterConfigs),
            Acl(AclResourceType.Topic, "d", AclOperation.Describe),
        ]);
        Assert.True(Topic(a, AclOperation.Describe, "w"));
        Assert.False(Topic(a, AclOperation.Read, "w"));
        Assert.True(Topic(a, AclOperation.DescribeConfigs, "c"));
        Assert.False(Topic(a, AclOperation.Describe, "c"));
        Assert.False(Topic(a, AclOperation.Read, "d")); // DESCRIBE implies nothing
    }

    [Fact]
    public void HostsAndTheUserWildcardAreMatchedExactly()
    {
        var a = With([
            Acl(AclResourceType.Topic, "t", AclOperation.Read, host: "10.0.0.1"),
            Acl(AclResourceType.Topic, "u", AclOperation.Read, principal: "User:*"),
        ]);
        Assert.True(Topic(a, AclOperation.Read, "t", host: "10.0.0.1"));
        Assert.False(Topic(a, AclOperation.Read, "t", host: "10.0.0.2"));
        Assert.True(Topic(a, AclOperation.Read, "u", "User:anyone"));
        Assert.False(Topic(a, AclOperation.Read, "t", "User:ali*"));
    }

    [Fact]
    public void SuperUsersAndTheDefaultDecide()
    {
        var strict = With([Acl(AclResourceType.Topic, "t", AclOperation.Read, principal: Bob)], allowIfNone: false, "User:admin");
        Assert.True(Topic(strict, AclOperation.Delete, "t", "User:admin"));
        Assert.False(Topic(strict, AclOperation.Read, "no-acls"));
        var open = With([Acl(AclResourceType.Topic, "t", AclOperation.Read, principal: Bob)], allowIfNone: true);
        Assert.True(Topic(open, AclOperation.Read, "no-acls")); // no ACL at all on it: allowed
        Assert.False(Topic(open, AclOperation.Read, "t")); // it has ACLs, none for alice: denied
        Assert.True(new Authorizer(false, [], false, AclStore.Open(_dir)).Authorize(Alice, Host, AclOperation.Delete, AclResourceType.Cluster, "kafka-cluster"));
    }

    [Fact]
    public void AuthorizeAnyFindsSomeTopicNoDenyTakesAway()
    {
        Assert.False(With([]).AuthorizeAny(Alice, Host, AclOperation.Write, AclResourceType.Topic));
        Assert.True(With([Acl(AclResourceType.Topic, "t", AclOperation.Write)]).AuthorizeAny(Alice, Host, AclOperation.Write, AclResourceType.Topic));
        Assert.False(With([Acl(AclResourceType.Topic, "t", AclOperation.Write), Acl(AclResourceType.Topic, "t", AclOperation.Write, AclPermissionType.Deny)])
            .AuthorizeAny(Alice, Host, AclOperation.Write, AclResourceType.Topic));
        Assert.False(With([Acl(AclResourceType.Topic, "tx", AclOperation.Write), Acl(AclResourceType.Topic, "t", AclOperation.Write, AclPermissionType.Deny, pattern: AclPatternType.Prefixed)])
            .AuthorizeAny(Alice, Host, AclOperation.Write, AclResourceType.Topic));
        Assert.True(With([Acl(AclResourceType.Topic, "a-", AclOperation.All, pattern: AclPatternType.Prefixed)]).AuthorizeAny(Alice, Host, AclOperation.Write, AclResourceType.Topic));
    }

    [Fact]
    public void FiltersMatchAsDescribeAndDeleteAclsTakeThem()
    {
        var literal = Acl(AclResourceType.Topic, "orders", AclOperation.Read);
        var wildcard = Acl(AclResourceType.Topic, "*", AclOperation.Read);
        var prefixed = Acl(AclResourceType.Topic, "ord", AclOperation.Write, pattern: AclPatternType.Prefixed);
        var group = Acl(AclResourceType.Group, "orders", AclOperation.Read, principal: Bob);
        AclBinding[] all = [literal, wildcard, prefixed, group];
        AclBinding[] Matching(AclFilter f) => [.. all.Where(f.Matches)];
        Assert.Equal(all, Matching(new AclFilter(AclResourceType.Any, null, AclPatternType.Any, null, null, AclOperation.Any, AclPermissionType.Any)));
        Assert.Equal([literal, wildcard, prefixed], Matching(new AclFilter(AclResourceType.Topic, "orders", AclPatternType.Match, null, null, AclOperation.Any, AclPermissionType.Any)));
        Assert.Equal([literal], Matching(new AclFilter(AclResourceType.Topic, "orders", AclPatternType.Literal, null, null, AclOperation.Any, AclPermissionType.Any)));
        Assert.Equal([literal, group], Matching(new AclFilter(AclResourceType.Any, "orders", AclPatternType.Any, null, null, AclOperation.Read, AclPermissionType.Allow)));
        Assert.Equal([group], Matching(new AclFilter(AclResourceType.Any, null, AclPatternType.Any, Bob, "*", AclOperation.Any, AclPermissionType.Any)));
        Assert.Equal("Unknown patternFilter.", new AclFilter(AclResourceType.Unknown, null, AclPatternType.Any, null, null, AclOperation.Any, AclPermissionType.Any).Problem());
        Assert.Equal("Unknown entryFilter.", new AclFilter(AclResourceType.Any, null, AclPatternType.Any, null, null, AclOperation.Unknown, AclPermissionType.Any).Problem());
    }

    [Theory]
    [InlineData(AclResourceType.Cluster, "other", AclPatternType.Literal, "User:a", AclOperation.Alter, AclPermissionType.Allow, "The only valid name for the CLUSTER resource is kafka-cluster")]
    [InlineData(AclResourceType.Topic, "", AclPatternType.Literal, "User:a", AclOperation.Read, AclPermissionType.Allow, "Invalid empty resource name")]
    [InlineData(AclResourceType.Any, "t", AclPatternType.Literal, "User:a", AclOperation.Read, AclPermissionType.Allow, "Invalid resourceType ANY")]
    [InlineData(AclResourceType.Topic, "t", AclPatternType.Match, "User:a", AclOperation.Read, AclPermissionType.Allow, "Invalid patternType MATCH")]
    [InlineData(AclResourceType.Topic, "t", AclPatternType.Literal, "User:a", AclOperation.Any, AclPermissionType.Allow, "Invalid operation ANY")]
    [InlineData(AclResourceType.Topic, "t", AclPatternType.Literal, "User:a", AclOperation.Read, AclPermissionType.Any, "Invalid permissionType ANY")]
    [InlineData(AclResourceType.Topic, "t", AclPatternType.Literal, "alice", AclOperation.Read, AclPermissionType.Allow, "Could not parse principal from `alice` (no colon is present separating the principal type from the principal name)")]
    public void CreateAclsRefusesWithKafkasMessages(AclResourceType type, string name, AclPatternType pattern, string principal, AclOperation op, AclPermissionType permission, string message) =>
        Assert.Equal(message, Authorizer.Invalid(new AclBinding(type, name, pattern, principal, "*", op, permission)));

    [Fact]
    public void TheFileKeepsTheAclsAndADamagedOneStopsTheStart()
    {
        var acl = Acl(AclResourceType.TransactionalId, "tx-", AclOperation.Write, pattern: AclPatternType.Prefixed);
        AclStore.Open(_dir).Add([acl, acl]);
        var again = AclStore.Open(_dir);
        Assert.Equal([acl], again.All);
        Assert.Equal([acl], again.Remove([new AclFilter(AclResourceType.TransactionalId, "tx-", AclPatternType.Prefixed, null, null, AclOperation.Any, AclPermissionType.Any)])[0]);
        Assert.Empty(AclStore.Open(_dir).All);
        File.WriteAllText(Path.Combine(_dir, AclStore.FileName), "[{\"resource_type\": \"TOPIC\"");
        Assert.ThrowsAny<Exception>(() => AclStore.Open(_dir));
    }

    [Fact]
    public void AuthorizedOperationsAreTheBitsOfTheAllowedOperations()
    {
        var a = With([Acl(AclResourceType.Topic, "t", AclOperation.Write), Acl(AclResourceType.Group, "g", AclOperation.All)]);
        Assert.Equal((1 << 4) | (1 << 8), a.AuthorizedOperations(Alice, Host, AclResourceType.Topic, "t"));
        Assert.Equal((1 << 3) | (1 << 6) | (1 << 8) | (1 << 10) | (1 << 11), a.AuthorizedOperations(Alice, Host, AclResourceType.Group, "g"));
    }
}
