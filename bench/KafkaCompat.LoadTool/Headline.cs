namespace KafkaCompat.LoadTool;

/// <summary>
/// The performance figures issue 14 sets targets for, measured in one invocation against both brokers and printed as
/// one table: startup and idle memory, CPU per GB produced and consumed at 100 B and 900 KB, 900 KB throughput, and
/// acks=all latency at a fixed rate. Each phase starts fresh brokers; the ratio column is ours over the mock's.
/// </summary>
internal static class Headline
{
    private sealed record Phase(string Name, Options Options);

    /// <summary>This machine's floor for the same work (bench/floor/floor.c, built with gcc): CPU-seconds per GB of
    /// 900 KB chunks for each of its modes; empty when gcc is missing.</summary>
    private static async Task<Dictionary<string, double>> FloorAsync(string repo, string workDir)
    {
        var result = new Dictionary<string, double>();
        string exe = Path.Combine(workDir, "floor");
        try
        {
            if (await RunAsync("gcc", ["-O2", "-msse4.2", "-o", exe, Path.Combine(repo, "bench/floor/floor.c"), "-lpthread"]) is null) return result;
            Console.WriteLine("== floor (bench/floor/floor.c, 2 GB in 900 KB chunks; CPU of the receiving, or sending, thread) ==");
            foreach (var line in (await RunAsync(exe, [workDir, "2", "900000"]) ?? "").Split('\n'))
            {
                Console.WriteLine(line);
                var cells = line.Split('|', StringSplitOptions.TrimEntries);
                if (cells.Length >= 4 && double.TryParse(cells[2], System.Globalization.CultureInfo.InvariantCulture, out double v)) result[cells[1]] = v;
            }
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Console.WriteLine($"floor not measured: {e.Message}");
        }
        return result;
    }

    private static async Task<string?> RunAsync(string file, string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode == 0) return await stdout;
        Console.WriteLine($"{file} failed ({p.ExitCode}): {await stderr}");
        return null;
    }

    /// <param name="WholeLog">a consume figure: the mock keeps only about 5 MB per partition, so its side reads a tail
    /// and is not shown</param>
    private sealed record Row(string Metric, string Phase, Func<BrokerRun, double> Value, string Format, string Target,
        Func<double, double, bool?>? Met = null, bool WholeLog = false);

    public static async Task<int> RunAsync(Options options, IReadOnlyList<BrokerTarget> targets, string workDir, string repo)
    {
        var floor = await FloorAsync(repo, workDir);
        var phases = new[]
        {
            new Phase("100 B", options.With(2_000_000, 100, 5, 0, "1", options.StartupRuns, consume: true)),
            new Phase("900 KB", options.With(3_000, 900_000, 5, 0, "1", 0, consume: true)),
            new Phase("latency", options.With(10_000 * options.HeadlineLatencySeconds, 100, 0, 10_000, "all", 0, consume: false)),
        };
        var runs = new Dictionary<(string Phase, string Broker), BrokerRun>();
        foreach (var phase in phases)
        {
            var o = phase.Options;
            Console.WriteLine($"== phase {phase.Name}: {o.Records:N0} x {o.Size:N0} B, acks={o.Acks}, linger.ms={o.LingerMs}, " +
                $"{(o.Rate > 0 ? $"{o.Rate:N0} records/s" : "unpaced")}, {o.Clients} producer{(o.Clients > 1 ? " processes" : "")}");
            var results = new List<BrokerRun>();
            foreach (var t in targets)
            {
                string dir = Path.Combine(workDir, phase.Name.Replace(' ', '-'));
                Directory.CreateDirectory(dir);
                var r = await Runner.RunAsync(t, o, dir);
                runs[(phase.Name, t.Name)] = r;
                results.Add(r);
            }
            Report.Print(results, o);
            Console.WriteLine();
        }

        static bool? AtMost(double ours, double limit) => double.IsNaN(ours) ? null : ours <= limit;
        var rows = new Row[]
        {
            new("startup to ready, median (ms)", "100 B", r => Stats.Median(r.StartupMs), "0", "≤ 50 ms", (a, _) => AtMost(a, 50)),
            new("idle RSS 1 s after ready (MB, 10^6 B)", "100 B", r => Stats.Median(r.IdleRssMiB) * 1.048576, "0.0", "≤ 30 MB", (a, _) => AtMost(a, 30)),
            new("broker CPU per GB produced, 100 B (s)", "100 B", r => r.Produce?.CpuSecondsPerGB ?? double.NaN, "0.00", "≤ 1.5x mock", (a, b) => AtMost(a, 1.5 * b)),
            new("broker CPU per GB produced, 900 KB (s)", "900 KB", r => r.Produce?.CpuSecondsPerGB ?? double.NaN, "0.00", "≤ 1.5x mock", (a, b) => AtMost(a, 1.5 * b)),
            new("produce throughput, 100 B (MB/s)", "100 B", r => r.Produce?.MBPerSecond ?? double.NaN, "0.0", ""),
            new("produce throughput, 900 KB (MB/s)", "900 KB", r => r.Produce?.MBPerSecond ?? double.NaN, "0.0", "≥ 1.0x mock", (a, b) => double.IsNaN(a) ? null : a >= b),
            new("broker CPU per GB consumed, 100 B (s)", "100 B", r => r.Consume?.CpuSecondsPerGB ?? double.NaN, "0.00", "≤ 1.0 s", (a, _) => AtMost(a, 1.0), WholeLog: true),
            new("broker CPU per GB consumed, 900 KB (s)", "900 KB", r => r.Consume?.CpuSecondsPerGB ?? double.NaN, "0.00", "≤ 0.2 s", (a, _) => AtMost(a, 0.2), WholeLog: true),
            new("consume throughput, 900 KB (MB/s)", "900 KB", r => r.Consume?.MBPerSecond ?? double.NaN, "0.0", "", WholeLog: true),
            new("ack latency p50, acks=all, 10,000 records/s (ms)", "latency", r => r.Produce?.Percentile(50) ?? double.NaN, "0.000", ""),
            new("ack latency p99, acks=all, 10,000 records/s (ms)", "latency", r => r.Produce?.Percentile(99) ?? double.NaN, "0.000", "≤ 1 ms", (a, _) => AtMost(a, 1)),
            new("broker CPU per GB produced at 10,000 records/s (s)", "latency", r => r.Produce?.CpuSecondsPerGB ?? double.NaN, "0.00", ""),
            new("broker peak anonymous RSS, 100 B run (MiB)", "100 B", r => r.PeakAnonMiB, "0.0", "≤ 100 MiB", (a, _) => AtMost(a, 100)),
            new("broker peak anonymous RSS, 900 KB run (MiB)", "900 KB", r => r.PeakAnonMiB, "0.0", "≤ 100 MiB", (a, _) => AtMost(a, 100)),
        };

        string F(double v, string fmt) => double.IsNaN(v) || double.IsInfinity(v) ? "n/a" : v.ToString(fmt);
        var table = new List<string[]> { new[] { "figure", "kafkacompat", "rdkafka-mock", "ratio", "target", "met" } };
        foreach (var row in rows)
        {
            double a = runs.TryGetValue((row.Phase, "kafkacompat"), out var ours) ? row.Value(ours) : double.NaN;
            double b = runs.TryGetValue((row.Phase, "rdkafka-mock"), out var mock) && !row.WholeLog ? row.Value(mock) : double.NaN;
            string ratio = double.IsNaN(a) || double.IsNaN(b) || b == 0 ? "" : (a / b).ToString("0.00");
            bool? met = row.Met?.Invoke(a, b);
            table.Add([row.Metric, F(a, row.Format), row.WholeLog ? "(a 5 MB tail)" : F(b, row.Format), ratio, row.Target, met is null ? "" : met.Value ? "yes" : "no"]);
        }
        foreach (var (mode, what) in new[]
        {
            ("recv+ring", "floor: receive + copy into reused memory, as the mock keeps records (s per GB)"),
            ("recv+copy", "floor: receive + copy into fresh memory, each page touched first (s per GB)"),
            ("recv+crc+write", "floor: receive + CRC-32C + write() into the page cache (s per GB)"),
            ("sendfile (sender)", "floor: sendfile() from the page cache to a socket (s per GB)"),
        })
            table.Add([what, floor.TryGetValue(mode, out var v) ? v.ToString("0.00") : "n/a", "", "", "bench/floor", ""]);
        Console.WriteLine($"== headline: {options.Clients} producer and {options.Clients} consumer {(options.Clients > 1 ? "processes" : "(inside the load tool)")}, one partition each; " +
            "CPU = the broker process's utime+stime over the phase; MB = 10^6 bytes of record values ==");
        Report.PrintTable(table);
        var problems = runs.Where(kv => !kv.Value.Ok).ToList();
        foreach (var (key, run) in problems)
            foreach (var p in run.Problems) Console.WriteLine($"   ! {key.Phase} / {key.Broker}: {p}");
        return problems.Count == 0 ? 0 : 1;
    }
}
