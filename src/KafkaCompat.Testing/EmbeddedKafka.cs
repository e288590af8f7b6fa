using KafkaCompat.Broker;
using KafkaCompat.Protocol;
using Microsoft.Extensions.Logging;

namespace KafkaCompat.Testing;

/// <summary>How <see cref="EmbeddedKafka.StartAsync"/> starts its brokers.</summary>
public sealed class EmbeddedKafkaOptions
{
    /// <summary>How many brokers the cluster has, each on its own port (node ids 1, 2, ...). Default 1.</summary>
    public int Brokers { get; set; } = 1;

    /// <summary>The first broker's port; 0 (the default) picks a free one for each broker.</summary>
    public int Port { get; set; }

    /// <summary>Where the log is kept. Null (the default): a new temporary directory, removed on dispose. A directory
    /// given here is kept, and a later start on it reopens the same log.</summary>
    public string? DataDirectory { get; set; }

    /// <summary>Broker configuration, by Kafka's keys (<c>num.partitions</c>, <c>auto.create.topics.enable</c>,
    /// <c>group.initial.rebalance.delay.ms</c>, ...). An unknown key or a bad value fails the start.</summary>
    public IDictionary<string, string> Settings { get; } = new Dictionary<string, string>();

    /// <summary>broker.rack of each broker, in node order (null: none).</summary>
    public IReadOnlyList<string?>? Racks { get; set; }

    /// <summary>Where the brokers log (null: nowhere).</summary>
    public ILoggerFactory? Loggers { get; set; }
}

/// <summary>
/// A Kafka-compatible broker (or cluster of several) running inside the test process: no Docker, no JVM. Stock clients
/// connect to <see cref="BootstrapServers"/>.
/// <code>
/// await using var kafka = await EmbeddedKafka.StartAsync();
/// using var producer = new ProducerBuilder&lt;Null, string&gt;(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build();
/// </code>
/// </summary>
public sealed class EmbeddedKafka : IAsyncDisposable
{
    private readonly EmbeddedBroker _broker;

    private EmbeddedKafka(EmbeddedBroker broker) => _broker = broker;

    /// <summary>Starts the brokers; they accept connections when this returns.</summary>
    public static Task<EmbeddedKafka> StartAsync(EmbeddedKafkaOptions? options = null)
    {
        options ??= new EmbeddedKafkaOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Brokers, 1);
        // every key checked as `kafkacompat serve --set` checks it: an unknown key or a bad value fails here
        var check = new KafkaCompat.Broker.Config.BrokerConfig();
        foreach (var (key, value) in options.Settings) check.Apply(key, value);
        if (check.CheckConsistency() is { } inconsistent) throw new ArgumentException(inconsistent);
        var broker = EmbeddedBroker.Start(options.DataDirectory, options.Settings, options.Loggers, options.Port, options.Brokers, options.Racks);
        return Task.FromResult(new EmbeddedKafka(broker));
    }

    /// <summary>host:port of every broker, comma-separated: the clients' bootstrap.servers.</summary>
    public string BootstrapServers => _broker.BootstrapServers;

    /// <summary>The log's directory (a temporary one unless the options named one).</summary>
    public string DataDirectory => _broker.DataDir;

    /// <summary>The node ids of the brokers.</summary>
    public IReadOnlyList<int> BrokerIds => [.. _broker.Broker.Cluster.Nodes.Select(n => n.Id)];

    /// <summary>Creates a topic. <paramref name="partitions"/> and <paramref name="replicationFactor"/> of -1 take the
    /// broker's defaults; <paramref name="configs"/> are topic configs by Kafka's keys (<c>cleanup.policy</c>, ...).
    /// Throws when Kafka would refuse it (a topic that exists, an invalid name or config).</summary>
    public Task CreateTopicAsync(string name, int partitions = -1, short replicationFactor = -1, IDictionary<string, string>? configs = null)
    {
        var r = _broker.Broker.CreateTopic(name, partitions, replicationFactor, configs is null ? new() : configs.ToDictionary(c => c.Key, c => (string?)c.Value), validateOnly: false);
        if (r.Error != ErrorCode.None) throw new InvalidOperationException($"topic {name}: {r.Error.KafkaName()}{(r.Message is { } m ? ": " + m : "")}");
        return Task.CompletedTask;
    }

    /// <summary>The topics that exist.</summary>
    public IReadOnlyList<string> Topics => [.. _broker.Broker.Logs.Topics.Select(t => t.Name).Order(StringComparer.Ordinal)];

    /// <summary>The high watermark (the offset the next record gets) of each partition of a topic.</summary>
    public IReadOnlyList<long> EndOffsets(string topic) =>
        _broker.Broker.Logs.Get(topic) is { } t ? [.. t.Partitions.Select(p => p.HighWatermark)] : throw new ArgumentException($"no topic {topic}");

    /// <summary>Waits until a consumer group is stable with at least <paramref name="members"/> members (classic or
    /// consumer protocol); throws <see cref="TimeoutException"/> after <paramref name="timeout"/> (default 30 s).</summary>
    public async Task WaitForGroupAsync(string groupId, int members = 1, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var (state, count) = GroupState(groupId);
            if (state == "Stable" && count >= members) return;
            if (DateTime.UtcNow >= deadline)
                throw new TimeoutException($"group {groupId} is {state} with {count} member(s), not Stable with {members} after {timeout ?? TimeSpan.FromSeconds(30)}");
            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A group's state as Kafka names it (Empty, PreparingRebalance, CompletingRebalance, Stable for a classic group;
    /// Empty, Assigning, Reconciling, Stable for a consumer-protocol one; Dead when there is none) and its member count.</summary>
    public (string State, int Members) GroupState(string groupId)
    {
        var groups = _broker.Broker.Groups;
        var (_, listed) = groups.List([], []);
        var g = listed.Find(l => l.GroupId == groupId);
        if (g is null) return ("Dead", 0);
        return (g.State, groups.MemberCount(g));
    }

    /// <summary>The offset a group has committed on a partition, or null when it has none.</summary>
    public long? CommittedOffset(string groupId, string topic, int partition)
    {
        var (error, offsets) = _broker.Broker.Groups.FetchOffsets(groupId, [(topic, [partition])]);
        if (error != ErrorCode.None) throw new InvalidOperationException($"group {groupId}: {error.KafkaName()}");
        return offsets.Find(o => o.Topic == topic && o.Partition == partition) is { Offset: >= 0 } o ? o.Offset : null;
    }

    /// <summary>Faults to see clients recover from trouble: errors, latency, throttling, dropped answers.</summary>
    public EmbeddedKafkaFaults Faults => new(_broker.Broker.Faults);

    /// <summary>Stops a broker as a controlled shutdown does: its partitions move to the others first.</summary>
    public Task StopBrokerAsync(int brokerId) => Expect(_broker.Cluster.StopBrokerAsync(brokerId), brokerId, "stop");

    /// <summary>Stops a broker as a crash does: its partitions move only after broker.session.timeout.ms.</summary>
    public Task KillBrokerAsync(int brokerId) => Expect(_broker.Cluster.KillBrokerAsync(brokerId), brokerId, "kill");

    /// <summary>Starts a stopped broker again on the same port.</summary>
    public Task StartBrokerAsync(int brokerId) => Expect(_broker.Cluster.StartBrokerAsync(brokerId), brokerId, "start");

    /// <summary>Closes every client connection of a broker (clients reconnect); returns how many.</summary>
    public int DropConnections(int brokerId) => _broker.Cluster.DropConnections(brokerId);

    /// <summary>Moves a partition's leadership to a broker among its in-sync replicas.</summary>
    public void MoveLeader(string topic, int partition, int brokerId)
    {
        var (error, message) = _broker.Cluster.MoveLeader(topic, partition, brokerId);
        if (error != ErrorCode.None) throw new InvalidOperationException($"{topic}-{partition}: {error.KafkaName()}{(message is { } m ? ": " + m : "")}");
    }

    /// <summary>The broker leading a partition now.</summary>
    public int LeaderOf(string topic, int partition) =>
        _broker.Broker.Logs.Get(topic) is { } t && partition >= 0 && partition < t.Partitions.Length
            ? _broker.Broker.Cluster.Partition(t, partition).Leader
            : throw new ArgumentException($"no partition {topic}-{partition}");

    /// <summary>Gives a partition new replicas (the first is its preferred leader), as AlterPartitionReassignments does.</summary>
    public void Reassign(string topic, int partition, IReadOnlyList<int> replicas)
    {
        var (error, message) = _broker.Cluster.Reassign(topic, partition, replicas);
        if (error != ErrorCode.None) throw new InvalidOperationException($"{topic}-{partition}: {error.KafkaName()}{(message is { } m ? ": " + m : "")}");
    }

    /// <summary>Serves the admin HTTP API (JSON: cluster status, broker stop/start, leader moves, faults) on a free port,
    /// for scripts in other languages the test starts; returns its URL.</summary>
    public async Task<string> StartAdminApiAsync() => (await _broker.StartAdminAsync().ConfigureAwait(false)).Url;

    private static async Task Expect(Task<bool> action, int brokerId, string what)
    {
        if (!await action.ConfigureAwait(false)) throw new InvalidOperationException($"cannot {what} broker {brokerId} (unknown, or already so)");
    }

    /// <summary>Stops the brokers; a temporary data directory is removed.</summary>
    public ValueTask DisposeAsync() => _broker.DisposeAsync();
}

/// <summary>Faults armed on a running <see cref="EmbeddedKafka"/>. APIs are named as Kafka names them (<c>Produce</c>,
/// <c>Fetch</c>, <c>OffsetCommit</c>, ...), errors by Kafka's names (<c>NOT_LEADER_OR_FOLLOWER</c>,
/// <c>REQUEST_TIMED_OUT</c>, ...). Each method returns the fault's id for <see cref="Clear(int)"/>.</summary>
public sealed class EmbeddedKafkaFaults
{
    private readonly FaultInjector _faults;

    internal EmbeddedKafkaFaults(FaultInjector faults) => _faults = faults;

    /// <summary>The next <paramref name="count"/> requests of <paramref name="api"/> (on <paramref name="brokerId"/>, or
    /// any) are answered with <paramref name="error"/> without being carried out.</summary>
    public int FailRequests(string api, string error, int count = 1, int? brokerId = null) =>
        _faults.Add(new FaultSpec(FaultKind.Error, Api(api), brokerId, Error: ParseError(error), Count: count));

    /// <summary>The next <paramref name="count"/> requests of <paramref name="api"/> wait <paramref name="latency"/> first.</summary>
    public int Delay(string api, TimeSpan latency, int count = 1, int? brokerId = null) =>
        _faults.Add(new FaultSpec(FaultKind.Latency, Api(api), brokerId, LatencyMs: (int)latency.TotalMilliseconds, Count: count));

    /// <summary>The next <paramref name="count"/> answers to <paramref name="api"/> tell the client to back off
    /// (throttle_time_ms).</summary>
    public int Throttle(string api, TimeSpan throttle, int count = 1, int? brokerId = null) =>
        _faults.Add(new FaultSpec(FaultKind.Throttle, Api(api), brokerId, ThrottleMs: (int)throttle.TotalMilliseconds, Count: count));

    /// <summary>The next <paramref name="count"/> requests of <paramref name="api"/> are carried out but their answers never
    /// sent: the connection closes and the client retries.</summary>
    public int DropResponses(string api, int count = 1, int? brokerId = null) =>
        _faults.Add(new FaultSpec(FaultKind.Drop, Api(api), brokerId, Count: count));

    /// <summary>Requests for one partition get <paramref name="error"/> for it, <paramref name="count"/> times.</summary>
    public int FailPartition(string topic, int partition, string error, int count = 1, string? api = null, int? brokerId = null) =>
        _faults.Add(new FaultSpec(FaultKind.PartitionError, api is null ? null : Api(api), brokerId, Error: ParseError(error),
            Topic: topic, Partition: partition, Count: count));

    /// <summary>Clears one fault.</summary>
    public bool Clear(int id) => _faults.Remove(id);

    /// <summary>Clears every fault.</summary>
    public void ClearAll() => _faults.Clear();

    /// <summary>How many faults are armed.</summary>
    public int Armed => _faults.List().Count;

    private static ErrorCode ParseError(string name)
    {
        foreach (var code in Enum.GetValues<ErrorCode>())
            if (string.Equals(code.KafkaName(), name, StringComparison.OrdinalIgnoreCase) || string.Equals(code.ToString(), name, StringComparison.OrdinalIgnoreCase))
                return code;
        throw new ArgumentException($"no Kafka error named {name}");
    }

    private static ApiKey Api(string name) =>
        Enum.TryParse<ApiKey>(name, ignoreCase: true, out var k) && Enum.IsDefined(k) ? k : throw new ArgumentException($"no Kafka API named {name}");
}
