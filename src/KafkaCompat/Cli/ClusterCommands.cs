using System.CommandLine;
using System.Net.Http.Json;
using System.Text.Json;
using KafkaCompat.Protocol;
using KafkaCompat.Server;
using KafkaCompat.Server.Admin;
using Spectre.Console;
using static KafkaCompat.Host.Cli.CliSupport;

namespace KafkaCompat.Host.Cli;

/// <summary><c>kafkacompat cluster status|stop-broker|start-broker|move-leader|reassign|elect-leaders|inject|faults|clear|
/// drop-connections</c>: the admin HTTP API of a running <c>kafkacompat serve --admin-port</c>, from the shell.</summary>
public static class ClusterCommands
{
    private static readonly Option<string> Admin = new("--admin", "-a")
    {
        Description = "The admin API of the broker process (serve --admin-port)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("KAFKACOMPAT_ADMIN") ?? "http://127.0.0.1:9644",
        Recursive = true,
    };

    public static Command Build()
    {
        var cmd = new Command("cluster", "Control the brokers of a running kafkacompat (serve --brokers N --admin-port P): stop and start brokers, move leaders, inject faults");
        cmd.Options.Add(Admin);
        cmd.Options.Add(Output);
        cmd.Subcommands.Add(Status());
        cmd.Subcommands.Add(BrokerAction("stop-broker", "stop", "Stop a broker: its partitions move to in-sync replicas, its listener and connections close"));
        cmd.Subcommands.Add(BrokerAction("kill-broker", "kill", "Kill a broker (a crash): its connections close at once, its partitions move only after broker.session.timeout.ms"));
        cmd.Subcommands.Add(BrokerAction("start-broker", "start", "Start a stopped broker on its port: it rejoins the in-sync replicas"));
        cmd.Subcommands.Add(BrokerAction("drop-connections", "drop-connections", "Close every client connection of a broker (its listener stays)"));
        cmd.Subcommands.Add(MoveLeader());
        cmd.Subcommands.Add(Reassign());
        cmd.Subcommands.Add(Elect());
        cmd.Subcommands.Add(Inject());
        cmd.Subcommands.Add(Faults());
        cmd.Subcommands.Add(Clear());
        return cmd;
    }

    private static async Task<int> Call(ParseResult p, Func<HttpClient, Task<HttpResponseMessage>> send, Func<JsonElement, int>? show = null)
    {
        using var http = new HttpClient { BaseAddress = new Uri(p.GetValue(Admin)!), Timeout = TimeSpan.FromSeconds(30) };
        HttpResponseMessage resp;
        try
        {
            resp = await send(http);
        }
        catch (HttpRequestException e)
        {
            return Fail(ExitCodes.Unreachable, $"admin API at {http.BaseAddress} unreachable: {e.Message}");
        }
        using var doc = JsonDocument.Parse(await resp.Content.ReadAsStringAsync());
        if (!resp.IsSuccessStatusCode)
            return Fail(resp.StatusCode == System.Net.HttpStatusCode.Conflict ? ExitCodes.KafkaError : ExitCodes.Usage,
                doc.RootElement.TryGetProperty("error", out var e) ? e.GetString()! : resp.StatusCode.ToString());
        if (Json(p) || show is null)
        {
            Console.Out.WriteLine(doc.RootElement.GetRawText());
            return ExitCodes.Ok;
        }
        return show(doc.RootElement);
    }

    private static Command Status()
    {
        var cmd = new Command("status", "Brokers (running or stopped) and each partition's leader, epoch, replicas and in-sync replicas");
        cmd.SetAction((p, ct) => Call(p, h => h.GetAsync("/v1/cluster", ct), root =>
        {
            var status = root.Deserialize(AdminJson.Default.ClusterStatus)!;
            // piped (a log, a README): wide enough that topic names and offsets do not wrap
            if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 120);
            var brokers = NewTable("Broker", "Port", "Rack", "State");
            foreach (var b in status.Brokers)
                AddRow(brokers, b.Id, b.Port, b.Rack ?? "", b.Listening ? "running" : b.Alive ? "killed (not yet fenced)" : "stopped");
            AnsiConsole.Write(brokers);
            var parts = NewTable("Topic", "Partition", "Leader", "Epoch", "Replicas", "ISR", "Offline", "End offset");
            foreach (var t in status.Topics)
                foreach (var x in t.Partitions)
                    AddRow(parts, t.Name, x.Partition, x.Leader < 0 ? "none" : x.Leader, x.LeaderEpoch, string.Join(",", x.Replicas), string.Join(",", x.Isr), string.Join(",", x.Offline), x.HighWatermark);
            AnsiConsole.Write(parts);
            if (status.Faults.Count > 0) ShowFaults(status.Faults);
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command BrokerAction(string name, string route, string description)
    {
        var id = new Argument<int>("broker") { Description = "Broker id" };
        var cmd = new Command(name, description) { id };
        cmd.SetAction((p, ct) => Call(p, h => h.PostAsync($"/v1/brokers/{p.GetValue(id)}/{route}", null, ct), _ =>
        {
            Console.Out.WriteLine($"broker {p.GetValue(id)}: {name} done");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command MoveLeader()
    {
        var topic = new Argument<string>("topic");
        var partition = new Argument<int>("partition");
        var broker = new Argument<int>("broker") { Description = "The new leader: a live in-sync replica" };
        var cmd = new Command("move-leader", "Make a broker the partition's leader (a new leader epoch)") { topic, partition, broker };
        cmd.SetAction((p, ct) => Call(p, h => h.PostAsJsonAsync($"/v1/partitions/{Uri.EscapeDataString(p.GetValue(topic)!)}/{p.GetValue(partition)}/leader",
            new LeaderChange(p.GetValue(broker)), AdminJson.Default.LeaderChange, ct), _ => Done($"{p.GetValue(topic)}-{p.GetValue(partition)} led by broker {p.GetValue(broker)}")));
        return cmd;
    }

    private static Command Reassign()
    {
        var topic = new Argument<string>("topic");
        var partition = new Argument<int>("partition");
        var replicas = new Argument<string>("replicas") { Description = "Broker ids, comma-separated, the preferred leader first (e.g. 2,3,1)" };
        var cmd = new Command("reassign", "Move a partition's replicas (as AlterPartitionReassignments)") { topic, partition, replicas };
        cmd.SetAction((p, ct) =>
        {
            int[] ids;
            try { ids = [.. p.GetValue(replicas)!.Split(',', StringSplitOptions.TrimEntries).Select(int.Parse)]; }
            catch (FormatException) { return Task.FromResult(Fail(ExitCodes.Usage, "replicas: broker ids separated by commas")); }
            return Call(p, h => h.PostAsJsonAsync($"/v1/partitions/{Uri.EscapeDataString(p.GetValue(topic)!)}/{p.GetValue(partition)}/replicas",
                new ReplicasChange(ids), AdminJson.Default.ReplicasChange, ct), _ => Done($"{p.GetValue(topic)}-{p.GetValue(partition)} on brokers {string.Join(",", ids)}"));
        });
        return cmd;
    }

    private static Command Elect()
    {
        var topic = new Option<string?>("--topic") { Description = "Only this topic's partitions" };
        var cmd = new Command("elect-leaders", "Give every partition back to its preferred leader where it is in sync") { topic };
        cmd.SetAction((p, ct) => Call(p, h => h.PostAsync("/v1/elect-leaders" + (p.GetValue(topic) is { } t ? "?topic=" + Uri.EscapeDataString(t) : ""), null, ct),
            root => Done($"{root.GetProperty("count").GetInt32()} partition(s) changed leader")));
        return cmd;
    }

    private static Command Inject()
    {
        var kind = new Argument<string>("kind") { Description = "error | latency | throttle | drop | partition-error" };
        var api = new Option<string?>("--api") { Description = "Only requests of this API (Produce, Fetch, 0, ...)" };
        var broker = new Option<int?>("--broker") { Description = "Only requests to this broker" };
        var error = new Option<string?>("--error") { Description = "The error to answer (NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT, ...)" };
        var latency = new Option<int?>("--latency-ms") { Description = "latency: milliseconds to add" };
        var throttle = new Option<int?>("--throttle-ms") { Description = "throttle: throttle_time_ms to answer" };
        var topic = new Option<string?>("--topic") { Description = "partition-error: the topic" };
        var partition = new Option<int?>("--partition") { Description = "partition-error: the partition" };
        var count = new Option<int?>("--count") { Description = "How many requests it hits before it clears itself (default: until cleared)" };
        var cmd = new Command("inject", "Arm a fault: the next matching requests answer an error, wait, are throttled, dropped, or a partition reports an error")
            { kind, api, broker, error, latency, throttle, topic, partition, count };
        cmd.SetAction((p, ct) =>
        {
            var body = new FaultRequest(p.GetValue(kind)!, p.GetValue(api), p.GetValue(broker), p.GetValue(error), p.GetValue(latency), p.GetValue(throttle),
                p.GetValue(topic), p.GetValue(partition), p.GetValue(count));
            return Call(p, h => h.PostAsJsonAsync("/v1/faults", body, AdminJson.Default.FaultRequest, ct), root => Done($"fault {root.GetProperty("id").GetInt32()} armed"));
        });
        return cmd;
    }

    private static Command Faults()
    {
        var cmd = new Command("faults", "The armed faults");
        cmd.SetAction((p, ct) => Call(p, h => h.GetAsync("/v1/faults", ct), root =>
        {
            ShowFaults(root.Deserialize(AdminJson.Default.ListFaultState)!);
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Clear()
    {
        var id = new Argument<int?>("id") { Description = "The fault to clear (all when omitted)", Arity = ArgumentArity.ZeroOrOne };
        var cmd = new Command("clear", "Clear one armed fault, or all") { id };
        cmd.SetAction((p, ct) => Call(p, h => h.DeleteAsync(p.GetValue(id) is int n ? $"/v1/faults/{n}" : "/v1/faults", ct), _ => Done("cleared")));
        return cmd;
    }

    private static void ShowFaults(IEnumerable<KafkaCompat.Broker.FaultState> faults)
    {
        var table = NewTable("Id", "Kind", "API", "Broker", "Effect", "Fired", "Remaining");
        foreach (var f in faults)
        {
            var s = f.Spec;
            string effect = s.Kind switch
            {
                KafkaCompat.Broker.FaultKind.Latency => $"+{s.LatencyMs} ms",
                KafkaCompat.Broker.FaultKind.Throttle => $"throttle {s.ThrottleMs} ms",
                KafkaCompat.Broker.FaultKind.Drop => "answer dropped, connection closed",
                KafkaCompat.Broker.FaultKind.PartitionError => $"{s.Topic}-{s.Partition}: {s.Error.KafkaName()}",
                _ => s.Error.KafkaName(),
            };
            AddRow(table, f.Id, s.Kind, s.Api?.ToString() ?? "any", s.Broker?.ToString() ?? "any", effect, f.Fired, f.Remaining?.ToString() ?? "until cleared");
        }
        AnsiConsole.Write(table);
    }

    private static int Done(string message)
    {
        Console.Out.WriteLine(message);
        return ExitCodes.Ok;
    }
}
