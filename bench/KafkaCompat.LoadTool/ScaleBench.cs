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
        double rssIdle = 0, rssWith = 0, restartPartitionsMs = 0, rssWritten = 0;
        int fdsWith = 0, mapsIdle = 0, mapsWith = 0, mapsWritten = 0, fdsWritten = 0;
        if (o.ScalePartitions > 0)
        {
            await using (var b = await Start(pdir))
            {
                await Task.Delay(1000);
                rssIdle = b.RssMiB();
                mapsIdle = Maps(b.Pid);
                using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = b.Bootstrap }).Build();
                int topics = Math.Max(1, o.ScalePartitions / 100);
                // at most 10,000 partitions a request, Kafka's limit
                foreach (var chunk in Enumerable.Range(0, topics).Chunk(Math.Max(1, 10_000 / Math.Max(1, o.ScalePartitions / topics))))
                    await admin.CreateTopicsAsync(chunk.Select(i => new TopicSpecification { Name = $"idle-{i}", NumPartitions = o.ScalePartitions / topics, ReplicationFactor = 1 }),
                        new CreateTopicsOptions { RequestTimeout = TimeSpan.FromMinutes(5), OperationTimeout = TimeSpan.FromMinutes(5) });
                await Task.Delay(2000);
                rssWith = b.RssMiB();
                fdsWith = Directory.GetFiles($"/proc/{b.Pid}/fd").Length;
                mapsWith = Maps(b.Pid);
                // one record into every partition: every active segment is written, so its files are mapped
                var sw = Stopwatch.StartNew();
                using (var p = new ProducerBuilder<Null, byte[]>(new ProducerConfig
                {
                    BootstrapServers = b.Bootstrap, Acks = Acks.Leader, LingerMs = 5, QueueBufferingMaxMessages = 1_000_000,
                }).Build())
                {
                    var payload = new byte[o.Size];
                    int perTopic = o.ScalePartitions / topics;
                    for (int t = 0; t < topics; t++)
                        for (int part = 0; part < perTopic; part++)
                            p.Produce(new TopicPartition($"idle-{t}", part), new Message<Null, byte[]> { Value = payload });
                    if (p.Flush(TimeSpan.FromMinutes(10)) > 0) problems.Add("records to the partitions were not all delivered");
                }
                await Task.Delay(1000);
                rssWritten = b.RssMiB();
                mapsWritten = Maps(b.Pid);
                fdsWritten = Directory.GetFiles($"/proc/{b.Pid}/fd").Length;
                Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] one record written to each partition in {sw.Elapsed.TotalSeconds:0} s: RSS {rssWritten:0.0} MiB, {mapsWritten} maps, {fdsWritten} descriptors");
                await b.StopAsync();
            }
            await using (var b = await Start(pdir))
            {
                restartPartitionsMs = b.StartupTime.TotalMilliseconds;
                await b.StopAsync();
            }
            Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {o.ScalePartitions:N0} idle partitions: RSS {rssIdle:0.0} -> {rssWith:0.0} MiB, {fdsWith} open descriptors, restart {restartPartitionsMs:0} ms");
        }
        var segmentRows = o.ScaleSegments > 0 ? await SegmentsAsync(o, Start, Path.Combine(workDir, "segments"), problems) : [];
        if (o.ScaleGb <= 0)
        {
            PrintPartitionRows(o, rssIdle, rssWith, fdsWith, restartPartitionsMs, mapsIdle, mapsWith, mapsWritten, fdsWritten, rssWritten, segmentRows);
            foreach (var p in problems) Console.WriteLine($"   ! {p}");
            return problems.Count == 0 ? 0 : 1;
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
        PrintPartitionRows(o, rssIdle, rssWith, fdsWith, restartPartitionsMs, mapsIdle, mapsWith, mapsWritten, fdsWritten, rssWritten, segmentRows);
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

    /// <summary>Memory maps of a process (lines of /proc/PID/maps): the count vm.max_map_count limits.</summary>
    private static int Maps(int pid) => File.ReadLines($"/proc/{pid}/maps").Count();

    private static void PrintPartitionRows(Options o, double rssIdle, double rssWith, int fdsWith, double restartMs, int mapsIdle, int mapsWith,
        int mapsWritten, int fdsWritten, double rssWritten, List<string> segmentRows)
    {
        Console.WriteLine();
        Console.WriteLine($"== scale: {o.ScalePartitions:N0} partitions; {o.ScaleSegments:N0} segments; vm.max_map_count {File.ReadAllText("/proc/sys/vm/max_map_count").Trim()} ==");
        Console.WriteLine("| metric | value | target |");
        Console.WriteLine("|---|---:|---|");
        if (o.ScalePartitions > 0)
        {
            Console.WriteLine($"| memory per idle partition (KiB) | {(rssWith - rssIdle) * 1024 / o.ScalePartitions:0.0} | |");
            Console.WriteLine($"| open descriptors with {o.ScalePartitions:N0} partitions, idle / one record written to each | {fdsWith} / {fdsWritten} | bounded |");
            Console.WriteLine($"| memory maps: empty broker / {o.ScalePartitions:N0} idle partitions / one record written to each | {mapsIdle} / {mapsWith} / {mapsWritten} | well under the limit |");
            Console.WriteLine($"| RSS with {o.ScalePartitions:N0} partitions, idle / written (MiB) | {rssWith:0.0} / {rssWritten:0.0} | |");
            Console.WriteLine($"| start-up with {o.ScalePartitions:N0} partitions after a clean stop (ms) | {restartMs:0} | |");
        }
        foreach (var row in segmentRows) Console.WriteLine(row);
    }

    /// <summary>A log of <see cref="Options.ScaleSegments"/> segments of one batch each (segment.bytes 100): maps,
    /// descriptors and RSS after writing it, while reading all of it back, and after a restart.</summary>
    private static async Task<List<string>> SegmentsAsync(Options o, Func<string, Task<ChildBroker>> start, string dir, List<string> problems)
    {
        int n = o.ScaleSegments;
        double rssWritten, rssRead, restartMs, rssRestart, writeSecs, readSecs;
        int mapsWritten, fdsWritten, mapsPeakRead = 0, fdsPeakRead = 0, mapsRestart, segments;
        long read = 0, failed = 0;
        await using (var b = await start(dir))
        {
            using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = b.Bootstrap }).Build())
                await admin.CreateTopicsAsync([new TopicSpecification { Name = "segs", NumPartitions = 1, ReplicationFactor = 1,
                    Configs = new() { ["segment.bytes"] = "100" } }]);
            var sw = Stopwatch.StartNew();
            // one record a batch (batch.num.messages 1), and every batch rolls a segment (segment.bytes 100)
            using (var p = new ProducerBuilder<Null, byte[]>(new ProducerConfig
            {
                // no message timeout: a queue of 100,000 one-record batches takes longer than the default five minutes
                BootstrapServers = b.Bootstrap, Acks = Acks.Leader, LingerMs = 0, BatchNumMessages = 1, QueueBufferingMaxMessages = 1_000_000,
                MessageTimeoutMs = 0,
            }).Build())
            {
                var payload = new byte[o.Size];
                for (int i = 0; i < n; i++)
                    p.Produce(new TopicPartition("segs", 0), new Message<Null, byte[]> { Value = payload }, r =>
                    {
                        if (r.Error.IsError) Interlocked.Increment(ref failed);
                    });
                if (p.Flush(TimeSpan.FromMinutes(60)) > 0 || failed > 0) problems.Add($"records to the segmented log were not all delivered ({failed} failed)");
            }
            writeSecs = sw.Elapsed.TotalSeconds;
            segments = Directory.GetFiles(Path.Combine(dir, "segs-0"), "*.log").Length;
            rssWritten = b.RssMiB();
            mapsWritten = Maps(b.Pid);
            fdsWritten = Directory.GetFiles($"/proc/{b.Pid}/fd").Length;
            Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {n:N0} records in {segments:N0} segments written in {writeSecs:0} s: RSS {rssWritten:0.0} MiB, {mapsWritten} maps, {fdsWritten} descriptors");

            // read everything back through every segment
            sw.Restart();
            using (var c = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig
            {
                BootstrapServers = b.Bootstrap, GroupId = "segs-reader", AutoOffsetReset = AutoOffsetReset.Earliest, EnableAutoCommit = false,
            }).Build())
            {
                c.Assign(new TopicPartitionOffset("segs", 0, 0));
                var deadline = Stopwatch.StartNew();
                while (read < n && deadline.Elapsed < TimeSpan.FromMinutes(30))
                {
                    if (c.Consume(TimeSpan.FromSeconds(1)) is { IsPartitionEOF: false, Message: not null }) read++;
                    if (read % 5000 == 0)
                    {
                        mapsPeakRead = Math.Max(mapsPeakRead, Maps(b.Pid));
                        fdsPeakRead = Math.Max(fdsPeakRead, Directory.GetFiles($"/proc/{b.Pid}/fd").Length);
                    }
                }
            }
            readSecs = sw.Elapsed.TotalSeconds;
            rssRead = b.RssMiB();
            if (read != n) problems.Add($"read back {read} of {n} records from the segmented log");
            Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] read {read:N0} records back in {readSecs:0} s: peak {mapsPeakRead} maps, {fdsPeakRead} descriptors; RSS {rssRead:0.0} MiB");
            await b.StopAsync();
        }
        await using (var b = await start(dir))
        {
            restartMs = b.StartupTime.TotalMilliseconds;
            rssRestart = b.RssMiB();
            mapsRestart = Maps(b.Pid);
            await b.StopAsync();
        }
        return
        [
            $"| segments written (one batch each) / write time (s) | {segments:N0} / {writeSecs:0} | |",
            $"| memory maps with {segments:N0} segments: written / peak during a full read / after a restart | {mapsWritten} / {mapsPeakRead} / {mapsRestart} | well under the limit |",
            $"| open descriptors with {segments:N0} segments: written / peak during the read | {fdsWritten} / {fdsPeakRead} | bounded |",
            $"| RSS with {segments:N0} segments: written / after the read / after a restart (MiB) | {rssWritten:0.0} / {rssRead:0.0} / {rssRestart:0.0} | |",
            $"| full read of {read:N0} records across the segments (s) / start-up after a clean stop (ms) | {readSecs:0} / {restartMs:0} | |",
        ];
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
