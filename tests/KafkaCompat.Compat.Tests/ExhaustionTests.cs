using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using KafkaCompat.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace KafkaCompat.Compat.Tests;

/// <summary>
/// The descriptor limit: the broker runs as its own process under <c>ulimit -n 300</c>, and the test opens 400
/// connections to it. A .NET process that runs out of descriptors dies (the runtime cannot start a thread and aborts
/// with "Out of memory."), so the broker accepts only as many connections as the limit leaves room for, with a
/// reserve, and says so in its log; the others wait in the listen backlog, and the accepted ones are served. Once
/// the connections close, a stock client (confluent-kafka's librdkafka) creates a topic, produces and consumes.
/// </summary>
public sealed class DescriptorExhaustionTests(ITestOutputHelper output)
{
    private static byte[] ApiVersionsFrame(int correlationId)
    {
        // ApiVersions v0: api key 18, version 0, correlation id, client id "fd"
        var frame = new byte[4 + 2 + 2 + 4 + 2 + 2];
        BinaryPrimitives.WriteInt32BigEndian(frame, frame.Length - 4);
        BinaryPrimitives.WriteInt16BigEndian(frame.AsSpan(4), 18);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(8), correlationId);
        BinaryPrimitives.WriteInt16BigEndian(frame.AsSpan(12), 2);
        "fd"u8.CopyTo(frame.AsSpan(14));
        return frame;
    }

    [Fact]
    public async Task TheBrokerLivesThroughTheDescriptorLimit()
    {
        string dir = Path.Combine(Path.GetTempPath(), "kafkacompat-fd-" + Guid.NewGuid().ToString("N")[..8]);
        var psi = new ProcessStartInfo("/bin/bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add($"ulimit -n 300 && exec dotnet '{RepoPaths.BrokerDll}' serve --port 0 --data-dir '{dir}'");
        using var broker = Process.Start(psi)!;
        var log = new StringBuilder();
        var errTask = Task.Run(async () =>
        {
            while (await broker.StandardError.ReadLineAsync() is { } line) lock (log) log.AppendLine(line);
        });
        var connections = new List<TcpClient>();
        int port = 0;
        try
        {
            string? listening = null;
            using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
                while (listening is null && await broker.StandardOutput.ReadLineAsync(cts.Token) is { } line)
                    if (line.StartsWith("listening on ", StringComparison.Ordinal)) listening = line["listening on ".Length..].Trim();
            Assert.NotNull(listening);
            _ = Task.Run(async () => { while (await broker.StandardOutput.ReadLineAsync() is not null) { } });
            port = int.Parse(listening![(listening.LastIndexOf(':') + 1)..]);
            string bootstrap = $"127.0.0.1:{port}";

            using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build())
                await admin.CreateTopicsAsync([new TopicSpecification { Name = "fd-before", NumPartitions = 1, ReplicationFactor = 1 }]);

            // 400 connections, each asking for ApiVersions: those past the limit are not accepted
            for (int i = 0; i < 400; i++)
            {
                var c = new TcpClient { NoDelay = true };
                await c.ConnectAsync("127.0.0.1", port);
                await c.GetStream().WriteAsync(ApiVersionsFrame(i));
                connections.Add(c);
            }
            int answered = 0;
            foreach (var c in connections)
            {
                c.ReceiveTimeout = 200;
                try
                {
                    var size = new byte[4];
                    c.GetStream().ReadExactly(size);
                    answered++;
                }
                catch (IOException)
                {
                    break; // the backlog is accepted in order: the ones after this wait too
                }
            }
            output.WriteLine($"{answered} of {connections.Count} connections answered under ulimit -n 300");
            Assert.InRange(answered, 20, 299);
            await Task.Delay(1500);
            Assert.False(broker.HasExited, "the broker died at the descriptor limit");
            lock (log) Assert.Contains("as many as the descriptor limit (ulimit -n 300) leaves room for", log.ToString());
        }
        finally
        {
            foreach (var c in connections) c.Dispose();
        }

        try
        {
            // the descriptors are back: a stock client works as before
            await Task.Delay(500);
            Assert.False(broker.HasExited, "the broker died at the descriptor limit");
            string bootstrap = $"127.0.0.1:{port}";
            using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build())
                await admin.CreateTopicsAsync([new TopicSpecification { Name = "fd-after", NumPartitions = 3, ReplicationFactor = 1 }]);
            using (var p = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = bootstrap }).Build())
            {
                for (int i = 0; i < 30; i++) await p.ProduceAsync("fd-after", new Message<Null, string> { Value = $"after-{i}" });
                await p.ProduceAsync("fd-before", new Message<Null, string> { Value = "before" });
            }
            using var consumer = new ConsumerBuilder<Ignore, string>(new ConsumerConfig
            {
                BootstrapServers = bootstrap, GroupId = "fd-group", AutoOffsetReset = AutoOffsetReset.Earliest,
            }).Build();
            consumer.Subscribe(["fd-after", "fd-before"]);
            var seen = new HashSet<string>();
            var deadline = Stopwatch.StartNew();
            while (seen.Count < 31 && deadline.Elapsed < TimeSpan.FromSeconds(60))
                if (consumer.Consume(TimeSpan.FromMilliseconds(500)) is { Message: { } m }) seen.Add(m.Value);
            consumer.Close();
            Assert.Equal(31, seen.Count);
        }
        finally
        {
            if (!broker.HasExited)
            {
                broker.Kill();
                await broker.WaitForExitAsync();
            }
            await errTask.WaitAsync(TimeSpan.FromSeconds(10));
            lock (log) output.WriteLine(log.ToString()[^Math.Min(log.Length, 4000)..]);
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }
}
