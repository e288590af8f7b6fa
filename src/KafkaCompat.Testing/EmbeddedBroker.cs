using KafkaCompat.Broker;
using KafkaCompat.Broker.Config;
using KafkaCompat.Server;
using Microsoft.Extensions.Logging;

namespace KafkaCompat.Testing;

/// <summary>An in-process broker on an ephemeral port with its own data directory, for .NET test suites.</summary>
public sealed class EmbeddedBroker : IAsyncDisposable
{
    private readonly bool _ownsDir;

    public KafkaBroker Broker { get; }
    public KafkaServer Server { get; }
    public string DataDir { get; }
    public int Port => Server.LocalEndPoint!.Port;
    public string BootstrapServers => $"127.0.0.1:{Port}";

    private EmbeddedBroker(KafkaBroker broker, KafkaServer server, string dataDir, bool ownsDir)
    {
        Broker = broker;
        Server = server;
        DataDir = dataDir;
        _ownsDir = ownsDir;
    }

    /// <summary>Starts a broker. Pass <paramref name="dataDir"/> to reopen an existing log (restart tests).</summary>
    public static EmbeddedBroker Start(string? dataDir = null, IDictionary<string, string>? settings = null, ILoggerFactory? loggers = null, int port = 0)
    {
        bool owns = dataDir is null;
        dataDir ??= Path.Combine(Path.GetTempPath(), "kafkacompat-test-" + Guid.NewGuid().ToString("N")[..12]);
        var config = new BrokerConfig { Port = port, Host = "127.0.0.1", DataDir = dataDir };
        if (settings != null) foreach (var (k, v) in settings) config.Set(k, v);
        var broker = new KafkaBroker(config, loggers);
        var server = new KafkaServer(broker, loggers);
        server.Start();
        return new EmbeddedBroker(broker, server, dataDir, owns);
    }

    /// <summary>Stops the server and closes the logs cleanly; the data directory stays.</summary>
    public async ValueTask StopAsync()
    {
        Broker.Groups.Dispose(); // answer waiting joins and syncs before the connections close
        await Server.DisposeAsync();
        Broker.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (_ownsDir)
        {
            try { Directory.Delete(DataDir, recursive: true); } catch (IOException) { }
        }
    }
}
