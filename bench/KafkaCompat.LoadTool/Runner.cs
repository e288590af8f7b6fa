using System.Diagnostics;

namespace KafkaCompat.LoadTool;

/// <summary>How to start one kind of broker and recognise that it is ready.</summary>
/// <param name="NeedsWarmStart">start once before the startup measurement (the mock may be compiled on first start)</param>
/// <param name="UseCreateTopics">create topics with CreateTopics (else rely on auto-creation through Metadata)</param>
/// <param name="KeepsAllData">the broker retains everything produced, so the consume phase must return every record</param>
internal sealed record BrokerTarget(string Name, string FileName, Func<string, string[]> Args, Func<string, string?> Ready,
    bool NeedsWarmStart, bool UseCreateTopics, bool KeepsAllData);

/// <summary>Everything measured against one broker.</summary>
internal sealed class BrokerRun(string name)
{
    public string Name { get; } = name;
    public List<double> StartupMs { get; } = new();
    public List<double> IdleRssMiB { get; } = new();
    public ProduceResult? Produce { get; set; }
    public ConsumeResult? Consume { get; set; }
    public GroupResult? Groups { get; set; }
    public double RssAfterMiB { get; set; } = double.NaN;
    public double PeakRssMiB { get; set; } = double.NaN;
    /// <summary>Largest RssAnon (anonymous memory: heap, stacks; not the page cache the maps show) sampled during the
    /// workload; the kernel keeps no peak of it, so it is read every 50 ms.</summary>
    public double PeakAnonMiB { get; set; } = double.NaN;
    public double StopSeconds { get; set; } = double.NaN;
    public int? ExitCode { get; set; }
    public List<string> Problems { get; } = new();
    public List<string> Notes { get; } = new();
    public List<string> BrokerStderr { get; } = new();
    public ClientDiagnostics Client { get; } = new();
    public string? LogPath { get; set; }
    public bool Ok => Problems.Count == 0;
}

internal static class Runner
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);

    private static void Say(string name, string text) => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {name}: {text}");

    public static async Task<BrokerRun> RunAsync(BrokerTarget target, Options options, string workDir)
    {
        var run = new BrokerRun(target.Name);
        string logPath = Path.Combine(workDir, target.Name + ".log");
        run.LogPath = logPath;

        // 1. startup time and idle memory
        if (options.StartupRuns > 0)
        {
            if (target.NeedsWarmStart)
            {
                await using var warm = await StartAsync(target, Path.Combine(workDir, $"{target.Name}-prestart"), logPath);
                await warm.StopAsync();
            }
            for (int i = 0; i < options.StartupRuns; i++)
            {
                await using var b = await StartAsync(target, Path.Combine(workDir, $"{target.Name}-startup-{i}"), logPath);
                run.StartupMs.Add(b.StartupTime.TotalMilliseconds);
                await Task.Delay(1000);
                run.IdleRssMiB.Add(b.RssMiB());
                await b.StopAsync();
            }
            Say(target.Name, $"startup {string.Join(", ", run.StartupMs.Select(ms => $"{ms:0} ms"))}; idle RSS {string.Join(", ", run.IdleRssMiB.Select(m => $"{m:0.0}"))} MiB");
        }

        // 2. the workload
        ChildBroker? broker = null;
        try
        {
            broker = await StartAsync(target, Path.Combine(workDir, $"{target.Name}-data"), logPath);
            var b = broker;
            Say(target.Name, $"pid {b.Pid}, bootstrap {b.Bootstrap}");
            var workload = new Workload(options, run.Client);
            using var sampling = new CancellationTokenSource();
            var anon = Task.Run(async () =>
            {
                double peak = double.NaN;
                while (!sampling.IsCancellationRequested && !b.HasExited)
                {
                    try { peak = double.IsNaN(peak) ? b.AnonMiB() : Math.Max(peak, b.AnonMiB()); }
                    catch (IOException) { break; } // exited meanwhile
                    try { await Task.Delay(50, sampling.Token); } catch (OperationCanceledException) { break; }
                }
                return peak;
            });
            try
            {
                if (!options.OnlyGroups) await ProduceAndConsumeAsync(target, options, run, b, workload, workDir);
            }
            finally
            {
                sampling.Cancel();
                run.PeakAnonMiB = await anon;
            }
            if (options.Groups)
            {
                var g = await new GroupBench(options, run.Client).RunAsync(b.Bootstrap, target.UseCreateTopics, b.Cpu);
                run.Groups = g;
                Say(target.Name, $"rebalance of {g.Members} members over {g.Partitions} partitions: {string.Join(", ", g.RebalanceMs.Select(ms => $"{ms:0}"))} ms; " +
                    $"{g.Commits:N0} commits at {g.CommitsPerSecond:N0}/s, p50 {Stats.Percentile(g.CommitLatencyMs, 50):0.00} ms, p99 {Stats.Percentile(g.CommitLatencyMs, 99):0.00} ms");
                run.Problems.AddRange(g.Problems);
            }
            run.RssAfterMiB = b.RssMiB();
            run.PeakRssMiB = b.PeakRssMiB();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            run.Problems.Add($"{e.GetType().Name}: {e.Message}");
            Say(target.Name, $"FAILED: {e.Message}");
        }
        finally
        {
            if (broker != null)
            {
                if (broker.HasExited) run.Problems.Add($"{target.Name} exited during the run");
                run.StopSeconds = (await broker.StopAsync()).TotalSeconds;
                run.ExitCode = broker.ExitCode;
                run.BrokerStderr.AddRange(broker.StderrLines);
                await broker.DisposeAsync();
            }
        }
        return run;
    }

    private static async Task ProduceAndConsumeAsync(BrokerTarget target, Options options, BrokerRun run, ChildBroker b, Workload workload, string workDir)
    {
        const string warmTopic = "load-warmup", topic = "load-main";
        await workload.CreateTopicAsync(b.Bootstrap, warmTopic, target.UseCreateTopics);
        await workload.CreateTopicAsync(b.Bootstrap, topic, target.UseCreateTopics, options.Clients);

        if (options.WarmupRecords > 0)
        {
            var sw = Stopwatch.StartNew();
            var wp = await Task.Run(() => workload.Produce(b.Bootstrap, warmTopic, options.WarmupRecords, b.Cpu));
            if (!wp.Completed || wp.Errors > 0) run.Problems.Add($"warm-up produce: {wp.Records} of {options.WarmupRecords} delivered, {wp.Errors} errors {string.Join("; ", wp.ErrorSamples)}");
            if (options.Consume)
            {
                var wc = await Task.Run(() => workload.Consume(b.Bootstrap, warmTopic, wp, b.Cpu));
                if (!wc.Completed || wc.VerifyErrors > 0 || target.KeepsAllData && wc.Records != wp.Records)
                    run.Problems.Add($"warm-up consume: {wc.Records} of {wp.Records}, {wc.VerifyErrors} errors {string.Join("; ", wc.ErrorSamples)}");
            }
            Say(target.Name, $"warm-up done in {sw.Elapsed.TotalSeconds:0.0} s");
        }

        ProduceResult p;
        ClientReport[]? parts = null;
        if (options.Clients > 1) (p, parts) = await ClientProcesses.ProduceAsync(options, b.Bootstrap, topic, b.Cpu, workDir, run.Client);
        else p = await Task.Run(() => workload.Produce(b.Bootstrap, topic, options.Records, b.Cpu, rate: options.Rate));
        run.Produce = p;
        Say(target.Name, $"produced {p.Records:N0} in {p.Elapsed.TotalSeconds:0.00} s: {p.RecordsPerSecond:N0} rec/s, {p.MBPerSecond:0.0} MB/s, " +
            $"p50 {p.Percentile(50):0.00} ms, p99 {p.Percentile(99):0.00} ms, broker CPU {p.BrokerCpu.Total:0.00} s ({p.BrokerCpu.System:0.00} s kernel)");
        if (!p.Completed) run.Problems.Add($"produce incomplete: {p.Records:N0} of {options.Records:N0} delivered before {options.StallSeconds} s without progress");
        if (p.Errors > 0) run.Problems.Add($"produce: {p.Errors} delivery errors, e.g. {string.Join("; ", p.ErrorSamples)}");

        if (options.Consume)
        {
            var c = parts != null
                ? await ClientProcesses.ConsumeAsync(options, b.Bootstrap, topic, parts, b.Cpu, run.Client)
                : await Task.Run(() => workload.Consume(b.Bootstrap, topic, p, b.Cpu));
            run.Consume = c;
            Say(target.Name, $"consumed {c.Records:N0} in {c.Elapsed.TotalSeconds:0.00} s: {c.RecordsPerSecond:N0} rec/s, {c.MBPerSecond:0.0} MB/s, broker CPU {c.BrokerCpu.Total:0.00} s ({c.BrokerCpu.System:0.00} s kernel)");
            if (!c.Completed) run.Problems.Add($"consume incomplete: {c.Records:N0} of {p.Records:N0} after {options.StallSeconds} s without progress");
            else if (target.KeepsAllData && c.Records != p.Records) run.Problems.Add($"consume returned {c.Records:N0} of {p.Records:N0} records");
            else if (c.Records != p.Records) run.Notes.Add($"consume covered the {c.Records:N0} newest of {p.Records:N0} records (the rest had been dropped by the broker's retention)");
            if (c.VerifyErrors > 0) run.Problems.Add($"consume: {c.VerifyErrors} bad records, e.g. {string.Join("; ", c.ErrorSamples)}");
        }
    }

    private static Task<ChildBroker> StartAsync(BrokerTarget target, string dataDir, string logPath)
    {
        Directory.CreateDirectory(dataDir);
        return ChildBroker.StartAsync(target.Name, target.FileName, target.Args(dataDir), target.Ready, logPath, ReadyTimeout);
    }
}
