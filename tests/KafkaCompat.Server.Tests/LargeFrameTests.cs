using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using KafkaCompat.Records;
using KafkaCompat.Testing;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>Requests larger than the connection's read buffer are read from the socket straight into their frame: a
/// large produce that arrives in pieces, with a smaller request pipelined right behind it in the same bytes, is
/// stored intact and both are answered in order; a connection that stops half way through one is closed without a
/// trace in the log.</summary>
public sealed class LargeFrameTests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start();
        Assert.Equal(ErrorCode.None, _b.Broker.CreateTopic("big", 1, 1, new(), validateOnly: false).Error);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    private static (byte[] Frame, byte[] Value) ProduceFrame(int correlationId, int valueSize, int seed)
    {
        var value = new byte[valueSize];
        new Random(seed).NextBytes(value);
        var b = new RecordBatchBuilder();
        b.Add(null, value, 1000);
        var req = new ProduceRequest
        {
            Acks = 1, TimeoutMs = 5000,
            TopicData = [new() { Name = "big", PartitionData = [new() { Index = 0, Records = b.Build() }] }],
        };
        return (RawClient.Frame(req, 9, correlationId), value);
    }

    [Fact]
    public async Task ALargeProduceArrivingInPiecesIsStoredIntactAndTheRequestBehindItAnswered()
    {
        using var c = new RawClient(_b.Port);
        var (big, value) = ProduceFrame(1, 900_000, 1);
        var (small, smallValue) = ProduceFrame(2, 100, 2);
        // the big frame in uneven pieces with pauses (so the broker sees it partly buffered), the small one glued to
        // its last piece
        var bytes = big.Concat(small).ToArray();
        int pos = 0;
        foreach (int piece in new[] { 3, 70_000, 1, 200_000, 333_333 })
        {
            c.SendRaw(bytes[pos..(pos + piece)]);
            pos += piece;
            await Task.Delay(20);
        }
        c.SendRaw(bytes[pos..]);
        var (corr1, body1) = c.ReadFrame(flexibleHeader: true);
        var (corr2, body2) = c.ReadFrame(flexibleHeader: true);
        Assert.Equal((1, 2), (corr1, corr2));
        foreach (var (body, offset) in new[] { (body1, 0L), (body2, 1L) })
        {
            var r = new KafkaReader(body);
            var p = ProduceResponse.Read(ref r, 9).Responses.Single().PartitionResponses.Single();
            Assert.Equal((ErrorCode.None, offset), (p.ErrorCode, p.BaseOffset));
        }
        var log = _b.Broker.Logs.Get("big")!.Partitions[0];
        foreach (var (offset, expected) in new[] { (0L, value), (1L, smallValue) })
        {
            var read = log.Read(offset, 1, minOneBatch: true);
            using var lease = read.Lease;
            Assert.Equal(expected, RecordReader.ReadBatch(read.Records.ToArray()).Single().Value!.Value.ToArray());
        }
    }

    [Fact]
    public async Task AClientGoneHalfWayThroughALargeRequestLeavesNothing()
    {
        using (var c = new RawClient(_b.Port))
        {
            var (big, _) = ProduceFrame(1, 900_000, 3);
            c.SendRaw(big[..500_000]);
            await Task.Delay(50);
        }
        await Task.Delay(200);
        Assert.Equal(0, _b.Broker.Logs.Get("big")!.Partitions[0].HighWatermark);
        using var again = new RawClient(_b.Port); // the broker serves on
        var (frame, _) = ProduceFrame(1, 300_000, 4);
        again.SendRaw(frame);
        var (corr, body) = again.ReadFrame(flexibleHeader: true);
        var r = new KafkaReader(body);
        Assert.Equal((1, ErrorCode.None), (corr, ProduceResponse.Read(ref r, 9).Responses.Single().PartitionResponses.Single().ErrorCode));
    }

    [Fact]
    public void LargeFetchesAreSentFromTheFileAndArriveIntact()
    {
        using var c = new RawClient(_b.Port);
        var values = new List<byte[]>();
        for (int i = 0; i < 4; i++)
        {
            var (frame, value) = ProduceFrame(i + 1, 200_000 + i, 10 + i);
            values.Add(value);
            c.SendRaw(frame);
            c.ReadFrame(flexibleHeader: true);
        }
        // one fetch of all four batches (a file region of 800 KB), then one of a single batch, on the same connection
        foreach (var (from, count) in new[] { (0L, 4), (2L, 1) })
        {
            var resp = c.Call<FetchRequest, FetchResponse>(new FetchRequest
            {
                MaxWaitMs = 0, MaxBytes = 1 << 22,
                Topics = [new() { Topic = "big", Partitions = [new() { Partition = 0, FetchOffset = from, PartitionMaxBytes = count == 1 ? 1 : 1 << 22 }] }],
            }, 11);
            var records = resp.Responses.Single().Partitions.Single().Records!.Value;
            var got = new List<byte[]>();
            for (int pos = 0; pos < records.Length;)
            {
                int size = RecordBatch.TotalSize(records.Span[pos..]);
                got.AddRange(RecordReader.ReadBatch(records.Slice(pos, size)).Select(r => r.Value!.Value.ToArray()));
                pos += size;
            }
            Assert.Equal(values.Skip((int)from).Take(count).ToList(), got);
        }
        // a small request after them is still answered in order
        Assert.Equal(ErrorCode.None, c.Call<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [] }, 9).Brokers.Count > 0 ? ErrorCode.None : ErrorCode.UnknownServerError);
    }
}
