using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using KafkaCompat.Broker;
using KafkaCompat.Protocol;
using KafkaCompat.Records;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace KafkaCompat.Server.Admin;

public sealed record ConsolePartition(int Partition, int Leader, long LogStartOffset, long HighWatermark, long SizeBytes);
public sealed record ConsoleTopic(string Name, Guid Id, List<ConsolePartition> Partitions);
public sealed record ConsoleHeader(string Key, string? Value);
public sealed record ConsoleMessage(int Partition, long Offset, long Timestamp, string? Key, string? Value, string ValueFormat, List<ConsoleHeader> Headers);
public sealed record ConsoleProduce(string? Key, string? Value, int? Partition, Dictionary<string, string>? Headers);
public sealed record ConsoleProduced(int Partition, long Offset);
public sealed record ConsoleCreateTopic(string Name, int? Partitions);
public sealed record ConsoleLag(string Topic, int Partition, long CommittedOffset, long HighWatermark, long Lag);
public sealed record ConsoleGroup(string GroupId, string State, string Type, int Members, List<ConsoleLag> Offsets);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(List<ConsoleTopic>))]
[JsonSerializable(typeof(List<ConsoleMessage>))]
[JsonSerializable(typeof(ConsoleProduce))]
[JsonSerializable(typeof(ConsoleProduced))]
[JsonSerializable(typeof(ConsoleCreateTopic))]
[JsonSerializable(typeof(List<ConsoleGroup>))]
public sealed partial class ConsoleJson : JsonSerializerContext;

/// <summary>
/// The web console at <c>/</c> of the admin HTTP port: one page served from the process (no build step, no files on
/// disk) and the JSON it reads under <c>/api/</c>: topics with their partitions, sizes and offsets (create, delete); a
/// partition's messages from an offset (UTF-8 shown as text, JSON shown as JSON, anything else as hex); a form to
/// produce a message; consumer groups with their state, members and lag per partition.
/// </summary>
internal static class ConsoleApi
{
    public static void Map(WebApplication app, KafkaCluster cluster)
    {
        var broker = cluster.Broker;
        app.MapGet("/", () => Results.Content(Page.Value, "text/html; charset=utf-8"));
        app.MapGet("/api/topics", () => Results.Json(Topics(cluster), ConsoleJson.Default.ListConsoleTopic));
        app.MapPost("/api/topics", (ConsoleCreateTopic body) =>
        {
            var r = broker.CreateTopic(body.Name, body.Partitions ?? -1, -1, new(), validateOnly: false);
            return r.Error == ErrorCode.None ? Results.StatusCode(201) : Results.Problem(r.Message ?? r.Error.KafkaName(), statusCode: 409);
        });
        app.MapDelete("/api/topics/{name}", (string name) =>
            broker.DeleteTopic(name) ? Results.NoContent() : Results.Problem($"no topic {name}", statusCode: 404));
        app.MapGet("/api/topics/{name}/messages", (string name, int? partition, long? offset, int? limit) =>
        {
            if (broker.Logs.Get(name) is not { } topic) return Results.Problem($"no topic {name}", statusCode: 404);
            int p = partition ?? 0;
            if (p < 0 || p >= topic.Partitions.Length) return Results.Problem($"no partition {name}-{p}", statusCode: 404);
            return Results.Json(Messages(topic.Partitions[p], p, offset ?? topic.Partitions[p].LogStartOffset, Math.Clamp(limit ?? 50, 1, 500)),
                ConsoleJson.Default.ListConsoleMessage);
        });
        app.MapPost("/api/topics/{name}/messages", (string name, ConsoleProduce body) =>
        {
            if (broker.Logs.Get(name) is not { } topic) return Results.Problem($"no topic {name}", statusCode: 404);
            int p = body.Partition ?? 0;
            if (p < 0 || p >= topic.Partitions.Length) return Results.Problem($"no partition {name}-{p}", statusCode: 404);
            var headers = body.Headers?.Select(h => new RecordHeader(h.Key, Encoding.UTF8.GetBytes(h.Value))).ToList();
            var batch = new RecordBatchBuilder().Add(body.Key is null ? default : Encoding.UTF8.GetBytes(body.Key),
                body.Value is null ? default : Encoding.UTF8.GetBytes(body.Value), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), headers,
                nullKey: body.Key is null).Build();
            var result = topic.Partitions[p].Append(batch);
            return Results.Json(new ConsoleProduced(p, result.BaseOffset), ConsoleJson.Default.ConsoleProduced);
        });
        app.MapGet("/api/groups", () => Results.Json(Groups(broker), ConsoleJson.Default.ListConsoleGroup));
    }

    private static List<ConsoleTopic> Topics(KafkaCluster cluster)
    {
        var broker = cluster.Broker;
        return [.. broker.Logs.Topics.OrderBy(t => t.Name, StringComparer.Ordinal).Select(t => new ConsoleTopic(t.Name, t.Id,
            [.. t.Partitions.Select((log, p) => new ConsolePartition(p, broker.Cluster.Partition(t, p).Leader, log.LogStartOffset, log.HighWatermark, log.SizeInBytes))]))];
    }

    private static List<ConsoleMessage> Messages(KafkaCompat.Storage.PartitionLog log, int partition, long offset, int limit)
    {
        var result = new List<ConsoleMessage>();
        long next = Math.Max(offset, log.LogStartOffset);
        while (result.Count < limit && next < log.HighWatermark)
        {
            var read = log.Read(next, 1 << 20, minOneBatch: true);
            try
            {
                if (read.Records.Length == 0) break;
                var span = read.Records;
                for (int pos = 0; pos + RecordBatch.HeaderSize <= span.Length && result.Count < limit;)
                {
                    var batch = span.Slice(pos, RecordBatch.TotalSize(span.Span[pos..]));
                    pos += batch.Length;
                    long last = RecordBatch.LastOffset(batch.Span);
                    if (!RecordBatch.IsControl(batch.Span))
                        foreach (var r in RecordReader.ReadBatch(batch))
                            if (r.Offset >= next && result.Count < limit)
                            {
                                var (value, format) = Show(r.Value);
                                result.Add(new ConsoleMessage(partition, r.Offset, r.Timestamp, Show(r.Key).Text, value, format,
                                    [.. r.Headers.Select(h => new ConsoleHeader(h.Key, Show(h.Value).Text))]));
                            }
                    next = Math.Max(next, last + 1);
                }
            }
            finally
            {
                read.Lease?.Dispose();
            }
        }
        return result;
    }

    /// <summary>Bytes as the console shows them: JSON re-indented, other UTF-8 text as is, anything else as hex.</summary>
    private static (string? Text, string Format) Show(ReadOnlyMemory<byte>? bytes)
    {
        if (bytes is not { } b) return (null, "null");
        try
        {
            string text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(b.Span);
            if (text.Length > 0 && text[0] is '{' or '[')
            {
                try
                {
                    using var doc = JsonDocument.Parse(text);
                    return (JsonSerializer.Serialize(doc.RootElement, ConsoleIndented.Default.JsonElement), "json");
                }
                catch (JsonException) { }
            }
            return (text, "text");
        }
        catch (DecoderFallbackException)
        {
            return (Convert.ToHexString(b.Span).ToLowerInvariant(), "hex");
        }
    }

    private static List<ConsoleGroup> Groups(KafkaBroker broker)
    {
        var result = new List<ConsoleGroup>();
        var (_, groups) = broker.Groups.List([], []);
        foreach (var g in groups)
            result.Add(new ConsoleGroup(g.GroupId, g.State, g.GroupType, broker.Groups.MemberCount(g),
                [.. broker.GroupOffsets(g.GroupId).Select(o => new ConsoleLag(o.Topic, o.Partition, o.Committed, o.HighWatermark ?? o.Committed,
                    Math.Max(0, (o.HighWatermark ?? o.Committed) - o.Committed)))]));
        return result;
    }

    private static readonly Lazy<string> Page = new(() =>
    {
        using var s = typeof(ConsoleApi).Assembly.GetManifestResourceStream("KafkaCompat.Server.Admin.console.html")
            ?? throw new InvalidOperationException("the console page is not embedded");
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    });
}

[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class ConsoleIndented : JsonSerializerContext;
