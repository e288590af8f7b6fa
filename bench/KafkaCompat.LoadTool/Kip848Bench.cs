using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using ErrorCode = KafkaCompat.Protocol.ErrorCode;

namespace KafkaCompat.LoadTool;

/// <summary>
/// `--kip848`: consumer groups under the classic and the consumer (KIP-848) protocol, against our broker and
/// librdkafka 2.16's mock cluster, one after the other in one run, both handing out the same consumer-protocol
/// heartbeat interval.
/// 1. Rebalance: scripts/group_join.py (confluent-kafka-python on librdkafka 2.16) times the last of N members
///    joining a settled group until every member has its assignment, per protocol and broker.
/// 2. Heartbeat rate: N members join over their own connections with raw ConsumerGroupHeartbeat v1 requests, then
///    heartbeat back to back for a fixed time; the figure is heartbeats answered per CPU-second of the broker
///    process.
/// </summary>
internal static class Kip848Bench
{
    private const string Topic = "kip848-bench";
    private const int Partitions = 12;

    internal static string LibrdkafkaDir(string workDir)
    {
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string so = Path.Combine(home, ".nuget/packages/librdkafka.redist/2.16.0/runtimes/linux-x64/native/centos8-librdkafka.so");
        if (!File.Exists(so)) throw new FileNotFoundException($"{so} not found: restore tests/KafkaCompat.CurrentClients.Tests (dotnet build) first");
        string dir = Path.Combine(workDir, "librdkafka-2.16");
        Directory.CreateDirectory(dir);
        string link = Path.Combine(dir, "librdkafka.so.1");
        if (!File.Exists(link)) File.CreateSymbolicLink(link, so);
        return dir;
    }

    private sealed record Figures(string Broker, Dictionary<string, (double[] Ms, int Unchanged, List<string> Errors)> Joins, double HeartbeatsPerCpuSecond,
        double HeartbeatsPerSecond, long Heartbeats, long Errors);

    public static async Task<int> RunAsync(Options o, string brokerDll, string repo, string workDir)
    {
        string scripts = Path.Combine(repo, "bench", "KafkaCompat.LoadTool", "scripts");
        var env = new Dictionary<string, string> { ["LD_LIBRARY_PATH"] = LibrdkafkaDir(workDir) };
        int hb = o.Kip848HeartbeatMs;
        Console.WriteLine($"consumer groups: {o.GroupMembers} members on a {Partitions}-partition topic, {o.RebalanceRuns} rebalance(s) per protocol;");
        Console.WriteLine($"consumer-protocol heartbeat interval {hb} ms on both brokers; clients: librdkafka 2.16 (confluent-kafka-python)");
        var results = new List<Figures>();
        if (o.RunOurs)
        {
            string data = Path.Combine(workDir, "ours-data");
            await using var b = await ChildBroker.StartAsync("kafkacompat", "dotnet",
                [brokerDll, "serve", "--port", "0", "--data-dir", data,
                 "--set", $"group.consumer.heartbeat.interval.ms={hb}", "--set", $"group.consumer.min.heartbeat.interval.ms={Math.Min(hb, 5000)}",
                 "--set", "group.initial.rebalance.delay.ms=0"],
                l => l.StartsWith("listening on ", StringComparison.Ordinal) ? l["listening on ".Length..].Trim() : null,
                Path.Combine(workDir, "ours.log"), TimeSpan.FromSeconds(120));
            using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = b.Bootstrap }).Build())
                await admin.CreateTopicsAsync([new TopicSpecification { Name = Topic, NumPartitions = Partitions, ReplicationFactor = 1 }]);
            results.Add(await MeasureAsync("kafkacompat", b, o, scripts, env));
        }
        if (o.RunMock)
        {
            await using var m = await ChildBroker.StartAsync("rdkafka-mock", "/usr/bin/python3",
                [Path.Combine(scripts, "mock_cluster.py"), hb.ToString(CultureInfo.InvariantCulture), $"{Topic}:{Partitions}"],
                l => string.IsNullOrWhiteSpace(l) ? null : l.Trim(), Path.Combine(workDir, "mock.log"), TimeSpan.FromSeconds(60), env);
            results.Add(await MeasureAsync("rdkafka-mock", m, o, scripts, env));
        }

        Console.WriteLine();
        Console.WriteLine($"{"",-52}{string.Join("", results.Select(r => $"{r.Broker,16}"))}{(results.Count == 2 ? $"{"ours/mock",12}" : "")}");
        void Row(string label, Func<Figures, double> f, string format)
        {
            var v = results.Select(f).ToList();
            string ratio = v.Count == 2 && v[1] > 0 ? (v[0] / v[1]).ToString("0.00", CultureInfo.InvariantCulture) : "";
            Console.WriteLine($"{label,-52}{string.Join("", v.Select(x => double.IsNaN(x) ? $"{"-",16}" : $"{x.ToString(format, CultureInfo.InvariantCulture),16}"))}{ratio,12}");
        }
        foreach (var protocol in new[] { "classic", "consumer" })
        {
            Row($"last join to all assigned, {protocol}, median ms", r => Median(r.Joins[protocol].Ms), "0.0");
            Row($"last join to all assigned, {protocol}, max ms", r => r.Joins[protocol].Ms.Length > 0 ? r.Joins[protocol].Ms.Max() : double.NaN, "0.0");
        }
        Row("heartbeats per broker CPU-second", r => r.HeartbeatsPerCpuSecond, "0");
        Row("heartbeats per second (one client process)", r => r.HeartbeatsPerSecond, "0");
        int problems = 0;
        foreach (var r in results)
        {
            foreach (var (protocol, j) in r.Joins)
            {
                if (j.Unchanged > 0) Console.WriteLine($"{r.Broker} {protocol}: {j.Unchanged} run(s) moved no partition (not timed)");
                foreach (var e in j.Errors) { Console.WriteLine($"PROBLEM {r.Broker} {protocol}: {e}"); problems++; }
            }
            if (r.Errors > 0) { Console.WriteLine($"PROBLEM {r.Broker}: {r.Errors} heartbeat(s) answered with an error"); problems++; }
        }
        return problems == 0 ? 0 : 1;
    }

    private static double Median(double[] xs) => xs.Length == 0 ? double.NaN : xs.Order().ElementAt(xs.Length / 2);

    private static async Task<Figures> MeasureAsync(string name, ChildBroker broker, Options o, string scripts, Dictionary<string, string> env)
    {
        var joins = new Dictionary<string, (double[], int, List<string>)>();
        foreach (var protocol in new[] { "classic", "consumer" })
        {
            // quiet time: longer than the heartbeat interval (and the classic protocol's 100 ms heartbeats)
            double quiet = Math.Max(1.0, 3.0 * o.Kip848HeartbeatMs / 1000.0);
            var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { Path.Combine(scripts, "group_join.py"), broker.Bootstrap, protocol, o.GroupMembers.ToString(CultureInfo.InvariantCulture),
                         o.RebalanceRuns.ToString(CultureInfo.InvariantCulture), Topic, Partitions.ToString(CultureInfo.InvariantCulture),
                         quiet.ToString(CultureInfo.InvariantCulture) })
                psi.ArgumentList.Add(a);
            foreach (var (k, v) in env) psi.Environment[k] = v;
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            string output = await p.StandardOutput.ReadToEndAsync();
            await p.WaitForExitAsync();
            var line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.StartsWith('{'));
            if (p.ExitCode != 0 || line is null)
            {
                joins[protocol] = ([], 0, [$"group_join.py exited {p.ExitCode}: {(await stderr)[^Math.Min((await stderr).Length, 2000)..]}"]);
                continue;
            }
            var doc = JsonDocument.Parse(line).RootElement;
            joins[protocol] = (doc.GetProperty("ms").EnumerateArray().Select(x => x.GetDouble()).ToArray(), doc.GetProperty("unchanged").GetInt32(),
                doc.GetProperty("errors").EnumerateArray().Select(x => x.GetString()!).ToList());
            Console.WriteLine($"{name} {protocol}: {string.Join(" ", joins[protocol].Item1.Select(x => x.ToString("0.0", CultureInfo.InvariantCulture)))} ms");
        }
        var (count, errors, elapsed, cpu) = await HeartbeatRateAsync(broker, o);
        Console.WriteLine($"{name} heartbeats: {count} in {elapsed.TotalSeconds:0.0} s, broker CPU {cpu:0.00} s, {errors} error(s)");
        return new Figures(name, joins, cpu > 0 ? count / cpu : double.NaN, count / elapsed.TotalSeconds, count, errors);
    }

    /// <summary>One member per connection: join, acknowledge the assignment, then heartbeat back to back.</summary>
    private static async Task<(long Count, long Errors, TimeSpan Elapsed, double CpuSeconds)> HeartbeatRateAsync(ChildBroker broker, Options o)
    {
        string group = "kip848-heartbeats-" + Guid.NewGuid().ToString("N")[..8];
        var host = broker.Bootstrap.Split(',')[0];
        int colon = host.LastIndexOf(':');
        string h = host[..colon];
        int port = int.Parse(host[(colon + 1)..], CultureInfo.InvariantCulture);
        var members = new List<RawMember>();
        for (int i = 0; i < o.GroupMembers; i++) members.Add(await RawMember.JoinAsync(h, port, group, Topic));
        // let every member reach its target (a few rounds of heartbeats)
        for (int round = 0; round < 50; round++)
            foreach (var m in members) await m.BeatAsync();
        long count = 0, errors = 0;
        var stop = DateTime.UtcNow.AddSeconds(o.Kip848Seconds);
        var cpu0 = ProcFs.Cpu(broker.Pid);
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(members.Select(m => Task.Run(async () =>
        {
            while (DateTime.UtcNow < stop)
            {
                var err = await m.BeatAsync();
                if (err == ErrorCode.None) Interlocked.Increment(ref count);
                else Interlocked.Increment(ref errors);
            }
        })));
        var elapsed = sw.Elapsed;
        double cpu = (ProcFs.Cpu(broker.Pid) - cpu0).Total;
        foreach (var m in members)
        {
            if (m.FirstError != null) Console.WriteLine($"first heartbeat error: {m.FirstError}");
            await m.LeaveAsync();
        }
        return (count, errors, elapsed, cpu);
    }

    /// <summary>A consumer-protocol member speaking ConsumerGroupHeartbeat v1 over its own connection.</summary>
    private sealed class RawMember : IAsyncDisposable
    {
        private readonly TcpClient _tcp;
        private readonly NetworkStream _stream;
        private readonly string _group;
        private readonly string _topic;
        private readonly string _memberId = Convert.ToBase64String(Guid.NewGuid().ToByteArray()).TrimEnd('=');
        private int _epoch;
        private int _correlation;
        private List<ConsumerGroupHeartbeatRequest.TopicIdPartitions>? _ack;

        private RawMember(TcpClient tcp, string group, string topic)
        {
            _tcp = tcp;
            _stream = tcp.GetStream();
            _group = group;
            _topic = topic;
        }

        public static async Task<RawMember> JoinAsync(string host, int port, string group, string topic)
        {
            var tcp = new TcpClient { NoDelay = true };
            await tcp.ConnectAsync(host, port);
            var m = new RawMember(tcp, group, topic);
            var resp = await m.SendAsync(new ConsumerGroupHeartbeatRequest
            {
                GroupId = group, MemberId = m._memberId, MemberEpoch = 0, RebalanceTimeoutMs = 30000,
                // as librdkafka sends it: the names and an empty (not null) pattern; the mock asserts on that pairing
                SubscribedTopicNames = [topic], SubscribedTopicRegex = "", TopicPartitions = [],
            });
            if (resp.ErrorCode != ErrorCode.None) throw new InvalidOperationException($"join: {resp.ErrorCode} {resp.ErrorMessage}");
            m.Take(resp);
            return m;
        }

        private void Take(ConsumerGroupHeartbeatResponse resp)
        {
            _epoch = resp.MemberEpoch;
            // a new assignment is acknowledged by reporting it as owned in the next heartbeat
            if (resp.Assignment is { } a)
                _ack = a.TopicPartitions.Select(t => new ConsumerGroupHeartbeatRequest.TopicIdPartitions { TopicId = t.TopicId, Partitions = t.Partitions }).ToList();
        }

        public string? FirstError { get; private set; }

        public async Task<ErrorCode> BeatAsync()
        {
            var req = new ConsumerGroupHeartbeatRequest { GroupId = _group, MemberId = _memberId, MemberEpoch = _epoch, TopicPartitions = _ack };
            if (_epoch == 0)
            {
                // still at epoch 0 (the mock answers 0 until it has assigned the member): a join carries everything
                req.RebalanceTimeoutMs = 30000;
                req.SubscribedTopicNames = [_topic];
                req.SubscribedTopicRegex = "";
                req.TopicPartitions = [];
            }
            _ack = null;
            var resp = await SendAsync(req);
            if (resp.ErrorCode == ErrorCode.None) Take(resp);
            else FirstError ??= $"{resp.ErrorCode} {resp.ErrorMessage}";
            return resp.ErrorCode;
        }

        public async Task LeaveAsync()
        {
            await SendAsync(new ConsumerGroupHeartbeatRequest { GroupId = _group, MemberId = _memberId, MemberEpoch = -1 });
            await DisposeAsync();
        }

        private async Task<ConsumerGroupHeartbeatResponse> SendAsync(ConsumerGroupHeartbeatRequest req)
        {
            const short version = 1;
            int corr = ++_correlation;
            using var w = new KafkaWriter();
            w.WriteInt32(0); // size, patched below
            new RequestHeader { RequestApiKey = (short)ApiKey.ConsumerGroupHeartbeat, RequestApiVersion = version, CorrelationId = corr, ClientId = "kip848-bench" }
                .Write(w, 2);
            req.Write(w, version);
            var frame = w.ToArray();
            BinaryPrimitives.WriteInt32BigEndian(frame, frame.Length - 4);
            await _stream.WriteAsync(frame);
            var size = new byte[4];
            await _stream.ReadExactlyAsync(size);
            var body = new byte[BinaryPrimitives.ReadInt32BigEndian(size)];
            await _stream.ReadExactlyAsync(body);
            var r = new KafkaReader(body);
            if (r.ReadInt32() != corr) throw new InvalidOperationException("correlation id mismatch");
            r.ReadTagCount(); // response header v1: no tagged fields expected
            return ConsumerGroupHeartbeatResponse.Read(ref r, version);
        }

        public ValueTask DisposeAsync()
        {
            _tcp.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
