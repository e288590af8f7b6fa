using System.CommandLine;
using System.Globalization;
using KafkaCompat.Client;
using KafkaCompat.Protocol;
using Spectre.Console;
using static KafkaCompat.Host.Cli.CliSupport;

namespace KafkaCompat.Host.Cli;

/// <summary><c>kafkacompat group list|describe|delete|reset-offsets</c> (like kafka-consumer-groups).</summary>
public static class GroupCommands
{
    public static Command Build()
    {
        var group = new Command("group", "List, describe (with lag), delete consumer groups and reset their offsets");
        group.Options.Add(Bootstrap);
        group.Options.Add(CommandConfig);
        group.Options.Add(Output);
        group.Subcommands.Add(List());
        group.Subcommands.Add(Describe());
        group.Subcommands.Add(Delete());
        group.Subcommands.Add(ResetOffsets());
        return group;
    }

    private static Command List()
    {
        var cmd = new Command("list", "List consumer groups and their states");
        cmd.SetAction((p, invocationCt) => RunAsync(p, invocationCt, async (client, ct) =>
        {
            var groups = await GroupAdmin.ListAsync(client, ct);
            if (Json(p)) WriteJson(w =>
            {
                w.WriteStartArray();
                foreach (var g in groups)
                {
                    w.WriteStartObject();
                    w.WriteString("group", g.GroupId);
                    w.WriteString("state", g.State);
                    w.WriteString("protocolType", g.ProtocolType);
                    w.WriteString("type", g.GroupType);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            });
            else
            {
                var table = NewTable("Group", "Type", "State", "Protocol type");
                foreach (var g in groups) AddRow(table, g.GroupId, g.GroupType, g.State, g.ProtocolType);
                AnsiConsole.Write(table);
            }
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Describe()
    {
        var name = new Argument<string>("group") { Description = "Group id" };
        var cmd = new Command("describe", "Show a group's state, members, and per partition the committed offset, end offset and lag") { name };
        cmd.SetAction((p, invocationCt) => RunAsync(p, invocationCt, async (client, ct) =>
        {
            string groupId = p.GetValue(name)!;
            var view = await GroupAdmin.DescribeAsync(client, groupId, ct);
            if (view.State == "Dead") throw new KafkaErrorException(ErrorCode.GroupIdNotFound, $"group '{groupId}' does not exist");
            var lag = await GroupAdmin.LagAsync(client, view, ct);
            if (Json(p)) WriteJson(w =>
            {
                w.WriteStartObject();
                w.WriteString("group", view.GroupId);
                w.WriteString("state", view.State);
                w.WriteString("type", view.GroupType);
                w.WriteString("protocol", view.Protocol);
                w.WriteNumber("totalLag", lag.Sum(l => l.Lag ?? 0));
                w.WriteStartArray("members");
                foreach (var m in view.Members)
                {
                    w.WriteStartObject();
                    w.WriteString("memberId", m.MemberId);
                    w.WriteString("clientId", m.ClientId);
                    w.WriteString("host", m.Host);
                    if (m.InstanceId != null) w.WriteString("groupInstanceId", m.InstanceId);
                    w.WriteStartArray("assignment");
                    foreach (var (t, part) in m.Assigned) w.WriteStringValue($"{t}-{part}");
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteStartArray("partitions");
                foreach (var l in lag)
                {
                    w.WriteStartObject();
                    w.WriteString("topic", l.Topic);
                    w.WriteNumber("partition", l.Partition);
                    if (l.Committed >= 0) w.WriteNumber("currentOffset", l.Committed); else w.WriteNull("currentOffset");
                    w.WriteNumber("logEndOffset", l.End);
                    if (l.Lag is { } known) w.WriteNumber("lag", known); else w.WriteNull("lag");
                    if (l.Owner != null) w.WriteString("consumer", l.Owner); else w.WriteNull("consumer");
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            });
            else
            {
                Console.WriteLine($"Group {view.GroupId} ({view.GroupType} protocol) is {view.State}" + (view.Protocol.Length > 0 ? $" ({view.Protocol})" : "") +
                    $", {view.Members.Count} member(s), total lag {lag.Sum(l => l.Lag ?? 0)}.");
                var table = NewTable("Topic", "Partition", "Current offset", "Log end offset", "Lag", "Consumer");
                foreach (var l in lag)
                    AddRow(table, l.Topic, l.Partition, l.Committed >= 0 ? l.Committed : "-", l.End, l.Lag?.ToString(CultureInfo.InvariantCulture) ?? "-", l.Owner ?? "-");
                AnsiConsole.Write(table);
            }
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Delete()
    {
        var names = new Argument<string[]>("group") { Description = "Group ids", Arity = ArgumentArity.OneOrMore };
        var cmd = new Command("delete", "Delete groups that have no active members, with their committed offsets") { names };
        cmd.SetAction((p, invocationCt) => RunAsync(p, invocationCt, async (client, ct) =>
        {
            var groups = p.GetValue(names)!;
            foreach (var g in groups) await GroupAdmin.DeleteAsync(client, g, ct);
            if (Json(p)) WriteJson(w =>
            {
                w.WriteStartObject();
                w.WriteStartArray("deleted");
                foreach (var g in groups) w.WriteStringValue(g);
                w.WriteEndArray();
                w.WriteEndObject();
            });
            else foreach (var g in groups) Console.WriteLine($"Deleted group {g}.");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command ResetOffsets()
    {
        var name = new Argument<string>("group") { Description = "Group id" };
        var topic = new Option<string>("--topic", "-t") { Description = "Topic whose offsets to reset", Required = true };
        var toEarliest = new Option<bool>("--to-earliest") { Description = "Reset to the earliest offset" };
        var toLatest = new Option<bool>("--to-latest") { Description = "Reset to the end" };
        var toOffset = new Option<long?>("--to-offset") { Description = "Reset to this offset" };
        var toTime = new Option<string?>("--to-datetime") { Description = "Reset to the first record at or after this time (ISO 8601 or Unix ms)" };
        var shiftBy = new Option<long?>("--shift-by") { Description = "Move the committed offsets by this many records (negative: back)" };
        var execute = new Option<bool>("--execute") { Description = "Apply the change (without it, only show what would change, as kafka-consumer-groups does)" };
        var cmd = new Command("reset-offsets", "Set a group's committed offsets for a topic; the group must have no active members")
        {
            name, topic, toEarliest, toLatest, toOffset, toTime, shiftBy, execute,
        };
        cmd.SetAction((p, invocationCt) => RunAsync(p, invocationCt, async (client, ct) =>
        {
            string groupId = p.GetValue(name)!, topicName = p.GetValue(topic)!;
            int chosen = (p.GetValue(toEarliest) ? 1 : 0) + (p.GetValue(toLatest) ? 1 : 0) + (p.GetValue(toOffset) is null ? 0 : 1)
                + (p.GetValue(toTime) is null ? 0 : 1) + (p.GetValue(shiftBy) is null ? 0 : 1);
            if (chosen != 1) throw new UsageException("give exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by");
            var view = await GroupAdmin.DescribeAsync(client, groupId, ct);
            if (view.State is not ("Empty" or "Dead"))
                throw new KafkaErrorException(ErrorCode.NonEmptyGroup, $"offsets of group '{groupId}' can only be reset while it has no active members; it is {view.State}");
            var layout = await TopicLayout.LoadAsync(client, topicName, allowAutoCreate: false, ct);
            var parts = layout.Leaders.Keys.Order().ToList();
            var earliest = await TopicIo.OffsetsAsync(client, layout, parts, TopicIo.Earliest, ct);
            var latest = await TopicIo.OffsetsAsync(client, layout, parts, TopicIo.Latest, ct);
            var committed = await GroupAdmin.CommittedAsync(client, groupId, ct);
            Dictionary<int, long> target;
            if (p.GetValue(toEarliest)) target = earliest;
            else if (p.GetValue(toLatest)) target = latest;
            else if (p.GetValue(toOffset) is { } o) target = parts.ToDictionary(x => x, _ => o);
            else if (p.GetValue(toTime) is { } when) target = await TopicIo.OffsetsAtTimeAsync(client, layout, parts, ParseTime(when, "--to-datetime"), ct);
            else
            {
                long shift = p.GetValue(shiftBy)!.Value;
                if (parts.FirstOrDefault(x => !committed.ContainsKey((topicName, x)), -1) is var none and >= 0)
                    throw new UsageException($"cannot shift the offset of {topicName}-{none}: group '{groupId}' has no committed offset for it");
                target = parts.ToDictionary(x => x, x => committed[(topicName, x)] + shift);
            }
            // like Kafka's tool: offsets outside the log are moved to its nearest end
            target = parts.ToDictionary(x => x, x => Math.Clamp(target[x], earliest[x], latest[x]));
            bool apply = p.GetValue(execute);
            if (apply) await GroupAdmin.CommitAsync(client, groupId, target.ToDictionary(t => (topicName, t.Key), t => t.Value), ct: ct);
            if (Json(p)) WriteJson(w =>
            {
                w.WriteStartObject();
                w.WriteString("group", groupId);
                w.WriteString("topic", topicName);
                w.WriteBoolean("executed", apply);
                w.WriteStartArray("partitions");
                foreach (var x in parts)
                {
                    w.WriteStartObject();
                    w.WriteNumber("partition", x);
                    if (committed.TryGetValue((topicName, x), out long c)) w.WriteNumber("previousOffset", c); else w.WriteNull("previousOffset");
                    w.WriteNumber("newOffset", target[x]);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            });
            else
            {
                var table = NewTable("Topic", "Partition", "Previous offset", "New offset");
                foreach (var x in parts)
                    AddRow(table, topicName, x, committed.TryGetValue((topicName, x), out long c) ? c : "-", target[x]);
                AnsiConsole.Write(table);
                Console.WriteLine(apply ? $"Offsets of group {groupId} reset." : "Dry run: nothing changed; add --execute to apply.");
            }
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
