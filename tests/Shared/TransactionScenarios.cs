using Confluent.Kafka;
using Confluent.Kafka.Admin;
using KafkaCompat.Testing;
using Xunit;

namespace KafkaCompat.TestSupport;

/// <summary>Transaction scenarios for Confluent.Kafka, linked into the test project of each Confluent.Kafka version
/// (1.9.3 on Debian's librdkafka 2.0.2, 2.16.0 on its own librdkafka), so both run the same checks.</summary>
internal static class TransactionScenarios
{
    private static async Task CreateTopics(EmbeddedBroker b, params string[] topics)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = b.BootstrapServers }).Build();
        await admin.CreateTopicsAsync(topics.Select(t => new TopicSpecification { Name = t, NumPartitions = 2, ReplicationFactor = 1 }));
    }

    private static IProducer<string, string> Producer(EmbeddedBroker b, string transactionalId, int timeoutMs = 30000)
    {
        var p = new ProducerBuilder<string, string>(new ProducerConfig
        {
            BootstrapServers = b.BootstrapServers,
            TransactionalId = transactionalId,
            TransactionTimeoutMs = timeoutMs,
        }).Build();
        p.InitTransactions(TimeSpan.FromSeconds(20));
        return p;
    }

    /// <summary>Every value of <paramref name="topic"/> as a consumer with <paramref name="isolation"/> reads it.</summary>
    public static List<string> ReadAll(EmbeddedBroker b, string topic, IsolationLevel isolation, int atLeast = 0)
    {
        using var c = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = b.BootstrapServers,
            GroupId = "reader-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            EnablePartitionEof = true,
            IsolationLevel = isolation,
        }).Build();
        c.Assign([new TopicPartitionOffset(topic, 0, 0), new TopicPartitionOffset(topic, 1, 0)]);
        var got = new List<string>();
        int eof = 0;
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while ((eof < 2 || got.Count < atLeast) && DateTime.UtcNow < deadline)
        {
            var r = c.Consume(TimeSpan.FromMilliseconds(200));
            if (r is null) continue;
            if (r.IsPartitionEOF) { eof++; continue; }
            got.Add(r.Message.Value);
        }
        got.Sort(StringComparer.Ordinal);
        return got;
    }

    /// <summary>A committed and an aborted transaction: read_committed sees the first only, read_uncommitted both;
    /// an open transaction is held back from read_committed until it commits.</summary>
    public static async Task CommitAbortAndTheTwoViews(EmbeddedBroker b, string topic)
    {
        await CreateTopics(b, topic);
        using var p = Producer(b, "tx-views-" + topic);
        p.BeginTransaction();
        for (int i = 0; i < 6; i++) p.Produce(new TopicPartition(topic, i % 2), new Message<string, string> { Key = "k", Value = "c" + i });
        p.CommitTransaction(TimeSpan.FromSeconds(20));
        p.BeginTransaction();
        for (int i = 0; i < 4; i++) p.Produce(new TopicPartition(topic, i % 2), new Message<string, string> { Key = "k", Value = "a" + i });
        p.Flush(TimeSpan.FromSeconds(10));
        p.AbortTransaction(TimeSpan.FromSeconds(20));
        var committed = Enumerable.Range(0, 6).Select(i => "c" + i).ToList();
        Assert.Equal(committed, ReadAll(b, topic, IsolationLevel.ReadCommitted, 6));
        Assert.Equal(committed.Concat(Enumerable.Range(0, 4).Select(i => "a" + i)).Order(StringComparer.Ordinal), ReadAll(b, topic, IsolationLevel.ReadUncommitted, 10));

        p.BeginTransaction();
        p.Produce(new TopicPartition(topic, 0), new Message<string, string> { Key = "k", Value = "open" });
        p.Flush(TimeSpan.FromSeconds(10));
        Assert.DoesNotContain("open", ReadAll(b, topic, IsolationLevel.ReadCommitted, 6));
        Assert.True(b.Broker.Logs.Get(topic)!.Partitions[0].LastStableOffset < b.Broker.Logs.Get(topic)!.Partitions[0].HighWatermark);
        p.CommitTransaction(TimeSpan.FromSeconds(20));
        Assert.Contains("open", ReadAll(b, topic, IsolationLevel.ReadCommitted, 7));
    }

    /// <summary>Consume-transform-produce: records read in a group are transformed into an output topic and the group's
    /// offsets sent with SendOffsetsToTransaction. An aborted round leaves neither offsets nor output; a committed one
    /// both, exactly once.</summary>
    public static async Task ConsumeTransformProduce(EmbeddedBroker b, string suffix)
    {
        string src = "ctp-in-" + suffix, dst = "ctp-out-" + suffix, group = "ctp-" + suffix;
        await CreateTopics(b, src, dst);
        using (var feeder = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = b.BootstrapServers }).Build())
        {
            for (int i = 0; i < 8; i++) feeder.Produce(new TopicPartition(src, i % 2), new Message<string, string> { Key = "k", Value = "in" + i });
            feeder.Flush(TimeSpan.FromSeconds(10));
        }
        using var c = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = b.BootstrapServers,
            GroupId = group,
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            IsolationLevel = IsolationLevel.ReadCommitted,
            SessionTimeoutMs = 6000,
        }).Build();
        c.Subscribe(src);
        var inputs = new List<ConsumeResult<string, string>>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (inputs.Count < 8 && DateTime.UtcNow < deadline)
            if (c.Consume(TimeSpan.FromMilliseconds(300)) is { IsPartitionEOF: false } r) inputs.Add(r);
        Assert.Equal(8, inputs.Count);
        using var p = Producer(b, "tx-ctp-" + suffix);

        void Round(bool abort)
        {
            p.BeginTransaction();
            foreach (var r in inputs)
                p.Produce(new TopicPartition(dst, r.Partition), new Message<string, string> { Key = "k", Value = r.Message.Value.ToUpperInvariant() + (abort ? "-aborted" : "") });
            var offsets = inputs.GroupBy(r => r.Partition.Value).Select(g => new TopicPartitionOffset(src, g.Key, g.Max(r => r.Offset.Value) + 1)).ToList();
            p.SendOffsetsToTransaction(offsets, c.ConsumerGroupMetadata, TimeSpan.FromSeconds(20));
            if (abort) p.AbortTransaction(TimeSpan.FromSeconds(20));
            else p.CommitTransaction(TimeSpan.FromSeconds(20));
        }

        Round(abort: true);
        Assert.All(c.Committed([new TopicPartition(src, 0), new TopicPartition(src, 1)], TimeSpan.FromSeconds(10)), tpo => Assert.Equal(Offset.Unset, tpo.Offset));
        Round(abort: false);
        Assert.All(c.Committed([new TopicPartition(src, 0), new TopicPartition(src, 1)], TimeSpan.FromSeconds(10)), tpo => Assert.Equal(4, tpo.Offset.Value));
        Assert.Equal(Enumerable.Range(0, 8).Select(i => "IN" + i).Order(StringComparer.Ordinal), ReadAll(b, dst, IsolationLevel.ReadCommitted, 8));
        c.Close();
    }

    /// <summary>A second producer with the same transactional.id fences the first: the first's next transaction fails
    /// fatally and nothing of it is committed.</summary>
    public static async Task ASecondInstanceFencesTheFirst(EmbeddedBroker b, string topic)
    {
        await CreateTopics(b, topic);
        using var first = Producer(b, "tx-fence-" + topic);
        first.BeginTransaction();
        first.Produce(new TopicPartition(topic, 0), new Message<string, string> { Key = "k", Value = "before" });
        first.CommitTransaction(TimeSpan.FromSeconds(20));
        using var second = Producer(b, "tx-fence-" + topic);
        var e = Assert.ThrowsAny<KafkaException>(() =>
        {
            first.BeginTransaction();
            first.Produce(new TopicPartition(topic, 0), new Message<string, string> { Key = "k", Value = "zombie" });
            first.CommitTransaction(TimeSpan.FromSeconds(20));
        });
        Assert.True(e.Error.IsFatal || e.Error.Code == ErrorCode.Local_Fenced || e is KafkaTxnRequiresAbortException, e.Message);
        second.BeginTransaction();
        second.Produce(new TopicPartition(topic, 1), new Message<string, string> { Key = "k", Value = "after" });
        second.CommitTransaction(TimeSpan.FromSeconds(20));
        Assert.Equal(["after", "before"], ReadAll(b, topic, IsolationLevel.ReadCommitted, 2));
    }

    /// <summary>A transaction left open past its timeout is aborted by the coordinator: read_committed moves on and
    /// the producer finds itself fenced.</summary>
    public static async Task ATimedOutTransactionIsAborted(EmbeddedBroker b, string topic)
    {
        await CreateTopics(b, topic);
        string id = "tx-timeout-" + topic;
        using var p = Producer(b, id, timeoutMs: 3000);
        p.BeginTransaction();
        p.Produce(new TopicPartition(topic, 0), new Message<string, string> { Key = "k", Value = "late" });
        p.Flush(TimeSpan.FromSeconds(10));
        // the coordinator aborts it once the timeout passes, bumping the epoch (which fences the producer)
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (b.Broker.Transactions.Describe(id) is not { State: KafkaCompat.Broker.Transactions.TxnState.CompleteAbort } && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        var state = b.Broker.Transactions.Describe(id)!;
        Assert.Equal((KafkaCompat.Broker.Transactions.TxnState.CompleteAbort, (short)1), (state.State, state.ProducerEpoch));
        var log = b.Broker.Logs.Get(topic)!.Partitions[0];
        Assert.Equal(log.HighWatermark, log.LastStableOffset);
        // the record reached the partition (on a loaded machine it may come after the abort and be refused): then its
        // transaction is in the aborted index
        if (log.HighWatermark > 0) Assert.Single(log.AbortedTransactions(0, long.MaxValue));
        Assert.ThrowsAny<KafkaException>(() => p.CommitTransaction(TimeSpan.FromSeconds(10)));
        Assert.Empty(ReadAll(b, topic, IsolationLevel.ReadCommitted));
    }
}
