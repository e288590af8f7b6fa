using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.LoadTool;

/// <summary>
/// `--scale`: the log engine at size, against our broker only (the mock keeps just a tail, so there is no
/// baseline; the figures are ratios against a 1 MB log in the same run).
/// 1. N idle partitions: memory per partition, and start-up time with them after a clean stop.
/// 2. A large log (default 10 GB) next to a 1 MB one: fetch latency at random offsets, broker memory after the
///    cold-segment sweep, and start-up time after a clean stop.
/// </summary>
internal static class ScaleBench
{
    public static async Task<int> RunAsync(Options o, string brokerDll, string workDir)
    {
        var problems = new List<string>();
        string log = Path.Combine(workDir, "scale.log");
        Func<string, string?> ready = l => l.StartsWith("listening on ", StringComparison.Ordinal) ? l["listening on ".Length..].Trim() : null;
        Task<ChildBroker> Start(string dir) => ChildBroker.StartAsync("kafkacompat", "dotnet", [brokerDll, "serve", "--port", "0", "--data-dir", dir], ready, log, TimeSpan.FromSeconds(120));

        // 1. idle partitions
        string pdir = Path.Combine(workDir, "partitions");
        double rssIdle = 0, rssWith = 0, restartPartitionsMs = 0;
        int fdsWith = 0;
        if (o.ScalePartitions > 0)
        {
            await using (var b = await Start(pdir))
            {
                await Task.Delay(1000);
                rssIdle = b.RssMiB();
                using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = b.Bootstrap }).Build();
                int topics = Math.Max(1, o.ScalePartitions / 100);
                await admin.CreateTopicsAsync(Enumerable.Range(0, topics).Select(i => new TopicSpecification { Name = $"idle-{i}", NumPartitions = o.ScalePartitions / topics, ReplicationFactor = 1 }),
                    new CreateTopicsOptions { RequestTimeout = TimeSpan.FromMinutes(5), OperationTimeout = TimeSpan.FromMinutes(5) });
                await Task.Delay(2000);
                rssWith = b.RssMiB();
                fdsWith = Directory.GetFiles($"/proc/{b.Pid}/fd").Length;
                await b.StopAsync();
            }
            await using (var b = await Start(pdir))
            {
                restartPartitionsMs = b.StartupTime.TotalMilliseconds;
                await b.StopAsync();
            }
            Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {o.ScalePartitions:N0} idle partitions: RSS {rssIdle:0.0} -> {rssWith:0.0} MiB, {fdsWith} open descriptors, restart {restartPartitionsMs:0} ms");
        }

        // 2. a large log and a 1 MB one
        string ldir = Path.Combine(workDir, "large");
        long bigBytes = (long)(o.ScaleGb * 1e9);
        double rssBefore, rssAfterProduce, rssAfterSweep, restartLargeMs, produceSecs;
        double[] smallLat, bigLat, bigCached;
        int bigDisk;
        // a --work-dir kept from an earlier run (--keep-data) with the same --scale-gb and --size: its logs are reused
        bool reuse = File.Exists(Path.Combine(ldir, "topics.json"));
        if (reuse) Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] reusing the logs in {ldir}");
        await using (var b = await Start(ldir))
        {
            rssBefore = b.RssMiB();
            if (!reuse)
            {
                using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = b.Bootstrap }).Build())
                    await admin.CreateTopicsAsync([new TopicSpecification { Name = "small", NumPartitions = 1, ReplicationFactor = 1 },
                        new TopicSpecification { Name = "big", NumPartitions = 1, ReplicationFactor = 1 }]);
                Produce(b.Bootstrap, "small", 1_000_000 / o.Size, o.Size);
                var sw = Stopwatch.StartNew();
                Produce(b.Bootstrap, "big", bigBytes / o.Size, o.Size);
                produceSecs = sw.Elapsed.TotalSeconds;
                rssAfterProduce = b.RssMiB();
                Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] wrote {bigBytes / 1e9:0.0} GB in {produceSecs:0} s; RSS {rssAfterProduce:0.0} MiB; waiting 45 s for the cold-segment sweep");
            }
            else
            {
                produceSecs = double.NaN;
                rssAfterProduce = b.RssMiB();
            }
            // a freshly started broker has mapped nothing yet: only a broker that wrote the log waits for the sweep
            if (!reuse) await Task.Delay(45_000);
            rssAfterSweep = b.RssMiB();
            (smallLat, bigLat, bigCached, bigDisk) = FetchLatencies(b.Bootstrap, () => ProcFs.MajorFaults(b.Pid),
                ("small", 1_000_000 / o.Size), ("big", bigBytes / o.Size), o.Size, o.ScaleFetches);
            await b.StopAsync();
        }
        await using (var b = await Start(ldir))
        {
            restartLargeMs = b.StartupTime.TotalMilliseconds;
            await b.StopAsync();
        }

        double p50s = Stats.Percentile(smallLat, 50), p50b = Stats.Percentile(bigLat, 50), p99s = Stats.Percentile(smallLat, 99), p99b = Stats.Percentile(bigLat, 99);
        Console.WriteLine();
        Console.WriteLine($"== scale: {o.ScalePartitions:N0} idle partitions; a {o.ScaleGb:0.#} GB log of {o.Size} B records next to a 1 MB one ==");
        Console.WriteLine("| metric | value | target |");
        Console.WriteLine("|---|---:|---|");
        Console.WriteLine($"| memory per idle partition (KiB) | {(rssWith - rssIdle) * 1024 / o.ScalePartitions:0.0} | |");
        Console.WriteLine($"| open descriptors with {o.ScalePartitions:N0} partitions | {fdsWith} | |");
        Console.WriteLine($"| start-up with {o.ScalePartitions:N0} partitions after a clean stop (ms) | {restartPartitionsMs:0} | |");
        Console.WriteLine($"| fetch at a random offset, 1 MB log, p50 / p99 (ms) | {p50s:0.000} / {p99s:0.000} | |");
        Console.WriteLine($"| fetch at a random offset, {o.ScaleGb:0.#} GB log, p50 / p99 (ms) | {p50b:0.000} / {p99b:0.000} | |");
        Console.WriteLine($"| ratio large / small, p50 (p99) | {p50b / p50s:0.00} ({p99b / p99s:0.00}) | <= 1.2 |");
        double p50c = Stats.Percentile(bigCached, 50), p99c = Stats.Percentile(bigCached, 99);
        Console.WriteLine($"| {o.ScaleGb:0.#} GB log fetches that read the disk (page-cache misses: major faults) | {bigDisk} of {bigLat.Length} | |");
        Console.WriteLine($"| ratio large / small over the fetches served from the page cache, p50 (p99) | {p50c / p50s:0.00} ({p99c / p99s:0.00}) | |");
        Console.WriteLine($"| start-up with the {o.ScaleGb:0.#} GB log after a clean stop (ms) | {restartLargeMs:0} | <= 1000 |");
        Console.WriteLine($"| broker RSS: empty / after writing / after the cold sweep (MiB) | {rssBefore:0.0} / {rssAfterProduce:0.0} / {rssAfterSweep:0.0} | flat |");
        Console.WriteLine($"| write rate while building the log (MB/s) | {bigBytes / 1e6 / produceSecs:0} | |");
        if (restartLargeMs > 1000) problems.Add($"restart with the large log took {restartLargeMs:0} ms");
        foreach (var p in problems) Console.WriteLine($"   ! {p}");
        return problems.Count == 0 ? 0 : 1;
    }

    private static void Produce(string bootstrap, string topic, long records, int size)
    {
        using var p = new ProducerBuilder<Null, byte[]>(new ProducerConfig
        {
            // 16 KiB batches (the Java producer's default batch.size), so a 64 KiB fetch spans several batches
            BootstrapServers = bootstrap, Acks = Acks.Leader, LingerMs = 5, BatchSize = 16 << 10, QueueBufferingMaxKbytes = 256 * 1024,
        }).Build();
        var payload = new byte[size];
        new Random(1).NextBytes(payload);
        for (long i = 0; i < records; i++)
        {
            while (true)
            {
                try
                {
                    p.Produce(new TopicPartition(topic, 0), new Message<Null, byte[]> { Value = payload });
                    break;
                }
                catch (ProduceException<Null, byte[]> e) when (e.Error.Code == Confluent.Kafka.ErrorCode.Local_QueueFull)
                {
                    p.Poll(TimeSpan.FromMilliseconds(10));
                }
            }
        }
        p.Flush(TimeSpan.FromMinutes(5));
    }

    /// <summary>Times Fetch requests (v11, one partition, at most 64 KiB) at random offsets over one TCP connection,
    /// alternating between the two logs so that both see the same machine state. Offsets near the end are left out
    /// so every answer is full, whatever the log's length.</summary>
    /// <remarks>Also returns B's latencies without the fetches during which the broker took a major page fault
    /// (part of the range was not in the page cache and came from the disk), and how many those were.</remarks>
    private static (double[] A, double[] B, double[] BCached, int BDisk) FetchLatencies(string bootstrap, Func<long> majorFaults,
        (string Topic, long Records) a, (string Topic, long Records) b, int size, int count)
    {
        var parts = bootstrap.Split(':');
        using var tcp = new TcpClient(parts[0], int.Parse(parts[1])) { NoDelay = true };
        var stream = tcp.GetStream();
        var rng = new Random(42);
        var result = new[] { new List<double>(), new List<double>() };
        var cached = new List<double>();
        for (int i = -20; i < count; i++) // the first 20 warm the connection and the JIT
        {
            for (int which = 0; which < 2; which++)
            {
                var (topic, records) = which == 0 ? a : b;
                long offset = rng.NextInt64(0, Math.Max(1, records - 2 * 65536 / size));
                long faultsBefore = majorFaults();
                double ms = TimeFetch(stream, topic, offset, i + 100);
                bool disk = majorFaults() != faultsBefore;
                if (i < 0) continue;
                result[which].Add(ms);
                if (which == 1 && !disk) cached.Add(ms);
            }
        }
        return (result[0].Order().ToArray(), result[1].Order().ToArray(), cached.Order().ToArray(), result[1].Count - cached.Count);
    }

    private static double TimeFetch(NetworkStream stream, string topic, long offset, int correlationId)
    {
        var req = new FetchRequest
        {
            MaxWaitMs = 0, MinBytes = 1, MaxBytes = 65536, IsolationLevel = 0,
            Topics = [new() { Topic = topic, Partitions = [new() { Partition = 0, FetchOffset = offset, PartitionMaxBytes = 65536 }] }],
        };
        using var w = new KafkaWriter();
        w.WriteInt32(0);
        new RequestHeader { RequestApiKey = (short)ApiKey.Fetch, RequestApiVersion = 11, CorrelationId = correlationId, ClientId = "scale" }.Write(w, 1);
        req.Write(w, 11);
        var bytes = w.ToArray();
        BinaryPrimitives.WriteInt32BigEndian(bytes, bytes.Length - 4);
        var sw = Stopwatch.StartNew();
        stream.Write(bytes);
        var sizeBuf = new byte[4];
        stream.ReadExactly(sizeBuf);
        var body = new byte[BinaryPrimitives.ReadInt32BigEndian(sizeBuf)];
        stream.ReadExactly(body);
        double ms = sw.Elapsed.TotalMilliseconds;
        var r = new KafkaReader(body);
        ResponseHeader.Read(ref r, 0);
        var resp = FetchResponse.Read(ref r, 11);
        var pr = resp.Responses[0].Partitions[0];
        if (pr.ErrorCode != 0 || pr.Records is not { Length: > 0 }) throw new InvalidOperationException($"fetch {topic}@{offset}: error {pr.ErrorCode}");
        return ms;
    }
}
