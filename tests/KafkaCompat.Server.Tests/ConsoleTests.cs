using System.Net.Http.Json;
using System.Text;
using KafkaCompat.Client;
using KafkaCompat.Protocol;
using KafkaCompat.Records;
using KafkaCompat.Testing;
using Microsoft.Playwright;
using KafkaCompat.TestSupport;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>
/// The web console at / of the admin port, in a real browser (Debian's chromium driven by Playwright; the test command
/// installs it, and the test fails without it): the pages load, a message produced by a client and one produced from
/// the page's form are seen in the message browser, JSON shown readable, and a group's lag drops as it consumes; a
/// topic's configs set and removed from its page; messages browsed from a time; a group's members and assignments, and
/// its offsets reset from the page (refused while it has members); live rates while a producer runs. Screenshots of
/// each page go to TestResults/console/. The brokers page and the cluster controls: ConsoleClusterTests.
/// </summary>
public sealed class ConsoleTests : IAsyncLifetime
{
    private ConsoleBrowser _console = null!;
    private EmbeddedBroker _b = null!;

    public async Task InitializeAsync()
    {
        _console = await ConsoleBrowser.StartAsync(EmbeddedBroker.Start(settings: new Dictionary<string, string> { ["group.initial.rebalance.delay.ms"] = "0" }));
        _b = _console.Broker;
    }

    public async Task DisposeAsync() => await _console.DisposeAsync();

    [Fact]
    public async Task PagesShowTopicsMessagesAndAGroupsLagFalling()
    {
        Assert.Equal(ErrorCode.None, _b.Broker.CreateTopic("shop", 2, 1, new(), validateOnly: false).Error);
        var produced = await CliRunner.RunAsync(_b, "from-a-client\nsecond\nthird\n", "produce", "shop", "--partition", "0");
        Assert.True(produced.Exit == 0, produced.Err);

        var page = await _console.OpenAsync();
        await page.Locator("#topics tr[data-topic='shop']").WaitForAsync();
        Assert.Contains("3, 0", await page.Locator("#topics tr[data-topic='shop']").InnerTextAsync()); // end offsets per partition
        await ConsoleBrowser.ShotAsync(page, "topics");

        // the client's messages, then one produced from the page's form: JSON shown indented
        await page.GotoAsync(_console.Url + "/#messages/shop");
        await page.Locator("#messages td:has-text('from-a-client')").WaitForAsync();
        await page.FillAsync("#produce input[name=key]", "order-7");
        await page.FillAsync("#produce textarea[name=value]", """{"item":"book","qty":2}""");
        await page.ClickAsync("#produce button");
        await page.Locator("#produced:has-text('written at offset 3')").WaitForAsync();
        var json = page.Locator("#messages tr:has(td:text-is('order-7')) td.json pre");
        Assert.Equal("{\n  \"item\": \"book\",\n  \"qty\": 2\n}", await json.InnerTextAsync());
        await ConsoleBrowser.ShotAsync(page, "messages");

        // a group that read 1 of 4 has a lag of 3; after it reads the rest, 0
        var first = await CliRunner.RunAsync(_b, null, "consume", "shop", "--group", "buyers", "--from-beginning", "--count", "1");
        Assert.True(first.Exit == 0, first.Err);
        await page.GotoAsync(_console.Url + "/#groups");
        var lag = page.Locator("#groups tr[data-group='buyers']:has(td:nth-child(6):text-is('0')) td.lag");
        await lag.WaitForAsync();
        Assert.Equal("3", await lag.InnerTextAsync());
        await ConsoleBrowser.ShotAsync(page, "groups");
        var rest = await CliRunner.RunAsync(_b, null, "consume", "shop", "--group", "buyers");
        Assert.True(rest.Exit == 0, rest.Err);
        await page.ReloadAsync();
        Assert.Equal("0", await lag.InnerTextAsync());
    }

    [Fact]
    public async Task ATopicsConfigsAreSetAndRemovedFromItsPage()
    {
        Assert.Equal(ErrorCode.None, _b.Broker.CreateTopic("tuned", 3, 1, new(), validateOnly: false).Error);
        var page = await _console.OpenAsync("#topics");
        await page.ClickAsync("#topics tr[data-topic='tuned'] a[href='#topic/tuned']");
        await page.Locator("#partitions tr[data-partition='2']").WaitForAsync();
        Assert.Equal("DEFAULT_CONFIG", await page.Locator("#configs tr[data-config='retention.ms'] td.source").InnerTextAsync());

        await page.FillAsync("#config input[name=name]", "retention.ms");
        await page.FillAsync("#config input[name=value]", "3600000");
        await page.ClickAsync("#config button");
        await page.Locator("#config-out:has-text('retention.ms set')").WaitForAsync();
        Assert.Equal("3600000", await page.Locator("#configs tr[data-config='retention.ms'] td.value").InnerTextAsync());
        Assert.Equal("DYNAMIC_TOPIC_CONFIG", await page.Locator("#configs tr[data-config='retention.ms'] td.source").InnerTextAsync());
        Assert.Equal("3600000", _b.Broker.Logs.Get("tuned")!.Record.Configs["retention.ms"]);
        await ConsoleBrowser.ShotAsync(page, "topic");

        // a bad value is refused with Kafka's error, and nothing changes
        await page.FillAsync("#config input[name=name]", "cleanup.policy");
        await page.FillAsync("#config input[name=value]", "sometimes");
        await page.ClickAsync("#config button");
        await page.Locator("#config-out.error:has-text('INVALID_CONFIG')").WaitForAsync();
        Assert.False(_b.Broker.Logs.Get("tuned")!.Record.Configs.ContainsKey("cleanup.policy"));

        await page.ClickAsync("#configs button[data-unset='retention.ms']");
        await page.Locator("#configs tr[data-config='retention.ms'] td.source:text-is('DEFAULT_CONFIG')").WaitForAsync();
        Assert.False(_b.Broker.Logs.Get("tuned")!.Record.Configs.ContainsKey("retention.ms"));
    }

    [Fact]
    public async Task MessagesAreBrowsedFromATimeWithHeadersAndBinaryAsHex()
    {
        Assert.Equal(ErrorCode.None, _b.Broker.CreateTopic("timeline", 1, 1, new(), validateOnly: false).Error);
        var log = _b.Broker.Logs.Get("timeline")!.Partitions[0];
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        for (int i = 0; i < 3; i++)
            log.Append(new RecordBatchBuilder().Add(Encoding.UTF8.GetBytes($"k{i}"), i == 2 ? [0xff, 0x00, 0x10] : Encoding.UTF8.GetBytes($"hour-{i}"),
                start.AddHours(i).ToUnixTimeMilliseconds(), [new RecordHeader("trace", Encoding.UTF8.GetBytes($"t{i}"))]).Build());

        var page = await _console.OpenAsync("#messages/timeline");
        await page.Locator("#messages tr[data-offset='0']").WaitForAsync();
        await page.FillAsync("#browse input[name=time]", "2026-01-01T00:30");
        await page.ClickAsync("#browse button");
        // the first page's rows (0 to 2) stay until the answer replaces them: wait for offset 0 to go, not for 1 to come
        await page.Locator("#messages tr[data-offset='0']").WaitForAsync(new() { State = Microsoft.Playwright.WaitForSelectorState.Detached });
        await page.Locator("#messages tr[data-offset='1']").WaitForAsync();
        Assert.Equal(0, await page.Locator("#messages tr[data-offset='0']").CountAsync()); // before the time
        Assert.Equal("2026-01-01T01:00:00.000Z", await page.Locator("#messages tr[data-offset='1'] td:nth-child(3)").InnerTextAsync());
        Assert.Equal("trace=t1", await page.Locator("#messages tr[data-offset='1'] td:nth-child(6)").InnerTextAsync());
        Assert.Equal("ff0010", await page.Locator("#messages tr[data-offset='2'] td.hex").InnerTextAsync());
        await ConsoleBrowser.ShotAsync(page, "messages-by-time");

        // after the last record: nothing to show
        await page.FillAsync("#browse input[name=time]", "2026-01-01T03:00");
        await page.ClickAsync("#browse button");
        await page.Locator("#none").WaitForAsync();
    }

    [Fact]
    public async Task AGroupsMembersAreShownAndItsOffsetsResetOnlyWhenItIsEmpty()
    {
        Assert.Equal(ErrorCode.None, _b.Broker.CreateTopic("ledger", 2, 1, new(), validateOnly: false).Error);
        for (int p = 0; p < 2; p++)
        {
            var produced = await CliRunner.RunAsync(_b, "a\nb\nc\n", "produce", "ledger", "--partition", p.ToString());
            Assert.True(produced.Exit == 0, produced.Err);
        }
        var read = await CliRunner.RunAsync(_b, null, "consume", "ledger", "--group", "auditors", "--from-beginning");
        Assert.True(read.Exit == 0, read.Err);
        Assert.All(_b.Broker.GroupOffsets("auditors"), o => Assert.Equal(3, o.Committed));

        // a live member: shown with its partitions, and a reset is refused
        await using var client = await KafkaClient.ConnectAsync(_b.BootstrapServers);
        var member = new GroupConsumer(client, "auditors", "ledger", sessionTimeoutMs: 6000);
        Assert.Equal([0, 1], await member.JoinAsync(default));
        var page = await _console.OpenAsync("#groups");
        await page.ClickAsync("#groups tr[data-group='auditors'] a");
        await page.Locator("#members td:text-is('ledger-0, ledger-1')").WaitForAsync();
        Assert.Equal("Stable", await page.Locator("#state").InnerTextAsync());
        await page.SelectOptionAsync("#reset select[name=to]", "earliest");
        await page.ClickAsync("#reset button");
        await page.Locator("#reset-out.error:has-text('NON_EMPTY_GROUP')").WaitForAsync();
        Assert.All(_b.Broker.GroupOffsets("auditors"), o => Assert.Equal(3, o.Committed));
        await ConsoleBrowser.ShotAsync(page, "group");

        // once it left: to earliest, then shift by 2
        await member.DisposeAsync();
        await page.ReloadAsync();
        await page.Locator("#state:text-is('Empty')").WaitForAsync();
        await page.SelectOptionAsync("#reset select[name=to]", "earliest");
        await page.ClickAsync("#reset button");
        await page.Locator("#reset-out:has-text('0: 3 → 0, 1: 3 → 0')").WaitForAsync();
        Assert.Equal("3", await page.Locator("#offsets tr[data-tp='ledger-1'] td.lag").InnerTextAsync());
        await page.SelectOptionAsync("#reset select[name=to]", "shift");
        await page.FillAsync("#reset input[name=value]", "2");
        await page.ClickAsync("#reset button");
        await page.Locator("#reset-out:has-text('0: 0 → 2, 1: 0 → 2')").WaitForAsync();
        Assert.All(_b.Broker.GroupOffsets("auditors"), o => Assert.Equal(2, o.Committed));

        // a client of the group resumes from there: one record left per partition
        var rest = await CliRunner.RunAsync(_b, null, "consume", "ledger", "--group", "auditors", "--format", "%p %o\n");
        Assert.True(rest.Exit == 0, rest.Err);
        Assert.Equal(["0 2", "1 2"], rest.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order());
    }

    [Fact]
    public async Task LiveRatesFollowAProducer()
    {
        Assert.Equal(ErrorCode.None, _b.Broker.CreateTopic("busy", 1, 1, new(), validateOnly: false).Error);
        Assert.Equal(ErrorCode.None, _b.Broker.CreateTopic("quiet", 1, 1, new(), validateOnly: false).Error);
        var page = await _console.OpenAsync("#topics");
        await page.Locator("#topics td.rate[data-topic='busy']").WaitForAsync();
        using var stop = new CancellationTokenSource();
        var producer = Task.Run(async () =>
        {
            await using var client = await KafkaClient.ConnectAsync(_b.BootstrapServers);
            var layout = await TopicLayout.LoadAsync(client, "busy", allowAutoCreate: false, default);
            while (!stop.IsCancellationRequested)
            {
                var batch = new RecordBatchBuilder();
                for (int i = 0; i < 50; i++) batch.Add(default, Encoding.UTF8.GetBytes($"m{i}"), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), nullKey: true);
                await TopicIo.ProduceAsync(client, layout, 0, batch.Build(), acks: 1, default);
                await Task.Delay(20);
            }
        });
        try
        {
            // a rate above zero for the busy topic, none for the quiet one, and in the header
            var handle = await page.WaitForFunctionAsync("""
                () => parseFloat(document.querySelector("td.rate[data-topic='busy']").textContent) > 0
                    && parseFloat(document.getElementById('rates').textContent) > 0 && document.getElementById('rates').textContent
                """, null, new() { Timeout = 15_000 });
            string rates = await handle.JsonValueAsync<string>();
            Assert.Equal("0.0", await page.Locator("#topics td.rate[data-topic='quiet']").InnerTextAsync());
            Assert.Matches(@"^\d+(\.\d)? msg/s · in [\d.]+ (B|KiB|MiB)/s · out [\d.]+ (B|KiB|MiB)/s · \d+(\.\d)? req/s$", rates);
            await ConsoleBrowser.ShotAsync(page, "rates");
        }
        finally
        {
            await stop.CancelAsync();
            await producer;
        }
    }
}
