using System.Collections.Concurrent;
using System.Diagnostics;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using KafkaCompat.Records;
using KafkaCompat.Storage;
using KafkaCompat.Testing;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>
/// Reads racing everything that takes segments away: readers fetch at random offsets, long-poll at the end and
/// look offsets up by timestamp while other connections delete and recreate the topics, retention deletes
/// segments under them every few milliseconds (tiny segments, retention.ms 300, file.delete.delay.ms 0) and the map
/// budget unmaps segments between reads (log.max.memory.maps 64). The broker must answer every request with a
/// decodable response carrying an expected error, every fetched batch must be intact, and the process must live
/// (the broker runs inside the test host: an access violation would end the run).
/// KAFKACOMPAT_STRESS_SECONDS sets the duration (20 s in the test command; 600 by hand).
/// </summary>
[CollectionDefinition("stress", DisableParallelization = true)]
public sealed class StressCollection;

[Collection("stress")] // alone: it keeps both cores busy, which would make the timing-sensitive tests beside it flaky
public sealed class DeletionStressTests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;
    private readonly int _mapLimit = MapBudget.Limit;
    private static readonly string[] Topics = ["stress-0", "stress-1", "stress-2"];

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(settings: new Dictionary<string, string>
        {
            ["log.segment.bytes"] = "2048",
            ["log.retention.ms"] = "300",
            ["log.retention.check.interval.ms"] = "20",
            ["log.segment.delete.delay.ms"] = "0",
            ["log.max.memory.maps"] = "64",
            ["auto.create.topics.enable"] = "false",
        });
        foreach (var t in Topics) _b.Broker.CreateTopic(t, 2, 1, new(), validateOnly: false);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _b.DisposeAsync();
        MapBudget.Limit = _mapLimit;
    }

    private static readonly HashSet<ErrorCode> Expected =
    [
        ErrorCode.None, ErrorCode.OffsetOutOfRange, ErrorCode.UnknownTopicOrPartition, ErrorCode.TopicAlreadyExists,
        ErrorCode.NotLeaderOrFollower, ErrorCode.UnknownTopicId,
    ];

    [Fact]
    public async Task ReadersSurviveDeletionRetentionAndUnmapping()
    {
        int seconds = int.TryParse(Environment.GetEnvironmentVariable("KAFKACOMPAT_STRESS_SECONDS"), out var s) ? s : 20;
        var stop = Stopwatch.StartNew();
        var problems = new ConcurrentQueue<string>();
        long fetches = 0, batches = 0, lookups = 0, deletions = 0, produced = 0;
        bool Running() => stop.Elapsed < TimeSpan.FromSeconds(seconds) && problems.IsEmpty;
        void Check(ErrorCode e, string what)
        {
            if (!Expected.Contains(e)) problems.Enqueue($"{what}: {e}");
        }

        var writers = Enumerable.Range(0, 2).Select(w => Task.Run(() =>
        {
            using var c = new RawClient(_b.Port);
            var rng = new Random(w);
            while (Running())
            {
                var b = new RecordBatchBuilder();
                for (int i = 0; i < 1 + rng.Next(20); i++) b.Add(BitConverter.GetBytes(i), new byte[rng.Next(300)], DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                var r = c.Call<ProduceRequest, ProduceResponse>(new ProduceRequest
                {
                    Acks = 1, TimeoutMs = 5000,
                    TopicData = [new() { Name = Topics[rng.Next(Topics.Length)], PartitionData = [new() { Index = rng.Next(2), Records = b.Build() }] }],
                }, 8);
                var e = r.Responses[0].PartitionResponses[0].ErrorCode;
                Check(e, "produce");
                if (e == ErrorCode.None) Interlocked.Increment(ref produced);
            }
        })).ToList();

        var deleter = Task.Run(async () =>
        {
            using var c = new RawClient(_b.Port);
            var rng = new Random(7);
            while (Running())
            {
                string t = Topics[rng.Next(Topics.Length)];
                var d = c.Call<DeleteTopicsRequest, DeleteTopicsResponse>(new DeleteTopicsRequest { TopicNames = [t], TimeoutMs = 5000 }, 3);
                Check(d.Responses[0].ErrorCode, "delete");
                await Task.Delay(rng.Next(50));
                var cr = c.Call<CreateTopicsRequest, CreateTopicsResponse>(new CreateTopicsRequest
                {
                    Topics = [new() { Name = t, NumPartitions = 2, ReplicationFactor = 1 }], TimeoutMs = 5000,
                }, 4);
                Check(cr.Topics[0].ErrorCode, "create");
                Interlocked.Increment(ref deletions);
                await Task.Delay(100 + rng.Next(200));
            }
        });

        var readers = Enumerable.Range(0, 3).Select(r => Task.Run(() =>
        {
            using var c = new RawClient(_b.Port);
            var rng = new Random(100 + r);
            while (Running())
            {
                string t = Topics[rng.Next(Topics.Length)];
                int p = rng.Next(2);
                if (rng.Next(4) == 0)
                {
                    // by timestamp (the time index), the latest and the earliest offsets
                    long ts = rng.Next(3) switch { 0 => -1, 1 => -2, _ => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - rng.Next(2000) };
                    var lo = c.Call<ListOffsetsRequest, ListOffsetsResponse>(new ListOffsetsRequest
                    {
                        ReplicaId = -1, Topics = [new() { Name = t, Partitions = [new() { PartitionIndex = p, Timestamp = ts }] }],
                    }, 5);
                    Check(lo.Topics[0].Partitions[0].ErrorCode, "list offsets");
                    Interlocked.Increment(ref lookups);
                    continue;
                }
                var f = c.Call<FetchRequest, FetchResponse>(new FetchRequest
                {
                    ReplicaId = -1, MaxWaitMs = rng.Next(3) == 0 ? 200 : 0, MinBytes = 1, MaxBytes = 1 << 20,
                    Topics = [new() { Topic = t, Partitions = [new() { Partition = p, FetchOffset = rng.Next(2000), PartitionMaxBytes = 64 << 10 }] }],
                }, 11);
                var part = f.Responses[0].Partitions[0];
                Check(part.ErrorCode, "fetch");
                Interlocked.Increment(ref fetches);
                var records = part.Records ?? ReadOnlyMemory<byte>.Empty;
                for (int pos = 0; pos + RecordBatch.LogOverhead <= records.Length;)
                {
                    var err = RecordBatch.Validate(records.Span[pos..], out int size);
                    if (err == BatchError.Truncated) break; // a partial last batch is allowed at the end of a fetch
                    if (err != BatchError.None)
                    {
                        problems.Enqueue($"fetch {t}-{p}: batch at {pos} is {err}");
                        break;
                    }
                    Interlocked.Increment(ref batches);
                    pos += size;
                }
            }
        })).ToList();

        await Task.WhenAll([.. writers, deleter, .. readers]);
        Assert.True(problems.IsEmpty, string.Join("\n", problems.Take(10)));
        // still serving, and the maps were kept within the budget
        using var check = new RawClient(_b.Port);
        Assert.Equal(ErrorCode.None, check.Call<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest(), 0).ErrorCode);
        Assert.True(fetches > 100 && batches > 100 && lookups > 20 && deletions > 5 && produced > 100,
            $"fetches {fetches}, batches {batches}, lookups {lookups}, deletions {deletions}, produced {produced}");
        Console.WriteLine($"stress {seconds} s: {fetches} fetches ({batches} batches checked), {lookups} lookups, {deletions} delete/create, {produced} produces, {MapBudget.Evictions} evictions");
    }
}
