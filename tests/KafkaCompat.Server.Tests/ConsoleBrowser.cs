using KafkaCompat.Testing;
using Microsoft.Playwright;
using KafkaCompat.TestSupport;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>A broker with its admin port, and Debian's chromium driven by Playwright (the test command installs it; a
/// test fails without it), for the console tests. Screenshots go to TestResults/console/.</summary>
internal sealed class ConsoleBrowser : IAsyncDisposable
{
    private const string Chromium = "/usr/bin/chromium";
    public static readonly string Shots = Path.Combine(RepoPaths.Root, "TestResults", "console");
    public EmbeddedBroker Broker { get; private init; } = null!;
    public string Url { get; private init; } = "";
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public static async Task<ConsoleBrowser> StartAsync(EmbeddedBroker broker)
    {
        var url = (await broker.StartAdminAsync()).Url;
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: the test command installs Debian's chromium");
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
        Directory.CreateDirectory(Shots);
        return new ConsoleBrowser { Broker = broker, Url = url, _playwright = playwright, _browser = browser };
    }

    /// <summary>A new page at <paramref name="hash"/> of the console (#topics, #brokers, ...).</summary>
    public async Task<IPage> OpenAsync(string hash = "")
    {
        var page = await _browser.NewPageAsync();
        await page.GotoAsync(Url + "/" + hash);
        return page;
    }

    public static Task ShotAsync(IPage page, string name) => page.ScreenshotAsync(new() { Path = Path.Combine(Shots, name + ".png"), FullPage = true });

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
        await Broker.DisposeAsync();
    }
}
