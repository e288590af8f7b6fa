using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace KafkaCompat.LoadTool;

internal sealed record ProduceResult(
    long Records, long Bytes, TimeSpan Elapsed, double[] LatenciesMs, long Errors, IReadOnlyList<string> ErrorSamples,
    CpuTimes BrokerCpu, bool Completed, long ConnectOffset, long LastOffset, long StartTicks = 0, long EndTicks = 0)
{
    public double RecordsPerSecond => Records / Elapsed.TotalSeconds;
    public double MBPerSecond => Bytes / 1e6 / Elapsed.TotalSeconds;
    public double Percentile(double p) => Stats.Percentile(LatenciesMs, p);
    public double CpuSecondsPerGB => BrokerCpu.Total / (Bytes / 1e9);
    public double KernelShare => BrokerCpu.System / BrokerCpu.Total;
}

internal sealed record ConsumeResult(
    long Records, long Bytes, TimeSpan Elapsed, long VerifyErrors, IReadOnlyList<string> ErrorSamples, CpuTimes BrokerCpu, bool Completed,
    long StartTicks = 0, long EndTicks = 0)
{
    public double RecordsPerSecond => Records / Elapsed.TotalSeconds;
    public double MBPerSecond => Bytes / 1e6 / Elapsed.TotalSeconds;
    public double CpuSecondsPerGB => BrokerCpu.Total / (Bytes / 1e9);
    public double KernelShare => BrokerCpu.System / BrokerCpu.Total;
}

internal static partial class Pacing
{
    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "nanosleep")]
    private static partial int NanoSleep(in TimeSpec request, IntPtr remaining);

    /// <summary>Sleeps for about <paramref name="ns"/> nanoseconds (Linux timer slack adds some 50 us).</summary>
    public static void Sleep(long ns)
    {
        var t = new TimeSpec { Seconds = ns / 1_000_000_000, Nanoseconds = ns % 1_000_000_000 };
        NanoSleep(t, IntPtr.Zero);
    }
}

internal static class Stats
{
    /// <summary>Nearest-rank percentile of sorted values.</summary>
    public static double Percentile(double[] sorted, double p)
    {
        if (sorted.Length == 0) return double.NaN;
        int rank = (int)Math.Ceiling(p / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    public static double Median(IEnumerable<double> values)
    {
        var s = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        if (s.Length == 0) return double.NaN;
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}

/// <summary>Log lines and errors librdkafka reported, kept distinct and bounded.</summary>
internal sealed class ClientDiagnostics
{
    private readonly ConcurrentDictionary<string, int> _lines = new();

    public void Add(string line)
    {
        if (_lines.Count < 200 || _lines.ContainsKey(line)) _lines.AddOrUpdate(line, 1, (_, n) => n + 1);
    }

    public IEnumerable<string> Lines => _lines.OrderByDescending(kv => kv.Value).Select(kv => kv.Value > 1 ? $"{kv.Key} (x{kv.Value})" : kv.Key);
    public int Count => _lines.Count;
}

/// <summary>The produce and consume phases, driven through Confluent.Kafka (librdkafka).</summary>
internal sealed class Workload(Options options, ClientDiagnostics diagnostics)
{
    private TimeSpan Stall => TimeSpan.FromSeconds(options.StallSeconds);

    /// <param name="useCreateTopics">false for a broker that auto-creates topics but does not serve CreateTopics</param>
    public async Task CreateTopicAsync(string bootstrap, string topic, bool useCreateTopics, int partitions = 1)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap })
            .SetLogHandler((_, m) => diagnostics.Add($"admin {m.Level} {m.Facility}: {m.Message}"))
            .SetErrorHandler((_, e) => diagnostics.Add($"admin error {e.Code}: {e.Reason}"))
            .Build();
        try
        {
            if (useCreateTopics)
                await admin.CreateTopicsAsync(
                [new TopicSpecification { Name = topic, NumPartitions = partitions, ReplicationFactor = 1 }],
                new CreateTopicsOptions { RequestTimeout = TimeSpan.FromSeconds(15), OperationTimeout = TimeSpan.FromSeconds(15) });
        }
        catch (CreateTopicsException e) when (e.Results.All(r => r.Error.Code is ErrorCode.TopicAlreadyExists or ErrorCode.NoError))
        {
        }
        catch (KafkaException e)
        {
            // e.g. a broker without CreateTopics: the topic is then auto-created on first use
            diagnostics.Add($"CreateTopics({topic}) failed, relying on auto-creation: {e.Error.Code} {e.Error.Reason}");
        }
        // wait until the partitions the workload uses have a leader
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var md = admin.GetMetadata(topic, TimeSpan.FromSeconds(5));
            var t = md.Topics.FirstOrDefault(x => x.Topic == topic);
            if (t is { Error.IsError: false } && t.Partitions.Count(p => p.PartitionId < partitions && p.Leader >= 0) == partitions)
            {
                if (t.Partitions.Count != partitions) diagnostics.Add($"topic {topic} has {t.Partitions.Count} partitions; the workload uses {partitions}");
                return;
            }
            if (sw.Elapsed > Stall) throw new TimeoutException($"topic {topic} not usable after {sw.Elapsed.TotalSeconds:0} s: {t?.Error}");
            await Task.Delay(100);
        }
    }

    private ProducerConfig ProducerConfig(string bootstrap)
    {
        int size = options.Size;
        return new ProducerConfig
        {
            BootstrapServers = bootstrap,
            Acks = options.Acks == "all" ? Confluent.Kafka.Acks.All : Confluent.Kafka.Acks.Leader,
            EnableIdempotence = false,
            LingerMs = options.LingerMs,
            BatchNumMessages = 1_000_000,
            // a batch holds at most ~1 MB, under the broker's max.message.bytes (1048588)
            BatchSize = 1_000_000,
            // large enough for one record and its framing; 1 MB (librdkafka's default) covers 900 KB values
            MessageMaxBytes = Math.Max(1_000_000, size + 4096),
            QueueBufferingMaxMessages = 2_000_000,
            QueueBufferingMaxKbytes = 2 * 1024 * 1024,
            CompressionType = CompressionType.None,
            SocketNagleDisable = true,
        };
    }

    /// <summary>Produces <paramref name="records"/> values of the option size to one partition of the topic, at most
    /// <paramref name="rate"/> records per second when it is positive. Each value starts with its sequence number
    /// (big-endian int64) for the consume check. <paramref name="ready"/> runs once connected, before the clock starts.</summary>
    public ProduceResult Produce(string bootstrap, string topic, int records, Func<CpuTimes> brokerCpu, int partition = 0, double rate = 0, Action? ready = null)
    {
        int size = options.Size;
        long window = options.InflightBytes;
        var latencies = new double[records];
        long delivered = 0, errors = 0, outstanding = 0;
        long lastDeliveryTicks = 0;
        var errorSamples = new ConcurrentQueue<string>();
        bool waiting = false;
        using var room = new ManualResetEventSlim(false);
        double tickToMs = 1000.0 / Stopwatch.Frequency;

        using var producer = new ProducerBuilder<Null, byte[]>(ProducerConfig(bootstrap))
            .SetLogHandler((_, m) => diagnostics.Add($"producer {m.Level} {m.Facility}: {m.Message}"))
            .SetErrorHandler((_, e) => diagnostics.Add($"producer error {e.Code}: {e.Reason}"))
            .Build();
        var tp = new TopicPartition(topic, new Partition(partition));
        var value = new byte[size];
        Random.Shared.NextBytes(value);
        var message = new Message<Null, byte[]> { Value = value };

        // connect and fetch metadata before the clock starts; the empty record's offset anchors the consume check
        long connectOffset = -1, lastOffset = -1;
        producer.Produce(tp, new Message<Null, byte[]> { Value = [] }, dr => connectOffset = dr.Error.IsError ? -1 : dr.Offset.Value);
        if (producer.Flush(Stall) > 0 || Volatile.Read(ref connectOffset) < 0)
            throw new TimeoutException("the producer could not deliver its first (empty) record");
        ready?.Invoke();

        var cpuBefore = brokerCpu();
        long start = Stopwatch.GetTimestamp();
        double ticksPerRecord = rate > 0 ? Stopwatch.Frequency / rate : 0;
        for (int i = 0; i < records; i++)
        {
            // paced: record i is due i / rate seconds after the start, and the loop sleeps until then with nanosleep
            // (Thread.Sleep has millisecond steps, which would send bursts). It never spins: on a small machine a
            // spinning client takes the CPU the broker and librdkafka need.
            if (ticksPerRecord > 0)
            {
                long wait = (long)(i * ticksPerRecord) - (Stopwatch.GetTimestamp() - start);
                if (wait > 0) Pacing.Sleep(wait * 1_000_000_000 / Stopwatch.Frequency);
            }
            while (window > 0 && Volatile.Read(ref outstanding) + size > window)
            {
                Volatile.Write(ref waiting, true);
                room.Reset();
                if (Volatile.Read(ref outstanding) + size > window) room.Wait(50);
                Volatile.Write(ref waiting, false);
            }
            // librdkafka copies the value during Produce, so one buffer can be reused
            BinaryPrimitives.WriteInt64BigEndian(value, i);
            Interlocked.Add(ref outstanding, size);
            while (true)
            {
                long sent = Stopwatch.GetTimestamp();
                try
                {
                    producer.Produce(tp, message, dr =>
                    {
                        long now = Stopwatch.GetTimestamp();
                        long n = Interlocked.Increment(ref delivered);
                        latencies[n - 1] = (now - sent) * tickToMs;
                        Volatile.Write(ref lastDeliveryTicks, now);
                        if (dr.Error.IsError)
                        {
                            if (Interlocked.Increment(ref errors) <= 5) errorSamples.Enqueue($"{dr.Error.Code}: {dr.Error.Reason}");
                        }
                        else if (dr.Offset.Value > lastOffset) lastOffset = dr.Offset.Value; // reports come on one thread
                        Interlocked.Add(ref outstanding, -size);
                        if (Volatile.Read(ref waiting)) room.Set();
                    });
                    break;
                }
                catch (ProduceException<Null, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    Thread.Sleep(1);
                }
            }
        }

        // wait for every delivery report, giving up only when nothing moves for the stall time
        bool completed = true;
        long seen = -1;
        var lastProgress = Stopwatch.StartNew();
        while (producer.Flush(TimeSpan.FromMilliseconds(200)) > 0 || Interlocked.Read(ref delivered) < records)
        {
            long now = Interlocked.Read(ref delivered);
            if (now != seen) { seen = now; lastProgress.Restart(); }
            else if (lastProgress.Elapsed > Stall) { completed = false; break; }
        }
        long end = completed ? Volatile.Read(ref lastDeliveryTicks) : Stopwatch.GetTimestamp();
        var cpuAfter = brokerCpu();
        long got = Interlocked.Read(ref delivered);
        var lat = latencies.AsSpan(0, (int)Math.Min(got, records)).ToArray();
        Array.Sort(lat);
        return new ProduceResult(got, got * size, Stopwatch.GetElapsedTime(start, end), lat, Interlocked.Read(ref errors),
            errorSamples.ToList(), cpuAfter - cpuBefore, completed && got == records, connectOffset, Volatile.Read(ref lastOffset), start, end);
    }

    /// <summary>
    /// Reads one partition from the beginning (the log start) up to <paramref name="produced"/>'s last offset. The value
    /// at offset o must carry sequence number o - (connect offset + 1) and be of the option size. A broker that keeps
    /// everything returns every record; librdkafka's mock drops its oldest batches (about 5 MB per partition).
    /// </summary>
    public ConsumeResult Consume(string bootstrap, string topic, ProduceResult produced, Func<CpuTimes> brokerCpu, int partition = 0, Action? ready = null)
    {
        int size = options.Size;
        var config = new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = "kafkacompat-load-" + Guid.NewGuid().ToString("N")[..8],
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            FetchWaitMaxMs = 100,
            MaxPartitionFetchBytes = Math.Max(1 << 20, size + 4096),
            FetchMaxBytes = 64 << 20,
            QueuedMaxMessagesKbytes = 256 * 1024,
            EnablePartitionEof = false,
        };
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(config)
            .SetLogHandler((_, m) => diagnostics.Add($"consumer {m.Level} {m.Facility}: {m.Message}"))
            .SetErrorHandler((_, e) => diagnostics.Add($"consumer error {e.Code}: {e.Reason}"))
            .Build();
        var errorSamples = new List<string>();
        long verifyErrors = 0, count = 0, bytes = 0, lastSeen = -1;
        bool completed = true;
        long firstData = produced.ConnectOffset + 1;

        ready?.Invoke();
        var cpuBefore = brokerCpu();
        long start = Stopwatch.GetTimestamp();
        long end = start;
        consumer.Assign(new TopicPartitionOffset(topic, new Partition(partition), Offset.Beginning));
        var lastProgress = Stopwatch.StartNew();
        while (lastSeen < produced.LastOffset)
        {
            ConsumeResult<Ignore, byte[]>? r;
            try
            {
                r = consumer.Consume(TimeSpan.FromMilliseconds(100));
            }
            catch (ConsumeException e)
            {
                verifyErrors++;
                if (errorSamples.Count < 5) errorSamples.Add($"consume error {e.Error.Code}: {e.Error.Reason}");
                continue;
            }
            if (r is null)
            {
                if (lastProgress.Elapsed > Stall) { completed = false; break; }
                continue;
            }
            lastProgress.Restart();
            long offset = r.Offset.Value;
            if (offset <= lastSeen)
            {
                verifyErrors++;
                if (errorSamples.Count < 5) errorSamples.Add($"offset {offset} after {lastSeen}");
            }
            lastSeen = offset;
            if (offset < firstData) continue; // the connect record
            var v = r.Message.Value;
            count++;
            bytes += v?.Length ?? 0;
            long expected = offset - firstData;
            if (v is null || v.Length != size || BinaryPrimitives.ReadInt64BigEndian(v) != expected)
            {
                verifyErrors++;
                if (errorSamples.Count < 5)
                    errorSamples.Add($"offset {offset}: expected sequence {expected} in {size} bytes, got {(v is null ? "null" : $"{v.Length} bytes, sequence {(v.Length >= 8 ? BinaryPrimitives.ReadInt64BigEndian(v) : -1)}")}");
            }
            end = Stopwatch.GetTimestamp();
        }
        var cpuAfter = brokerCpu();
        consumer.Close();
        return new ConsumeResult(count, bytes, Stopwatch.GetElapsedTime(start, end), verifyErrors, errorSamples, cpuAfter - cpuBefore, completed, start, end);
    }
}
