namespace KafkaCompat.LoadTool;

/// <summary>The side-by-side table: metric | kafkacompat | rdkafka-mock | ratio (us/mock), then what went wrong.</summary>
internal static class Report
{
    private sealed record Row(string Metric, Func<BrokerRun, double> Value, string Format);

    private static readonly Row[] Rows =
    [
        new("startup to ready, median (ms)", r => Stats.Median(r.StartupMs), "0"),
        new("idle RSS 1 s after ready, median (MiB)", r => Stats.Median(r.IdleRssMiB), "0.0"),
        new("produce throughput (records/s)", r => r.Produce?.RecordsPerSecond ?? double.NaN, "N0"),
        new("produce throughput (MB/s)", r => r.Produce?.MBPerSecond ?? double.NaN, "0.0"),
        new("ack latency p50 (ms)", r => r.Produce?.Percentile(50) ?? double.NaN, "0.00"),
        new("ack latency p99 (ms)", r => r.Produce?.Percentile(99) ?? double.NaN, "0.00"),
        new("ack latency max (ms)", r => r.Produce?.Percentile(100) ?? double.NaN, "0.00"),
        new("broker CPU per GB produced (s)", r => r.Produce?.CpuSecondsPerGB ?? double.NaN, "0.00"),
        new("  of which kernel time (%)", r => 100 * (r.Produce?.KernelShare ?? double.NaN), "0"),
        new("records consumed", r => r.Consume?.Records ?? double.NaN, "N0"),
        new("consume throughput (records/s)", r => r.Consume?.RecordsPerSecond ?? double.NaN, "N0"),
        new("consume throughput (MB/s)", r => r.Consume?.MBPerSecond ?? double.NaN, "0.0"),
        new("broker CPU per GB consumed (s)", r => r.Consume?.CpuSecondsPerGB ?? double.NaN, "0.00"),
        new("  of which kernel time (%)", r => 100 * (r.Consume?.KernelShare ?? double.NaN), "0"),
        new("rebalance, last join to all assigned, median (ms)", r => Stats.Median(r.Groups?.RebalanceMs ?? []), "0"),
        new("rebalance, worst of the runs (ms)", r => r.Groups is { RebalanceMs.Length: > 0 } g ? g.RebalanceMs[^1] : double.NaN, "0"),
        new("synchronous commits per second", r => r.Groups?.CommitsPerSecond ?? double.NaN, "N0"),
        new("commit latency p50 (ms)", r => r.Groups is { } g ? Stats.Percentile(g.CommitLatencyMs, 50) : double.NaN, "0.00"),
        new("commit latency p99 (ms)", r => r.Groups is { } g ? Stats.Percentile(g.CommitLatencyMs, 99) : double.NaN, "0.00"),
        new("broker CPU per 1000 commits (ms)", r => r.Groups is { Commits: > 0 } g ? g.CommitCpu.Total * 1000 / g.Commits * 1000 : double.NaN, "0.0"),
        new("broker RSS after the run (MiB)", r => r.RssAfterMiB, "0.0"),
        new("broker peak RSS, VmHWM (MiB)", r => r.PeakRssMiB, "0.0"),
        new("broker peak anonymous RSS, produce+consume (MiB)", r => r.PeakAnonMiB, "0.0"),
        new("delivery errors", r => r.Produce?.Errors ?? double.NaN, "0"),
        new("consumed records failing the check", r => r.Consume?.VerifyErrors ?? double.NaN, "0"),
    ];

    public static void Print(IReadOnlyList<BrokerRun> runs, Options options)
    {
        var ours = runs.FirstOrDefault(r => r.Name == "kafkacompat");
        var mock = runs.FirstOrDefault(r => r.Name == "rdkafka-mock");
        string F(double v, string fmt) => double.IsNaN(v) || double.IsInfinity(v) ? "n/a" : v.ToString(fmt);

        var table = new List<string[]> { new[] { "metric", "kafkacompat", "rdkafka-mock", "ratio (us/mock)" } };
        foreach (var row in Rows)
        {
            double a = ours is null ? double.NaN : row.Value(ours);
            double b = mock is null ? double.NaN : row.Value(mock);
            string ratio = double.IsNaN(a) || double.IsNaN(b) || b == 0 ? "n/a" : (a / b).ToString("0.00");
            if (row.Metric is "delivery errors" or "consumed records failing the check" or "records consumed") ratio = "";
            table.Add([row.Metric, F(a, row.Format), F(b, row.Format), ratio]);
        }

        Console.WriteLine();
        Console.WriteLine($"== {options.Records:N0} records x {options.Size:N0} B, acks={options.Acks}, linger.ms={options.LingerMs}{(options.Rate > 0 ? $", {options.Rate:N0} records/s" : "")}, {options.Clients} partition{(options.Clients > 1 ? $"s, {options.Clients} producer and {options.Clients} consumer processes" : "")} ==");
        PrintTable(table);
        if (runs.FirstOrDefault(r => r.Groups != null)?.Groups is { } gr)
            Console.WriteLine($"groups: {gr.Members} members (range, heartbeat.interval.ms=100) on a {gr.Partitions}-partition topic, {options.RebalanceRuns} rebalances; {options.Commits:N0} synchronous commits by one member");
        Console.WriteLine("MB = 10^6 bytes of record values; CPU = utime+stime of the broker process over the phase; " +
            "latency = Produce() call to delivery report, with at most the in-flight window unacknowledged.");

        foreach (var run in runs)
        {
            Console.WriteLine();
            Console.WriteLine($"-- {run.Name}: {(run.Ok ? "ok" : "PROBLEMS")}; stopped in {run.StopSeconds:0.00} s with exit code {run.ExitCode?.ToString() ?? "-"}" +
                (options.KeepData ? $"; log {run.LogPath}" : "; (--keep-data keeps its log and data)"));
            foreach (var p in run.Problems) Console.WriteLine($"   ! {p}");
            foreach (var n in run.Notes) Console.WriteLine($"   note: {n}");
            var noisy = run.BrokerStderr.Where(l => l.Contains("warn", StringComparison.OrdinalIgnoreCase) || l.Contains("fail", StringComparison.OrdinalIgnoreCase)
                || l.Contains("crit", StringComparison.OrdinalIgnoreCase) || l.Contains("error", StringComparison.OrdinalIgnoreCase) || l.Contains("exception", StringComparison.OrdinalIgnoreCase)).ToList();
            if (noisy.Count > 0)
            {
                Console.WriteLine($"   broker stderr: {noisy.Count} warning/error lines, first ones:");
                foreach (var l in noisy.Distinct().Take(8)) Console.WriteLine($"     {Trim(l)}");
            }
            if (run.Client.Count > 0)
            {
                Console.WriteLine($"   client (librdkafka) reported {run.Client.Count} distinct log/error lines, most frequent:");
                foreach (var l in run.Client.Lines.Take(8)) Console.WriteLine($"     {Trim(l)}");
            }
        }
    }

    /// <summary>A Markdown table: the first row is the header, the first column left-aligned, the others right-aligned.</summary>
    public static void PrintTable(IReadOnlyList<string[]> table)
    {
        int[] widths = Enumerable.Range(0, table[0].Length).Select(c => table.Max(r => r[c].Length)).ToArray();
        string Line(string[] cells) => "| " + string.Join(" | ", cells.Select((c, i) => i == 0 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))) + " |";
        Console.WriteLine(Line(table[0]));
        Console.WriteLine("|" + string.Join("|", widths.Select((w, i) => i == 0 ? new string('-', w + 2) : new string('-', w + 1) + ":")) + "|");
        foreach (var r in table.Skip(1)) Console.WriteLine(Line(r));
    }

    private static string Trim(string s) => s.Length > 220 ? s[..220] + "..." : s;
}
