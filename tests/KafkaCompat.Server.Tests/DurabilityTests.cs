using KafkaCompat.TestSupport;
using System.Diagnostics;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using KafkaCompat.Records;
using KafkaCompat.Testing;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>Restart after a clean stop, and kill -9 of a broker process during acks=all produce.</summary>
public sealed class DurabilityTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kc-durable-" + Guid.NewGuid().ToString("N")[..10]);

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private static ProduceRequest ProduceOf(string topic, int partition, byte[] records) => new()
    {
        Acks = -1,
        TimeoutMs = 5000,
        TopicData = [new() { Name = topic, PartitionData = [new() { Index = partition, Records = records }] }],
    };

    private static List<string> ReadAllValues(RawClient c, string topic, int partition)
    {
        var values = new List<string>();
        long offset = 0;
        while (true)
        {
            var resp = c.Call<FetchRequest, FetchResponse>(new FetchRequest
            {
                MaxWaitMs = 0,
                Topics = [new() { Topic = topic, Partitions = [new() { Partition = partition, FetchOffset = offset, PartitionMaxBytes = 1 << 20 }] }],
            }, 11);
            var p = resp.Responses[0].Partitions[0];
            Assert.Equal(ErrorCode.None, p.ErrorCode);
            var data = p.Records!.Value;
            if (data.Length == 0) return values;
            for (int pos = 0; pos < data.Length;)
            {
                var span = data.Span[pos..];
                Assert.Equal(BatchError.None, RecordBatch.Validate(span, out int size));
                foreach (var r in RecordReader.ReadBatch(data.Slice(pos, size)))
                    if (r.Offset >= offset) values.Add(System.Text.Encoding.UTF8.GetString(r.Value!.Value.Span));
                offset = RecordBatch.LastOffset(span) + 1;
                pos += size;
            }
        }
    }

    private static byte[] Batch(IEnumerable<string> values)
    {
        var b = new RecordBatchBuilder();
        foreach (var v in values) b.Add("k"u8, System.Text.Encoding.UTF8.GetBytes(v), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        return b.Build();
    }

    [Fact]
    public async Task CleanRestartKeepsTopicsOffsetsAndIds()
    {
        Guid id;
        var settings = new Dictionary<string, string> { ["log.segment.bytes"] = "600" };
        await using (var b = EmbeddedBroker.Start(_dir, settings))
        {
            using var c = new RawClient(b.Port);
            c.Call<CreateTopicsRequest, CreateTopicsResponse>(new CreateTopicsRequest { Topics = [new() { Name = "keep", NumPartitions = 2, ReplicationFactor = 1 }] }, 5);
            for (int i = 0; i < 50; i++)
                Assert.Equal(ErrorCode.None, c.Call<ProduceRequest, ProduceResponse>(ProduceOf("keep", i % 2, Batch([$"v{i}"])), 9).Responses[0].PartitionResponses[0].ErrorCode);
            id = b.Broker.Logs.Get("keep")!.Id;
            Assert.True(b.Broker.Logs.Get("keep")!.Partitions[0].Segments.Count > 1);
        }
        await using (var b = EmbeddedBroker.Start(_dir, settings))
        {
            using var c = new RawClient(b.Port);
            var m = c.Call<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [new() { Name = "keep" }] }, 12);
            Assert.Equal(id, m.Topics[0].TopicId);
            Assert.Equal(2, m.Topics[0].Partitions.Count);
            Assert.Equal(Enumerable.Range(0, 25).Select(i => $"v{i * 2}"), ReadAllValues(c, "keep", 0));
            Assert.Equal(Enumerable.Range(0, 25).Select(i => $"v{i * 2 + 1}"), ReadAllValues(c, "keep", 1));
            var next = c.Call<ProduceRequest, ProduceResponse>(ProduceOf("keep", 0, Batch(["after"])), 9);
            Assert.Equal(25, next.Responses[0].PartitionResponses[0].BaseOffset);
        }
    }

    internal static (Process Process, int Port) StartProcess(string dataDir, params string[] extraArgs)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { RepoPaths.BrokerDll, "serve", "--port", "0", "--data-dir", dataDir }.Concat(extraArgs)) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.ErrorDataReceived += (_, _) => { };
        p.BeginErrorReadLine();
        var line = p.StandardOutput.ReadLine() ?? throw new InvalidOperationException("broker exited before listening");
        Assert.StartsWith("listening on 127.0.0.1:", line);
        return (p, int.Parse(line[(line.LastIndexOf(':') + 1)..]));
    }

    [Fact]
    public async Task KillNineDuringAcksAllProduceLosesNothingAcknowledged()
    {
        var acked = new List<string>();
        for (int round = 0; round < 3; round++)
        {
            var (proc, port) = StartProcess(_dir);
            try
            {
                using var c = new RawClient(port);
                var killer = Task.Run(async () =>
                {
                    await Task.Delay(400 + round * 150);
                    proc.Kill(entireProcessTree: true); // SIGKILL
                });
                int n = 0;
                try
                {
                    while (!killer.IsCompleted)
                    {
                        var values = Enumerable.Range(0, 20).Select(i => $"r{round}-{n}-{i}").ToList();
                        var resp = c.Call<ProduceRequest, ProduceResponse>(ProduceOf("crash", 0, Batch(values)), 9);
                        if (resp.Responses[0].PartitionResponses[0].ErrorCode == 0) acked.AddRange(values);
                        n++;
                    }
                }
                catch (IOException) { }
                catch (InvalidOperationException) { }
                await killer;
            }
            finally
            {
                proc.WaitForExit();
                proc.Dispose();
            }
        }
        Assert.True(acked.Count > 100, $"only {acked.Count} records acknowledged");
        var (final, finalPort) = StartProcess(_dir);
        try
        {
            using var c = new RawClient(finalPort);
            var stored = ReadAllValues(c, "crash", 0);
            var storedSet = stored.ToHashSet();
            Assert.All(acked, v => Assert.Contains(v, storedSet));
            Assert.Equal(stored.Count, storedSet.Count); // nothing duplicated or replayed
        }
        finally
        {
            final.Kill(entireProcessTree: true);
            final.WaitForExit();
        }
    }

    private static void Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} {string.Join(' ', args)} failed ({p.ExitCode}): {err} — this test needs root to mount a small tmpfs");
    }

    [Fact]
    public async Task AFullDiskRefusesWritesWithStorageErrorDamagesNothingAndRecovers()
    {
        // a 24 MiB filesystem of our own, with 8 MiB taken by a file we can delete to give space back
        string mnt = _dir + "-fs";
        Directory.CreateDirectory(mnt);
        Run("mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", mnt);
        try
        {
            string filler = Path.Combine(mnt, "filler");
            await File.WriteAllBytesAsync(filler, new byte[8 << 20]);
            var b = EmbeddedBroker.Start(Path.Combine(mnt, "data"));
            try
            {
                using var c = new RawClient(b.Port);
                c.Call<CreateTopicsRequest, CreateTopicsResponse>(new CreateTopicsRequest { Topics = [new() { Name = "full", NumPartitions = 1, ReplicationFactor = 1 }] }, 5);
                var acked = new List<string>();
                ErrorCode error = ErrorCode.None;
                string pad = new('p', 1000);
                for (int n = 0; n < 2000 && error == 0; n++)
                {
                    var values = Enumerable.Range(0, 50).Select(i => $"{n}-{i}-{pad}").ToList();
                    var resp = c.Call<ProduceRequest, ProduceResponse>(ProduceOf("full", 0, Batch(values)), 9);
                    error = resp.Responses[0].PartitionResponses[0].ErrorCode;
                    if (error == 0) acked.AddRange(values);
                }
                Assert.Equal(ErrorCode.KafkaStorageError, error);
                Assert.True(acked.Count > 1000, $"only {acked.Count} records before the disk filled");
                // everything acknowledged is intact, nothing else is there
                Assert.Equal(acked, ReadAllValues(c, "full", 0));

                // space comes back: writes resume, with no gap in the offsets
                File.Delete(filler);
                var more = Enumerable.Range(0, 50).Select(i => $"after-{i}").ToList();
                var ok = c.Call<ProduceRequest, ProduceResponse>(ProduceOf("full", 0, Batch(more)), 9);
                Assert.Equal(ErrorCode.None, ok.Responses[0].PartitionResponses[0].ErrorCode);
                Assert.Equal(acked.Count, ok.Responses[0].PartitionResponses[0].BaseOffset);
                Assert.Equal(acked.Concat(more), ReadAllValues(c, "full", 0));
            }
            finally
            {
                await b.DisposeAsync();
            }
        }
        finally
        {
            Run("umount", mnt);
            Directory.Delete(mnt);
        }
    }
}
