using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using KafkaCompat.Records;

namespace KafkaCompat.Fuzzing;

/// <summary>
/// What the broker does with a request frame before any handler logic: the header, the request body at its
/// version with the generated decoder, and for the bodies that carry them, the record batches (validation, then
/// decompression and record decoding) and the consumer-protocol blobs. Used by the coverage-guided fuzzer (AFL++
/// through SharpFuzz) and by the regression tests that replay every input that ever failed.
/// </summary>
/// <remarks>A malformed frame may only end in <see cref="ProtocolException"/> (the broker closes the connection),
/// or for record payloads <see cref="InvalidDataException"/> / <see cref="NotSupportedException"/> (INVALID_RECORD or
/// CORRUPT_MESSAGE). Any other exception is a bug the fuzzer reports as a crash.</remarks>
public static class FrameFuzzTarget
{
    private delegate object Decoder(ref KafkaReader reader, short version);

    private sealed record Api(Decoder Decode, short Low, short High, Func<short, bool> Flexible);

    private static Api Of<T>() where T : IKafkaRequest<T> =>
        new((ref KafkaReader r, short v) => T.Read(ref r, v), T.LowestVersion, T.HighestVersion, T.IsFlexible);

    private static readonly Dictionary<ApiKey, Api> Apis = new[]
    {
        (ApiKey.Produce, Of<ProduceRequest>()), (ApiKey.Fetch, Of<FetchRequest>()), (ApiKey.ListOffsets, Of<ListOffsetsRequest>()),
        (ApiKey.Metadata, Of<MetadataRequest>()), (ApiKey.OffsetCommit, Of<OffsetCommitRequest>()), (ApiKey.OffsetFetch, Of<OffsetFetchRequest>()),
        (ApiKey.FindCoordinator, Of<FindCoordinatorRequest>()), (ApiKey.JoinGroup, Of<JoinGroupRequest>()), (ApiKey.Heartbeat, Of<HeartbeatRequest>()),
        (ApiKey.LeaveGroup, Of<LeaveGroupRequest>()), (ApiKey.SyncGroup, Of<SyncGroupRequest>()), (ApiKey.DescribeGroups, Of<DescribeGroupsRequest>()),
        (ApiKey.ListGroups, Of<ListGroupsRequest>()), (ApiKey.ApiVersions, Of<ApiVersionsRequest>()), (ApiKey.CreateTopics, Of<CreateTopicsRequest>()),
        (ApiKey.DeleteTopics, Of<DeleteTopicsRequest>()), (ApiKey.DeleteRecords, Of<DeleteRecordsRequest>()), (ApiKey.InitProducerId, Of<InitProducerIdRequest>()),
        (ApiKey.AddPartitionsToTxn, Of<AddPartitionsToTxnRequest>()), (ApiKey.AddOffsetsToTxn, Of<AddOffsetsToTxnRequest>()), (ApiKey.EndTxn, Of<EndTxnRequest>()),
        (ApiKey.TxnOffsetCommit, Of<TxnOffsetCommitRequest>()), (ApiKey.DescribeConfigs, Of<DescribeConfigsRequest>()), (ApiKey.AlterConfigs, Of<AlterConfigsRequest>()),
        (ApiKey.CreatePartitions, Of<CreatePartitionsRequest>()), (ApiKey.DeleteGroups, Of<DeleteGroupsRequest>()), (ApiKey.IncrementalAlterConfigs, Of<IncrementalAlterConfigsRequest>()),
        (ApiKey.OffsetDelete, Of<OffsetDeleteRequest>()), (ApiKey.DescribeCluster, Of<DescribeClusterRequest>()), (ApiKey.DescribeProducers, Of<DescribeProducersRequest>()),
        (ApiKey.DescribeTransactions, Of<DescribeTransactionsRequest>()), (ApiKey.ListTransactions, Of<ListTransactionsRequest>()),
        (ApiKey.ConsumerGroupHeartbeat, Of<ConsumerGroupHeartbeatRequest>()), (ApiKey.ConsumerGroupDescribe, Of<ConsumerGroupDescribeRequest>()),
        (ApiKey.OffsetForLeaderEpoch, Of<OffsetForLeaderEpochRequest>()), (ApiKey.DescribeLogDirs, Of<DescribeLogDirsRequest>()),
        (ApiKey.DescribeTopicPartitions, Of<DescribeTopicPartitionsRequest>()), (ApiKey.ListConfigResources, Of<ListConfigResourcesRequest>()),
        (ApiKey.ElectLeaders, Of<ElectLeadersRequest>()), (ApiKey.AlterPartitionReassignments, Of<AlterPartitionReassignmentsRequest>()),
        (ApiKey.ListPartitionReassignments, Of<ListPartitionReassignmentsRequest>()),
        (ApiKey.SaslHandshake, Of<SaslHandshakeRequest>()), (ApiKey.SaslAuthenticate, Of<SaslAuthenticateRequest>()),
        (ApiKey.DescribeUserScramCredentials, Of<DescribeUserScramCredentialsRequest>()), (ApiKey.AlterUserScramCredentials, Of<AlterUserScramCredentialsRequest>()),
        (ApiKey.DescribeAcls, Of<DescribeAclsRequest>()), (ApiKey.CreateAcls, Of<CreateAclsRequest>()), (ApiKey.DeleteAcls, Of<DeleteAclsRequest>()),
    }.ToDictionary(x => x.Item1, x => x.Item2);

    /// <summary>Every request type the broker decodes.</summary>
    public static IReadOnlyCollection<ApiKey> Covered => Apis.Keys;

    /// <summary>Runs one input; throws only for a bug (see the remarks).</summary>
    public static void Run(ReadOnlyMemory<byte> frame)
    {
        try
        {
            RunUnchecked(frame);
        }
        catch (ProtocolException) { }
        catch (InvalidDataException) { }
        catch (NotSupportedException) { }
    }

    private static void RunUnchecked(ReadOnlyMemory<byte> frame)
    {
        var peek = new KafkaReader(frame);
        var key = (ApiKey)peek.ReadInt16();
        short version = peek.ReadInt16();
        if (!Apis.TryGetValue(key, out var api) || version < api.Low || version > api.High) return; // the connection closes
        var reader = new KafkaReader(frame);
        RequestHeader.Read(ref reader, api.Flexible(version) ? (short)2 : (short)1);
        var body = api.Decode(ref reader, version);
        switch (body)
        {
            case ProduceRequest p:
                foreach (var t in p.TopicData)
                    foreach (var pd in t.PartitionData)
                        if (pd.Records is { } records) Batches(records);
                break;
            case JoinGroupRequest j:
                foreach (var proto in j.Protocols) ConsumerProtocol.SubscribedTopics(proto.Metadata);
                break;
            case SyncGroupRequest s:
                foreach (var a in s.Assignments) ConsumerProtocol.AssignedPartitions(a.Assignment);
                break;
        }
    }

    /// <summary>What a produce does with its records: validate each batch, and decode the ones that pass.</summary>
    private static void Batches(ReadOnlyMemory<byte> records)
    {
        for (int pos = 0; pos < records.Length;)
        {
            // a client can compute a CRC as well as anyone: the parsers behind it are fuzzed as if it always matched
            var err = RecordBatch.Validate(records.Span[pos..], out int size, checkCrc: false);
            if (err != BatchError.None) return;
            var batch = records.Slice(pos, size);
            if (RecordCompression.CanDecompress(RecordBatch.Compression(batch.Span)))
            {
                try
                {
                    RecordReader.ReadBatch(batch);
                }
                catch (ProtocolException) { }
                catch (InvalidDataException) { }
            }
            pos += size;
        }
    }
}
