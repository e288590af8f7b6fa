using System.Diagnostics;
using Confluent.Kafka;

namespace KafkaCompat.LoadTool;

/// <summary>
/// `--exactly-once`: idempotent and transactional producing, against our broker and librdkafka's mock cluster in one
/// run, with the same client (Confluent.Kafka on librdkafka).
/// 1. Produce throughput with acks=all, plain and idempotent, in alternating rounds (the best of each counts): the
///    idempotent figure as a ratio of the plain one.
/// 2. Transactions of N records each, one after another: transactions per second, and the latency of the commit
///    itself (CommitTransaction after the records are acknowledged: EndTxn and the markers), p50 and p99.
/// </summary>
internal static class ExactlyOnceBench
{
    private sealed record Figures(string Broker, double PlainRps, double IdempotentRps, double PlainCpuPerGb, double IdempotentCpuPerGb,
        double TxnPerSecond, double CommitP50, double CommitP99, int Txns, long Errors);

    public static async Task<int> RunAsync(Options o, string brokerDll, string mockScript, string workDir)
    {
        Console.WriteLine($"exactly-once workload: {o.EosRecords:N0} records x {o.Size} B per produce run (acks=all, 1 partition, linger.ms={o.LingerMs}); " +
            $"{o.EosTxns:N0} transactions of {o.EosTxnRecords} records");
        var results = new List<Figures>();
        string log = Path.Combine(workDir, "exactly-once.log");
        if (o.RunOurs)
        {
            await using var b = await ChildBroker.StartAsync("kafkacompat", "dotnet", [brokerDll, "serve", "--port", "0", "--data-dir", Path.Combine(workDir, "eos-ours")],
                l => l.StartsWith("listening on ", StringComparison.Ordinal) ? l["listening on ".Length..].Trim() : null, log, TimeSpan.FromSeconds(120));
            results.Add(await MeasureAsync("kafkacompat", b, o));
        }
        if (o.RunMock)
        {
            // a first start may compile the mock
            await using (await ChildBroker.StartAsync("rdkafka-mock", "bash", [mockScript], l => string.IsNullOrWhiteSpace(l) ? null : l.Trim(), log, TimeSpan.FromSeconds(180))) { }
            await using var m = await ChildBroker.StartAsync("rdkafka-mock", "bash", [mockScript], l => string.IsNullOrWhiteSpace(l) ? null : l.Trim(), log, TimeSpan.FromSeconds(60));
            results.Add(await MeasureAsync("rdkafka-mock", m, o));
        }

        Console.WriteLine();
        Console.WriteLine($"{"",-44}{string.Join("", results.Select(r => $"{r.Broker,16}"))}{(results.Count == 2 ? $"{"ours/mock",12}" : "")}");
        void Row(string name, Func<Figures, double> f, string format, bool ratio = true)
        {
            Console.Write($"{name,-44}");
            foreach (var r in results) Console.Write($"{f(r).ToString(format),16}");
            if (results.Count == 2 && ratio) Console.Write($"{f(results[0]) / f(results[1]),12:0.00}");
            Console.WriteLine();
        }
        Row("plain produce, records/s", r => r.PlainRps, "N0");
        Row("idempotent produce, records/s", r => r.IdempotentRps, "N0");
        Row("idempotent / plain", r => r.IdempotentRps / r.PlainRps, "0.00");
        Row("broker CPU-s per GB, plain", r => r.PlainCpuPerGb, "0.00");
        Row("broker CPU-s per GB, idempotent", r => r.IdempotentCpuPerGb, "0.00");
        Row($"transactions/s ({o.EosTxnRecords} records each)", r => r.TxnPerSecond, "N1");
        Row("commit (EndTxn) p50, ms", r => r.CommitP50, "0.00");
        Row("commit (EndTxn) p99, ms", r => r.CommitP99, "0.00");
        Row("errors", r => r.Errors, "N0", ratio: false);
        return results.All(r => r.Errors == 0) ? 0 : 1;
    }

    private static async Task<Figures> MeasureAsync(string name, ChildBroker b, Options o)
    {
        Console.WriteLine($"{name}: {b.Bootstrap}");
        long errors = 0;
        // warm-up on its own topic (and the mock's auto-creation)
        await ProduceAsync(b, o, "eos-warmup", idempotent: true, Math.Min(o.EosRecords, 100_000));
        // alternating rounds, so neither kind pays alone for first touches of fresh segments; the best round counts
        var plains = new List<(double Rps, double CpuPerGb, long Errors)>();
        var idems = new List<(double Rps, double CpuPerGb, long Errors)>();
        for (int round = 0; round < o.EosRounds; round++)
        {
            plains.Add(await ProduceAsync(b, o, $"eos-plain-{round}", idempotent: false, o.EosRecords));
            idems.Add(await ProduceAsync(b, o, $"eos-idempotent-{round}", idempotent: true, o.EosRecords));
        }
        var plain = plains.MaxBy(r => r.Rps);
        var idem = idems.MaxBy(r => r.Rps);
        errors += plains.Sum(r => r.Errors) + idems.Sum(r => r.Errors);
        Console.WriteLine($"  rounds, records/s: plain {string.Join(", ", plains.Select(r => r.Rps.ToString("N0")))}; idempotent {string.Join(", ", idems.Select(r => r.Rps.ToString("N0")))}");
        var (tps, p50, p99, txnErrors) = Transactions(b, o);
        errors += txnErrors;
        Console.WriteLine($"  plain {plain.Rps:N0}/s, idempotent {idem.Rps:N0}/s, {tps:N1} transactions/s, commit p99 {p99:0.00} ms");
        return new Figures(name, plain.Rps, idem.Rps, plain.CpuPerGb, idem.CpuPerGb, tps, p50, p99, o.EosTxns, errors);
    }

    private static async Task<(double Rps, double CpuPerGb, long Errors)> ProduceAsync(ChildBroker b, Options o, string topic, bool idempotent, int records)
    {
        using var p = new ProducerBuilder<Null, byte[]>(new ProducerConfig
        {
            BootstrapServers = b.Bootstrap,
            Acks = Acks.All,
            EnableIdempotence = idempotent,
            LingerMs = o.LingerMs,
            QueueBufferingMaxMessages = 200_000,
        }).Build();
        var value = new byte[o.Size];
        long delivered = 0, errors = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Report(DeliveryReport<Null, byte[]> r)
        {
            if (r.Error.IsError) Interlocked.Increment(ref errors);
            if (Interlocked.Increment(ref delivered) == records) done.TrySetResult();
        }
        var tp = new TopicPartition(topic, 0);
        p.Produce(tp, new Message<Null, byte[]> { Value = value }, Report); // metadata and producer id first
        p.Flush(TimeSpan.FromSeconds(30));
        delivered = 0;
        var cpu0 = ProcFs.Cpu(b.Pid);
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < records; i++)
        {
            while (true)
            {
                try
                {
                    p.Produce(tp, new Message<Null, byte[]> { Value = value }, Report);
                    break;
                }
                catch (ProduceException<Null, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    p.Poll(TimeSpan.FromMilliseconds(1));
                }
            }
        }
        if (await Task.WhenAny(done.Task, Task.Delay(TimeSpan.FromSeconds(o.StallSeconds * 4))) != done.Task)
            throw new TimeoutException($"{b.Name}: {records - delivered} records of {topic} not acknowledged");
        sw.Stop();
        var cpu = ProcFs.Cpu(b.Pid) - cpu0;
        return (records / sw.Elapsed.TotalSeconds, cpu.Total / ((double)records * o.Size / 1e9), errors);
    }

    private static (double Tps, double P50, double P99, long Errors) Transactions(ChildBroker b, Options o)
    {
        using var p = new ProducerBuilder<Null, byte[]>(new ProducerConfig
        {
            BootstrapServers = b.Bootstrap,
            TransactionalId = "eos-bench-" + b.Name,
            LingerMs = o.LingerMs,
        }).Build();
        p.InitTransactions(TimeSpan.FromSeconds(30));
        var value = new byte[o.Size];
        var tp = new TopicPartition("eos-txn", 0);
        long errors = 0;
        // one transaction first (auto-creation, coordinator lookup)
        p.BeginTransaction();
        p.Produce(tp, new Message<Null, byte[]> { Value = value });
        p.CommitTransaction(TimeSpan.FromSeconds(30));
        var commits = new double[o.EosTxns];
        var sw = Stopwatch.StartNew();
        for (int t = 0; t < o.EosTxns; t++)
        {
            p.BeginTransaction();
            for (int i = 0; i < o.EosTxnRecords; i++)
                p.Produce(tp, new Message<Null, byte[]> { Value = value }, r => { if (r.Error.IsError) Interlocked.Increment(ref errors); });
            p.Flush(TimeSpan.FromSeconds(30));
            long start = Stopwatch.GetTimestamp();
            p.CommitTransaction(TimeSpan.FromSeconds(30));
            commits[t] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        sw.Stop();
        Array.Sort(commits);
        return (o.EosTxns / sw.Elapsed.TotalSeconds, Stats.Percentile(commits, 50), Stats.Percentile(commits, 99), errors);
    }
}
