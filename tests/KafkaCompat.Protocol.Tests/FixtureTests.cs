using System.Text.RegularExpressions;
using KafkaCompat.Protocol.Messages;
using Xunit;

namespace KafkaCompat.Protocol.Tests;

/// <summary>Request frames captured from kafka-python 2.0.2, librdkafka 2.0.2 and kafkajs 2.2.4 (see
/// Fixtures/README.md): each decodes completely and re-encodes to the same bytes.</summary>
public partial class FixtureTests
{
    [GeneratedRegex(@"^(?<client>[a-z0-9.\-]+?)-(?<api>[A-Za-z]+)-v(?<v>\d+)-\d+\.bin$")]
    private static partial Regex FixtureName();

    private static string FixtureDir => Path.Combine(AppContext.BaseDirectory, "Fixtures");

    public static IEnumerable<object[]> Fixtures() =>
        Directory.GetFiles(FixtureDir, "*.bin").Select(Path.GetFileName).Order().Select(f => new object[] { f! });

    private static readonly string[] CommonApis =
    [
        "ApiVersions", "Metadata", "Produce", "Fetch", "CreateTopics", "DeleteTopics", "ListOffsets",
        // a subscribed consumer: find the coordinator, join, sync, heartbeat, commit, fetch commits, leave
        "FindCoordinator", "JoinGroup", "SyncGroup", "Heartbeat", "OffsetCommit", "OffsetFetch", "LeaveGroup",
        // the admin clients: list, describe and delete groups (OffsetFetch above too)
        "ListGroups", "DescribeGroups", "DeleteGroups",
    ];

    private static readonly string[] AdminApis = ["DescribeConfigs", "AlterConfigs", "CreatePartitions"];

    private static readonly string[] TxnApis =
        ["FindCoordinator", "InitProducerId", "AddPartitionsToTxn", "AddOffsetsToTxn", "TxnOffsetCommit", "EndTxn", "Produce"];

    /// <summary>The APIs each client label really sends in tests/tools/capture_fixtures.py.</summary>
    private static readonly Dictionary<string, string[]> ApisByClient = new()
    {
        ["kafka-python"] = CommonApis,
        ["kafkajs"] = CommonApis,
        // librdkafka's DeleteConsumerGroupOffsets admin call is the only OffsetDelete sender of the three
        ["librdkafka"] = [.. CommonApis, "OffsetDelete"],
        // a static member (group.instance.id): the frames that carry the instance id
        ["librdkafka.static"] = ["JoinGroup", "SyncGroup", "Heartbeat", "OffsetCommit"],
        // each admin client's config calls
        ["kafka-python.admin"] = AdminApis,
        ["librdkafka.admin"] = AdminApis,
        ["kafkajs.admin"] = AdminApis,
        // idempotent producers (librdkafka 2.0.2 and 2.16, kafkajs)
        ["librdkafka.idempotent"] = ["InitProducerId", "Produce"],
        ["librdkafka216.idempotent"] = ["InitProducerId", "Produce"],
        ["kafkajs.idempotent"] = ["InitProducerId", "Produce"],
        // transactional producers with offsets sent in the transaction
        ["librdkafka.txn"] = TxnApis,
        ["librdkafka216.txn"] = TxnApis,
        ["kafkajs.txn"] = TxnApis,
        // the consumer group protocol (KIP-848) on librdkafka 2.16
        ["librdkafka216.consumer"] = ["ConsumerGroupHeartbeat", "ConsumerGroupDescribe", "OffsetCommit", "OffsetFetch", "Metadata", "ListGroups"],
        ["librdkafka216.regex"] = ["ConsumerGroupHeartbeat"],
        // a current pure-JavaScript client at its newest versions, as a KIP-848 consumer
        ["platformatic"] = ["ApiVersions", "Metadata", "CreateTopics", "Produce", "FindCoordinator", "ConsumerGroupHeartbeat", "Fetch", "OffsetCommit", "ListOffsets", "DescribeLogDirs", "DeleteTopics", "DescribeTopicPartitions", "DescribeCluster"],
        ["platformatic.cursor"] = ["DescribeTopicPartitions"],
        // @platformatic/kafka 2.12.1's encoders of ListConfigResources v1 and OffsetForLeaderEpoch v4
        ["platformatic2"] = ["ListConfigResources", "OffsetForLeaderEpoch"],
        // a current TypeScript client at Kafka 4.2's newest versions (Produce 13, Fetch 18, ListOffsets 11, Metadata 13,
        // OffsetCommit/OffsetFetch 10, DescribeGroups 6, ListGroups 5, DescribeCluster 2, JoinGroup 9, ...)
        ["kafka-ts"] = ["ApiVersions", "Metadata", "CreateTopics", "InitProducerId", "Produce", "FindCoordinator", "JoinGroup", "SyncGroup",
            "LeaveGroup", "ConsumerGroupHeartbeat", "Fetch", "OffsetCommit", "OffsetFetch", "ListOffsets", "DescribeGroups", "ListGroups",
            "DescribeCluster", "DescribeTopicPartitions", "ListConfigResources", "OffsetForLeaderEpoch", "DescribeLogDirs", "DeleteTopics"],
    };


    /// <summary>Frames whose clients really send bytes after the request body, which a broker ignores as
    /// Kafka does: librdkafka before 2.0.3 writes a ListGroups v3+ request's (empty) tagged fields twice
    /// (confluentinc/librdkafka#4207), so its ListGroups v4 body is 01 00 followed by one more 00.</summary>
    private static readonly Dictionary<string, byte[]> TrailingBytes = new()
    {
        ["librdkafka-ListGroups-v4-1.bin"] = [0x00],
    };

    [Fact]
    public void EveryClientIsRepresented()
    {
        var files = Fixtures().Select(f => (string)f[0]).ToList();
        foreach (var (client, apis) in ApisByClient)
            foreach (var api in apis)
                Assert.True(files.Any(f => f.StartsWith(client + "-" + api + "-v", StringComparison.Ordinal)), $"no {client} {api} fixture");
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void DecodesAndReencodesIdentically(string file)
    {
        var m = FixtureName().Match(file);
        Assert.True(m.Success, file);
        string api = m.Groups["api"].Value;
        short version = short.Parse(m.Groups["v"].Value);
        var bytes = File.ReadAllBytes(Path.Combine(FixtureDir, file));
        var type = typeof(MetadataRequest).Assembly.GetType("KafkaCompat.Protocol.Messages." + api + "Request")!;
        Assert.NotNull(type);
        bool flexible = (bool)type.GetMethod("IsFlexible")!.Invoke(null, [version])!;

        var r = new KafkaReader(bytes);
        var header = RequestHeader.Read(ref r, flexible ? (short)2 : (short)1);
        Assert.Equal(version, header.RequestApiVersion);
        Assert.Equal(api, ((ApiKey)header.RequestApiKey).ToString());
        Assert.False(string.IsNullOrEmpty(header.ClientId));
        int bodyStart = r.Position;

        byte[] trailing = TrailingBytes.GetValueOrDefault(file, []);
        int bodyEnd = bytes.Length - trailing.Length;
        Assert.Equal(trailing, bytes[bodyEnd..]);

        var body = RoundTripTests.Decode(type, bytes.AsMemory(bodyStart), version, out int consumed);
        Assert.Equal(bodyEnd - bodyStart, consumed);
        Assert.Equal(bytes[bodyStart..bodyEnd], RoundTripTests.Encode(body, version));

        using var w = new KafkaWriter();
        header.Write(w, flexible ? (short)2 : (short)1);
        Assert.Equal(bytes[..bodyStart], w.ToArray());
    }

    [Fact]
    public void LibrdkafkaStaticMemberSendsItsInstanceId()
    {
        var bytes = File.ReadAllBytes(Path.Combine(FixtureDir, "librdkafka.static-JoinGroup-v5-1.bin"));
        var r = new KafkaReader(bytes);
        RequestHeader.Read(ref r, 1);
        var join = JoinGroupRequest.Read(ref r, 5);
        Assert.Equal("fixture-instance-1", join.GroupInstanceId);
        Assert.Equal("consumer", join.ProtocolType);

        bytes = File.ReadAllBytes(Path.Combine(FixtureDir, "librdkafka-JoinGroup-v5-1.bin"));
        r = new KafkaReader(bytes);
        RequestHeader.Read(ref r, 1);
        Assert.Null(JoinGroupRequest.Read(ref r, 5).GroupInstanceId);
    }

    [Fact]
    public void Librdkafka216JoinsAConsumerGroupWithItsOwnMemberIdByNameOrPattern()
    {
        var bytes = File.ReadAllBytes(Path.Combine(FixtureDir, "librdkafka216.consumer-ConsumerGroupHeartbeat-v1-1.bin"));
        var r = new KafkaReader(bytes);
        RequestHeader.Read(ref r, 2);
        var join = ConsumerGroupHeartbeatRequest.Read(ref r, 1);
        Assert.Equal(0, join.MemberEpoch);
        Assert.Equal(22, join.MemberId.Length); // a random UUID in base64, made by the client (KIP-1082)
        Assert.Equal("fixture-instance-848", join.InstanceId);
        Assert.Equal(300000, join.RebalanceTimeoutMs);
        Assert.Equal(["fixture-librdkafka216-consumer"], join.SubscribedTopicNames);
        Assert.Equal("", join.SubscribedTopicRegex); // empty, not null, when there is no pattern
        Assert.Equal("uniform", join.ServerAssignor);
        Assert.NotNull(join.TopicPartitions);
        Assert.Empty(join.TopicPartitions);

        bytes = File.ReadAllBytes(Path.Combine(FixtureDir, "librdkafka216.regex-ConsumerGroupHeartbeat-v1-1.bin"));
        r = new KafkaReader(bytes);
        RequestHeader.Read(ref r, 2);
        var rx = ConsumerGroupHeartbeatRequest.Read(ref r, 1);
        Assert.Empty(rx.SubscribedTopicNames!);
        Assert.Equal("(^fixture[-]librdkafka216[-]regex)", rx.SubscribedTopicRegex); // librdkafka wraps each pattern in parentheses
    }

    [Fact]
    public void KafkaPythonProduceV7CarriesOneBatchWithItsRecords()
    {
        var bytes = File.ReadAllBytes(Path.Combine(FixtureDir, "kafka-python-Produce-v7-1.bin"));
        var r = new KafkaReader(bytes);
        RequestHeader.Read(ref r, 1);
        var req = ProduceRequest.Read(ref r, 7);
        var records = req.TopicData[0].PartitionData[0].Records!.Value.Span;
        Assert.True(records.Length > 61);
        Assert.Equal(2, records[16]); // magic
    }

    [Theory]
    [InlineData("librdkafka.idempotent-InitProducerId-v4-1.bin", "librdkafka.idempotent-Produce-v7-1.bin")]
    [InlineData("librdkafka216.idempotent-InitProducerId-v4-1.bin", "librdkafka216.idempotent-Produce-v10-1.bin")]
    [InlineData("kafkajs.idempotent-InitProducerId-v1-1.bin", "kafkajs.idempotent-Produce-v7-1.bin")]
    public void IdempotentProducersAskForAnIdThenSendSequencedBatches(string init, string produce)
    {
        var bytes = File.ReadAllBytes(Path.Combine(FixtureDir, init));
        var r = new KafkaReader(bytes);
        var header = RequestHeader.Read(ref r, InitProducerIdRequest.IsFlexible(short.Parse(FixtureName().Match(init).Groups["v"].Value)) ? (short)2 : (short)1);
        var req = InitProducerIdRequest.Read(ref r, header.RequestApiVersion);
        Assert.Null(req.TransactionalId);
        Assert.Equal(-1L, req.ProducerId);
        Assert.Equal((short)-1, req.ProducerEpoch);

        bytes = File.ReadAllBytes(Path.Combine(FixtureDir, produce));
        r = new KafkaReader(bytes);
        header = RequestHeader.Read(ref r, ProduceRequest.IsFlexible(short.Parse(FixtureName().Match(produce).Groups["v"].Value)) ? (short)2 : (short)1);
        var p = ProduceRequest.Read(ref r, header.RequestApiVersion);
        Assert.Equal((short)-1, p.Acks); // idempotence needs acks=all
        Assert.Null(p.TransactionalId);
        var batch = p.TopicData[0].PartitionData[0].Records!.Value.Span;
        Assert.True(System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(batch[43..]) >= 0);  // producer id
        Assert.Equal(0, System.Buffers.Binary.BinaryPrimitives.ReadInt16BigEndian(batch[51..]));  // epoch
        Assert.Equal(0, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(batch[53..]));  // first sequence
        Assert.Equal(0, System.Buffers.Binary.BinaryPrimitives.ReadInt16BigEndian(batch[21..]) & 0x10); // not transactional
    }

    private static T ReadFixture<T>(string file) where T : IKafkaRequest<T>
    {
        var bytes = File.ReadAllBytes(Path.Combine(FixtureDir, file));
        short version = short.Parse(FixtureName().Match(file).Groups["v"].Value);
        var r = new KafkaReader(bytes);
        RequestHeader.Read(ref r, T.IsFlexible(version) ? (short)2 : (short)1);
        return T.Read(ref r, version);
    }

    [Theory]
    [InlineData("librdkafka.txn", "fixture-txn", "fixture-txn-group", 2, 0, 0, 1, 3, 7)]
    [InlineData("librdkafka216.txn", "fixture-txn", "fixture-txn-group", 2, 0, 0, 1, 3, 10)]
    [InlineData("kafkajs.txn", "fixture-txn-js", "fixture-txn-group-js", 2, 1, 1, 1, 1, 7)]
    public void TransactionalProducersSendTheTransactionApis(string label, string txnId, string group,
        short findV, short addPartsV, short addOffsetsV, short endV, short txnCommitV, short produceV)
    {
        var find = ReadFixture<FindCoordinatorRequest>($"{label}-FindCoordinator-v{findV}-1.bin");
        Assert.Equal((sbyte)1, find.KeyType); // the transaction coordinator
        Assert.Equal(txnId, find.Key);
        bool kafkajs = label.StartsWith("kafkajs", StringComparison.Ordinal);
        var init = ReadFixture<InitProducerIdRequest>($"{label}-InitProducerId-v{(kafkajs ? 1 : 4)}-1.bin");
        // kafkajs's connect() first asks for an idempotent producer id (no transactional id), and only the first frame is kept
        Assert.Equal(kafkajs ? null : txnId, init.TransactionalId);
        Assert.True(init.TransactionTimeoutMs > 0);
        var add = ReadFixture<AddPartitionsToTxnRequest>($"{label}-AddPartitionsToTxn-v{addPartsV}-1.bin");
        Assert.Equal(txnId, add.V3AndBelowTransactionalId);
        Assert.Equal([0], Assert.Single(add.V3AndBelowTopics).Partitions);
        var produce = ReadFixture<ProduceRequest>($"{label}-Produce-v{produceV}-1.bin");
        Assert.Equal(txnId, produce.TransactionalId);
        var batch = produce.TopicData[0].PartitionData[0].Records!.Value.Span;
        Assert.Equal(0x10, System.Buffers.Binary.BinaryPrimitives.ReadInt16BigEndian(batch[21..]) & 0x10); // transactional
        Assert.Equal(add.V3AndBelowProducerId, System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(batch[43..]));
        var offsets = ReadFixture<AddOffsetsToTxnRequest>($"{label}-AddOffsetsToTxn-v{addOffsetsV}-1.bin");
        Assert.Equal(group, offsets.GroupId);
        var commit = ReadFixture<TxnOffsetCommitRequest>($"{label}-TxnOffsetCommit-v{txnCommitV}-1.bin");
        Assert.Equal((txnId, group, 3L), (commit.TransactionalId, commit.GroupId, Assert.Single(Assert.Single(commit.Topics).Partitions).CommittedOffset));
        var end = ReadFixture<EndTxnRequest>($"{label}-EndTxn-v{endV}-1.bin");
        Assert.True(end.Committed);
        Assert.Equal((add.V3AndBelowProducerId, add.V3AndBelowProducerEpoch), (end.ProducerId, end.ProducerEpoch));
    }

    [Theory]
    [InlineData("librdkafka.scram", 0, "SCRAM-SHA-256", "n,,n=alice,r=")]
    [InlineData("kafkajs.sasl-acl", 1, "SCRAM-SHA-512", "n,,n=alice,r=")]
    [InlineData("librdkafka216.oauthbearer", 1, "OAUTHBEARER", "n,,\u0001auth=Bearer ")]
    public void SaslClientsOpenTheirExchangeAsTheMechanismSays(string label, short authenticateVersion, string mechanism, string first)
    {
        Assert.Equal(mechanism, ReadFixture<SaslHandshakeRequest>($"{label}-SaslHandshake-v1-1.bin").Mechanism);
        var token = System.Text.Encoding.UTF8.GetString(ReadFixture<SaslAuthenticateRequest>($"{label}-SaslAuthenticate-v{authenticateVersion}-1.bin").AuthBytes.Span);
        Assert.StartsWith(first, token);
    }

    [Fact]
    public void KafkajsManagesAclsAtVersion1()
    {
        var created = ReadFixture<CreateAclsRequest>("kafkajs.sasl-acl-CreateAcls-v1-1.bin").Creations.Single();
        Assert.Equal(("User:bob", "*", (sbyte)AclResourceType.Topic, (sbyte)AclPatternType.Literal, (sbyte)AclOperation.Read, (sbyte)AclPermissionType.Allow),
            (created.Principal, created.Host, created.ResourceType, created.ResourcePatternType, created.Operation, created.PermissionType));
        Assert.Equal((sbyte)AclPatternType.Any, ReadFixture<DescribeAclsRequest>("kafkajs.sasl-acl-DescribeAcls-v1-1.bin").PatternTypeFilter);
        Assert.Equal("User:bob", ReadFixture<DeleteAclsRequest>("kafkajs.sasl-acl-DeleteAcls-v1-1.bin").Filters.Single().PrincipalFilter);
    }
}
