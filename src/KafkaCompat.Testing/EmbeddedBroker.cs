using KafkaCompat.Broker;
using KafkaCompat.Broker.Config;
using KafkaCompat.Server;
using Microsoft.Extensions.Logging;

namespace KafkaCompat.Testing;

/// <summary>An in-process broker on an ephemeral port with its own data directory, for .NET test suites.</summary>
internal sealed class EmbeddedBroker : IAsyncDisposable
{
    private readonly bool _ownsDir;

    public KafkaBroker Broker { get; }
    /// <summary>The listeners of the cluster's brokers.</summary>
    public KafkaCluster Cluster { get; }
    /// <summary>The first broker's listener.</summary>
    public KafkaServer Server => Cluster.First;
    public string DataDir { get; }
    /// <summary>The first broker's port.</summary>
    public int Port => Cluster.PortOf(Broker.Cluster.First.Id);
    /// <summary>Every broker's host:port.</summary>
    public string BootstrapServers => Cluster.BootstrapServers();

    private EmbeddedBroker(KafkaBroker broker, KafkaCluster cluster, string dataDir, bool ownsDir)
    {
        Broker = broker;
        Cluster = cluster;
        DataDir = dataDir;
        _ownsDir = ownsDir;
    }

    /// <summary>Starts a broker. Pass <paramref name="dataDir"/> to reopen an existing log (restart tests).</summary>
    /// <param name="brokers">How many brokers the cluster has (each on its own ephemeral port when port is 0).</param>
    /// <param name="racks">broker.rack of each broker, in node order.</param>
    /// <param name="addScram">SCRAM users to set, as <c>serve --add-scram</c> takes them:
    /// <c>SCRAM-SHA-256=[name=alice,password=alice-secret]</c>.</param>
    public static EmbeddedBroker Start(string? dataDir = null, IDictionary<string, string>? settings = null, ILoggerFactory? loggers = null, int port = 0,
        int brokers = 1, IReadOnlyList<string?>? racks = null, IEnumerable<string>? addScram = null)
    {
        bool owns = dataDir is null;
        dataDir ??= Path.Combine(Path.GetTempPath(), "kafkacompat-test-" + Guid.NewGuid().ToString("N")[..12]);
        var config = new BrokerConfig { Port = port, Host = "127.0.0.1", DataDir = dataDir, Brokers = brokers, Racks = racks };
        if (settings != null) foreach (var (k, v) in settings) config.Set(k, v);
        if (addScram != null) config.AddScram = [.. addScram];
        var broker = new KafkaBroker(config, loggers);
        var cluster = new KafkaCluster(broker, loggers);
        cluster.Start();
        return new EmbeddedBroker(broker, cluster, dataDir, owns);
    }

    /// <summary>The admin HTTP API, once started.</summary>
    public KafkaCompat.Server.Admin.AdminServer? Admin { get; private set; }

    /// <summary>Starts the admin HTTP API on a free port (for test scripts in other languages).</summary>
    public async Task<KafkaCompat.Server.Admin.AdminServer> StartAdminAsync() =>
        Admin ??= await KafkaCompat.Server.Admin.AdminServer.StartAsync(Cluster, "127.0.0.1", 0);

    /// <summary>Stops the server and closes the logs cleanly; the data directory stays.</summary>
    public async ValueTask StopAsync()
    {
        if (Admin != null) await Admin.DisposeAsync();
        Admin = null;
        Broker.Groups.Dispose(); // answer waiting joins and syncs before the connections close
        await Cluster.DisposeAsync();
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
