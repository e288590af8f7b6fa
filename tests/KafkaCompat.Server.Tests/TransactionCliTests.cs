using System.Text.Json;
using KafkaCompat.Records;
using KafkaCompat.Testing;
using KafkaCompat.TestSupport;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>kafkacompat transaction list|describe|producers and the last stable offset in topic describe, against an
/// in-process broker holding an open transaction (ListTransactions, DescribeTransactions, DescribeProducers and
/// ListOffsets read_committed over the wire).</summary>
public sealed class TransactionCliTests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    public async Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start();
        await _b.Broker.Transactions.WaitLoadedAsync();
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    private Task<(int Exit, string Out, string Err)> Cli(params string[] args) => CliRunner.RunAsync(_b, null, args);

    [Fact]
    public async Task AnOpenTransactionIsListedDescribedAndHoldsBackTheLastStableOffset()
    {
        var broker = _b.Broker;
        broker.CreateTopic("payments", 2, 1, new(), validateOnly: false);
        var init = broker.Transactions.InitProducerId("billing-1", 30_000, -1, -1, 4);
        broker.Transactions.InitProducerId("idle-1", 30_000, -1, -1, 4);
        Assert.Equal(Protocol.ErrorCode.None, broker.Transactions.AddPartitions("billing-1", init.ProducerId, init.ProducerEpoch, [("payments", 1)], 3));
        var log = broker.Logs.Get("payments")!.Partitions[1];
        log.Append(new RecordBatchBuilder().Add("k"u8, "before"u8, 1000).Build());
        log.Append(new RecordBatchBuilder { ProducerId = init.ProducerId, ProducerEpoch = init.ProducerEpoch, BaseSequence = 0, Transactional = true }
            .Add("k"u8, "in-txn"u8, 1000).Add("k"u8, "in-txn"u8, 1001).Build());

        var list = await Cli("transaction", "list", "-o", "json");
        Assert.Equal(0, list.Exit);
        var listed = JsonDocument.Parse(list.Out).RootElement.EnumerateArray().ToDictionary(e => e.GetProperty("transactionalId").GetString()!, e => e.GetProperty("state").GetString());
        Assert.Equal("Ongoing", listed["billing-1"]);
        Assert.Equal("Empty", listed["idle-1"]);
        var ongoing = await Cli("transaction", "list", "--state", "Ongoing", "-o", "json");
        Assert.Equal(["billing-1"], JsonDocument.Parse(ongoing.Out).RootElement.EnumerateArray().Select(e => e.GetProperty("transactionalId").GetString()));
        var bad = await Cli("transaction", "list", "--state", "Sleeping");
        Assert.Equal(1, bad.Exit);

        var describe = await Cli("transaction", "describe", "billing-1", "-o", "json");
        Assert.Equal(0, describe.Exit);
        var d = JsonDocument.Parse(describe.Out).RootElement;
        Assert.Equal(("Ongoing", init.ProducerId, 30_000), (d.GetProperty("state").GetString(), d.GetProperty("producerId").GetInt64(), d.GetProperty("timeoutMs").GetInt32()));
        Assert.Equal(["payments-1"], d.GetProperty("partitions").EnumerateArray().Select(x => x.GetString()));
        Assert.True(d.GetProperty("startTimeMs").GetInt64() > 0);
        var missing = await Cli("transaction", "describe", "nobody");
        Assert.Equal(1, missing.Exit);
        Assert.StartsWith("ERROR TRANSACTIONAL_ID_NOT_FOUND", missing.Err);

        var producers = await Cli("transaction", "producers", "--topic", "payments", "--partition", "1", "-o", "json");
        Assert.Equal(0, producers.Exit);
        var p = JsonDocument.Parse(producers.Out).RootElement.EnumerateArray().Single();
        Assert.Equal((init.ProducerId, 1, 1L), (p.GetProperty("producerId").GetInt64(), p.GetProperty("lastSequence").GetInt32(), p.GetProperty("currentTransactionStartOffset").GetInt64()));

        var topic = await Cli("topic", "describe", "payments", "-o", "json");
        var part = JsonDocument.Parse(topic.Out).RootElement.EnumerateArray().Single().GetProperty("partitions").EnumerateArray().Single(x => x.GetProperty("partition").GetInt32() == 1);
        Assert.Equal((3L, 1L), (part.GetProperty("endOffset").GetInt64(), part.GetProperty("lastStableOffset").GetInt64()));

        Assert.Equal(Protocol.ErrorCode.None, broker.Transactions.EndTxn("billing-1", init.ProducerId, init.ProducerEpoch, commit: true, 3));
        topic = await Cli("topic", "describe", "payments", "-o", "json");
        part = JsonDocument.Parse(topic.Out).RootElement.EnumerateArray().Single().GetProperty("partitions").EnumerateArray().Single(x => x.GetProperty("partition").GetInt32() == 1);
        Assert.Equal((4L, 4L), (part.GetProperty("endOffset").GetInt64(), part.GetProperty("lastStableOffset").GetInt64()));
        var done = await Cli("transaction", "describe", "billing-1", "-o", "json");
        Assert.Equal("CompleteCommit", JsonDocument.Parse(done.Out).RootElement.GetProperty("state").GetString());
        var table = await Cli("transaction", "describe", "billing-1");
        Assert.Equal(0, table.Exit);
        Assert.Contains("billing-1", table.Out);
    }
}
