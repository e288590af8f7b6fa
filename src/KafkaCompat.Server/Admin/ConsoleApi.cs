using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using KafkaCompat.Broker;
using KafkaCompat.Broker.Apis;
using KafkaCompat.Broker.Config;
using KafkaCompat.Broker.Groups;
using KafkaCompat.Protocol;
using KafkaCompat.Records;
using KafkaCompat.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace KafkaCompat.Server.Admin;

public sealed record ConsolePartition(int Partition, int Leader, int LeaderEpoch, int[] Replicas, int[] Isr, long LogStartOffset,
    long HighWatermark, long LastStableOffset, long SizeBytes);
public sealed record ConsoleTopic(string Name, Guid Id, bool Internal, List<ConsolePartition> Partitions);
public sealed record ConsoleConfig(string Name, string? Value, string Source, bool Sensitive);
public sealed record ConsoleTopicDetail(string Name, Guid Id, bool Internal, List<ConsolePartition> Partitions, List<ConsoleConfig> Configs);
public sealed record ConsoleConfigChange(string Name, string? Value);
public sealed record ConsoleMember(string MemberId, string? InstanceId, string ClientId, string Host, List<string> Assignment);
public sealed record ConsoleGroupDetail(string GroupId, string State, string Type, string Assignor, List<ConsoleMember> Members, List<ConsoleLag> Offsets);
public sealed record ConsoleReset(string Topic, string To, long? Value);
public sealed record ConsoleResetResult(int Partition, long? PreviousOffset, long NewOffset);
public sealed record ConsoleStats(long TimeMs, long BytesIn, long BytesOut, long Requests, long Messages, Dictionary<string, long> TopicMessages);
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
[JsonSerializable(typeof(ConsoleTopicDetail))]
[JsonSerializable(typeof(ConsoleConfigChange))]
[JsonSerializable(typeof(ConsoleGroupDetail))]
[JsonSerializable(typeof(ConsoleReset))]
[JsonSerializable(typeof(List<ConsoleResetResult>))]
[JsonSerializable(typeof(ConsoleStats))]
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
        app.MapGet("/api/stats", () => Results.Json(Stats(broker), ConsoleJson.Default.ConsoleStats));
        app.MapGet("/api/topics", () => Results.Json(Topics(broker), ConsoleJson.Default.ListConsoleTopic));
        app.MapPost("/api/topics", (ConsoleCreateTopic body) =>
        {
            var r = broker.CreateTopic(body.Name, body.Partitions ?? -1, -1, new(), validateOnly: false);
            return r.Error == ErrorCode.None ? Results.StatusCode(201) : Refused(r.Error, r.Message);
        });
        app.MapGet("/api/topics/{name}", (string name) => broker.Logs.Get(name) is { } t
            ? Results.Json(new ConsoleTopicDetail(t.Name, t.Id, IsInternal(t.Name), Partitions(broker, t),
                [.. TopicConfigs.All.Select(def => broker.Config.DescribeTopicConfig(def, t.Record.Configs, withDocumentation: false))
                    .Select(c => new ConsoleConfig(c.Name, c.Sensitive ? null : c.Value, SourceName(c.Source), c.Sensitive))]),
                ConsoleJson.Default.ConsoleTopicDetail)
            : NoTopic(name));
        // one config key set (a value) or its override removed (null), as IncrementalAlterConfigs SET / DELETE
        app.MapPost("/api/topics/{name}/configs", (string name, ConsoleConfigChange body) =>
        {
            if (broker.Logs.Get(name) is null) return NoTopic(name);
            var r = broker.ChangeTopicConfigs(ConfigResources.Topic, name, validateOnly: false, existing =>
            {
                if (TopicConfigs.Find(body.Name) is null) return ConfigResources.Refuse(ErrorCode.InvalidConfig, $"Unknown topic config name: {body.Name}");
                var values = new Dictionary<string, string>(existing, StringComparer.Ordinal);
                if (body.Value is null) values.Remove(body.Name);
                else values[body.Name] = body.Value;
                return (values, default);
            });
            return r.Ok ? Results.NoContent() : Refused(r.Error, r.Message);
        });
        app.MapDelete("/api/topics/{name}", (string name) => broker.DeleteTopic(name) ? Results.NoContent() : NoTopic(name));
        // a partition's messages from an offset, or from the first record at or after a timestamp (ms)
        app.MapGet("/api/topics/{name}/messages", (string name, int? partition, long? offset, long? timestamp, int? limit) =>
        {
            if (broker.Logs.Get(name) is not { } topic) return NoTopic(name);
            int p = partition ?? 0;
            if (p < 0 || p >= topic.Partitions.Length) return Results.Problem($"no partition {name}-{p}", statusCode: 404);
            var log = topic.Partitions[p];
            long from = timestamp is { } ts ? ListOffsetsHandler.Lookup(log, ts) is var (o, _) and { Offset: >= 0 } ? o : log.HighWatermark
                : offset ?? log.LogStartOffset;
            return Results.Json(Messages(log, p, from, Math.Clamp(limit ?? 50, 1, 500)), ConsoleJson.Default.ListConsoleMessage);
        });
        app.MapPost("/api/topics/{name}/messages", (string name, ConsoleProduce body) =>
        {
            if (broker.Logs.Get(name) is not { } topic) return NoTopic(name);
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
        app.MapGet("/api/groups/{id}", (string id) => Group(broker, id) is { } g
            ? Results.Json(g, ConsoleJson.Default.ConsoleGroupDetail) : Results.Problem($"no group {id}", statusCode: 404));
        app.MapPost("/api/groups/{id}/offsets", (string id, ConsoleReset body) => ResetOffsets(broker, id, body));
    }

    private static IResult NoTopic(string name) => Results.Problem($"no topic {name}", statusCode: 404);

    /// <summary>A refusal by the broker: 409 with Kafka's error name first (TOPIC_ALREADY_EXISTS: ...).</summary>
    private static IResult Refused(ErrorCode error, string? message) =>
        Results.Problem(message is null ? error.KafkaName() : $"{error.KafkaName()}: {message}", statusCode: 409);

    private static bool IsInternal(string topic) => topic.StartsWith("__", StringComparison.Ordinal);

    /// <summary>A config source by Kafka's name (as kafka-configs --describe --all prints it).</summary>
    private static string SourceName(ConfigSource source) => source switch
    {
        ConfigSource.DynamicTopic => "DYNAMIC_TOPIC_CONFIG",
        ConfigSource.DynamicBroker => "DYNAMIC_BROKER_CONFIG",
        ConfigSource.DynamicDefaultBroker => "DYNAMIC_DEFAULT_BROKER_CONFIG",
        ConfigSource.StaticBroker => "STATIC_BROKER_CONFIG",
        ConfigSource.Default => "DEFAULT_CONFIG",
        _ => "UNKNOWN",
    };

    /// <summary>Cumulative counters; the page turns two readings into rates.</summary>
    private static ConsoleStats Stats(KafkaBroker broker)
    {
        var perTopic = new Dictionary<string, long>(StringComparer.Ordinal);
        long messages = 0;
        foreach (var t in broker.Logs.Topics)
        {
            if (IsInternal(t.Name)) continue;
            long end = 0;
            foreach (var log in t.Partitions) end += log.HighWatermark;
            perTopic[t.Name] = end;
            messages += end;
        }
        return new ConsoleStats(broker.Time.GetUtcNow().ToUnixTimeMilliseconds(), broker.Metrics.BytesIn, broker.Metrics.BytesOut,
            broker.Metrics.Requests().Sum(r => r.Count), messages, perTopic);
    }

    private static List<ConsolePartition> Partitions(KafkaBroker broker, TopicLogs t) =>
        [.. t.Partitions.Select((log, p) =>
        {
            var s = broker.Cluster.Partition(t, p);
            return new ConsolePartition(p, s.Leader, s.LeaderEpoch, s.Replicas, s.Isr, log.LogStartOffset, log.HighWatermark, log.LastStableOffset, log.SizeInBytes);
        })];

    private static List<ConsoleTopic> Topics(KafkaBroker broker) =>
        [.. broker.Logs.Topics.OrderBy(t => t.Name, StringComparer.Ordinal).Select(t => new ConsoleTopic(t.Name, t.Id, IsInternal(t.Name), Partitions(broker, t)))];

    private static List<ConsoleMessage> Messages(PartitionLog log, int partition, long offset, int limit)
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
            result.Add(new ConsoleGroup(g.GroupId, g.State, g.GroupType, broker.Groups.MemberCount(g), Lag(broker, g.GroupId)));
        return result;
    }

    private static List<ConsoleLag> Lag(KafkaBroker broker, string groupId) =>
        [.. broker.GroupOffsets(groupId).Select(o => new ConsoleLag(o.Topic, o.Partition, o.Committed, o.HighWatermark ?? o.Committed,
            Math.Max(0, (o.HighWatermark ?? o.Committed) - o.Committed)))];

    private static ConsoleGroupDetail? Group(KafkaBroker broker, string groupId)
    {
        var (_, groups) = broker.Groups.List([], []);
        if (groups.FirstOrDefault(g => g.GroupId == groupId) is not { } listing) return null;
        List<ConsoleMember> members;
        string assignor;
        if (listing.GroupType == "consumer")
        {
            var d = broker.Groups.DescribeConsumerGroup(groupId);
            assignor = d.AssignorName;
            members = [.. d.Members.Select(m => new ConsoleMember(m.Member.MemberId, m.Member.InstanceId, m.Member.ClientId, m.Member.ClientHost,
                [.. m.Target.SelectMany(t => t.Value.Select(p => $"{broker.Groups.TopicName(t.Key)}-{p}"))]))];
        }
        else
        {
            var d = broker.Groups.Describe(groupId);
            assignor = d.ProtocolData;
            members = [.. d.Members.Select(m => new ConsoleMember(m.MemberId, m.GroupInstanceId, m.ClientId, m.ClientHost,
                // a client's own protocol type may carry anything: only the consumer protocol's assignment is read
                d.ProtocolType == "consumer" ? [.. ConsumerProtocol.AssignedPartitions(m.Assignment).Select(x => $"{x.Topic}-{x.Partition}")] : []))];
        }
        return new ConsoleGroupDetail(groupId, listing.State, listing.GroupType, assignor, members, Lag(broker, groupId));
    }

    /// <summary>Sets a group's committed offsets for every partition of a topic, as kafka-consumer-groups --reset-offsets
    /// --execute does: to the earliest or latest offset, an offset, the first offset at a time (the end when none), or
    /// shifted from the committed one; targets outside the log move to its nearest end. Only while the group has no
    /// members (NON_EMPTY_GROUP otherwise).</summary>
    private static IResult ResetOffsets(KafkaBroker broker, string groupId, ConsoleReset body)
    {
        if (broker.Logs.Get(body.Topic) is not { } topic) return NoTopic(body.Topic);
        var (_, groups) = broker.Groups.List([], []);
        if (groups.FirstOrDefault(g => g.GroupId == groupId) is { } listing && broker.Groups.MemberCount(listing) > 0)
            return Refused(ErrorCode.NonEmptyGroup, $"offsets of group '{groupId}' can only be reset while it has no active members; it is {listing.State}");
        var committed = broker.GroupOffsets(groupId).Where(o => o.Topic == body.Topic).ToDictionary(o => o.Partition, o => o.Committed);
        string to = body.To.ToLowerInvariant();
        if (to is not ("earliest" or "latest") && body.Value is null) return Results.Problem($"'{body.To}' needs a value", statusCode: 400);
        var results = new List<ConsoleResetResult>();
        var entries = new List<CommitEntry>();
        long now = broker.Time.GetUtcNow().ToUnixTimeMilliseconds();
        for (int p = 0; p < topic.Partitions.Length; p++)
        {
            var log = topic.Partitions[p];
            long? previous = committed.TryGetValue(p, out long c) ? c : null;
            long target;
            switch (to)
            {
                case "earliest": target = log.LogStartOffset; break;
                case "latest": target = log.HighWatermark; break;
                case "offset": target = body.Value!.Value; break;
                case "timestamp":
                    var (o, _) = ListOffsetsHandler.Lookup(log, body.Value!.Value);
                    target = o >= 0 ? o : log.HighWatermark;
                    break;
                case "shift":
                    if (previous is null) return Results.Problem($"cannot shift the offset of {body.Topic}-{p}: group '{groupId}' has no committed offset for it", statusCode: 400);
                    target = previous.Value + body.Value!.Value;
                    break;
                default:
                    return Results.Problem($"unknown reset '{body.To}' (earliest, latest, offset, timestamp, shift)", statusCode: 400);
            }
            target = Math.Clamp(target, log.LogStartOffset, log.HighWatermark);
            results.Add(new ConsoleResetResult(p, previous, target));
            entries.Add(new CommitEntry(body.Topic, p, target, -1, "", now));
        }
        var errors = broker.Groups.Commit(groupId, -1, "", null, -1, entries);
        if (errors.FirstOrDefault(e => e.Error != ErrorCode.None) is { Entry: not null } failed)
            return Refused(failed.Error, $"committing {failed.Entry.Topic}-{failed.Entry.Partition} for group '{groupId}'");
        return Results.Json(results, ConsoleJson.Default.ListConsoleResetResult);
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
