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

    /// <summary>Stops a broker as a crash or shutdown would look to clients: its partitions move to other in-sync
    /// replicas (new leader epochs), then its listener and every connection to it close. Returns false when it was
    /// not running.</summary>
    public async Task<bool> StopBrokerAsync(int nodeId)
    {
        if (Broker.Cluster.Node(nodeId) is null) throw new ArgumentException($"no broker {nodeId}", nameof(nodeId));
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!_servers.Remove(nodeId, out var server)) return false;
            Broker.Cluster.StopNode(nodeId);
            await server.DisposeAsync().ConfigureAwait(false);
            return true;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Starts a stopped broker on the port it had: it rejoins the in-sync replicas of its partitions and leads
    /// those that had no leader (preferred leaders come back through ElectLeaders or auto.leader.rebalance.enable).
    /// Returns false when it was running.</summary>
    public async Task<bool> StartBrokerAsync(int nodeId)
    {
        var node = Broker.Cluster.Node(nodeId) ?? throw new ArgumentException($"no broker {nodeId}", nameof(nodeId));
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_servers.ContainsKey(nodeId)) return false;
            var server = new KafkaServer(Broker, _loggers, node, _ports[nodeId]);
            server.Start();
            _servers[nodeId] = server;
            Broker.Cluster.StartNode(nodeId);
            return true;
        }
        finally
        {
            _lock.Release();
        }
    }

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
