using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using KafkaCompat.Testing;
using KafkaCompat.TestSupport;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>The README's code blocks, as a newcomer copies them.</summary>
internal static partial class Readme
{
    /// <summary>A fenced block: the line of prose just above it (its label), its language and its code.</summary>
    public sealed record Block(string Label, string Language, string Code);

    public static IReadOnlyList<Block> Blocks()
    {
        var lines = File.ReadAllLines(Path.Combine(RepoPaths.Root, "README.md"));
        var blocks = new List<Block>();
        for (int i = 0; i < lines.Length; i++)
        {
            if (!lines[i].StartsWith("```", StringComparison.Ordinal)) continue;
            string label = "";
            for (int j = i - 1; j >= 0 && label.Length == 0; j--) label = lines[j].Trim();
            int end = Array.FindIndex(lines, i + 1, l => l.StartsWith("```", StringComparison.Ordinal));
            blocks.Add(new Block(label, lines[i][3..].Trim(), string.Join('\n', lines[(i + 1)..end]) + "\n"));
            i = end;
        }
        return blocks;
    }

    /// <summary>The one block whose label starts with <paramref name="label"/>.</summary>
    public static Block Find(string label) => Assert.Single(Blocks(), b => b.Label.StartsWith(label, StringComparison.Ordinal));

    /// <summary>Runs a program; stops it after <paramref name="timeout"/> or once its output (stdout or stderr) matches
    /// <paramref name="until"/>: SIGTERM first, so that it flushes what it buffered, then a kill.</summary>
    public static async Task<(int Exit, string Out, string Err)> RunAsync(string program, string[] args, TimeSpan timeout,
        Regex? until = null, string? workingDirectory = null, IDictionary<string, string>? env = null, Action<string>? onErrorLine = null)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (workingDirectory != null) psi.WorkingDirectory = workingDirectory;
        if (env != null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var output = new StringBuilder();
        var errors = new StringBuilder();
        var matched = new TaskCompletionSource();
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (output)
            {
                output.AppendLine(e.Data);
                if (until != null && until.IsMatch(output.ToString())) matched.TrySetResult();
            }
        };
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            onErrorLine?.Invoke(e.Data);
            lock (errors)
            {
                errors.AppendLine(e.Data);
                if (until != null && until.IsMatch(errors.ToString())) matched.TrySetResult();
            }
        };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        var exited = p.WaitForExitAsync();
        await Task.WhenAny(exited, matched.Task, Task.Delay(timeout));
        if (!p.HasExited)
        {
            using (var term = Process.Start("kill", ["-TERM", p.Id.ToString()])) await term.WaitForExitAsync();
            await Task.WhenAny(exited, Task.Delay(TimeSpan.FromSeconds(5)));
            if (!p.HasExited) p.Kill(entireProcessTree: true);
        }
        await p.WaitForExitAsync();
        lock (output) lock (errors) return (p.ExitCode, output.ToString(), errors.ToString());
    }

    public static string Write(string name, string code)
    {
        string path = Path.Combine(Path.GetTempPath(), $"kafkacompat-readme-{Guid.NewGuid():N}-{name}");
        File.WriteAllText(path, code);
        return path;
    }
}

/// <summary>
/// The README's quick start for each client runs as printed, against a broker on the address it names (rewritten to the
/// test broker's): confluent-kafka-python, kafka-python, kafkajs and kcat each produce and read back. The Java and C#
/// snippets are not run here (no JVM; the C# fixture lines are compiled and run by samples/KafkaCompat.Testing.Sample).
/// </summary>
public sealed class ReadmeClientTests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;
    private string Address => $"127.0.0.1:{_b.Port}";

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(settings: new Dictionary<string, string> { ["group.initial.rebalance.delay.ms"] = "0" });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    private string Local(Readme.Block block) => block.Code.Replace("localhost:9092", Address, StringComparison.Ordinal)
        .Replace("'orders'", "'orders-" + block.Label.TrimEnd(':').Replace(' ', '-') + "'", StringComparison.Ordinal);

    [Fact]
    public async Task ThePythonQuickStartsProduceAndConsume()
    {
        var confluent = Readme.Find("confluent-kafka-python:");
        var r = await Readme.RunAsync("/usr/bin/python3", [Readme.Write("confluent.py", Local(confluent))], TimeSpan.FromSeconds(60));
        Assert.True(r.Exit == 0, r.Err);
        Assert.Equal("b'v'", r.Out.Trim());

        var kafkaPython = Readme.Find("kafka-python:");
        r = await Readme.RunAsync("/usr/bin/python3", [Readme.Write("kafka_python.py", Local(kafkaPython))], TimeSpan.FromSeconds(60));
        Assert.True(r.Exit == 0, r.Err);
        Assert.Equal("0 0 b'hello'", r.Out.Trim());
    }

    [Fact]
    public async Task TheKafkaJsQuickStartProducesAndConsumes()
    {
        // top-level await, as in a REPL or an ES module: wrapped in an async function for node
        var kafkajs = Readme.Find("kafkajs:");
        string script = Readme.Write("kafkajs.js", "(async () => {\n" + Local(kafkajs) + "})().catch(e => { console.error(e); process.exit(1) })\n");
        var r = await Readme.RunAsync("node", [script], TimeSpan.FromSeconds(60), until: new Regex(@"^v$", RegexOptions.Multiline),
            workingDirectory: Path.Combine(RepoPaths.Root, "tests", "clients"),
            env: new Dictionary<string, string> { ["NODE_PATH"] = Path.Combine(RepoPaths.Root, "tests", "clients", "node_modules") });
        Assert.True(Regex.IsMatch(r.Out, @"^v$", RegexOptions.Multiline), $"kafkajs printed no message:\n{r.Out}\n{r.Err}");
    }

    [Fact]
    public async Task TheKcatQuickStartProducesConsumesAndJoinsAGroup()
    {
        var kcat = Readme.Find("kcat:");
        var lines = Local(kcat).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        var r = await Readme.RunAsync("bash", [Readme.Write("kcat.sh", $"set -e\n{lines[0]}\n{lines[1]}\n")], TimeSpan.FromSeconds(60));
        Assert.True(r.Exit == 0, r.Err);
        Assert.Equal("hello", r.Out.Trim());
        // the group consumer runs until stopped and, as librdkafka's default auto.offset.reset is latest, prints what is
        // produced once it is positioned at the end (offset 1, after "hello"). kcat buffers its output when it is not a
        // terminal: it is stopped once it reports the new end, and flushes on SIGTERM
        var positioned = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var group = Readme.RunAsync("bash", [Readme.Write("kcat-group.sh", "exec " + lines[2] + "\n")], TimeSpan.FromSeconds(60),
            until: new Regex(@"Reached end of topic \S+ \[0\] at offset 2"),
            onErrorLine: line => { if (Regex.IsMatch(line, @"Reached end of topic \S+ \[0\] at offset 1")) positioned.TrySetResult(); });
        await Task.WhenAny(positioned.Task, group);
        Assert.True(positioned.Task.IsCompleted, "the kcat group consumer never reached the end of the partition");
        var produced = await Readme.RunAsync("bash", [Readme.Write("kcat-p.sh", lines[0].Replace("echo hello", "echo after-join", StringComparison.Ordinal) + "\n")], TimeSpan.FromSeconds(30));
        Assert.True(produced.Exit == 0, produced.Err);
        r = await group;
        Assert.Contains("after-join", r.Out.Split('\n').Select(l => l.Trim()));
    }
}

/// <summary>The README's command-line tutorial and its CI recipe, run as printed with the built program standing for
/// <c>kafkacompat</c>.</summary>
public sealed class ReadmeCommandLineTests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(settings: new Dictionary<string, string> { ["group.initial.rebalance.delay.ms"] = "0" });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    [Fact]
    public async Task TheTutorialRunsAsPrinted()
    {
        var tutorial = Readme.Blocks().Single(b => b.Code.Contains("# 1. a broker", StringComparison.Ordinal));
        // step 1 starts a broker: the test's broker stands in for it
        var steps = tutorial.Code.Split('\n').Where(l => !l.StartsWith("dotnet run", StringComparison.Ordinal));
        string script = $"set -e\nkafkacompat() {{ dotnet '{RepoPaths.BrokerDll}' \"$@\" --bootstrap-server 127.0.0.1:{_b.Port}; }}\n" + string.Join('\n', steps);
        var r = await Readme.RunAsync("bash", [Readme.Write("tutorial.sh", script)], TimeSpan.FromMinutes(3),
            env: new Dictionary<string, string> { ["COLUMNS"] = "200" });
        Assert.True(r.Exit == 0, r.Out + r.Err);
        // the keyed records land where the comment says: alice in 0, dave in 1, carol in 2
        string PartitionOf(string record) => Assert.Single(Regex.Matches(r.Out, $@"(?m)^(\d+) \d+ {record}$")).Groups[1].Value;
        Assert.Equal(("0", "1", "2", "0"), (PartitionOf("alice=order-1"), PartitionOf("dave=order-3"), PartitionOf("carol=order-2"), PartitionOf("alice=order-4")));
        Assert.Equal(50L + 4, _b.Broker.Logs.Get("orders")!.Partitions.Sum(p => p.HighWatermark));
        Assert.Equal(5, _b.Broker.Logs.Get("orders")!.Partitions.Length);
        Assert.Equal("3600000", _b.Broker.Logs.Get("orders")!.Record.Configs["retention.ms"]);
        Assert.All(_b.Broker.GroupOffsets("billing"), o => Assert.Equal(o.HighWatermark, o.Committed));
    }

    [Fact]
    public async Task TheCiRecipeStartsABrokerAndExportsItsAddress()
    {
        var recipe = Readme.Blocks().Single(b => b.Code.Contains("--ready-file", StringComparison.Ordinal) && b.Code.Contains("KAFKA_BOOTSTRAP", StringComparison.Ordinal));
        string ready = Path.Combine(Path.GetTempPath(), $"kafkacompat-readme-{Guid.NewGuid():N}.json");
        string script = $"set -e\nkafkacompat() {{ exec dotnet '{RepoPaths.BrokerDll}' \"$@\"; }}\n"
            + recipe.Code.Replace("/tmp/kafka.json", ready, StringComparison.Ordinal)
            + "echo \"bootstrap=$KAFKA_BOOTSTRAP\"\n"
            + $"dotnet '{RepoPaths.BrokerDll}' topic create from-ci --bootstrap-server \"$KAFKA_BOOTSTRAP\"\n"
            + "kill -TERM %1; wait %1; echo \"exit=$?\"\n";
        var r = await Readme.RunAsync("bash", [Readme.Write("ci.sh", script)], TimeSpan.FromMinutes(2));
        Assert.True(r.Exit == 0, r.Out + r.Err);
        Assert.Matches(@"(?m)^bootstrap=127\.0\.0\.1:\d+$", r.Out);
        Assert.Contains("Created topic from-ci.", r.Out);
        Assert.Contains("exit=0", r.Out);
        Assert.False(File.Exists(ready), "the ready file outlived the broker");
    }
}
