using System.CommandLine;
using System.Text;
using KafkaCompat.Client;
using KafkaCompat.Records;
using static KafkaCompat.Host.Cli.CliSupport;

namespace KafkaCompat.Host.Cli;

/// <summary><c>kafkacompat produce TOPIC</c>: one record per input line (stdin or --file).</summary>
public static class ProduceCommand
{
    public static Command Build()
    {
        var topicArg = new Argument<string>("topic") { Description = "Topic to write to" };
        var file = new Option<string?>("--file", "-f") { Description = "Read lines from this file instead of stdin" };
        var keySep = new Option<string?>("--key-separator", "-K") { Description = "Split each line into key and value at the first occurrence of this text" };
        var headers = new Option<string[]>("--header", "-H") { Description = "A header key=value added to every record (repeatable)" };
        var compression = new Option<string>("--compression", "-z")
        {
            Description = "none, gzip, snappy, lz4 or zstd", DefaultValueFactory = _ => "none",
        };
        compression.AcceptOnlyFromAmong("none", "gzip", "snappy", "lz4", "zstd");
        var acks = new Option<string>("--acks") { Description = "0, 1 or all", DefaultValueFactory = _ => "all" };
        acks.AcceptOnlyFromAmong("0", "1", "all", "-1");
        var partition = new Option<int?>("--partition", "-p") { Description = "Write every record to this partition (default: by key, keyless records spread)" };
        var batch = new Option<int>("--batch-records") { Description = "Records per batch", DefaultValueFactory = _ => 1000 };
        var cmd = new Command("produce", "Write lines as records (like kafka-console-producer)")
        {
            topicArg, file, keySep, headers, compression, acks, partition, batch, Bootstrap, CommandConfig, Output,
        };
        cmd.SetAction((p, invocationCt) => RunAsync(p, invocationCt, async (client, ct) =>
        {
            string topicName = p.GetValue(topicArg)!;
            var hdrs = Pairs(p.GetValue(headers), "--header").Select(h => new RecordHeader(h.Key, Encoding.UTF8.GetBytes(h.Value))).ToList();
            var codec = p.GetValue(compression) switch
            {
                "gzip" => CompressionType.Gzip, "snappy" => CompressionType.Snappy, "lz4" => CompressionType.Lz4, "zstd" => CompressionType.Zstd,
                _ => CompressionType.None,
            };
            short ackValue = p.GetValue(acks) switch { "0" => 0, "1" => 1, _ => -1 };
            int perBatch = Math.Max(1, p.GetValue(batch));
            string? sep = p.GetValue(keySep);
            var layout = await TopicLayout.LoadAsync(client, topicName, allowAutoCreate: true, ct);
            int? fixedPartition = p.GetValue(partition);
            if (fixedPartition is { } fp && !layout.Leaders.ContainsKey(fp))
                throw new UsageException($"topic '{topicName}' has no partition {fp} (it has {layout.PartitionCount})");

            if (p.GetValue(file) is { } missing && !File.Exists(missing)) throw new UsageException($"--file: no such file '{missing}'");
            using var input = p.GetValue(file) is { } path ? new StreamReader(path) : new StreamReader(Console.OpenStandardInput());
            // lines are read ahead on their own task (bounded, so a fast input waits for the broker), so that what was
            // typed is sent after a short pause instead of waiting for a full batch
            var lines = System.Threading.Channels.Channel.CreateBounded<string>(10_000);
            var reading = Task.Run(async () =>
            {
                try
                {
                    while (await input.ReadLineAsync(ct) is { } line) await lines.Writer.WriteAsync(line, ct);
                    lines.Writer.Complete();
                }
                catch (Exception e)
                {
                    lines.Writer.Complete(e);
                }
            }, CancellationToken.None);
            var pending = new Dictionary<int, (RecordBatchBuilder Builder, long Bytes)>();
            var counts = new Dictionary<int, (long Count, long First, long Last)>();
            int roundRobin = Random.Shared.Next(layout.PartitionCount), lineNo = 0;
            long total = 0;
            const long MaxBatchBytes = 512 << 10; // well under the default max.message.bytes (1 MiB)
            using var progress = Progress.Start(Json(p), "produced");

            async Task Flush(int part, CancellationToken token)
            {
                if (!pending.Remove(part, out var entry) || entry.Builder.Count == 0) return;
                long baseOffset = await TopicIo.ProduceAsync(client, layout, part, entry.Builder.Build(0, codec), ackValue, token);
                var c = counts.GetValueOrDefault(part, (0, -1, -1));
                counts[part] = (c.Count + entry.Builder.Count, c.First < 0 ? baseOffset : c.First, baseOffset < 0 ? -1 : baseOffset + entry.Builder.Count - 1);
                total += entry.Builder.Count;
                progress.Report(total);
            }

            async Task FlushAll(CancellationToken token)
            {
                foreach (var part in pending.Keys.ToList()) await Flush(part, token);
            }

            try
            {
                while (true)
                {
                    if (!lines.Reader.TryRead(out var line))
                    {
                        var more = lines.Reader.WaitToReadAsync(ct).AsTask();
                        // nothing new for a moment (someone typing, a slow pipe): send what is buffered
                        if (pending.Count > 0 && await Task.WhenAny(more, Task.Delay(200, ct)) != more) await FlushAll(ct);
                        if (!await more) break;
                        continue;
                    }
                    lineNo++;
                    byte[]? key = null;
                    string value = line;
                    if (sep != null)
                    {
                        int at = line.IndexOf(sep, StringComparison.Ordinal);
                        if (at < 0) throw new UsageException($"line {lineNo} has no key separator '{sep}'");
                        key = Encoding.UTF8.GetBytes(line[..at]);
                        value = line[(at + sep.Length)..];
                    }
                    int part = fixedPartition ?? (key != null ? TopicIo.PartitionForKey(key, layout.PartitionCount) : roundRobin % layout.PartitionCount);
                    var (builder, bytes) = pending.TryGetValue(part, out var entry) ? entry : (new RecordBatchBuilder(), 0);
                    var valueBytes = Encoding.UTF8.GetBytes(value);
                    builder.Add(key, valueBytes, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), hdrs, nullKey: key is null);
                    bytes += valueBytes.Length + (key?.Length ?? 0) + 16;
                    pending[part] = (builder, bytes);
                    if (builder.Count >= perBatch || bytes >= MaxBatchBytes)
                    {
                        await Flush(part, ct);
                        if (key is null) roundRobin++; // keyless records stick to a partition for a batch, then move on
                    }
                }
                await FlushAll(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Ctrl-C: what was read is still sent, as the console producer does on close
                await FlushAll(CancellationToken.None);
            }
            progress.Dispose();

            if (Json(p)) WriteJson(w =>
            {
                w.WriteStartObject();
                w.WriteString("topic", topicName);
                w.WriteNumber("records", total);
                w.WriteStartObject("partitions");
                foreach (var (part, c) in counts.OrderBy(x => x.Key))
                {
                    w.WriteStartObject(part.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    w.WriteNumber("records", c.Count);
                    if (c.First >= 0) w.WriteNumber("firstOffset", c.First);
                    if (c.Last >= 0) w.WriteNumber("lastOffset", c.Last);
                    w.WriteEndObject();
                }
                w.WriteEndObject();
                w.WriteEndObject();
            });
            else Console.Error.WriteLine($"Produced {total} record(s) to {topicName}" +
                (counts.Count > 0 ? " (" + string.Join(", ", counts.OrderBy(x => x.Key).Select(x => $"partition {x.Key}: {x.Value.Count}")) + ")" : "") + ".");
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
