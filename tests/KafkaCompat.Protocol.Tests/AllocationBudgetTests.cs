using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using KafkaCompat.Records;
using KafkaCompat.TestSupport;
using Xunit;

namespace KafkaCompat.Protocol.Tests;

/// <summary>
/// Allocation budgets of the request hot paths, read from the runtime's per-thread allocation counter (deterministic,
/// not a timing): bytes per call after a warm-up, for a Produce v9 as librdkafka sends it, a Fetch v12, and the responses
/// the broker writes. All are 0: a change that allocates on these paths fails here.
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
        var fetch = Frame(new FetchRequest
        {
            ReplicaId = -1, MaxWaitMs = 500, MinBytes = 1, MaxBytes = 52_428_800, IsolationLevel = 1,
            Topics = [new() { Topic = "t", Partitions = [new() { Partition = 0, FetchOffset = 100, PartitionMaxBytes = 1_048_576 }, new() { Partition = 1, FetchOffset = 7, PartitionMaxBytes = 1_048_576 }] }],
        }, ApiKey.Fetch, 12);
        var records = new byte[1 << 20];
        // a connection reads each request into the messages of its last one (ReadInto), and writes responses with this
        // thread's spare writer
        RequestHeader? header = null;
        ProduceRequest? produceRequest = null;
        FetchRequest? fetchRequest = null;
        var responseHeader = new ResponseHeader();
        var produceResponse = new ProduceResponse { Responses = [new() { Name = "t", PartitionResponses = [new() { Index = 0, BaseOffset = 5 }] }] };
        var fetchResponse = new FetchResponse { Responses = [new() { Topic = "t", Partitions = [new() { PartitionIndex = 0, Records = records }] }] };
        var budgets = new (string What, long Budget, Action Call)[]
        {
            // the client id string comes from the reader's cache of recent strings
            ("request header v2", 0, () => { var r = new KafkaReader(produce); header = RequestHeader.ReadInto(ref r, 2, header); }),
            // the records stay a slice of the frame; the topic name is cached too
            ("header + Produce v9", 0, () =>
            {
                var r = new KafkaReader(produce);
                header = RequestHeader.ReadInto(ref r, 2, header);
                produceRequest = ProduceRequest.ReadInto(ref r, 9, produceRequest);
            }),
            ("header + Fetch v12", 0, () =>
            {
                var r = new KafkaReader(fetch);
                header = RequestHeader.ReadInto(ref r, 2, header);
                fetchRequest = FetchRequest.ReadInto(ref r, 12, fetchRequest);
            }),
            ("header + ProduceResponse v9", 0, () =>
            {
                using var w = KafkaWriter.Rent();
                responseHeader.CorrelationId = 42;
                responseHeader.Write(w, 1);
                produceResponse.Write(w, 9);
            }),
            // a 1 MiB records slice is referenced, not copied
            ("header + FetchResponse v12 of 1 MiB", 0, () =>
            {
                using var w = KafkaWriter.Rent();
                responseHeader.CorrelationId = 42;
                responseHeader.Write(w, 1);
                fetchResponse.Write(w, 12);
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
