using System.CommandLine;
using KafkaCompat.Client;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using Spectre.Console;
using static KafkaCompat.Host.Cli.CliSupport;

namespace KafkaCompat.Host.Cli;

/// <summary><c>kafkacompat topic create|list|describe|delete|alter-config|add-partitions</c>.</summary>
public static class TopicCommands
{
    private const sbyte TopicResource = 2;

    public static Command Build()
    {
        var topic = new Command("topic", "Create, list, describe, change and delete topics (like kafka-topics and kafka-configs)");
        topic.Options.Add(Bootstrap);
        topic.Options.Add(CommandConfig);
        topic.Options.Add(Output);
        topic.Subcommands.Add(Create());
        topic.Subcommands.Add(List());
        topic.Subcommands.Add(Describe());
        topic.Subcommands.Add(Delete());
        topic.Subcommands.Add(AlterConfig());
        topic.Subcommands.Add(AddPartitions());
        return topic;
    }

    private static Command Create()
    {
        var name = new Argument<string>("name") { Description = "Topic name" };
        var partitions = new Option<int>("--partitions", "-p") { Description = "Number of partitions (default: the broker's num.partitions)", DefaultValueFactory = _ => -1 };
        var rf = new Option<short>("--replication-factor", "-r") { Description = "Replicas per partition (default: the broker's default)", DefaultValueFactory = _ => -1 };
        var config = new Option<string[]>("--config", "-c") { Description = "A topic config key=value (repeatable)" };
        var ifNotExists = new Option<bool>("--if-not-exists") { Description = "Succeed when the topic already exists" };
        var cmd = new Command("create", "Create a topic") { name, partitions, rf, config, ifNotExists };
        cmd.SetAction((p, invocationCt) => RunAsync(p, invocationCt, async (client, ct) =>
        {
            string topicName = p.GetValue(name)!;
            var req = new CreateTopicsRequest
            {
                Topics = [new()
                {
                    Name = topicName, NumPartitions = p.GetValue(partitions), ReplicationFactor = p.GetValue(rf),
                    Configs = Pairs(p.GetValue(config), "--config").Select(kv => new CreateTopicsRequest.CreatableTopicConfig { Name = kv.Key, Value = kv.Value }).ToList(),
                }],
                TimeoutMs = 30_000,
            };
            var conn = await client.AdminAsync(ct);
            var r = (await conn.SendAsync<CreateTopicsRequest, CreateTopicsResponse>(req, ct: ct)).Topics.Single();
            bool existed = r.ErrorCode == ErrorCode.TopicAlreadyExists && p.GetValue(ifNotExists);
            if (!existed) Check(r.ErrorCode, r.ErrorMessage, $"creating topic '{topicName}'");
            if (Json(p)) WriteJson(w =>
            {
                w.WriteStartObject();
                w.WriteString("topic", topicName);
                w.WriteBoolean("created", !existed);
                if (!existed && r.NumPartitions > 0) w.WriteNumber("partitions", r.NumPartitions);
                w.WriteEndObject();
            });
            else Console.WriteLine(existed ? $"Topic {topicName} already exists." : $"Created topic {topicName}.");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command List()
    {
        var internalToo = new Option<bool>("--include-internal") { Description = "Also list internal topics such as __consumer_offsets" };
        var cmd = new Command("list", "List topics") { internalToo };
        cmd.SetAction((p, invocationCt) => RunAsync(p, invocationCt, async (client, ct) =>
        {
            var md = await client.MetadataAsync(null, ct);
            var topics = md.Topics.Where(t => p.GetValue(internalToo) || !t.IsInternal).OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
            if (Json(p)) WriteJson(w =>
            {
                w.WriteStartArray();
                foreach (var t in topics)
                {
                    w.WriteStartObject();
                    w.WriteString("topic", t.Name);
                    w.WriteNumber("partitions", t.Partitions.Count);
                    w.WriteBoolean("internal", t.IsInternal);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            });
            else
            {
                var table = NewTable("Topic", "Partitions");
                foreach (var t in topics) AddRow(table, t.Name, t.Partitions.Count);
                AnsiConsole.Write(table);
            }
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Describe()
    {
        var names = new Argument<string[]>("name") { Description = "Topic names (default: all topics)", Arity = ArgumentArity.ZeroOrMore };
        var cmd = new Command("describe", "Show partitions, leaders and the config overrides of topics") { names };
        cmd.SetAction((p, invocationCt) => RunAsync(p, invocationCt, async (client, ct) =>
        {
            var wanted = p.GetValue(names) is { Length: > 0 } n ? n : null;
            var md = await client.MetadataAsync(wanted, ct);
            foreach (var t in md.Topics) Check(t.ErrorCode, null, $"topic '{t.Name}'");
            var topics = md.Topics.Where(t => wanted != null || !t.IsInternal).OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
            // the topics' own config overrides (DescribeConfigs: source DYNAMIC_TOPIC_CONFIG)
            var overrides = new Dictionary<string, List<(string Key, string? Value)>>();
            if (topics.Count > 0)
            {
                var conn = await client.AdminAsync(ct);
                var cfg = await conn.SendAsync<DescribeConfigsRequest, DescribeConfigsResponse>(new DescribeConfigsRequest
                {
                    Resources = topics.Select(t => new DescribeConfigsRequest.DescribeConfigsResource { ResourceType = TopicResource, ResourceName = t.Name! }).ToList(),
                }, ct: ct);
                foreach (var r in cfg.Results)
                {
                    Check(r.ErrorCode, r.ErrorMessage, $"configs of '{r.ResourceName}'");
                    overrides[r.ResourceName] = r.Configs.Where(c => c.ConfigSource == 1 || (c.ConfigSource == -1 && !c.IsDefault))
                        .Select(c => (c.Name, c.Value)).OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
                }
            }
            // end offsets: the high watermark and the last stable offset (read_committed consumers stop there)
            var ends = new Dictionary<(string, int), (long End, long Stable)>();
            foreach (var t in topics)
            {
                var layout = await TopicLayout.LoadAsync(client, t.Name!, allowAutoCreate: false, ct);
                var all = t.Partitions.Select(x => x.PartitionIndex).ToList();
                var hw = await TopicIo.OffsetsAsync(client, layout, all, TopicIo.Latest, ct);
                var lso = await TopicIo.OffsetsAsync(client, layout, all, TopicIo.Latest, ct, readCommitted: true);
                foreach (var part in all) ends[(t.Name!, part)] = (hw[part], lso[part]);
            }
            if (Json(p)) WriteJson(w =>
            {
                w.WriteStartArray();
                foreach (var t in topics)
                {
                    w.WriteStartObject();
                    w.WriteString("topic", t.Name);
                    w.WriteString("topicId", t.TopicId.ToString());
                    w.WriteBoolean("internal", t.IsInternal);
                    w.WriteStartArray("partitions");
                    foreach (var part in t.Partitions.OrderBy(x => x.PartitionIndex))
                    {
                        w.WriteStartObject();
                        w.WriteNumber("partition", part.PartitionIndex);
                        w.WriteNumber("leader", part.LeaderId);
                        w.WriteStartArray("replicas");
                        foreach (var r in part.ReplicaNodes) w.WriteNumberValue(r);
                        w.WriteEndArray();
                        w.WriteStartArray("isr");
                        foreach (var r in part.IsrNodes) w.WriteNumberValue(r);
                        w.WriteEndArray();
                        var (end, stable) = ends[(t.Name!, part.PartitionIndex)];
                        w.WriteNumber("endOffset", end);
                        w.WriteNumber("lastStableOffset", stable);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    w.WriteStartObject("configs");
                    foreach (var (k, v) in overrides.GetValueOrDefault(t.Name!) ?? []) w.WriteString(k, v);
                    w.WriteEndObject();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            });
            else
            {
                foreach (var t in topics)
                {
                    var cfgText = string.Join(",", (overrides.GetValueOrDefault(t.Name!) ?? []).Select(c => $"{c.Key}={c.Value}"));
                    Console.WriteLine($"Topic: {t.Name}\tTopicId: {t.TopicId}\tPartitionCount: {t.Partitions.Count}\t" +
                        $"ReplicationFactor: {t.Partitions.FirstOrDefault()?.ReplicaNodes.Count ?? 0}\tConfigs: {cfgText}");
                    var table = NewTable("Partition", "Leader", "Replicas", "Isr", "End offset", "Last stable offset");
                    foreach (var part in t.Partitions.OrderBy(x => x.PartitionIndex))
                        AddRow(table, part.PartitionIndex, part.LeaderId, string.Join(",", part.ReplicaNodes), string.Join(",", part.IsrNodes),
                            ends[(t.Name!, part.PartitionIndex)].End, ends[(t.Name!, part.PartitionIndex)].Stable);
                    AnsiConsole.Write(table);
                }
            }
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Delete()
    {
        var names = new Argument<string[]>("name") { Description = "Topic names", Arity = ArgumentArity.OneOrMore };
        var cmd = new Command("delete", "Delete topics") { names };
        cmd.SetAction((p, invocationCt) => RunAsync(p, invocationCt, async (client, ct) =>
        {
            var topics = p.GetValue(names)!;
            var conn = await client.AdminAsync(ct);
            var resp = await conn.SendAsync<DeleteTopicsRequest, DeleteTopicsResponse>(new DeleteTopicsRequest
            {
                TopicNames = [.. topics],
                Topics = topics.Select(t => new DeleteTopicsRequest.DeleteTopicState { Name = t }).ToList(),
                TimeoutMs = 30_000,
            }, ct: ct);
            foreach (var r in resp.Responses) Check(r.ErrorCode, r.ErrorMessage, $"deleting topic '{r.Name}'");
            if (Json(p)) WriteJson(w =>
            {
                w.WriteStartObject();
                w.WriteStartArray("deleted");
                foreach (var t in topics) w.WriteStringValue(t);
                w.WriteEndArray();
                w.WriteEndObject();
            });
            else foreach (var t in topics) Console.WriteLine($"Deleted topic {t}.");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command AlterConfig()
    {
        var name = new Argument<string>("name") { Description = "Topic name" };
        var set = new Option<string[]>("--set") { Description = "key=value to set (repeatable)" };
        var delete = new Option<string[]>("--delete") { Description = "key to reset to the broker default (repeatable)" };
        var cmd = new Command("alter-config", "Change a topic's configs (IncrementalAlterConfigs)") { name, set, delete };
        cmd.SetAction((p, invocationCt) => RunAsync(p, invocationCt, async (client, ct) =>
        {
            string topicName = p.GetValue(name)!;
            var changes = Pairs(p.GetValue(set), "--set")
                .Select(kv => new IncrementalAlterConfigsRequest.AlterableConfig { Name = kv.Key, ConfigOperation = 0, Value = kv.Value })
                .Concat((p.GetValue(delete) ?? []).Select(k => new IncrementalAlterConfigsRequest.AlterableConfig { Name = k, ConfigOperation = 1 }))
                .ToList();
            if (changes.Count == 0) throw new UsageException("nothing to change: give --set key=value or --delete key");
            var conn = await client.AdminAsync(ct);
            var resp = await conn.SendAsync<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>(new IncrementalAlterConfigsRequest
            {
                Resources = [new() { ResourceType = TopicResource, ResourceName = topicName, Configs = changes }],
            }, ct: ct);
            foreach (var r in resp.Responses) Check(r.ErrorCode, r.ErrorMessage, $"altering configs of '{topicName}'");
            if (Json(p)) WriteJson(w =>
            {
                w.WriteStartObject();
                w.WriteString("topic", topicName);
                w.WriteStartObject("set");
                foreach (var c in changes.Where(c => c.ConfigOperation == 0)) w.WriteString(c.Name, c.Value);
                w.WriteEndObject();
                w.WriteStartArray("deleted");
                foreach (var c in changes.Where(c => c.ConfigOperation == 1)) w.WriteStringValue(c.Name);
                w.WriteEndArray();
                w.WriteEndObject();
            });
            else Console.WriteLine($"Updated configs of topic {topicName}: " +
                string.Join(", ", changes.Select(c => c.ConfigOperation == 0 ? $"{c.Name}={c.Value}" : $"{c.Name} (default)")) + ".");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command AddPartitions()
    {
        var name = new Argument<string>("name") { Description = "Topic name" };
        var partitions = new Option<int>("--partitions", "-p") { Description = "The new total number of partitions", Required = true };
        var cmd = new Command("add-partitions", "Grow a topic to more partitions") { name, partitions };
        cmd.SetAction((p, invocationCt) => RunAsync(p, invocationCt, async (client, ct) =>
        {
            string topicName = p.GetValue(name)!;
            int count = p.GetValue(partitions);
            var conn = await client.AdminAsync(ct);
            var resp = await conn.SendAsync<CreatePartitionsRequest, CreatePartitionsResponse>(new CreatePartitionsRequest
            {
                Topics = [new() { Name = topicName, Count = count }],
                TimeoutMs = 30_000,
            }, ct: ct);
            foreach (var r in resp.Results) Check(r.ErrorCode, r.ErrorMessage, $"adding partitions to '{topicName}'");
            if (Json(p)) WriteJson(w =>
            {
                w.WriteStartObject();
                w.WriteString("topic", topicName);
                w.WriteNumber("partitions", count);
                w.WriteEndObject();
            });
            else Console.WriteLine($"Topic {topicName} now has {count} partitions.");
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
