using System.Buffers;
using BenchmarkDotNet.Attributes;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using KafkaCompat.Records;

namespace KafkaCompat.Benchmarks;

/// <summary>
/// The codec work of one request/response, as the server does it: the request header (v2, flexible) plus the
/// generated body reader; and for Fetch the response header (v1) plus the body writer into a
/// <see cref="KafkaWriter"/>, optionally copied out the way a response goes to the socket's pipe.
/// </summary>
[MemoryDiagnoser]
public class ProtocolBenchmarks
{
    private const string Topic = "bench-topic";
    private byte[] _metadataFrame = [];
    private byte[] _produceFrame = [];
    private byte[] _records = [];
    private readonly ArrayBufferWriter<byte> _sink = new(2 << 20);

    [GlobalSetup]
    public void Setup()
    {
        _metadataFrame = Frame(ApiKey.Metadata, 12, new MetadataRequest
        {
            Topics = [new MetadataRequest.MetadataRequestTopic { Name = Topic }],
            AllowAutoTopicCreation = true,
        });

        // one uncompressed batch of 10 records of 100 bytes, as librdkafka would send with acks=1
        var builder = new RecordBatchBuilder();
        var value = new byte[100];
        for (int i = 0; i < 10; i++) builder.Add(default, value, 1_700_000_000_000 + i, nullKey: true);
        byte[] batch = builder.Build();
        _produceFrame = Frame(ApiKey.Produce, 9, new ProduceRequest
        {
            Acks = 1,
            TimeoutMs = 30_000,
            TopicData =
            [
                new ProduceRequest.TopicProduceData
                {
                    Name = Topic,
                    PartitionData = [new ProduceRequest.PartitionProduceData { Index = 0, Records = batch }],
                },
            ],
        });

        _records = new byte[1 << 20];
        new Random(7).NextBytes(_records);

        // sanity: the frames parse back to what was written
        if (ParseMetadataV12() != 1 || ParseProduceV9() != batch.Length) throw new InvalidOperationException("frames do not round-trip");
    }

    private static byte[] Frame(ApiKey key, short version, IKafkaMessage body)
    {
        using var w = new KafkaWriter();
        new RequestHeader { RequestApiKey = (short)key, RequestApiVersion = version, CorrelationId = 42, ClientId = "rdkafka" }.Write(w, 2);
        body.Write(w, version);
        return w.ToArray();
    }

    [Benchmark]
    public int ParseRequestHeaderV2()
    {
        var r = new KafkaReader(_metadataFrame);
        return RequestHeader.Read(ref r, 2).CorrelationId;
    }

    [Benchmark]
    public int ParseMetadataV12()
    {
        var r = new KafkaReader(_metadataFrame);
        RequestHeader.Read(ref r, 2);
        var req = MetadataRequest.Read(ref r, 12);
        return req.Topics!.Count;
    }

    [Benchmark]
    public int ParseProduceV9()
    {
        var r = new KafkaReader(_produceFrame);
        RequestHeader.Read(ref r, 2);
        var req = ProduceRequest.Read(ref r, 9);
        return req.TopicData[0].PartitionData[0].Records!.Value.Length;
    }

    /// <summary>Parse plus the per-batch check the broker does before appending (sizes, magic, CRC-32C).</summary>
    [Benchmark]
    public int ParseAndValidateProduceV9()
    {
        var r = new KafkaReader(_produceFrame);
        RequestHeader.Read(ref r, 2);
        var req = ProduceRequest.Read(ref r, 9);
        var records = req.TopicData[0].PartitionData[0].Records!.Value.Span;
        return RecordBatch.Validate(records, out int size) == BatchError.None ? size : -1;
    }

    private FetchResponse BuildFetchResponse() => new()
    {
        Responses =
        [
            new FetchResponse.FetchableTopicResponse
            {
                Topic = Topic,
                Partitions =
                [
                    new FetchResponse.PartitionData
                    {
                        PartitionIndex = 0,
                        HighWatermark = 123_456,
                        LastStableOffset = 123_456,
                        LogStartOffset = 0,
                        Records = _records,
                    },
                ],
            },
        ],
    };

    /// <summary>Response header v1 + FetchResponse v12 carrying a 1 MiB records slice (referenced, not copied).</summary>
    [Benchmark]
    public int WriteFetchV12()
    {
        using var w = new KafkaWriter();
        new ResponseHeader { CorrelationId = 42 }.Write(w, 1);
        BuildFetchResponse().Write(w, 12);
        return w.Length;
    }

    /// <summary>As <see cref="WriteFetchV12"/>, then copied out to a buffer writer as the server copies to its pipe.</summary>
    [Benchmark]
    public int WriteFetchV12AndCopyOut()
    {
        using var w = new KafkaWriter();
        new ResponseHeader { CorrelationId = 42 }.Write(w, 1);
        BuildFetchResponse().Write(w, 12);
        _sink.ResetWrittenCount();
        w.CopyTo(_sink);
        return _sink.WrittenCount;
    }
}
