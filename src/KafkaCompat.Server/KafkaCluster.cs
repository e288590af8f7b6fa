using KafkaCompat.Broker;
using Microsoft.Extensions.Logging;

namespace KafkaCompat.Server;

/// <summary>The listeners of every broker of the cluster this process runs (one unless --brokers N): broker i binds
/// the configured port plus i (or an ephemeral port when the configured one is 0). A broker can be stopped (its
/// listener and connections close) and started again on the port it had.</summary>
public sealed class KafkaCluster : IAsyncDisposable
{
    private readonly ILoggerFactory? _loggers;
    private readonly Dictionary<int, KafkaServer> _servers = new();
    private readonly Dictionary<int, int> _ports = new();
    private readonly SemaphoreSlim _lock = new(1, 1);

    public KafkaBroker Broker { get; }

    public KafkaCluster(KafkaBroker broker, ILoggerFactory? loggers = null)
    {
        Broker = broker;
        _loggers = loggers;
        var cfg = broker.Config;
        foreach (var node in broker.Cluster.Nodes)
            _ports[node.Id] = cfg.Port == 0 ? 0 : cfg.Port + (node.Id - broker.Cluster.First.Id);
    }

    /// <summary>Binds every broker's listener.</summary>
    public void Start()
    {
        foreach (var node in Broker.Cluster.Nodes)
        {
            var server = new KafkaServer(Broker, _loggers, node, _ports[node.Id]);
            server.Start();
            _servers[node.Id] = server;
            _ports[node.Id] = server.BoundPort;
        }
    }

    /// <summary>The first broker's listener.</summary>
    public KafkaServer First => _servers[Broker.Cluster.First.Id];

    /// <summary>A running broker's listener, or null while it is stopped.</summary>
    public KafkaServer? Server(int nodeId) => _servers.GetValueOrDefault(nodeId);

    /// <summary>The port a broker binds (also while it is stopped).</summary>
    public int PortOf(int nodeId) => _ports[nodeId];

    /// <summary>host:port of every broker, for bootstrap.servers.</summary>
    public string BootstrapServers(string host = "127.0.0.1") => string.Join(",", Broker.Cluster.Nodes.Select(n => $"{host}:{_ports[n.Id]}"));

    public async ValueTask DisposeAsync()
    {
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            foreach (var server in _servers.Values) await server.DisposeAsync().ConfigureAwait(false);
            _servers.Clear();
        }
        finally
        {
            _lock.Release();
        }
    }
}
