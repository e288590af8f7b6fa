using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using KafkaCompat.Records;
using KafkaCompat.TestSupport;
using Xunit;

namespace KafkaCompat.Protocol.Tests;

/// <summary>
/// Allocation budgets of the request hot paths, read from the runtime's per-thread allocation counter (deterministic,
/// not a timing): bytes per call after a warm-up, for a Produce v9 as librdkafka sends it and the responses the broker
/// writes. A change that allocates more fails here; budgets are lowered as the code gets closer to none.
/// </summary>
public sealed class AllocationBudgetTests
{
    private static byte[] Frame(IKafkaMessage body, ApiKey key, short version)
    {
        using var w = new KafkaWriter();
        new RequestHeader { RequestApiKey = (short)key, RequestApiVersion = version, CorrelationId = 42, ClientId = "rdkafka" }.Write(w, 2);
        body.Write(w, version);
        return w.ToArray();
    }

    [Fact]
    public void ParsingAndWritingStayWithinTheirBudgets()
    {
        var builder = new RecordBatchBuilder();
        for (int i = 0; i < 10; i++) builder.Add(default, new byte[100], 1_700_000_000_000 + i, nullKey: true);
        var produce = Frame(new ProduceRequest
        {
            Acks = 1, TimeoutMs = 30_000,
            TopicData = [new() { Name = "t", PartitionData = [new() { Index = 0, Records = builder.Build() }] }],
        }, ApiKey.Produce, 9);
        var records = new byte[1 << 20];
        var budgets = new (string What, long Budget, Action Call)[]
        {
            // the header object; its client id string comes from the reader's cache of recent strings
            ("request header v2", 32, () => { var r = new KafkaReader(produce); RequestHeader.Read(ref r, 2); }),
            // the request's objects and lists, each made once (the topic name is cached too); the records stay a slice of the frame
            ("header + Produce v9", 296, () => { var r = new KafkaReader(produce); RequestHeader.Read(ref r, 2); ProduceRequest.Read(ref r, 9); }),
            ("header + ProduceResponse v9", 656, () =>
            {
                using var w = new KafkaWriter();
                new ResponseHeader { CorrelationId = 42 }.Write(w, 1);
                new ProduceResponse { Responses = [new() { Name = "t", PartitionResponses = [new() { Index = 0, BaseOffset = 5 }] }] }.Write(w, 9);
            }),
            // a 1 MiB records slice is referenced, not copied
            ("header + FetchResponse v12 of 1 MiB", 760, () =>
            {
                using var w = new KafkaWriter();
                new ResponseHeader { CorrelationId = 42 }.Write(w, 1);
                new FetchResponse { Responses = [new() { Topic = "t", Partitions = [new() { PartitionIndex = 0, Records = records }] }] }.Write(w, 12);
            }),
        };
        var over = new List<string>();
        foreach (var (what, budget, call) in budgets)
        {
            long bytes = Allocations.BytesPerCall(call);
            if (bytes > budget) over.Add($"{what} allocates {bytes} B per call (budget {budget})");
        }
        Assert.True(over.Count == 0, string.Join("; ", over));
    }
}
