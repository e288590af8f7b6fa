using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace KafkaCompat.LoadTool;

/// <summary>What one client process reports: its share of a produce or consume phase.</summary>
internal sealed record ClientReport(
    long Records, long Bytes, long StartTicks, long EndTicks, long Errors, List<string> ErrorSamples, bool Completed,
    long ConnectOffset, long LastOffset);

/// <summary>
/// The client side in separate processes, so that the load generator is not the bottleneck: <c>kafkacompat-load
/// client produce|consume ...</c> runs one producer or consumer on its own partition. It prints <c>ready</c> once
/// connected, waits for <c>go</c> on stdin, then prints <c>result {json}</c>; latencies go to a file of doubles.
/// Its librdkafka log lines come as <c>diag ...</c>. Stopwatch ticks are CLOCK_MONOTONIC, the same in every process,
/// so the phase runs from the earliest start to the latest end.
/// </summary>
internal static class ClientProcess
{
    public static int Run(string[] args)
    {
        string role = args[0];
        string? bootstrap = null, topic = null, latencyFile = null;
        int partition = 0;
        long connectOffset = -1, lastOffset = -1;
        var rest = new List<string>();
        for (int i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--bootstrap": bootstrap = args[++i]; break;
                case "--topic": topic = args[++i]; break;
                case "--partition": partition = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--latency-file": latencyFile = args[++i]; break;
                case "--connect-offset": connectOffset = long.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--last-offset": lastOffset = long.Parse(args[++i], CultureInfo.InvariantCulture); break;
                default: rest.Add(args[i]); break;
            }
        }
        if (bootstrap is null || topic is null) throw new ArgumentException("client needs --bootstrap and --topic");
        var options = Options.Parse(rest.ToArray());
        var diagnostics = new ClientDiagnostics();
        var workload = new Workload(options, diagnostics);
        static CpuTimes NoCpu() => default;
        void Ready()
        {
            Console.WriteLine("ready");
            Console.Out.Flush();
            if (Console.ReadLine() != "go") throw new InvalidOperationException("expected go");
        }

        ClientReport report;
        if (role == "produce")
        {
            var p = workload.Produce(bootstrap, topic, options.Records, NoCpu, partition, options.Rate / (double)options.Clients, Ready);
            if (latencyFile != null) File.WriteAllBytes(latencyFile, MemoryMarshal.AsBytes(p.LatenciesMs.AsSpan()).ToArray());
            report = new(p.Records, p.Bytes, p.StartTicks, p.EndTicks, p.Errors, p.ErrorSamples.ToList(), p.Completed, p.ConnectOffset, p.LastOffset);
        }
        else if (role == "consume")
        {
            var produced = new ProduceResult(0, 0, TimeSpan.Zero, [], 0, [], default, true, connectOffset, lastOffset);
            var c = workload.Consume(bootstrap, topic, produced, NoCpu, partition, Ready);
            report = new(c.Records, c.Bytes, c.StartTicks, c.EndTicks, c.VerifyErrors, c.ErrorSamples.ToList(), c.Completed, connectOffset, lastOffset);
        }
        else throw new ArgumentException($"unknown client role {role}");
        foreach (var line in diagnostics.Lines.Take(20)) Console.WriteLine("diag " + line.ReplaceLineEndings(" "));
        Console.WriteLine("result " + JsonSerializer.Serialize(report));
        return 0;
    }
}

/// <summary>Runs a phase with <see cref="Options.Clients"/> client processes and sums what they report.</summary>
internal static class ClientProcesses
{
    private sealed class Child(Process process)
    {
        public Process Process { get; } = process;
        public TaskCompletionSource Ready { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource<ClientReport> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public static async Task<(ProduceResult Total, ClientReport[] Parts)> ProduceAsync(
        Options options, string bootstrap, string topic, Func<CpuTimes> brokerCpu, string workDir, ClientDiagnostics diagnostics)
    {
        int n = options.Clients;
        int each = options.Records / n;
        var files = Enumerable.Range(0, n).Select(i => Path.Combine(workDir, $"latency-{topic}-{i}.bin")).ToArray();
        var (reports, cpu) = await RunAsync(options, n, i =>
            ["produce", "--bootstrap", bootstrap, "--topic", topic, "--partition", Str(i), "--latency-file", files[i],
             "--records", Str(i == n - 1 ? options.Records - each * (n - 1) : each)], brokerCpu, diagnostics);
        var latencies = files.SelectMany(f => File.Exists(f) ? MemoryMarshal.Cast<byte, double>(File.ReadAllBytes(f)).ToArray() : []).ToArray();
        foreach (var f in files) File.Delete(f);
        Array.Sort(latencies);
        long start = reports.Min(r => r.StartTicks), end = reports.Max(r => r.EndTicks);
        var total = new ProduceResult(reports.Sum(r => r.Records), reports.Sum(r => r.Bytes), Stopwatch.GetElapsedTime(start, end), latencies,
            reports.Sum(r => r.Errors), reports.SelectMany(r => r.ErrorSamples).Take(5).ToList(), cpu, reports.All(r => r.Completed), -1, -1, start, end);
        return (total, reports);
    }

    public static async Task<ConsumeResult> ConsumeAsync(
        Options options, string bootstrap, string topic, ClientReport[] produced, Func<CpuTimes> brokerCpu, ClientDiagnostics diagnostics)
    {
        var (reports, cpu) = await RunAsync(options, produced.Length, i =>
            ["consume", "--bootstrap", bootstrap, "--topic", topic, "--partition", Str(i),
             "--connect-offset", Str(produced[i].ConnectOffset), "--last-offset", Str(produced[i].LastOffset)], brokerCpu, diagnostics);
        long start = reports.Min(r => r.StartTicks), end = reports.Max(r => r.EndTicks);
        return new ConsumeResult(reports.Sum(r => r.Records), reports.Sum(r => r.Bytes), Stopwatch.GetElapsedTime(start, end), reports.Sum(r => r.Errors),
            reports.SelectMany(r => r.ErrorSamples).Take(5).ToList(), cpu, reports.All(r => r.Completed), start, end);
    }

    private static string Str(long v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>Starts the clients, waits until all are connected, starts them together and measures the broker's CPU
    /// from then until the last one reports.</summary>
    private static async Task<(ClientReport[] Reports, CpuTimes Cpu)> RunAsync(
        Options options, int n, Func<int, string[]> args, Func<CpuTimes> brokerCpu, ClientDiagnostics diagnostics)
    {
        string self = typeof(ClientProcess).Assembly.Location;
        string[] common =
        [
            "--size", Str(options.Size), "--linger-ms", Str(options.LingerMs), "--acks", options.Acks, "--rate", Str(options.Rate),
            "--clients", Str(n), "--inflight-mb", (options.InflightBytes / (double)(1 << 20)).ToString(CultureInfo.InvariantCulture),
            "--stall-seconds", Str(options.StallSeconds),
        ];
        var children = new List<Child>();
        try
        {
            for (int i = 0; i < n; i++)
            {
                var psi = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                psi.ArgumentList.Add(self);
                psi.ArgumentList.Add("client");
                foreach (var a in args(i).Concat(common)) psi.ArgumentList.Add(a);
                var child = new Child(Process.Start(psi) ?? throw new InvalidOperationException("could not start a client process"));
                var stderr = new List<string>();
                child.Process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (stderr) stderr.Add(e.Data); };
                child.Process.OutputDataReceived += (_, e) =>
                {
                    if (e.Data is null)
                    {
                        string why;
                        lock (stderr) why = string.Join(" / ", stderr.TakeLast(5));
                        var gone = new InvalidOperationException($"client process {child.Process.Id} ended without a result: {why}");
                        child.Ready.TrySetException(gone);
                        child.Result.TrySetException(gone);
                    }
                    else if (e.Data == "ready") child.Ready.TrySetResult();
                    else if (e.Data.StartsWith("result ", StringComparison.Ordinal))
                        child.Result.TrySetResult(JsonSerializer.Deserialize<ClientReport>(e.Data["result ".Length..])!);
                    else if (e.Data.StartsWith("diag ", StringComparison.Ordinal)) diagnostics.Add(e.Data["diag ".Length..]);
                };
                child.Process.BeginOutputReadLine();
                child.Process.BeginErrorReadLine();
                children.Add(child);
            }
            await Task.WhenAll(children.Select(c => c.Ready.Task)).WaitAsync(TimeSpan.FromSeconds(options.StallSeconds * 2));
            var before = brokerCpu();
            foreach (var c in children)
            {
                await c.Process.StandardInput.WriteLineAsync("go");
                await c.Process.StandardInput.FlushAsync();
            }
            var reports = await Task.WhenAll(children.Select(c => c.Result.Task));
            var cpu = brokerCpu() - before;
            foreach (var c in children) await c.Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            return (reports, cpu);
        }
        finally
        {
            foreach (var c in children)
            {
                if (!c.Process.HasExited) c.Process.Kill(entireProcessTree: true);
                c.Process.Dispose();
            }
        }
    }
}
