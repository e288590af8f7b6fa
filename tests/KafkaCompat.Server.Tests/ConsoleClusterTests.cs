using KafkaCompat.Broker;
using KafkaCompat.Protocol;
using KafkaCompat.Testing;
using Microsoft.Playwright;
using KafkaCompat.TestSupport;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>
/// The console's brokers page and cluster controls on a cluster of three brokers in one process, in Debian's chromium:
/// a broker stopped and started again from its buttons, its connections dropped, a partition's leader moved from the
/// topic page, a fault armed from the form (and seen firing at a client) and cleared. What the page shows is checked
/// against the cluster itself.
/// </summary>
public sealed class ConsoleClusterTests : IAsyncLifetime
{
    private ConsoleBrowser _console = null!;
    private EmbeddedBroker _b = null!;

    public async Task InitializeAsync()
    {
        _console = await ConsoleBrowser.StartAsync(EmbeddedBroker.Start(brokers: 3));
        _b = _console.Broker;
    }

    public async Task DisposeAsync() => await _console.DisposeAsync();

    [Fact]
    public async Task BrokersAreStoppedAndStartedLeadersMovedAndFaultsArmedFromThePage()
    {
        Assert.Equal(ErrorCode.None, _b.Broker.CreateTopic("replicated", 3, 3, new(), validateOnly: false).Error);
        var topic = _b.Broker.Logs.Get("replicated")!;
        int[] ids = [.. _b.Broker.Cluster.Nodes.Select(n => n.Id)];
        int second = ids[1], third = ids[2];
        var page = await _console.OpenAsync("#brokers");
        int leading = 0;
        foreach (int id in ids)
        {
            Assert.Equal("running", await page.Locator($"#brokers tr[data-broker='{id}'] td.state").InnerTextAsync());
            leading += int.Parse(await page.Locator($"#brokers tr[data-broker='{id}'] td.leads").InnerTextAsync());
        }
        Assert.Equal(3 + _b.Broker.Logs.Topics.Where(t => t.Name != "replicated").Sum(t => t.Partitions.Length), leading);
        await ConsoleBrowser.ShotAsync(page, "brokers");

        // stop the second broker: its partitions move to the others; start it again
        await page.ClickAsync($"#brokers tr[data-broker='{second}'] button[data-op='stop']");
        await page.Locator($"#brokers tr[data-broker='{second}'] td.state:text-is('stopped')").WaitForAsync();
        Assert.Equal("0", await page.Locator($"#brokers tr[data-broker='{second}'] td.leads").InnerTextAsync());
        Assert.DoesNotContain(_b.Cluster.Status().Brokers, b => b.Id == second && b.Listening);
        Assert.All(Enumerable.Range(0, 3), p => Assert.NotEqual(second, _b.Broker.Cluster.Partition(topic, p).Leader));
        await ConsoleBrowser.ShotAsync(page, "brokers-stopped");
        await page.ClickAsync($"#brokers tr[data-broker='{second}'] button[data-op='start']");
        await page.Locator($"#brokers tr[data-broker='{second}'] td.state:text-is('running')").WaitForAsync();
        Assert.Contains(_b.Cluster.Status().Brokers, b => b.Id == second && b.Listening);

        // a client connected to the third broker loses its connection when the page drops them
        await using (var client = await KafkaCompat.Client.KafkaClient.ConnectAsync($"127.0.0.1:{_b.Cluster.PortOf(third)}"))
        {
            await page.ClickAsync($"#brokers tr[data-broker='{third}'] button[data-op='drop-connections']");
            var done = page.Locator($"#broker-out:has-text('broker {third}: drop-connections done')");
            await done.WaitForAsync();
            var closed = System.Text.RegularExpressions.Regex.Match(await done.InnerTextAsync(), @"\((\d+) connections closed\)");
            Assert.True(closed.Success && int.Parse(closed.Groups[1].Value) >= 1, await done.InnerTextAsync());
        }

        // the topic page moves partition 0's leader to a replica of its choosing
        var before = _b.Broker.Cluster.Partition(topic, 0);
        int target = before.Isr.First(r => r != before.Leader);
        await page.GotoAsync(_console.Url + "/#topic/replicated");
        await page.SelectOptionAsync("#partitions select[data-move='0']", target.ToString());
        await page.Locator($"#partitions tr[data-partition='0'] td.leader:text-is('{target}')").WaitForAsync();
        Assert.Equal(target, _b.Broker.Cluster.Partition(topic, 0).Leader);
        Assert.True(_b.Broker.Cluster.Partition(topic, 0).LeaderEpoch > before.LeaderEpoch);

        // a fault armed from the form fires at a client, and is cleared from its row
        await page.GotoAsync(_console.Url + "/#brokers");
        await page.SelectOptionAsync("#fault select[name=kind]", "error");
        await page.FillAsync("#fault input[name=api]", "CreateTopics");
        await page.FillAsync("#fault input[name=error]", "POLICY_VIOLATION");
        await page.FillAsync("#fault input[name=count]", "2");
        await page.ClickAsync("#fault button");
        await page.Locator("#fault-out:has-text('armed')").WaitForAsync();
        var armed = Assert.Single(_b.Broker.Faults.List());
        Assert.Equal((FaultKind.Error, ApiKey.CreateTopics, ErrorCode.PolicyViolation), (armed.Spec.Kind, armed.Spec.Api, armed.Spec.Error));
        await ConsoleBrowser.ShotAsync(page, "faults");
        var refused = await CliRunner.RunAsync(_b, null, "topic", "create", "blocked");
        Assert.Equal(1, refused.Exit);
        Assert.Contains("POLICY_VIOLATION", refused.Err);
        Assert.Null(_b.Broker.Logs.Get("blocked"));
        await page.ReloadAsync();
        Assert.Equal("1", await page.Locator($"#faults tr[data-fault='{armed.Id}'] td.fired").InnerTextAsync());
        Assert.Equal("1", await page.Locator($"#faults tr[data-fault='{armed.Id}'] td:nth-child(10)").InnerTextAsync()); // remaining
        await page.ClickAsync($"#faults button[data-clear='{armed.Id}']");
        await page.Locator("#no-faults").WaitForAsync();
        Assert.Empty(_b.Broker.Faults.List());

        // an invalid fault is refused with the API's reason
        await page.FillAsync("#fault input[name=api]", "Produce");
        await page.FillAsync("#fault input[name=error]", "NO_SUCH_ERROR");
        await page.ClickAsync("#fault button");
        await page.Locator("#fault-out.error:has-text(\"unknown error 'NO_SUCH_ERROR'\")").WaitForAsync();
    }
}
