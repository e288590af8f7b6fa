using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using KafkaCompat.Client;
using KafkaCompat.Records;

namespace KafkaCompat.LoadTool;

/// <summary>
/// `--security`: what TLS and SASL cost our broker, each as a ratio to the same work without them, in one run on one
/// broker (PLAINTEXT, SSL with `--dev-tls`'s certificate, SASL_PLAINTEXT with PLAIN and SCRAM-SHA-256):
/// <list type="bullet">
/// <item>produce: the broker's CPU seconds (user + system, /proc) per GB acknowledged, in 1 MiB batches (acks=1),
/// plaintext then TLS, and the throughput of each;</item>
/// <item>connection setup: connections opened one after another, each through ApiVersions and (for SASL) the
/// handshake and the mechanism's exchange, per second, and the broker's CPU per connection.</item>
/// </list>
/// The client is this repository's own (KafkaCompat.Client), in this process.
/// </summary>
internal static class SecurityBench
{
    public static async Task<int> RunAsync(Options o, string brokerDll, string workDir)
    {
        string dataDir = Path.Combine(workDir, "security");
        string readyFile = Path.Combine(workDir, "security-ready.json");
        string jaas = "org.apache.kafka.common.security.plain.PlainLoginModule required user_bench=\"bench-secret\";";
        string[] args =
        [
            brokerDll, "serve", "--data-dir", dataDir, "--dev-tls", "--ready-file", readyFile,
            "--set", "listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
            "--set", "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256",
            "--set", "listener.name.sasl_plaintext.plain.sasl.jaas.config=" + jaas,
            "--add-scram", "SCRAM-SHA-256=[name=bench,password=bench-secret]",
        ];
        await using var broker = await ChildBroker.StartAsync("kafkacompat", "dotnet", args,
            l => l.StartsWith("listening on ", StringComparison.Ordinal) ? l["listening on ".Length..].Trim() : null,
            Path.Combine(workDir, "security.log"), TimeSpan.FromSeconds(60));
        var listeners = await Listeners(readyFile);
        var cas = new X509Certificate2Collection();
        cas.ImportFromPemFile(Path.Combine(dataDir, "dev-tls", "ca.pem"));
        var plain = ClientSecurity.Plaintext;
        var tls = new ClientSecurity { Protocol = "SSL", TrustedCas = cas };
        ClientSecurity Sasl(string mechanism) => new() { Protocol = "SASL_PLAINTEXT", Mechanism = mechanism, Username = "bench", Password = "bench-secret" };

        Console.WriteLine($"security: {o.SecurityMiB} MiB produced per listener in batches of 960 records of 1 KiB (acks=1); {o.SecurityConnections} connections per kind; " +
            $"{Environment.ProcessorCount} CPUs");
        // a warm-up of each path first (JIT, TLS session setup), not measured
        await ProduceAsync(broker, listeners["PLAINTEXT"], plain, "warm-plain", 16);
        await ProduceAsync(broker, listeners["SSL"], tls, "warm-tls", 16);
        var p = await ProduceAsync(broker, listeners["PLAINTEXT"], plain, "bench-plain", o.SecurityMiB);
        var t = await ProduceAsync(broker, listeners["SSL"], tls, "bench-tls", o.SecurityMiB);
        Console.WriteLine();
        Console.WriteLine("== produce: broker CPU per GB ==");
        Console.WriteLine("| listener | MiB/s | broker CPU s per GB | ratio to plaintext |");
        Console.WriteLine("|---|---:|---:|---:|");
        Console.WriteLine($"| PLAINTEXT | {p.MiBps:0} | {p.CpuPerGb:0.00} | 1.00 |");
        Console.WriteLine($"| SSL | {t.MiBps:0} | {t.CpuPerGb:0.00} | {t.CpuPerGb / p.CpuPerGb:0.00} |");

        await ConnectAsync(broker, listeners["SASL_PLAINTEXT"], Sasl("SCRAM-SHA-256"), 20);
        var rows = new List<(string Kind, double PerSecond, double CpuMs)>();
        foreach (var (kind, listener, security) in new[]
                 {
                     ("PLAINTEXT (ApiVersions)", "PLAINTEXT", plain), ("SASL/PLAIN", "SASL_PLAINTEXT", Sasl("PLAIN")),
                     ("SASL/SCRAM-SHA-256 (4096 iterations)", "SASL_PLAINTEXT", Sasl("SCRAM-SHA-256")), ("SSL (TLS handshake)", "SSL", tls),
                 })
        {
            var (perSecond, cpuMs) = await ConnectAsync(broker, listeners[listener], security, o.SecurityConnections);
            rows.Add((kind, perSecond, cpuMs));
        }
        Console.WriteLine();
        Console.WriteLine("== connection setup, one after another ==");
        Console.WriteLine("| kind | connections/s | ratio to PLAINTEXT | broker CPU ms per connection |");
        Console.WriteLine("|---|---:|---:|---:|");
        foreach (var r in rows)
            Console.WriteLine($"| {r.Kind} | {r.PerSecond:0} | {r.PerSecond / rows[0].PerSecond:0.00} | {r.CpuMs:0.00} |");
        return 0;
    }

    private static async Task<Dictionary<string, string>> Listeners(string readyFile)
    {
        for (int i = 0; i < 100 && !File.Exists(readyFile); i++) await Task.Delay(100);
        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(readyFile));
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var l in doc.RootElement.GetProperty("listeners").EnumerateArray())
            result[l.GetProperty("name").GetString()!] = l.GetProperty("bootstrap_servers").GetString()!;
        return result;
    }

    private static async Task<(double MiBps, double CpuPerGb)> ProduceAsync(ChildBroker broker, string bootstrap, ClientSecurity security, string topic, int mib)
    {
        // the host name the dev certificate names (localhost), not the address, for TLS
        bootstrap = bootstrap.Replace("127.0.0.1", "localhost");
        await using var client = await KafkaClient.ConnectAsync(bootstrap, security: security);
        var layout = await TopicLayout.LoadAsync(client, topic, allowAutoCreate: true, default);
        var value = new byte[1024];
        Random.Shared.NextBytes(value);
        var builder = new RecordBatchBuilder();
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        for (int i = 0; i < 960; i++) builder.Add([], value, now); // just under max.message.bytes (1 MiB + 12)
        var batch = builder.Build();
        var cpu = broker.Cpu();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < mib; i++) await TopicIo.ProduceAsync(client, layout, 0, batch, 1, default);
        sw.Stop();
        double cpuSeconds = (broker.Cpu() - cpu).Total;
        double gb = mib * (double)batch.Length / (1L << 30);
        return (mib * batch.Length / (double)(1 << 20) / sw.Elapsed.TotalSeconds, cpuSeconds / gb);
    }

    private static async Task<(double PerSecond, double CpuMs)> ConnectAsync(ChildBroker broker, string bootstrap, ClientSecurity security, int n)
    {
        var (host, port) = KafkaClient.ParseHostPort(bootstrap.Replace("127.0.0.1", "localhost"));
        var cpu = broker.Cpu();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < n; i++)
            await using (await BrokerConnection.ConnectAsync(host, port, "bench", default, security)) { }
        sw.Stop();
        return (n / sw.Elapsed.TotalSeconds, (broker.Cpu() - cpu).Total * 1000 / n);
    }
}
