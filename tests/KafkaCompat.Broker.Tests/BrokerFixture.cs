using KafkaCompat.Broker.Config;
using Microsoft.Extensions.Time.Testing;

namespace KafkaCompat.Broker.Tests;

/// <summary>A broker without a listener, on a fake clock, in a fresh data directory; reopened on the same directory
/// to see what survives a restart.</summary>
public sealed class BrokerFixture : IDisposable
{
    public string DataDir { get; } = Path.Combine(Path.GetTempPath(), "kc-broker-" + Guid.NewGuid().ToString("N")[..10]);
    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
    public KafkaBroker Broker { get; private set; }
    private readonly Dictionary<string, string> _settings;

    public BrokerFixture(Dictionary<string, string>? settings = null)
    {
        _settings = settings ?? new();
        Broker = Start();
    }

    private KafkaBroker Start()
    {
        var config = new BrokerConfig { Port = 0, Host = "127.0.0.1", DataDir = DataDir };
        foreach (var (k, v) in _settings) config.Set(k, v);
        var b = new KafkaBroker(config, time: Clock);
        b.Transactions.WaitLoadedAsync().GetAwaiter().GetResult();
        b.Groups.WaitLoadedAsync().GetAwaiter().GetResult();
        return b;
    }

    /// <summary>A clean stop and a start on the same data directory.</summary>
    public void Restart()
    {
        Broker.Dispose();
        Broker = Start();
    }

    public void Dispose()
    {
        Broker.Dispose();
        try { Directory.Delete(DataDir, recursive: true); } catch (IOException) { }
    }
}
