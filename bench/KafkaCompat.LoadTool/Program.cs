using System.Diagnostics;
using System.Globalization;
using KafkaCompat.LoadTool;

// kafkacompat-load: one invocation runs the same workload against KafkaCompat (child process from the Release
// build) and librdkafka's mock cluster (../shared/tools/rdkafka-mock/run.sh), then prints both side by side.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

if (args.Length > 0 && args[0] == "client") return ClientProcess.Run(args[1..]);

Options options;
try
{
    options = Options.Parse(args);
}
catch (Options.HelpRequested)
{
    Console.WriteLine(Options.Usage);
    return 0;
}
catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(Options.Usage);
    return 2;
}

try
{
    return await LoadTool.RunAsync(options);
}
catch (Exception e) when (e is IOException or InvalidOperationException or TimeoutException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"kafkacompat-load: {e.Message}");
    return 1;
}

internal static class LoadTool
{
    public static async Task<int> RunAsync(Options options)
    {
        var total = Stopwatch.StartNew();
        string repo = options.RepoRoot ?? Setup.FindRepoRoot()
            ?? throw new InvalidOperationException("repository root not found (no KafkaCompat.sln above the tool or the current directory); pass --repo-root");
        repo = Path.GetFullPath(repo);
        string brokerDll = Path.GetFullPath(options.BrokerDll ?? Path.Combine(repo, "src/KafkaCompat/bin/Release/net10.0/kafkacompat.dll"));
        string mockScript = Path.GetFullPath(options.MockScript ?? Path.Combine(repo, "../shared/tools/rdkafka-mock/run.sh"));
        string workDir = options.WorkDir ?? Path.Combine(Path.GetTempPath(), "kafkacompat-load-" + DateTime.Now.ToString("yyyyMMdd-HHmmss"));
        if (options.RunOurs && !File.Exists(brokerDll))
        {
            if (options.BrokerDll != null) throw new FileNotFoundException($"--broker-dll {brokerDll} does not exist");
            await Setup.BuildBrokerAsync(repo);
            if (!File.Exists(brokerDll)) throw new FileNotFoundException($"{brokerDll} still missing after the build");
        }
        if (options.RunMock && !File.Exists(mockScript))
            throw new FileNotFoundException($"mock launcher {mockScript} not found; pass --mock-script");
        Directory.CreateDirectory(workDir);
        if (options.Failover)
        {
            int rc = await FailoverBench.RunAsync(options, brokerDll, repo, workDir);
            if (!options.KeepData) Directory.Delete(workDir, recursive: true);
            return rc;
        }
        if (options.Security)
        {
            int rc = await SecurityBench.RunAsync(options, brokerDll, workDir);
            if (!options.KeepData) Directory.Delete(workDir, recursive: true);
            return rc;
        }
        if (options.Kip848)
        {
            int rc = await Kip848Bench.RunAsync(options, brokerDll, repo, workDir);
            if (!options.KeepData) Directory.Delete(workDir, recursive: true);
            return rc;
        }
        if (options.ExactlyOnce)
        {
            int rc = await ExactlyOnceBench.RunAsync(options, brokerDll, mockScript, workDir);
            if (!options.KeepData) Directory.Delete(workDir, recursive: true);
            return rc;
        }
        if (options.ConnectionCounts.Length > 0)
        {
            int rc = await ConnectionsBench.RunAsync(options, brokerDll, mockScript, workDir);
            if (!options.KeepData) Directory.Delete(workDir, recursive: true);
            return rc;
        }
        if (options.Scale)
        {
            int rc = await ScaleBench.RunAsync(options, brokerDll, workDir);
            if (!options.KeepData) Directory.Delete(workDir, recursive: true);
            return rc;
        }

        var targets = new List<BrokerTarget>();
        if (options.RunOurs)
            targets.Add(new BrokerTarget("kafkacompat", "dotnet",
                dataDir => [brokerDll, "serve", "--port", "0", "--data-dir", dataDir],
                line => line.StartsWith("listening on ", StringComparison.Ordinal) ? line["listening on ".Length..].Trim() : null,
                NeedsWarmStart: false, UseCreateTopics: true, KeepsAllData: true));
        if (options.RunMock)
            targets.Add(new BrokerTarget("rdkafka-mock", "bash",
                _ => [mockScript],
                line => string.IsNullOrWhiteSpace(line) ? null : line.Trim(),
                // the first start may compile the mock; its CreateTopics waits for a controller it never names, so
                // topics are auto-created (the mock's default of 4 partitions; the workload uses partition 0 only);
                // it keeps only about 5 MB per partition, so its consume phase reads just that tail
                NeedsWarmStart: true, UseCreateTopics: false, KeepsAllData: false));

        if (options.Headline)
        {
            Console.WriteLine($"work dir:    {workDir}");
            int rc = await Headline.RunAsync(options, targets, workDir, repo);
            if (!options.KeepData) Directory.Delete(workDir, recursive: true);
            return rc;
        }

        Console.WriteLine($"workload: {options.Records:N0} records x {options.Size:N0} B (acks={options.Acks}, {options.Clients} partition(s), linger.ms={options.LingerMs}, " +
            $"in-flight window {(options.InflightBytes > 0 ? $"{options.InflightBytes / (double)(1 << 20):0.#} MiB" : "unbounded")}), " +
            $"warm-up {options.WarmupRecords:N0} records; consume {(options.Consume ? "on" : "off")}");
        if (options.RunOurs) Console.WriteLine($"kafkacompat: dotnet {brokerDll}");
        if (options.RunMock) Console.WriteLine($"mock:        bash {mockScript}");
        Console.WriteLine($"work dir:    {workDir}");
        Console.WriteLine($"host:        {Environment.ProcessorCount} CPUs, CLK_TCK {ProcFs.ClockTicks}");

        var results = new List<BrokerRun>();
        foreach (var t in targets) results.Add(await Runner.RunAsync(t, options, workDir));

        Report.Print(results, options);
        Console.WriteLine($"total time {total.Elapsed.TotalSeconds:0.0} s");

        if (!options.KeepData)
        {
            try { Directory.Delete(workDir, recursive: true); }
            catch (IOException e) { Console.Error.WriteLine($"could not delete {workDir}: {e.Message}"); }
        }
        else Console.WriteLine($"kept {workDir}");
        return results.All(r => r.Ok) ? 0 : 1;
    }
}
