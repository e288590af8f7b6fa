// The cluster this process emulates: its brokers (one by default, --brokers N for several, each with its own
// listener), and per partition the replicas, the in-sync replicas, the leader and the leader epoch. The data of a
// partition is stored once underneath; which broker may serve it, and which replicas count as in sync, is the state
// kept here (Kafka keeps it in the controller's metadata log; kfake keeps it per partition beside its brokers).
using System.Collections.Concurrent;
using KafkaCompat.Protocol;
using KafkaCompat.Storage;

namespace KafkaCompat.Broker.Cluster;

/// <summary>One broker of the cluster.</summary>
public sealed class BrokerNode(int id, string? rack)
{
    public int Id { get; } = id;
    /// <summary>broker.rack, or null.</summary>
    public string? Rack { get; } = rack;
    /// <summary>The port clients of the first listener are told to use; set when the node's listener binds.</summary>
    public int Port { get; set; }
    /// <summary>The advertised port of each listener (the first is <see cref="Port"/>); set when the node's listeners bind.</summary>
    public int[] ListenerPorts { get; set; } = [];
    /// <summary>The port clients of listener <paramref name="listener"/> (its index in <c>listeners</c>) are told.</summary>
    public int PortOf(int listener) => listener == 0 || listener >= ListenerPorts.Length ? Port : ListenerPorts[listener];
    /// <summary>False while the broker is stopped (or stopping): it leads nothing and is in no ISR.</summary>
    public bool Alive { get; internal set; } = true;
    /// <summary>False once a stopped broker is fenced: Metadata no longer lists it. A stopping broker stays listed for
    /// its controlled shutdown, as in Kafka, so clients learn the new leaders while it still answers.</summary>
    public bool Registered { get; internal set; } = true;
}

/// <summary>A partition's replicas (the preferred leader first), in-sync replicas, leader (-1 when none is alive) and
/// leader epoch. Immutable: a change replaces it.</summary>
public sealed record PartitionState(int[] Replicas, int[] Isr, int Leader, int LeaderEpoch);

public sealed class ClusterState
{
    private readonly BrokerNode[] _nodes;
    private readonly ConcurrentDictionary<(Guid Topic, int Partition), PartitionState> _partitions = new();

    /// <param name="firstNodeId">The id of the first broker (node.id); the others follow it.</param>
    /// <param name="racks">broker.rack per broker, in node order (null or shorter: no rack).</param>
    public ClusterState(int firstNodeId, int brokers, IReadOnlyList<string?>? racks = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);
        _nodes = [.. Enumerable.Range(0, brokers).Select(i =>
            new BrokerNode(firstNodeId + i, racks != null && i < racks.Count && !string.IsNullOrEmpty(racks[i]) ? racks[i] : null))];
    }

    public IReadOnlyList<BrokerNode> Nodes => _nodes;
    /// <summary>The first broker: the only one unless several were asked for.</summary>
    public BrokerNode First => _nodes[0];
    public bool SingleNode => _nodes.Length == 1;
    public BrokerNode? Node(int id) => Array.Find(_nodes, n => n.Id == id);
    public IEnumerable<BrokerNode> LiveNodes => _nodes.Where(n => n.Alive);
    /// <summary>The brokers Metadata lists: running, or stopping and not yet fenced.</summary>
    public IEnumerable<BrokerNode> RegisteredNodes => _nodes.Where(n => n.Registered);

    /// <summary>A stopped broker's controlled shutdown is over: Metadata no longer lists it.</summary>
    public void Fence(int id)
    {
        var node = Node(id) ?? throw new ArgumentException($"no broker {id}", nameof(id));
        if (!node.Alive) node.Registered = false;
    }
    private bool IsAlive(int id) => Node(id)?.Alive == true;

    /// <summary>The broker Metadata and DescribeCluster name as controller: the lowest live broker id (a KRaft cluster
    /// names a broker, to which admin requests go).</summary>
    public int ControllerId => LiveNodes.FirstOrDefault()?.Id ?? -1;

    /// <summary>The replicas assigned to a partition, the preferred leader first.</summary>
    public int[] ReplicasOf(TopicLogs topic, int partition) =>
        topic.Record.Replicas is { } r && partition < r.Count ? r[partition] : [First.Id];

    private PartitionState? _single;

    /// <summary>The partition's current state.</summary>
    public PartitionState Partition(TopicLogs topic, int partition)
    {
        if (SingleNode)
        {
            // one broker leads everything: one shared state, nothing kept per partition
            int epoch = topic.Partitions[partition].LeaderEpoch;
            var single = _single ??= new PartitionState([First.Id], [First.Id], First.Id, 0);
            return epoch == 0 ? single : single with { LeaderEpoch = epoch };
        }
        // a static factory with its state passed in: a lambda capturing the arguments would allocate its closure on every call
        return _partitions.TryGetValue((topic.Id, partition), out var s) ? s
            : _partitions.GetOrAdd((topic.Id, partition), static (key, a) => a.Self.Initial(a.Topic, key.Item2), (Self: this, Topic: topic));
    }

    /// <summary>The topics of the cluster (set by the broker once its logs are open).</summary>
    public Func<IEnumerable<TopicLogs>> Topics { get; set; } = () => [];

    private readonly object _changeLock = new();
    private readonly List<(TopicLogs Topic, int Partition)> _moved = new();

    /// <summary>Told under the change lock, before anyone can see the new leader, that a partition is getting one
    /// (a coordinator marks the partition as loading). Must not block.</summary>
    public Action<TopicLogs, int>? LeaderMoving { get; set; }

    /// <summary>Told after the change, outside the lock, of each partition that got a new live leader (a coordinator
    /// reloads the state kept in it, as Kafka's new coordinator does).</summary>
    public Action<TopicLogs, int>? LeaderMoved { get; set; }

    /// <summary>Runs a change under the change lock, then tells <see cref="LeaderMoved"/> of the partitions whose leader
    /// it changed.</summary>
    private T Change<T>(Func<T> change)
    {
        T result;
        List<(TopicLogs, int)> moved;
        lock (_changeLock)
        {
            result = change();
            if (_moved.Count == 0) return result;
            moved = [.. _moved];
            _moved.Clear();
        }
        foreach (var (t, p) in moved) LeaderMoved?.Invoke(t, p);
        return result;
    }

    private void Change(Action change) => Change(() => { change(); return 0; });

    /// <summary>Replaces a partition's state (its replicas too when given); a new leader starts a new leader epoch,
    /// which the partition's log records at its end (so OffsetForLeaderEpoch answers where the old epoch ended).
    /// Caller holds the change lock.</summary>
    private void Set(TopicLogs topic, int partition, PartitionState previous, int[] isr, int leader, int[]? replicas = null)
    {
        replicas ??= previous.Replicas;
        if (leader == previous.Leader && isr.SequenceEqual(previous.Isr) && replicas.SequenceEqual(previous.Replicas)) return;
        int epoch = previous.LeaderEpoch;
        if (leader != previous.Leader)
        {
            epoch++;
            if (leader >= 0)
            {
                topic.Partitions[partition].AssignLeaderEpoch(epoch);
                LeaderMoving?.Invoke(topic, partition);
                _moved.Add((topic, partition));
            }
        }
        _partitions[(topic.Id, partition)] = new PartitionState(replicas, isr, leader, epoch);
    }

    /// <summary>The first replica, in assignment order, that is live and in <paramref name="isr"/>; -1 when none.</summary>
    private int Elect(int[] replicas, int[] isr)
    {
        foreach (int r in replicas)
            if (isr.Contains(r) && IsAlive(r)) return r;
        return -1;
    }

    private IEnumerable<(TopicLogs Topic, int Partition, PartitionState State)> AllPartitions()
    {
        foreach (var t in Topics())
            for (int p = 0; p < t.Partitions.Length; p++)
                yield return (t, p, Partition(t, p));
    }

    /// <summary>Stops a broker: it leaves every ISR, and each partition it led moves to the next in-sync replica with a
    /// new leader epoch; a partition with no other in-sync replica keeps it as its ISR and has no leader (offline).</summary>
    public void StopNode(int id)
    {
        var node = Node(id) ?? throw new ArgumentException($"no broker {id}", nameof(id));
        Change(() =>
        {
            if (!node.Alive) return;
            var all = AllPartitions().ToList(); // every partition's state as it was, before the broker goes
            node.Alive = false;
            foreach (var (t, p, s) in all)
            {
                if (!s.Replicas.Contains(id)) continue;
                var isr = s.Isr.Where(r => r != id).ToArray();
                if (isr.Length == 0) isr = [id]; // as Kafka: the last in-sync replica stays, the partition goes offline
                int leader = s.Leader == id || s.Leader < 0 ? Elect(s.Replicas, isr) : s.Leader;
                Set(t, p, s, isr, leader);
            }
        });
    }

    /// <summary>Starts a stopped broker: it is back in the ISR of its partitions at once (the emulated follower shares
    /// the leader's log, so it is caught up), and leads the partitions that had no leader.</summary>
    public void StartNode(int id)
    {
        var node = Node(id) ?? throw new ArgumentException($"no broker {id}", nameof(id));
        Change(() =>
        {
            if (node.Alive) return;
            var all = AllPartitions().ToList();
            node.Alive = true;
            node.Registered = true;
            foreach (var (t, p, s) in all)
            {
                if (!s.Replicas.Contains(id)) continue;
                var isr = s.Replicas.Where(r => r == id || s.Isr.Contains(r) && IsAlive(r)).ToArray();
                int leader = s.Leader >= 0 ? s.Leader : Elect(s.Replicas, isr);
                Set(t, p, s, isr, leader);
            }
        });
    }

    /// <summary>Makes <paramref name="nodeId"/> the partition's leader (a live in-sync replica), with a new epoch.</summary>
    public (ErrorCode Error, string? Message) MoveLeader(TopicLogs topic, int partition, int nodeId)
    {
        return Change<(ErrorCode, string?)>(() =>
        {
            var s = Partition(topic, partition);
            if (!s.Replicas.Contains(nodeId)) return (ErrorCode.InvalidReplicaAssignment, $"Broker {nodeId} holds no replica of {topic.Name}-{partition} (replicas {string.Join(",", s.Replicas)}).");
            if (!IsAlive(nodeId) || !s.Isr.Contains(nodeId)) return (ErrorCode.EligibleLeadersNotAvailable, $"Broker {nodeId} is not a live in-sync replica of {topic.Name}-{partition}.");
            if (s.Leader == nodeId) return (ErrorCode.ElectionNotNeeded, $"Broker {nodeId} already leads {topic.Name}-{partition}.");
            Set(topic, partition, s, s.Isr, nodeId);
            return (ErrorCode.None, null);
        });
    }

    /// <summary>Preferred leader election (ElectLeaders type 0, auto.leader.rebalance.enable): the first assigned replica
    /// leads again when it is live and in sync. ELECTION_NOT_NEEDED when it already leads,
    /// PREFERRED_LEADER_NOT_AVAILABLE when it cannot.</summary>
    public ErrorCode ElectPreferred(TopicLogs topic, int partition)
    {
        return Change(() =>
        {
            var s = Partition(topic, partition);
            int preferred = s.Replicas[0];
            if (s.Leader == preferred) return ErrorCode.ElectionNotNeeded;
            if (!IsAlive(preferred) || !s.Isr.Contains(preferred)) return ErrorCode.PreferredLeaderNotAvailable;
            Set(topic, partition, s, s.Isr, preferred);
            return ErrorCode.None;
        });
    }

    /// <summary>Moves a partition to <paramref name="replicas"/> (a reassignment; checked by the caller). The emulated
    /// replicas share one log, so the move completes at once: the live new replicas are in sync, and the leader stays
    /// when it is among them or else is the first live new replica (a new epoch).</summary>
    public void Reassign(TopicLogs topic, int partition, int[] replicas)
    {
        Change(() =>
        {
            var before = Partition(topic, partition);
            var isr = replicas.Where(IsAlive).ToArray();
            if (isr.Length == 0) isr = [replicas[0]];
            int leader = replicas.Contains(before.Leader) && IsAlive(before.Leader) ? before.Leader : Elect(replicas, isr);
            Set(topic, partition, before, isr, leader, replicas);
        });
    }

    /// <summary>Unclean or offline election (ElectLeaders type 1): a partition without a leader gets the first live
    /// in-sync replica, or else the first live replica. ELECTION_NOT_NEEDED when it has a leader,
    /// ELIGIBLE_LEADERS_NOT_AVAILABLE when no replica is live.</summary>
    public ErrorCode ElectUnclean(TopicLogs topic, int partition)
    {
        return Change(() =>
        {
            var s = Partition(topic, partition);
            if (s.Leader >= 0) return ErrorCode.ElectionNotNeeded;
            int leader = Elect(s.Replicas, s.Isr);
            bool clean = leader >= 0;
            if (!clean) leader = Elect(s.Replicas, s.Replicas); // unclean: any live replica
            if (leader < 0) return ErrorCode.EligibleLeadersNotAvailable;
            Set(topic, partition, s, clean ? s.Isr : [leader], leader);
            return ErrorCode.None;
        });
    }

    /// <summary>The replicas of the partition that are on stopped brokers.</summary>
    public int[] Offline(PartitionState state) => SingleNode ? [] : [.. state.Replicas.Where(r => !IsAlive(r))];

    /// <summary>NONE when a group or transaction coordinator placed on <paramref name="coordinator"/> answers requests that
    /// came to <paramref name="nodeId"/>; NOT_COORDINATOR when it is elsewhere, COORDINATOR_NOT_AVAILABLE when no
    /// broker leads its partition.</summary>
    public static ErrorCode CheckCoordinator(int nodeId, int coordinator) =>
        coordinator < 0 ? ErrorCode.CoordinatorNotAvailable : coordinator == nodeId ? ErrorCode.None : ErrorCode.NotCoordinator;

    private PartitionState Initial(TopicLogs topic, int partition)
    {
        var replicas = ReplicasOf(topic, partition);
        var alive = replicas.Where(IsAlive).ToArray();
        return new PartitionState(replicas, alive, Elect(replicas, alive), topic.Partitions[partition].LeaderEpoch);
    }

    /// <summary>NONE when <paramref name="nodeId"/> leads the partition, else NOT_LEADER_OR_FOLLOWER.</summary>
    public ErrorCode CheckLeader(int nodeId, TopicLogs topic, int partition)
    {
        if (SingleNode) return ErrorCode.None;
        return Partition(topic, partition).Leader == nodeId ? ErrorCode.None : ErrorCode.NotLeaderOrFollower;
    }

    /// <summary>A deleted topic's partitions are forgotten.</summary>
    public void Forget(Guid topicId)
    {
        foreach (var key in _partitions.Keys)
            if (key.Topic == topicId) _partitions.TryRemove(key, out _);
    }

    /// <summary>Replica lists for new partitions, placed as Kafka places them: over the live brokers, leaders spread
    /// from a random start, followers shifted; when every broker has a rack, rack-aware (brokers taken alternately
    /// by rack, each replica on a rack without one while some rack has none). Null on a single broker (the default
    /// layout). Fails with INVALID_REPLICATION_FACTOR when fewer brokers are live than replicas asked for.</summary>
    public (ErrorCode Error, string? Message, List<int[]>? Replicas) Place(int partitions, int replicationFactor, int firstPartition = 0)
    {
        var live = LiveNodes.ToList();
        if (replicationFactor > live.Count)
            return (ErrorCode.InvalidReplicationFactor, $"Unable to replicate the partition {replicationFactor} time(s): The target replication factor of {replicationFactor} cannot be reached because only {live.Count} broker(s) are registered.", null);
        if (SingleNode) return (ErrorCode.None, null, null);
        bool rackAware = live.All(n => n.Rack != null);
        var brokers = rackAware ? RackAlternated(live) : [.. live.Select(n => n.Id)];
        var rackOf = live.ToDictionary(n => n.Id, n => n.Rack ?? "");
        int racks = rackOf.Values.Distinct().Count();
        int n = brokers.Count;
        int start = Random.Shared.Next(n);
        int shift = Random.Shared.Next(n);
        var result = new List<int[]>(partitions);
        for (int p = firstPartition; p < firstPartition + partitions; p++)
        {
            if (p > 0 && p % n == 0) shift++;
            int first = (p + start) % n;
            var replicas = new List<int>(replicationFactor) { brokers[first] };
            if (!rackAware)
            {
                for (int j = 0; j < replicationFactor - 1; j++) replicas.Add(brokers[Follower(first, shift, j, n)]);
            }
            else
            {
                var usedRacks = new HashSet<string> { rackOf[brokers[first]] };
                for (int k = 0; replicas.Count < replicationFactor; k++)
                {
                    int b = brokers[Follower(first, shift * racks, k, n)];
                    bool rackOk = !usedRacks.Contains(rackOf[b]) || usedRacks.Count == racks;
                    bool brokerOk = !replicas.Contains(b) || replicas.Count == n;
                    if (!rackOk || !brokerOk) continue;
                    replicas.Add(b);
                    usedRacks.Add(rackOf[b]);
                }
            }
            result.Add([.. replicas]);
        }
        return (ErrorCode.None, null, result);
    }

    private static int Follower(int first, int shift, int j, int n) => n == 1 ? first : (first + 1 + (shift + j) % (n - 1)) % n;

    /// <summary>The live brokers ordered rack by rack in turn (racks sorted, brokers sorted within a rack).</summary>
    private static List<int> RackAlternated(List<BrokerNode> live)
    {
        var byRack = live.GroupBy(n => n.Rack!).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new Queue<int>(g.Select(n => n.Id).Order())).ToList();
        var result = new List<int>(live.Count);
        for (int i = 0; result.Count < live.Count; i = (i + 1) % byRack.Count)
            if (byRack[i].TryDequeue(out int id)) result.Add(id);
        return result;
    }
}
