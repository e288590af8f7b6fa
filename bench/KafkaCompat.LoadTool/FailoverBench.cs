using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace KafkaCompat.LoadTool;

/// <summary>
/// `--failover`: the time from a leader's broker stopping to the first acknowledgement of a record produced after the
/// stop, for librdkafka 2.16 (confluent-kafka-python, acks=all, idempotent; scripts/failover.py), on our three brokers
/// (the stop through the admin HTTP API; the broker elects the new leader) and on librdkafka's mock cluster with
/// three brokers (rd_kafka_mock_broker_set_down and rd_kafka_mock_partition_set_leader, its leader controls), in one
/// run; then the startup time (to every listener and the admin API ready) and RSS of a 3-broker and a 9-broker
/// process of ours.
/// </summary>
internal static class FailoverBench
{
    private const string Topic = "failover-bench";

    public static async Task<int> RunAsync(Options o, string brokerDll, string repo, string workDir)
    {
        string script = Path.Combine(repo, "bench", "KafkaCompat.LoadTool", "scripts", "failover.py");
        var env = new Dictionary<string, string> { ["LD_LIBRARY_PATH"] = Kip848Bench.LibrdkafkaDir(workDir) };
        int runs = o.FailoverRuns;
        Console.WriteLine($"failover: a partition with 3 replicas led by broker 1, broker 1 stopped, {runs} run(s) per broker;");
        Console.WriteLine("client: librdkafka 2.16 (confluent-kafka-python), acks=all, enable.idempotence=true");
        double[] ours = [], mock = [];
        if (o.RunOurs)
        {
            await using var b = await StartClusterAsync(brokerDll, 3, Path.Combine(workDir, "failover-data"), Path.Combine(workDir, "failover.log"));
            using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = b.Bootstrap }).Build())
                await admin.CreateTopicsAsync([new TopicSpecification { Name = Topic, NumPartitions = 1, ReplicationFactor = 3 }]);
            ours = await RunScriptAsync(env, script, ["ours", b.Bootstrap, b.Admin, runs.ToString(CultureInfo.InvariantCulture)]);
            Console.WriteLine($"kafkacompat failover ms: {string.Join(" ", ours.Select(F))}");
        }
        if (o.RunMock)
        {
            mock = await RunScriptAsync(env, script, ["mock", runs.ToString(CultureInfo.InvariantCulture)]);
            Console.WriteLine($"rdkafka-mock failover ms: {string.Join(" ", mock.Select(F))}");
        }
        Console.WriteLine();
        Console.WriteLine($"{"",-44}{"kafkacompat",14}{"rdkafka-mock",14}{"ours/mock",12}");
        void Row(string label, double a, double m) =>
            Console.WriteLine($"{label,-44}{F(a),14}{F(m),14}{(m > 0 && !double.IsNaN(a) ? (a / m).ToString("0.00", CultureInfo.InvariantCulture) : ""),12}");
        Row("failover, median ms", Median(ours), Median(mock));
        Row("failover, max ms", ours.DefaultIfEmpty(double.NaN).Max(), mock.DefaultIfEmpty(double.NaN).Max());

        if (o.RunOurs && o.StartupRuns > 0)
        {
            Console.WriteLine();
            Console.WriteLine($"{"",-44}{"startup ms (median)",20}{"RSS MiB (idle)",16}");
            foreach (int n in new[] { 3, 9 })
            {
                var startups = new List<double>();
                var rss = new List<double>();
                for (int i = 0; i < o.StartupRuns; i++)
                {
                    await using var b = await StartClusterAsync(brokerDll, n, Path.Combine(workDir, $"startup-{n}-{i}"), Path.Combine(workDir, $"startup-{n}.log"));
                    startups.Add(b.Child.StartupTime.TotalMilliseconds);
                    await Task.Delay(500);
                    rss.Add(ProcFs.StatusMiB(b.Child.Pid, "VmRSS"));
                }
                Console.WriteLine($"{$"kafkacompat serve --brokers {n}",-44}{F(Median([.. startups])),20}{F(Median([.. rss])),16}");
            }
        }
        return 0;
    }

    private static string F(double x) => double.IsNaN(x) ? "-" : x.ToString("0.0", CultureInfo.InvariantCulture);

    private static double Median(double[] xs) => xs.Length == 0 ? double.NaN : xs.Order().ElementAt(xs.Length / 2);

    private sealed class Cluster(ChildBroker child, string bootstrap, string admin) : IAsyncDisposable
    {
        public ChildBroker Child { get; } = child;
        public string Bootstrap { get; } = bootstrap;
        public string Admin { get; } = admin;
        public ValueTask DisposeAsync() => Child.DisposeAsync();
    }

    /// <summary>Starts `serve --brokers N --port 0 --admin-port 0`; ready once the admin API line is printed (after every
    /// listener's line).</summary>
    private static async Task<Cluster> StartClusterAsync(string brokerDll, int brokers, string dataDir, string logPath)
    {
        var ports = new List<string>();
        var child = await ChildBroker.StartAsync($"kafkacompat x{brokers}", "dotnet",
            [brokerDll, "serve", "--brokers", brokers.ToString(CultureInfo.InvariantCulture), "--port", "0", "--admin-port", "0", "--data-dir", dataDir],
            line =>
            {
                if (line.StartsWith("listening on ", StringComparison.Ordinal)) ports.Add(line["listening on ".Length..].Split(' ')[0]);
                return line.StartsWith("admin api on ", StringComparison.Ordinal) ? line["admin api on ".Length..].Trim() : null;
            },
            logPath, TimeSpan.FromSeconds(120));
        return new Cluster(child, string.Join(",", ports), child.Bootstrap);
    }

    private static async Task<double[]> RunScriptAsync(Dictionary<string, string> env, string script, string[] args)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0)
        {
            string e = await stderr;
            throw new InvalidOperationException($"failover.py {args[0]} exited {p.ExitCode}: {e[^Math.Min(e.Length, 2000)..]}");
        }
        return [.. output.Split('\n').Where(l => l.StartsWith("failover_ms ", StringComparison.Ordinal))
            .Select(l => double.Parse(l["failover_ms ".Length..], CultureInfo.InvariantCulture))];
    }
}
