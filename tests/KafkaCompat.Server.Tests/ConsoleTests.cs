using KafkaCompat.Protocol;
using KafkaCompat.Testing;
using Microsoft.Playwright;
using KafkaCompat.TestSupport;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>
/// The web console at / of the admin port, in a real browser (Debian's chromium driven by Playwright; the test command
/// installs it, and the test fails without it): the pages load, a message produced by a client and one produced from
/// the page's form are seen in the message browser, JSON shown readable, and a group's lag drops as it consumes.
/// Screenshots of each page go to TestResults/console/.
/// </summary>
public sealed class ConsoleTests : IAsyncLifetime
{
    private const string Chromium = "/usr/bin/chromium";
    private EmbeddedBroker _b = null!;
    private string _url = "";
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;
    private static readonly string Shots = Path.Combine(RepoPaths.Root, "TestResults", "console");

    public async Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(settings: new Dictionary<string, string> { ["group.initial.rebalance.delay.ms"] = "0" });
        _url = (await _b.StartAdminAsync()).Url;
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: the test command installs Debian's chromium");
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
        Directory.CreateDirectory(Shots);
    }

    public async Task DisposeAsync()
    {
        if (_browser != null) await _browser.DisposeAsync();
        _playwright?.Dispose();
        await _b.DisposeAsync();
    }

    [Fact]
    public async Task PagesShowTopicsMessagesAndAGroupsLagFalling()
    {
        Assert.Equal(ErrorCode.None, _b.Broker.CreateTopic("shop", 2, 1, new(), validateOnly: false).Error);
        var produced = await CliRunner.RunAsync(_b, "from-a-client\nsecond\nthird\n", "produce", "shop", "--partition", "0");
        Assert.True(produced.Exit == 0, produced.Err);

        var page = await _browser.NewPageAsync();
        await page.GotoAsync(_url + "/");
        await page.Locator("#topics tr[data-topic='shop']").WaitForAsync();
        Assert.Contains("3, 0", await page.Locator("#topics tr[data-topic='shop']").InnerTextAsync()); // end offsets per partition
        await page.ScreenshotAsync(new() { Path = Path.Combine(Shots, "topics.png"), FullPage = true });

        // the client's messages, then one produced from the page's form: JSON shown indented
        await page.GotoAsync(_url + "/#messages/shop");
        await page.Locator("#messages td:has-text('from-a-client')").WaitForAsync();
        await page.FillAsync("#produce input[name=key]", "order-7");
        await page.FillAsync("#produce textarea[name=value]", """{"item":"book","qty":2}""");
        await page.ClickAsync("#produce button");
        await page.Locator("#produced:has-text('written at offset 3')").WaitForAsync();
        var json = page.Locator("#messages tr:has(td:text-is('order-7')) td.json pre");
        Assert.Equal("{\n  \"item\": \"book\",\n  \"qty\": 2\n}", await json.InnerTextAsync());
        await page.ScreenshotAsync(new() { Path = Path.Combine(Shots, "messages.png"), FullPage = true });

        // a group that read 1 of 4 has a lag of 3; after it reads the rest, 0
        var first = await CliRunner.RunAsync(_b, null, "consume", "shop", "--group", "buyers", "--from-beginning", "--count", "1");
        Assert.True(first.Exit == 0, first.Err);
        await page.GotoAsync(_url + "/#groups");
        var lag = page.Locator("#groups tr[data-group='buyers']:has(td:nth-child(6):text-is('0')) td.lag");
        await lag.WaitForAsync();
        Assert.Equal("3", await lag.InnerTextAsync());
        await page.ScreenshotAsync(new() { Path = Path.Combine(Shots, "groups.png"), FullPage = true });
        var rest = await CliRunner.RunAsync(_b, null, "consume", "shop", "--group", "buyers");
        Assert.True(rest.Exit == 0, rest.Err);
        await page.ReloadAsync();
        Assert.Equal("0", await lag.InnerTextAsync());
    }
}
