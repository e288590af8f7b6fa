namespace KafkaCompat.Broker.Apis;

/// <summary>The one place handlers are registered. ApiVersions is derived from this list.</summary>
public static class BrokerApisList
{
    public static IEnumerable<IApiHandler> All() =>
    [
        new ProduceHandler(),
        new FetchHandler(),
        new ListOffsetsHandler(),
        new MetadataHandler(),
        new ApiVersionsHandler(),
        new CreateTopicsHandler(),
        new DeleteTopicsHandler(),
        new FindCoordinatorHandler(),
        new JoinGroupHandler(),
        new SyncGroupHandler(),
        new HeartbeatHandler(),
        new LeaveGroupHandler(),
        new OffsetCommitHandler(),
        new OffsetFetchHandler(),
        new DescribeGroupsHandler(),
        new ListGroupsHandler(),
        new DeleteGroupsHandler(),
        new OffsetDeleteHandler(),
        new DeleteRecordsHandler(),
        new DescribeConfigsHandler(),
        new AlterConfigsHandler(),
        new IncrementalAlterConfigsHandler(),
        new CreatePartitionsHandler(),
        new DescribeClusterHandler(),
        new InitProducerIdHandler(),
        new AddPartitionsToTxnHandler(),
        new AddOffsetsToTxnHandler(),
        new EndTxnHandler(),
        new TxnOffsetCommitHandler(),
        new DescribeProducersHandler(),
        new DescribeTransactionsHandler(),
        new ListTransactionsHandler(),
        new ConsumerGroupHeartbeatHandler(),
        new ConsumerGroupDescribeHandler(),
        new OffsetForLeaderEpochHandler(),
        new DescribeLogDirsHandler(),
        new DescribeTopicPartitionsHandler(),
        new ListConfigResourcesHandler(),
    ];
}
