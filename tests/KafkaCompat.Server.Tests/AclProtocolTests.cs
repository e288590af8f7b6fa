using KafkaCompat.Client;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using KafkaCompat.Records;
using KafkaCompat.Testing;
using KafkaCompat.TestSupport;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>ACLs on the wire: the three ACL APIs as a super user and refused to others, and Kafka's checks per API as
/// they answer a principal with some ACLs and not others (topics hidden from Metadata, TOPIC_, GROUP_,
/// TRANSACTIONAL_ID_ and CLUSTER_AUTHORIZATION_FAILED), deny over allow.</summary>
public sealed class AclProtocolTests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;
    private int SaslPort => _b.Server.BoundPorts[1];

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(settings: TestCertificates.AclListeners());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    private Task<KafkaClient> As(string user) => KafkaClient.ConnectAsync($"127.0.0.1:{SaslPort}",
        security: new ClientSecurity { Protocol = "SASL_PLAINTEXT", Mechanism = "PLAIN", Username = user, Password = user + "-secret" });

    private static AclBinding Allow(AclResourceType type, string name, AclOperation op, string principal = "User:alice") =>
        new(type, name, AclPatternType.Literal, principal, "*", op, AclPermissionType.Allow);

    [Fact]
    public async Task WithoutAnAuthorizerTheAclApisAnswerSecurityDisabled()
    {
        await using var plain = EmbeddedBroker.Start();
        await using var client = await KafkaClient.ConnectAsync(plain.BootstrapServers);
        var e = await Assert.ThrowsAsync<KafkaErrorException>(() => AclAdmin.DescribeAsync(client,
            new AclFilter(AclResourceType.Any, null, AclPatternType.Any, null, null, AclOperation.Any, AclPermissionType.Any), default));
        Assert.Equal(ErrorCode.SecurityDisabled, e.Code);
        Assert.Contains("No Authorizer is configured on the broker", e.Message);
        var created = await Assert.ThrowsAsync<KafkaErrorException>(() => AclAdmin.CreateAsync(client, [Allow(AclResourceType.Topic, "t", AclOperation.Read)], default));
        Assert.Equal(ErrorCode.SecurityDisabled, created.Code);
    }

    [Fact]
    public async Task TheSuperUserManagesAclsAndOthersAreRefused()
    {
        await using var admin = await As("admin");
        var acl = Allow(AclResourceType.Group, "managed", AclOperation.Read);
        await AclAdmin.CreateAsync(admin, [acl, acl], default); // the same ACL twice: stored once
        var any = new AclFilter(AclResourceType.Group, "managed", AclPatternType.Any, null, null, AclOperation.Any, AclPermissionType.Any);
        Assert.Equal([acl], await AclAdmin.DescribeAsync(admin, any, default));
        var bad = await Assert.ThrowsAsync<KafkaErrorException>(() => AclAdmin.CreateAsync(admin, [acl with { Principal = "alice" }], default));
        Assert.Equal(ErrorCode.InvalidRequest, bad.Code);

        await using var alice = await As("alice");
        var describe = await Assert.ThrowsAsync<KafkaErrorException>(() => AclAdmin.DescribeAsync(alice, any, default));
        Assert.Equal(ErrorCode.ClusterAuthorizationFailed, describe.Code);
        var create = await Assert.ThrowsAsync<KafkaErrorException>(() => AclAdmin.CreateAsync(alice, [Allow(AclResourceType.Topic, "*", AclOperation.All)], default));
        Assert.Equal(ErrorCode.ClusterAuthorizationFailed, create.Code);
        var delete = await Assert.ThrowsAsync<KafkaErrorException>(() => AclAdmin.DeleteAsync(alice, any, default));
        Assert.Equal(ErrorCode.ClusterAuthorizationFailed, delete.Code);

        Assert.Equal([acl], await AclAdmin.DeleteAsync(admin, any, default));
        Assert.Empty(await AclAdmin.DescribeAsync(admin, any, default));
    }

    [Fact]
    public async Task EachApiAsksKafkasOperation()
    {
        await using var admin = await As("admin");
        var adminConn = await admin.AdminAsync();
        foreach (var topic in new[] { "acl-read", "acl-hidden" })
            await adminConn.SendAsync<CreateTopicsRequest, CreateTopicsResponse>(new CreateTopicsRequest
                { Topics = [new() { Name = topic, NumPartitions = 1, ReplicationFactor = 1 }], TimeoutMs = 5000 });
        await AclAdmin.CreateAsync(admin,
        [
            Allow(AclResourceType.Topic, "acl-read", AclOperation.Read),
            Allow(AclResourceType.Group, "acl-group", AclOperation.Read),
        ], default);

        await using var alice = await As("alice");
        var conn = await alice.AdminAsync();
        // Metadata: every topic leaves out what alice may not describe; by name it is refused, existing or not
        var all = await alice.MetadataAsync(null);
        Assert.Equal(["acl-read"], all.Topics.Select(t => t.Name));
        var named = await alice.MetadataAsync(["acl-hidden", "no-such-topic"]);
        Assert.All(named.Topics, t => Assert.Equal(ErrorCode.TopicAuthorizationFailed, t.ErrorCode));

        // Produce needs WRITE: READ is not enough
        var batch = new RecordBatchBuilder().Add("k"u8, "v"u8, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()).Build();
        var produced = await conn.SendAsync<ProduceRequest, ProduceResponse>(new ProduceRequest
        {
            Acks = -1, TimeoutMs = 5000, TopicData = [new() { Name = "acl-read", PartitionData = [new() { Index = 0, Records = batch }] }],
        }, 9);
        Assert.Equal(ErrorCode.TopicAuthorizationFailed, produced.Responses[0].PartitionResponses[0].ErrorCode);
        Assert.Equal(0, _b.Broker.Logs.Get("acl-read")!.Partitions[0].HighWatermark);

        // Fetch needs READ; ListOffsets DESCRIBE (implied by READ)
        var fetched = await conn.SendAsync<FetchRequest, FetchResponse>(new FetchRequest
        {
            ReplicaId = -1, MaxWaitMs = 0, MinBytes = 0, MaxBytes = 1 << 20,
            Topics = [new() { Topic = "acl-read", Partitions = [new() { Partition = 0, FetchOffset = 0, PartitionMaxBytes = 1 << 20 }] },
                      new() { Topic = "acl-hidden", Partitions = [new() { Partition = 0, FetchOffset = 0, PartitionMaxBytes = 1 << 20 }] }],
        }, 11);
        Assert.Equal([ErrorCode.None, ErrorCode.TopicAuthorizationFailed], fetched.Responses.Select(r => r.Partitions[0].ErrorCode));
        var offsets = await conn.SendAsync<ListOffsetsRequest, ListOffsetsResponse>(new ListOffsetsRequest
        {
            ReplicaId = -1,
            Topics = [new() { Name = "acl-read", Partitions = [new() { PartitionIndex = 0, Timestamp = -1 }] },
                      new() { Name = "acl-hidden", Partitions = [new() { PartitionIndex = 0, Timestamp = -1 }] }],
        }, 5);
        Assert.Equal([ErrorCode.None, ErrorCode.TopicAuthorizationFailed], offsets.Topics.Select(t => t.Partitions[0].ErrorCode));

        // groups: FindCoordinator and JoinGroup ask about the group
        Assert.Equal(ErrorCode.None, (await FindCoordinator(conn, "acl-group")));
        Assert.Equal(ErrorCode.GroupAuthorizationFailed, await FindCoordinator(conn, "other-group"));
        var join = await conn.SendAsync<JoinGroupRequest, JoinGroupResponse>(new JoinGroupRequest
        {
            GroupId = "other-group", SessionTimeoutMs = 6000, RebalanceTimeoutMs = 6000, MemberId = "", ProtocolType = "consumer",
            Protocols = [new() { Name = "range", Metadata = Array.Empty<byte>() }],
        }, 5);
        Assert.Equal(ErrorCode.GroupAuthorizationFailed, join.ErrorCode);

        // offsets of a group alice may read, for a topic she may read; not for the hidden one
        var commit = await conn.SendAsync<OffsetCommitRequest, OffsetCommitResponse>(new OffsetCommitRequest
        {
            GroupId = "acl-group", GenerationIdOrMemberEpoch = -1, MemberId = "",
            Topics = [new() { Name = "acl-read", Partitions = [new() { PartitionIndex = 0, CommittedOffset = 0 }] },
                      new() { Name = "acl-hidden", Partitions = [new() { PartitionIndex = 0, CommittedOffset = 0 }] }],
        }, 7);
        Assert.Equal(ErrorCode.None, commit.Topics.Single(t => t.Name == "acl-read").Partitions[0].ErrorCode);
        Assert.Equal(ErrorCode.TopicAuthorizationFailed, commit.Topics.Single(t => t.Name == "acl-hidden").Partitions[0].ErrorCode);

        // creating a topic needs CREATE; an idempotent producer WRITE somewhere; a transactional one WRITE on its id
        var create = await conn.SendAsync<CreateTopicsRequest, CreateTopicsResponse>(new CreateTopicsRequest
            { Topics = [new() { Name = "acl-new", NumPartitions = 1, ReplicationFactor = 1 }], TimeoutMs = 5000 });
        Assert.Equal((ErrorCode.TopicAuthorizationFailed, "Authorization failed."), (create.Topics[0].ErrorCode, create.Topics[0].ErrorMessage));
        var idempotent = await conn.SendAsync<InitProducerIdRequest, InitProducerIdResponse>(new InitProducerIdRequest { TransactionTimeoutMs = 60000, ProducerId = -1, ProducerEpoch = -1 });
        Assert.Equal(ErrorCode.ClusterAuthorizationFailed, idempotent.ErrorCode);
        var transactional = await conn.SendAsync<InitProducerIdRequest, InitProducerIdResponse>(new InitProducerIdRequest
            { TransactionalId = "acl-tx", TransactionTimeoutMs = 60000, ProducerId = -1, ProducerEpoch = -1 });
        Assert.Equal(ErrorCode.TransactionalIdAuthorizationFailed, transactional.ErrorCode);

        // an API whose checks are the cluster's: refused whole
        var logDirs = await conn.SendAsync<DescribeLogDirsRequest, DescribeLogDirsResponse>(new DescribeLogDirsRequest { Topics = null });
        Assert.Equal(ErrorCode.ClusterAuthorizationFailed, logDirs.ErrorCode);

        // WRITE granted: produce goes through; a DENY on READ then wins over the ALLOW
        await AclAdmin.CreateAsync(admin, [Allow(AclResourceType.Topic, "acl-read", AclOperation.Write),
            new(AclResourceType.Topic, "acl-", AclPatternType.Prefixed, "User:alice", "*", AclOperation.Read, AclPermissionType.Deny)], default);
        var again = await conn.SendAsync<ProduceRequest, ProduceResponse>(new ProduceRequest
        {
            Acks = -1, TimeoutMs = 5000, TopicData = [new() { Name = "acl-read", PartitionData = [new() { Index = 0, Records = batch }] }],
        }, 9);
        Assert.Equal(ErrorCode.None, again.Responses[0].PartitionResponses[0].ErrorCode);
        var denied = await conn.SendAsync<FetchRequest, FetchResponse>(new FetchRequest
        {
            ReplicaId = -1, MaxWaitMs = 0, MinBytes = 0, MaxBytes = 1 << 20,
            Topics = [new() { Topic = "acl-read", Partitions = [new() { Partition = 0, FetchOffset = 0, PartitionMaxBytes = 1 << 20 }] }],
        }, 11);
        Assert.Equal(ErrorCode.TopicAuthorizationFailed, denied.Responses[0].Partitions[0].ErrorCode);
        Assert.Equal(1, _b.Broker.Logs.Get("acl-read")!.Partitions[0].HighWatermark);
    }

    [Fact]
    public async Task AdminRequestsAskKafkasOperationToo()
    {
        await using var admin = await As("admin");
        var adminConn = await admin.AdminAsync();
        await adminConn.SendAsync<CreateTopicsRequest, CreateTopicsResponse>(new CreateTopicsRequest
            { Topics = [new() { Name = "acl-admin", NumPartitions = 1, ReplicationFactor = 1 }], TimeoutMs = 5000 });
        await AclAdmin.CreateAsync(admin, [Allow(AclResourceType.Topic, "acl-admin", AclOperation.Describe)], default);

        await using var alice = await As("alice");
        var conn = await alice.AdminAsync();
        // DESCRIBE is not DESCRIBE_CONFIGS, ALTER or DELETE; the broker's configs are the cluster's
        var configs = await conn.SendAsync<DescribeConfigsRequest, DescribeConfigsResponse>(new DescribeConfigsRequest
        {
            Resources = [new() { ResourceType = 2, ResourceName = "acl-admin" }, new() { ResourceType = 4, ResourceName = "" }],
        });
        Assert.Equal([ErrorCode.TopicAuthorizationFailed, ErrorCode.ClusterAuthorizationFailed], configs.Results.Select(r => r.ErrorCode));
        var grown = await conn.SendAsync<CreatePartitionsRequest, CreatePartitionsResponse>(new CreatePartitionsRequest
            { Topics = [new() { Name = "acl-admin", Count = 2 }], TimeoutMs = 5000 });
        Assert.Equal(ErrorCode.TopicAuthorizationFailed, grown.Results[0].ErrorCode);
        Assert.Single(_b.Broker.Logs.Get("acl-admin")!.Partitions);
        var trimmed = await conn.SendAsync<DeleteRecordsRequest, DeleteRecordsResponse>(new DeleteRecordsRequest
            { Topics = [new() { Name = "acl-admin", Partitions = [new() { PartitionIndex = 0, Offset = 0 }] }], TimeoutMs = 5000 });
        Assert.Equal(ErrorCode.TopicAuthorizationFailed, trimmed.Topics[0].Partitions[0].ErrorCode);
        var groups = await conn.SendAsync<DeleteGroupsRequest, DeleteGroupsResponse>(new DeleteGroupsRequest { GroupsNames = ["someone-elses"] });
        Assert.Equal(ErrorCode.GroupAuthorizationFailed, groups.Results[0].ErrorCode);
        var deleted = await conn.SendAsync<DeleteTopicsRequest, DeleteTopicsResponse>(new DeleteTopicsRequest { TopicNames = ["acl-admin"], TimeoutMs = 5000 }, 5);
        Assert.Equal(ErrorCode.TopicAuthorizationFailed, deleted.Responses[0].ErrorCode);
        Assert.NotNull(_b.Broker.Logs.Get("acl-admin"));
        // DescribeTopicPartitions: named and refused, or left out of every topic
        var described = await conn.SendAsync<DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse>(new DescribeTopicPartitionsRequest
            { Topics = [], ResponsePartitionLimit = 100 });
        Assert.Equal(["acl-admin"], described.Topics.Select(t => t.Name));
    }

    [Fact]
    public void EveryApiNamesWhatItNeeds()
    {
        // no handler relies on the default (ALTER on the cluster): each says what Kafka asks, or checks per resource
        foreach (var h in KafkaCompat.Broker.Apis.BrokerApisList.All())
        {
            var requires = h.GetType().GetMethod("Requires", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance);
            Assert.True(requires?.DeclaringType == h.GetType(), $"{h.Key} does not say what it needs");
        }
    }

    private static async Task<ErrorCode> FindCoordinator(BrokerConnection conn, string group)
    {
        var r = await conn.SendAsync<FindCoordinatorRequest, FindCoordinatorResponse>(new FindCoordinatorRequest { Key = group, KeyType = 0, CoordinatorKeys = [group] });
        return r.Coordinators.Count > 0 ? r.Coordinators[0].ErrorCode : r.ErrorCode;
    }
}
