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
            topicArg, file, keySep, headers, compression, acks, partition, batch, Bootstrap, Output,
        };
        cmd.SetAction((p, ct) => RunAsync(p, ct, async client =>
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

            using var input = p.GetValue(file) is { } path ? new StreamReader(path) : new StreamReader(Console.OpenStandardInput());
            var pending = new Dictionary<int, RecordBatchBuilder>();
            var counts = new Dictionary<int, (long Count, long First, long Last)>();
            int roundRobin = 0, lineNo = 0;
            long total = 0;
            using var progress = Progress.Start(Json(p), "produced");

            async Task Flush(int part)
            {
                if (!pending.Remove(part, out var builder) || builder.Count == 0) return;
                long baseOffset = await TopicIo.ProduceAsync(client, layout, part, builder.Build(0, codec), ackValue, ct);
                var c = counts.GetValueOrDefault(part, (0, -1, -1));
                counts[part] = (c.Count + builder.Count, c.First < 0 ? baseOffset : c.First, baseOffset < 0 ? -1 : baseOffset + builder.Count - 1);
                total += builder.Count;
                progress.Report(total);
            }

            while (await input.ReadLineAsync(ct) is { } line)
            {
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
                if (!pending.TryGetValue(part, out var builder)) pending[part] = builder = new RecordBatchBuilder();
                builder.Add(key, Encoding.UTF8.GetBytes(value), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), hdrs, nullKey: key is null);
                if (builder.Count >= perBatch)
                {
                    await Flush(part);
                    if (key is null) roundRobin++; // keyless records stick to a partition for a batch, then move on
                }
            }
            foreach (var part in pending.Keys.ToList()) await Flush(part);
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

/// <summary>A one-line progress display on stderr for long runs, only when stderr is a terminal.</summary>
public sealed class Progress : IDisposable
{
    private readonly string _what;
    private readonly bool _on;
    private long _last;
    private long _count;

    private Progress(string what, bool on)
    {
        _what = what;
        _on = on;
    }

    /// <param name="quiet">No display (JSON output, or the records themselves are on the terminal).</param>
    public static Progress Start(bool quiet, string what) => new(what, !quiet && !Console.IsErrorRedirected);

    public void Report(long count)
    {
        _count = count;
        if (!_on || Environment.TickCount64 - _last < 250) return;
        _last = Environment.TickCount64;
        Console.Error.Write($"\r{_what} {count:N0} records...");
    }

    public void Dispose()
    {
        if (_on && _last != 0) Console.Error.Write($"\r{_what} {_count:N0} records   \n");
        _last = 0;
    }
}
