using System.Buffers.Binary;
using System.Net.Sockets;

namespace KafkaCompat.LoadTool;

/// <summary>
/// `--connections N,M,...`: holds N concurrent client connections to our broker and to librdkafka's mock cluster
/// (each connection sends an ApiVersions request and reads its answer, then stays open), and reports the broker's
/// memory per connection (VmRSS growth over N) and its descriptors, as ratios to the mock in the same run.
/// </summary>
internal static class ConnectionsBench
{
    public static async Task<int> RunAsync(Options o, string brokerDll, string mockScript, string workDir)
    {
        string log = Path.Combine(workDir, "connections.log");
        var rows = new List<(int N, string Broker, double RssBefore, double RssHeld, int Fds, double Seconds)>();
        Func<string, string?> ready = l => l.StartsWith("listening on ", StringComparison.Ordinal) ? l["listening on ".Length..].Trim() : null;
        // a first start may compile the mock
        if (o.RunMock)
            await using (await ChildBroker.StartAsync("rdkafka-mock", "bash", [mockScript], l => string.IsNullOrWhiteSpace(l) ? null : l.Trim(), log, TimeSpan.FromSeconds(180))) { }
        foreach (int n in o.ConnectionCounts)
        {
            if (o.RunOurs)
            await using (var b = await ChildBroker.StartAsync("kafkacompat", "dotnet", [brokerDll, "serve", "--port", "0", "--data-dir", Path.Combine(workDir, $"conn-{n}")], ready, log, TimeSpan.FromSeconds(60)))
                rows.Add(await MeasureAsync(n, "kafkacompat", b));
            if (o.RunMock)
            await using (var m = await ChildBroker.StartAsync("rdkafka-mock", "bash", [mockScript], l => string.IsNullOrWhiteSpace(l) ? null : l.Trim(), log, TimeSpan.FromSeconds(60)))
                rows.Add(await MeasureAsync(n, "rdkafka-mock", m));
        }
        Console.WriteLine();
        Console.WriteLine("== concurrent connections (each answered one ApiVersions, then held) ==");
        Console.WriteLine("| connections | broker | RSS idle (MiB) | RSS holding them (MiB) | KiB per connection | descriptors | seconds to open | ours/mock per connection |");
        Console.WriteLine("|---:|---|---:|---:|---:|---:|---:|---:|");
        foreach (var g in rows.GroupBy(r => r.N))
        {
            double Per((int N, string Broker, double RssBefore, double RssHeld, int Fds, double Seconds) r) => (r.RssHeld - r.RssBefore) * 1024 / r.N;
            var mock = g.FirstOrDefault(r => r.Broker == "rdkafka-mock");
            foreach (var r in g)
            {
                string ratio = r.Broker == "kafkacompat" && mock.N > 0 && Per(mock) > 0 ? $"{Per(r) / Per(mock):0.0}" : "";
                Console.WriteLine($"| {r.N:N0} | {r.Broker} | {r.RssBefore:0.0} | {r.RssHeld:0.0} | {Per(r):0.0} | {r.Fds:N0} | {r.Seconds:0.0} | {ratio} |");
            }
        }
        return 0;
    }

    private static async Task<(int, string, double, double, int, double)> MeasureAsync(int n, string name, ChildBroker b)
    {
        await Task.Delay(1000);
        double before = b.RssMiB();
        var parts = b.Bootstrap.Split(':');
        var clients = new List<TcpClient>(n);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            // opened 10 at a time (the mock resets connections that arrive faster), each answered before the next ten
            for (int i = 0; i < n; i += 10)
            {
                var batch = Enumerable.Range(i, Math.Min(10, n - i)).Select(async id =>
                {
                    var c = new TcpClient { NoDelay = true };
                    await c.ConnectAsync(parts[0], int.Parse(parts[1]));
                    var s = c.GetStream();
                    await s.WriteAsync(ApiVersions(id));
                    var size = new byte[4];
                    await s.ReadExactlyAsync(size);
                    var body = new byte[BinaryPrimitives.ReadInt32BigEndian(size)];
                    await s.ReadExactlyAsync(body);
                    if (BinaryPrimitives.ReadInt32BigEndian(body) != id) throw new InvalidOperationException($"{name}: wrong correlation id");
                    return c;
                }).ToList();
                clients.AddRange(await Task.WhenAll(batch));
            }
            double seconds = sw.Elapsed.TotalSeconds;
            await Task.Delay(2000);
            double held = b.RssMiB();
            int fds = Directory.GetFiles($"/proc/{b.Pid}/fd").Length;
            Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {name}: {n:N0} connections open in {seconds:0.0} s; RSS {before:0.0} -> {held:0.0} MiB; {fds} descriptors");
            return (n, name, before, held, fds, seconds);
        }
        finally
        {
            foreach (var c in clients) c.Dispose();
        }
    }

    private static byte[] ApiVersions(int correlationId)
    {
        // ApiVersions v0: size, api key 18, version 0, correlation id, client id "bench"
        var frame = new byte[4 + 2 + 2 + 4 + 2 + 5];
        BinaryPrimitives.WriteInt32BigEndian(frame, frame.Length - 4);
        BinaryPrimitives.WriteInt16BigEndian(frame.AsSpan(4), 18);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(8), correlationId);
        BinaryPrimitives.WriteInt16BigEndian(frame.AsSpan(12), 5);
        "bench"u8.CopyTo(frame.AsSpan(14));
        return frame;
    }
}
