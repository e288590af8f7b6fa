using System.CommandLine;
using System.Globalization;
using System.Text;
using KafkaCompat.Client;
using KafkaCompat.Records;
using static KafkaCompat.Host.Cli.CliSupport;

namespace KafkaCompat.Host.Cli;

/// <summary><c>kafkacompat consume TOPIC</c>: prints records, one value per line by default.</summary>
public static class ConsumeCommand
{
    public static Command Build()
    {
        var topicArg = new Argument<string>("topic") { Description = "Topic to read" };
        var fromBeginning = new Option<bool>("--from-beginning") { Description = "Start at the earliest offset (default: the end, like Kafka's console consumer)" };
        var offset = new Option<long?>("--offset") { Description = "Start at this offset (needs --partition)" };
        var fromTime = new Option<string?>("--from-time") { Description = "Start at the first record at or after this time (ISO 8601, or Unix ms)" };
        var partition = new Option<int?>("--partition", "-p") { Description = "Read only this partition" };
        var count = new Option<long?>("--count", "-n") { Description = "Stop after this many records" };
        var follow = new Option<bool>("--follow", "-F") { Description = "Keep waiting for new records (default: stop at the end)" };
        var timeout = new Option<int>("--timeout-ms") { Description = "With --count: give up after this long without reaching it (0: wait forever)", DefaultValueFactory = _ => 0 };
        var format = new Option<string>("--format", "-f")
        {
            Description = "kcat-like format: %t topic, %p partition, %o offset, %k key, %s value, %T timestamp, %h headers, %K/%S key/value length, \\n \\t",
            DefaultValueFactory = _ => "%s\\n",
        };
        var group = new Option<string?>("--group", "-g")
        {
            Description = "Consume as a member of this consumer group: partitions are shared with the other members, reading starts at the committed offsets, and offsets are committed as records are printed",
        };
        var cmd = new Command("consume", "Print records of a topic (like kafka-console-consumer and kcat -C)")
        {
            topicArg, fromBeginning, offset, fromTime, partition, count, follow, timeout, format, group, Bootstrap, CommandConfig, Output,
        };
        cmd.SetAction((p, invocationCt) => RunAsync(p, invocationCt, async (client, ct) =>
        {
            string topicName = p.GetValue(topicArg)!;
            string? groupId = p.GetValue(group);
            var layout = await TopicLayout.LoadAsync(client, topicName, allowAutoCreate: false, ct);
            if (groupId != null && (p.GetValue(partition) is not null || p.GetValue(offset) is not null))
                throw new UsageException("--group assigns partitions itself: leave out --partition and --offset");
            if (p.GetValue(offset) is not null && p.GetValue(partition) is null) throw new UsageException("--offset needs --partition");
            List<int> parts = p.GetValue(partition) is { } only
                ? (layout.Leaders.ContainsKey(only) ? [only] : throw new UsageException($"topic '{topicName}' has no partition {only} (it has {layout.PartitionCount})"))
                : layout.Leaders.Keys.Order().ToList();

            // where a partition without a committed (or given) offset starts
            async Task<Dictionary<int, long>> StartOf(IReadOnlyList<int> which)
            {
                if (p.GetValue(fromTime) is { } when)
                    return await TopicIo.OffsetsAtTimeAsync(client, layout, which, ParseTime(when, "--from-time"), ct);
                return await TopicIo.OffsetsAsync(client, layout, which, p.GetValue(fromBeginning) ? TopicIo.Earliest : TopicIo.Latest, ct);
            }

            await using var member = groupId is null ? null : new GroupConsumer(client, groupId, topicName);
            async Task<Dictionary<int, long>> Positions()
            {
                if (member is null)
                    return p.GetValue(offset) is { } start ? new() { [parts[0]] = start } : await StartOf(parts);
                parts = [.. await member.JoinAsync(ct)];
                layout = member.Layout!;
                var committed = await GroupAdmin.CommittedAsync(client, groupId!, ct);
                var fresh = await StartOf(parts.Where(x => !committed.ContainsKey((topicName, x))).ToList());
                return parts.ToDictionary(x => x, x => committed.TryGetValue((topicName, x), out long c) ? c : fresh[x]);
            }
            var positions = await Positions();

            long? limit = p.GetValue(count);
            bool keepGoing = p.GetValue(follow) || limit is not null;
            // without --follow or --count: stop at the end offsets seen at the start
            var stopAt = keepGoing ? null : await TopicIo.OffsetsAsync(client, layout, parts, TopicIo.Latest, ct);
            int timeoutMs = p.GetValue(timeout);
            long deadline = timeoutMs > 0 ? Environment.TickCount64 + timeoutMs : long.MaxValue;
            long nextCommit = Environment.TickCount64 + 1000;
            bool json = Json(p);
            var fmt = Unescape(p.GetValue(format)!);
            using var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = false };
            long printed = 0;
            // records go to stdout; when that is a file or a pipe and stderr is a terminal, a count goes to stderr
            using var progress = Progress.Start(json || !Console.IsOutputRedirected, "consumed");
            try
            {
                while (limit is null || printed < limit)
                {
                    if (member is { RejoinNeeded: true })
                    {
                        await member.CommitAsync(positions, ct);
                        positions = await Positions();
                        if (stopAt != null) stopAt = await TopicIo.OffsetsAsync(client, layout, parts, TopicIo.Latest, ct);
                    }
                    if (stopAt != null && parts.All(x => positions[x] >= stopAt[x])) break;
                    if (Environment.TickCount64 > deadline)
                    {
                        await stdout.FlushAsync(ct);
                        throw new KafkaErrorException(Protocol.ErrorCode.RequestTimedOut, $"{printed} of {limit} records arrived within --timeout-ms {timeoutMs}");
                    }
                    if (positions.Count == 0)
                    {
                        await Task.Delay(200, ct); // a group member without partitions waits for a rebalance
                        continue;
                    }
                    var fetched = await TopicIo.FetchAsync(client, layout, positions, keepGoing ? 500 : 100, ct);
                    if (fetched.OutOfRange.Count > 0)
                    {
                        // the position fell outside the log (retention, DeleteRecords): reset as the console consumer
                        // does, to the start with --from-beginning, else to the end
                        var reset = await TopicIo.OffsetsAsync(client, layout, fetched.OutOfRange, p.GetValue(fromBeginning) ? TopicIo.Earliest : TopicIo.Latest, ct);
                        foreach (var (part, o) in reset)
                        {
                            Console.Error.WriteLine($"{topicName}-{part}: offset {positions[part]} is out of range, reset to {o}");
                            positions[part] = o;
                        }
                    }
                    bool full = false;
                    foreach (var (part, rec) in fetched.Records)
                    {
                        if (limit is not null && printed >= limit)
                        {
                            full = true;
                            break;
                        }
                        if (stopAt != null && rec.Offset >= stopAt[part])
                        {
                            positions[part] = Math.Max(positions[part], stopAt[part]);
                            continue;
                        }
                        if (json) WriteJsonLine(stdout, topicName, part, rec);
                        else stdout.Write(Format(fmt, topicName, part, rec));
                        positions[part] = rec.Offset + 1;
                        printed++;
                    }
                    // past control batches and compacted-away offsets, unless records were left unprinted
                    if (!full)
                        foreach (var (part, next) in fetched.Next)
                            positions[part] = Math.Max(positions[part], stopAt is null ? next : Math.Min(next, stopAt[part]));
                    progress.Report(printed);
                    await stdout.FlushAsync(ct);
                    if (member != null && Environment.TickCount64 >= nextCommit)
                    {
                        await member.CommitAsync(positions, ct);
                        nextCommit = Environment.TickCount64 + 1000;
                    }
                }
            }
            finally
            {
                await stdout.FlushAsync(CancellationToken.None);
                // also on Ctrl-C: what was printed is committed before the member leaves
                if (member != null) await member.CommitAsync(positions, CancellationToken.None);
            }
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static string Unescape(string f) => f.Replace("\\n", "\n").Replace("\\t", "\t").Replace("\\r", "\r");

    private static string Text(ReadOnlyMemory<byte>? b) => b is { } m ? Encoding.UTF8.GetString(m.Span) : "";

    public static string Format(string fmt, string topic, int partition, Record r)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < fmt.Length; i++)
        {
            if (fmt[i] != '%' || i + 1 == fmt.Length)
            {
                sb.Append(fmt[i]);
                continue;
            }
            char c = fmt[++i];
            switch (c)
            {
                case 't': sb.Append(topic); break;
                case 'p': sb.Append(partition); break;
                case 'o': sb.Append(r.Offset); break;
                case 'k': sb.Append(Text(r.Key)); break;
                case 's': sb.Append(Text(r.Value)); break;
                case 'T': sb.Append(r.Timestamp); break;
                case 'K': sb.Append(r.Key?.Length ?? -1); break;
                case 'S': sb.Append(r.Value?.Length ?? -1); break;
                case 'h': sb.Append(string.Join(",", r.Headers.Select(h => $"{h.Key}={Text(h.Value)}"))); break;
                case '%': sb.Append('%'); break;
                default: sb.Append('%').Append(c); break;
            }
        }
        return sb.ToString();
    }

    private static void WriteJsonLine(StreamWriter output, string topic, int partition, Record r)
    {
        using var ms = new MemoryStream();
        using (var w = new System.Text.Json.Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("topic", topic);
            w.WriteNumber("partition", partition);
            w.WriteNumber("offset", r.Offset);
            w.WriteNumber("timestamp", r.Timestamp);
            if (r.Key is { } k) w.WriteString("key", Encoding.UTF8.GetString(k.Span)); else w.WriteNull("key");
            if (r.Value is { } v) w.WriteString("value", Encoding.UTF8.GetString(v.Span)); else w.WriteNull("value");
            w.WriteStartObject("headers");
            foreach (var h in r.Headers)
                if (h.Value is { } hv) w.WriteString(h.Key, Encoding.UTF8.GetString(hv.Span)); else w.WriteNull(h.Key);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        output.Write(Encoding.UTF8.GetString(ms.ToArray()));
        output.Write('\n');
    }
}
