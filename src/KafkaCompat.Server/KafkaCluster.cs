using KafkaCompat.Broker;
using KafkaCompat.Protocol;
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

    /// <summary>How long a stopping broker goes on answering (NOT_LEADER_OR_FOLLOWER, with the new leaders) after its
    /// partitions moved, before it closes and is fenced.</summary>
    public static readonly TimeSpan DefaultShutdownGrace = TimeSpan.FromMilliseconds(300);

    /// <summary>Stops a broker as Kafka's controlled shutdown looks to clients: its partitions move to other in-sync
    /// replicas (new leader epochs) while it is still listed and answering, so clients learn the new leaders; after
    /// <paramref name="grace"/> (default <see cref="DefaultShutdownGrace"/>) its listener and every connection close and
    /// it is fenced (Metadata stops listing it). Returns false when it was not running.</summary>
    public async Task<bool> StopBrokerAsync(int nodeId, TimeSpan? grace = null)
    {
        if (Broker.Cluster.Node(nodeId) is null) throw new ArgumentException($"no broker {nodeId}", nameof(nodeId));
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!_servers.Remove(nodeId, out var server)) return false;
            Broker.Cluster.StopNode(nodeId);
            var wait = grace ?? DefaultShutdownGrace;
            if (wait > TimeSpan.Zero) await Task.Delay(wait).ConfigureAwait(false);
            Broker.Cluster.Fence(nodeId);
            await server.DisposeAsync().ConfigureAwait(false);
            return true;
        }
        finally
        {
            _lock.Release();
        }
    }

    private readonly Dictionary<int, CancellationTokenSource> _killed = new();

    /// <summary>Kills a broker as a crash looks to clients: its listener and connections close at once, but it keeps its
    /// partitions (clients cannot reach their leader) until broker.session.timeout.ms passes without it coming back;
    /// then it is fenced and its partitions move to in-sync replicas, as Kafka's controller does for a broker that
    /// stopped heartbeating. Returns false when it was not running.</summary>
    public async Task<bool> KillBrokerAsync(int nodeId)
    {
        if (Broker.Cluster.Node(nodeId) is null) throw new ArgumentException($"no broker {nodeId}", nameof(nodeId));
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!_servers.Remove(nodeId, out var server)) return false;
            await server.DisposeAsync().ConfigureAwait(false);
            var fence = new CancellationTokenSource();
            _killed[nodeId] = fence;
            _ = FenceLaterAsync(nodeId, TimeSpan.FromMilliseconds(Math.Max(0, Broker.Config.BrokerSessionTimeoutMs)), fence.Token);
            return true;
        }
        finally
        {
            _lock.Release();
        }
    }

    private async Task FenceLaterAsync(int nodeId, TimeSpan after, CancellationToken cancelled)
    {
        try { await Task.Delay(after, cancelled).ConfigureAwait(false); }
        catch (OperationCanceledException) { return; }
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (cancelled.IsCancellationRequested || !_killed.Remove(nodeId, out var cts)) return;
            cts.Dispose();
            Broker.Cluster.StopNode(nodeId);
            Broker.Cluster.Fence(nodeId);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Starts a stopped (or killed) broker on the port it had: it rejoins the in-sync replicas of its partitions
    /// and leads those that had no leader (preferred leaders come back through ElectLeaders or
    /// auto.leader.rebalance.enable); a killed broker back before its session timeout keeps what it led. Returns false
    /// when it was running.</summary>
    public async Task<bool> StartBrokerAsync(int nodeId)
    {
        var node = Broker.Cluster.Node(nodeId) ?? throw new ArgumentException($"no broker {nodeId}", nameof(nodeId));
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_servers.ContainsKey(nodeId)) return false;
            if (_killed.Remove(nodeId, out var fence))
            {
                fence.Cancel();
                fence.Dispose();
            }
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

    /// <summary>Closes every client connection of a running broker (its listener stays open); -1 when it is stopped.</summary>
    public int DropConnections(int nodeId) => Server(nodeId)?.DropConnections() ?? -1;

    /// <summary>Moves a partition's leadership to <paramref name="nodeId"/> (a live in-sync replica), with a new epoch.</summary>
    public (ErrorCode Error, string? Message) MoveLeader(string topic, int partition, int nodeId)
    {
        if (FindPartition(topic, partition) is { } missing) return missing;
        return Broker.Cluster.MoveLeader(Broker.Logs.Get(topic)!, partition, nodeId);
    }

    /// <summary>Reassigns a partition's replicas (as AlterPartitionReassignments does).</summary>
    public (ErrorCode Error, string? Message) Reassign(string topic, int partition, IReadOnlyList<int> replicas)
    {
        if (FindPartition(topic, partition) is { } missing) return missing;
        return Broker.ReassignPartition(Broker.Logs.Get(topic)!, partition, replicas, allowReplicationFactorChange: true);
    }

    /// <summary>Preferred leader election for every partition of <paramref name="topic"/> (all topics when null); returns
    /// how many partitions changed leader.</summary>
    public int ElectPreferredLeaders(string? topic = null)
    {
        int moved = 0;
        foreach (var t in Broker.Logs.Topics.Where(t => topic is null || t.Name == topic).ToList())
            for (int p = 0; p < t.Partitions.Length; p++)
                if (Broker.Cluster.ElectPreferred(t, p) == ErrorCode.None) moved++;
        return moved;
    }

    private (ErrorCode, string?)? FindPartition(string topic, int partition) =>
        Broker.Logs.Get(topic) is { } t && partition >= 0 && partition < t.Partitions.Length ? null
            : (ErrorCode.UnknownTopicOrPartition, $"no partition {topic}-{partition}");

    /// <summary>The cluster as the control surfaces show it: brokers, partitions, armed faults.</summary>
    public ClusterStatus Status()
    {
        var cluster = Broker.Cluster;
        var brokers = cluster.Nodes.Select(n => new BrokerStatus(n.Id, _ports[n.Id], n.Rack, n.Alive, _servers.ContainsKey(n.Id))).ToList();
        var topics = Broker.Logs.Topics.OrderBy(t => t.Name, StringComparer.Ordinal).Select(t => new TopicStatus(t.Name, t.Id,
            [.. Enumerable.Range(0, t.Partitions.Length).Select(p =>
            {
                var s = cluster.Partition(t, p);
                var log = t.Partitions[p];
                return new PartitionStatus(p, s.Leader, s.LeaderEpoch, s.Replicas, s.Isr, cluster.Offline(s), log.LogStartOffset, log.HighWatermark);
            })])).ToList();
        return new ClusterStatus(Broker.ClusterId, cluster.ControllerId, brokers, topics, Broker.Faults.List());
    }

    public async ValueTask DisposeAsync()
    {
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            foreach (var fence in _killed.Values) fence.Cancel();
            _killed.Clear();
            foreach (var server in _servers.Values) await server.DisposeAsync().ConfigureAwait(false);
            _servers.Clear();
        }
        finally
        {
            _lock.Release();
        }
    }
}

/// <summary>A broker of the cluster: its id, port, rack, whether it is a live member (leads, in ISRs) and whether its
/// listener is open (a killed broker is a member without a listener until it is fenced).</summary>
public sealed record BrokerStatus(int Id, int Port, string? Rack, bool Alive, bool Listening);

/// <summary>A partition: leader (-1: none), leader epoch, replicas, in-sync and offline replicas, and its offsets.</summary>
public sealed record PartitionStatus(int Partition, int Leader, int LeaderEpoch, int[] Replicas, int[] Isr, int[] Offline, long LogStartOffset, long HighWatermark);

public sealed record TopicStatus(string Name, Guid Id, List<PartitionStatus> Partitions);

public sealed record ClusterStatus(string ClusterId, int ControllerId, List<BrokerStatus> Brokers, List<TopicStatus> Topics, IReadOnlyList<FaultState> Faults);
