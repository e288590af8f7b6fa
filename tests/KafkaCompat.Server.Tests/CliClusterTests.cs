using KafkaCompat.Broker;
using KafkaCompat.Protocol;
using KafkaCompat.Testing;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary><c>kafkacompat cluster ...</c> against three brokers with the admin HTTP API: status, stop-broker,
/// start-broker, move-leader, inject, faults and clear, with their exit codes.</summary>
public sealed class CliClusterTests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;
    private string _admin = "";

    public async Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(brokers: 3, settings: new Dictionary<string, string> { ["auto.leader.rebalance.enable"] = "false" });
        _admin = (await _b.StartAdminAsync()).Url;
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    private Task<(int Exit, string Out, string Err)> Cluster(params string[] args) => CliRunner.RunDllAsync(null, ["cluster", .. args, "--admin", _admin]);

    [Fact]
    public async Task StatusStopStartMoveAndFaults()
    {
        var t = _b.Broker.CreateTopic("cli-cluster", 1, 3, new(), false).Topic!;
        var (exit, output, _) = await Cluster("status");
        Assert.Equal(0, exit);
        Assert.Contains("running", output); // the table
        Assert.Contains("\"name\":\"cli-cluster\"", (await Cluster("status", "-o", "json")).Out);

        int leader = _b.Broker.Cluster.Partition(t, 0).Leader;
        Assert.Equal(0, (await Cluster("stop-broker", leader.ToString())).Exit);
        Assert.False(_b.Broker.Cluster.Node(leader)!.Alive);
        var json = await Cluster("status", "-o", "json");
        Assert.Contains("\"alive\":false", json.Out);
        var again = await Cluster("stop-broker", leader.ToString());
        Assert.Equal((1, true), (again.Exit, again.Err.Contains("not running")));
        Assert.Equal(0, (await Cluster("start-broker", leader.ToString())).Exit);
        Assert.True(_b.Broker.Cluster.Node(leader)!.Alive);

        int other = _b.Broker.Cluster.Partition(t, 0).Replicas.First(r => r != _b.Broker.Cluster.Partition(t, 0).Leader);
        Assert.Equal(0, (await Cluster("move-leader", "cli-cluster", "0", other.ToString())).Exit);
        Assert.Equal(other, _b.Broker.Cluster.Partition(t, 0).Leader);

        var inject = await Cluster("inject", "error", "--api", "Fetch", "--error", "NOT_LEADER_OR_FOLLOWER", "--count", "2");
        Assert.Equal(0, inject.Exit);
        var armed = Assert.Single(_b.Broker.Faults.List());
        Assert.Equal((FaultKind.Error, ApiKey.Fetch, ErrorCode.NotLeaderOrFollower, 2), (armed.Spec.Kind, armed.Spec.Api!.Value, armed.Spec.Error, armed.Remaining!.Value));
        Assert.Contains("NOT_LEADER_OR_FOLLOWER", (await Cluster("faults")).Out);
        Assert.Equal(2, (await Cluster("inject", "bogus")).Exit);
        Assert.Equal(0, (await Cluster("clear")).Exit);
        Assert.Empty(_b.Broker.Faults.List());
        Assert.Equal(3, (await CliRunner.RunDllAsync(null, "cluster", "status", "--admin", "http://127.0.0.1:1")).Exit);
    }
}

/// <summary>The cluster walk-through of docs/cluster.md (scripts/cluster-walkthrough.sh, with kcat as producer and group
/// consumer) runs as written: broker 1, the leader, stops; broker 2 takes over; all 300 orders are consumed once
/// and are in the log; broker 1 comes back and leads again after elect-leaders.</summary>
public sealed class ClusterWalkthroughTests
{
    [Fact]
    public async Task TheReadmeWalkthroughRuns()
    {
        int port = 20000 + Random.Shared.Next(20000);
        var psi = new System.Diagnostics.ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(KafkaCompat.TestSupport.RepoPaths.Root, "scripts", "cluster-walkthrough.sh"));
        psi.ArgumentList.Add(port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await p.WaitForExitAsync(cts.Token);
        string o = await stdout;
        Assert.True(p.ExitCode == 0, o + await stderr);
        var lines = o.Split('\n');
        int after = Array.FindIndex(lines, l => l.Contains("stop-broker 1", StringComparison.Ordinal) && l.StartsWith('$'));
        Assert.Contains(lines.Skip(after), l => l.Contains("│ 1      │") && l.Contains("stopped"));
        Assert.Contains(lines.Skip(after), l => l.Contains("│ orders ") && l.Split('│')[3].Trim() == "2"); // broker 2 leads
        int counted = Array.FindIndex(lines, l => l.StartsWith("$ sort -u consumed.txt", StringComparison.Ordinal));
        Assert.Equal(["300", "300"], lines[(counted + 1)..(counted + 3)]); // every order consumed, none twice
        Assert.Equal("300", lines[counted + 4]);                             // and in the log
        Assert.Contains(lines, l => l.Contains("│ orders ") && l.Split('│')[3].Trim() == "1" && l.Contains("1,2,3    │ 1,2,3"));
    }
}
