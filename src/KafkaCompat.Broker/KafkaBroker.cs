using System.Text.RegularExpressions;
using KafkaCompat.Broker.Config;
using KafkaCompat.Protocol;
using KafkaCompat.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KafkaCompat.Broker;

/// <summary>The broker's state: configuration, the log manager, cluster identity and the API handlers.</summary>
public sealed partial class KafkaBroker : IDisposable
{
    private readonly ILogger _logger;

    public BrokerConfig Config { get; }
    public LogManager Logs { get; }
    public ApiRegistry Apis { get; }
    public Groups.GroupCoordinator Groups { get; }
    public Transactions.ProducerIdManager ProducerIds { get; }
    public Transactions.TransactionCoordinator Transactions { get; }
    /// <summary>The clock of the coordinators (tests inject a fake one).</summary>
    public TimeProvider Time { get; }
    private readonly long[] _requests = new long[short.MaxValue + 1];

    /// <summary>How many requests of <paramref name="api"/> the brokers have handled since start.</summary>
    public long RequestCount(ApiKey api) => Interlocked.Read(ref _requests[(short)api]);

    internal void CountRequest(ApiKey api) => Interlocked.Increment(ref _requests[(short)api]);

    /// <summary>Faults tests can arm (dropped responses); none by default.</summary>
    public FaultInjector Faults { get; } = new();
    /// <summary>Request counters for the Prometheus endpoint.</summary>
    public BrokerMetrics Metrics { get; } = new();
    public string ClusterId { get; }
    /// <summary>The brokers this process runs and the partitions' leaders, replicas and in-sync replicas.</summary>
    public Cluster.ClusterState Cluster { get; }
    /// <summary>The first broker's id (node.id): the only broker unless several were asked for.</summary>
    public int NodeId => Config.NodeId;
    /// <summary>The port clients are told to use for the first broker; set by its server once it is bound.</summary>
    public int AdvertisedPort
    {
        get => Cluster.First.Port;
        set => Cluster.First.Port = value;
    }

    /// <param name="groupLoadGate">For tests: the group coordinator reads __consumer_offsets only after this task completes,
    /// so COORDINATOR_LOAD_IN_PROGRESS can be observed.</param>
    public KafkaBroker(BrokerConfig config, ILoggerFactory? loggerFactory = null, Task? groupLoadGate = null, TimeProvider? time = null)
    {
        Config = config;
        Time = time ?? TimeProvider.System;
        Cluster = new Cluster.ClusterState(config.NodeId, config.Brokers, config.EffectiveRacks);
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("KafkaCompat.Broker");
        AdvertisedPort = config.Port;
        Listeners = KafkaCompat.Broker.Config.Listeners.Of(config);
        Directory.CreateDirectory(config.DataDir);
        if (config.LogMaxMemoryMaps is int maxMaps) MapBudget.Limit = Math.Max(16, maxMaps);
        MapBudget.Log = msg => LogStorage(_logger, msg);
        ClusterId = LoadOrCreateClusterId(config.DataDir, config.NodeId);
        // the dynamic broker values first: the topics' settings are computed from them when the logs open
        (_dynamicConfigs, var dynamicValues) = DynamicConfigStore.Open(config.DataDir, config.NodeId, msg => LogStorage(_logger, msg));
        config.Dynamic = dynamicValues;
        Scram = Security.ScramCredentialStore.Open(config.DataDir);
        Authorizer = Security.Authorizer.From(config, Security.AclStore.Open(config.DataDir));
        if (config.AddScram.Count > 0) Scram.Apply([.. config.AddScram.Select(Security.ScramCredentialStore.ParseAddScram)]);
        Logs = new LogManager(config.DataDir, r => config.LogConfigFor(r.Configs), msg => LogStorage(_logger, msg), msg => LogStorageActivity(_logger, msg));
        Cluster.Topics = () => Logs.Topics;
        if (Logs.RecoveredFromUncleanShutdown) LogRecovered(_logger, Logs.TopicCount);
        ProducerIds = new Transactions.ProducerIdManager(config.DataDir);
        // the consumer group protocol (KIP-848) is advertised only while group.coordinator.rebalance.protocols has it
        Apis = new ApiRegistry(KafkaCompat.Broker.Apis.BrokerApisList.All().Where(h =>
            config.ConsumerProtocolEnabled || h.Key is not (ApiKey.ConsumerGroupHeartbeat or ApiKey.ConsumerGroupDescribe)));
        Groups = new Groups.GroupCoordinator(this, (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("KafkaCompat.Groups"));
        long interval = Math.Max(10, config.RetentionCheckIntervalMs);
        _retentionTimer = Every(interval, () => ApplyRetention());
        _coldTimer = Every(10_000, ReleaseColdSegments);
        _leaderRebalanceTimer = !Cluster.SingleNode && config.AutoLeaderRebalance
            ? Every(Math.Max(100, config.LeaderImbalanceCheckIntervalMs), () => RebalanceLeaders()) : null;
        long expiryEvery = Math.Max(10, config.ProducerIdExpirationCheckIntervalMs);
        _producerExpiryTimer = Every(expiryEvery, () => RemoveExpiredProducers());
        long cleanEvery = Math.Max(10, config.CleanerBackoffMs);
        _cleanerTimer = config.CleanerEnabled ? Every(cleanEvery, () => Compact()) : null;
        _cleanerBackoffMs = cleanEvery;
        long flushEvery = config.FlushSchedulerIntervalMs;
        _flushTimer = flushEvery is > 0 and < int.MaxValue
            ? Every(flushEvery, () => FlushDuePartitions()) : null;
        Transactions = new Transactions.TransactionCoordinator(this, (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("KafkaCompat.Transactions"), Time);
        // a coordinator partition that moves to another broker is reloaded there, as Kafka's coordinators do
        Cluster.LeaderMoving = (topic, partition) =>
        {
            if (topic.Name == KafkaCompat.Broker.Groups.GroupCoordinator.OffsetsTopic) Groups.MarkLoading(partition);
            else if (topic.Name == KafkaCompat.Broker.Transactions.TransactionCoordinator.TransactionTopic) Transactions.MarkLoading(partition);
        };
        Cluster.LeaderMoved = (topic, partition) =>
        {
            if (topic.Name == KafkaCompat.Broker.Groups.GroupCoordinator.OffsetsTopic) Groups.Reload(partition);
            else if (topic.Name == KafkaCompat.Broker.Transactions.TransactionCoordinator.TransactionTopic) Transactions.Reload(partition);
        };
        _ = Groups.StartAsync(groupLoadGate);
        _ = Transactions.StartAsync();
    }

    /// <summary>Who may do what (authorizer.class.name, super.users, the cluster's ACLs).</summary>
    public Security.Authorizer Authorizer { get; }

    /// <summary>The cluster's SCRAM credentials (AlterUserScramCredentials, <c>--add-scram</c>).</summary>
    public Security.ScramCredentialStore Scram { get; }

    /// <summary>The listeners (<c>listeners</c>; one PLAINTEXT listener on --host and --port by default).</summary>
    public IReadOnlyList<Config.ListenerSpec> Listeners { get; }

    /// <summary>Host written into Metadata for clients of a listener: its advertised host (--advertised-host for the
    /// first), else its bind host, else (bound to every interface) the address the client reached.</summary>
    public string AdvertisedHost(string? localHost, int listener = 0)
    {
        var l = Listeners[listener];
        if (!string.IsNullOrEmpty(l.AdvertisedHost)) return l.AdvertisedHost;
        if (l.Host is "0.0.0.0" or "::" or "" or "*") return localHost ?? "127.0.0.1";
        return l.Host;
    }

    private static string LoadOrCreateClusterId(string dataDir, int nodeId)
    {
        string path = Path.Combine(dataDir, "meta.properties");
        if (File.Exists(path))
        {
            foreach (var line in File.ReadAllLines(path))
                if (line.StartsWith("cluster.id=", StringComparison.Ordinal)) return line["cluster.id=".Length..].Trim();
        }
        var id = Convert.ToBase64String(Guid.NewGuid().ToByteArray()).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        File.WriteAllText(path, $"version=1\ncluster.id={id}\nnode.id={nodeId}\n");
        return id;
    }

    [GeneratedRegex("^[a-zA-Z0-9._-]+$")]
    private static partial Regex LegalTopicName();

    /// <summary>Kafka's topic name rules; null when legal.</summary>
    public static string? CheckTopicName(string? name)
    {
        if (string.IsNullOrEmpty(name)) return "Topic name is illegal, it can't be empty";
        if (name is "." or "..") return "Topic name cannot be \".\" or \"..\"";
        if (name.Length > 249) return $"Topic name is illegal, it can't be longer than 249 characters, topic name: {name}";
        if (!LegalTopicName().IsMatch(name))
            return $"Topic name {name} is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'";
        return null;
    }

    public readonly record struct CreateResult(ErrorCode Error, string? Message, TopicLogs? Topic);

    /// <summary>Kafka's controller writes at most 10,000 records for one user operation: one request may create at most
    /// that many partitions (CreateTopics, CreatePartitions).</summary>
    public const int MaxPartitionsPerRequest = 10_000;

    /// <summary>Creates a topic after Kafka's checks; used by CreateTopics and by auto-creation.</summary>
    /// <param name="assignment">Manual replica assignment (CreateTopics' assignments): the broker ids of each partition.</param>
    public CreateResult CreateTopic(string name, int partitions, short replicationFactor, Dictionary<string, string?> configs, bool validateOnly,
        IReadOnlyList<IReadOnlyList<int>>? assignment = null)
    {
        if (CheckTopicName(name) is { } bad) return new(ErrorCode.InvalidTopicException, bad, null);
        if (partitions == -1) partitions = Config.NumPartitions;
        if (partitions <= 0) return new(ErrorCode.InvalidPartitions, "Number of partitions must be larger than 0.", null);
        if (partitions > 100_000) return new(ErrorCode.InvalidPartitions, $"Number of partitions {partitions} exceeds this broker's limit of 100000.", null);
        if (replicationFactor == -1) replicationFactor = Config.DefaultReplicationFactor;
        if (replicationFactor <= 0) return new(ErrorCode.InvalidReplicationFactor, "Replication factor must be larger than 0.", null);
        List<int[]>? replicas;
        if (assignment != null)
        {
            if (CheckAssignment(assignment) is { } bad2) return new(ErrorCode.InvalidReplicaAssignment, bad2, null);
            replicas = AsReplicas(assignment);
        }
        else
        {
            var placed = Cluster.Place(partitions, replicationFactor);
            if (placed.Error != ErrorCode.None) return new(placed.Error, placed.Message, null);
            replicas = placed.Replicas;
        }
        if (TopicConfigs.Validate(configs) is { } cfgErr) return new(ErrorCode.InvalidConfig, cfgErr, null);
        if (Logs.Get(name) != null) return new(ErrorCode.TopicAlreadyExists, $"Topic '{name}' already exists.", null);
        if (validateOnly) return new(ErrorCode.None, null, null);
        var kept = configs.ToDictionary(kv => kv.Key, kv => kv.Value!, StringComparer.Ordinal);
        var ignored = TopicConfigs.DropRemoved(kept);
        var created = Logs.Create(name, partitions, kept, replicas: replicas);
        if (created is null) return new(ErrorCode.TopicAlreadyExists, $"Topic '{name}' already exists.", null);
        LogTopicCreated(_logger, name, partitions);
        LogIgnoredTopicConfigs(name, ignored, kept.ContainsKey(NoOpTopicConfig));
        return new(ErrorCode.None, null, created);
    }

    /// <summary>The topic, auto-created with the broker defaults when allowed.</summary>
    /// <summary>A group's committed offsets with each partition's high watermark (null when the partition is gone), by topic
    /// and partition: what its lag is computed from.</summary>
    public List<(string Topic, int Partition, long Committed, long? HighWatermark)> GroupOffsets(string groupId)
    {
        var (error, offsets) = Groups.FetchOffsets(groupId, null);
        if (error != ErrorCode.None) return [];
        return [.. offsets.Where(o => o.Offset >= 0 && o.Error == ErrorCode.None)
            .OrderBy(o => o.Topic, StringComparer.Ordinal).ThenBy(o => o.Partition)
            .Select(o => (o.Topic, o.Partition, o.Offset,
                Logs.Get(o.Topic) is { } t && o.Partition < t.Partitions.Length ? t.Partitions[o.Partition].HighWatermark : (long?)null))];
    }

    public (TopicLogs? Topic, ErrorCode Error) GetOrAutoCreate(string name, bool allowAutoCreate)
    {
        var t = Logs.Get(name);
        if (t != null) return (t, ErrorCode.None);
        if (!allowAutoCreate || !Config.AutoCreateTopics) return (null, ErrorCode.UnknownTopicOrPartition);
        var r = CreateTopic(name, -1, -1, new(), validateOnly: false);
        if (r.Error == ErrorCode.TopicAlreadyExists) return (Logs.Get(name), ErrorCode.None);
        return (r.Topic, r.Error);
    }

    /// <summary>CreatePartitions: grows a topic to <paramref name="count"/> partitions after Kafka's checks. Manual
    /// assignments, when given, list the replicas of each new partition (only this broker, one replica).</summary>
    public (ErrorCode Error, string? Message) AddPartitions(string name, int count, List<List<int>>? assignments, bool validateOnly)
    {
        var found = KafkaCompat.Broker.Apis.ConfigResources.FindTopic(this, name);
        if (!found.Ok) return (found.Error, found.Message);
        var topic = found.Topic!;
        int current = topic.Partitions.Length;
        if (name == KafkaCompat.Broker.Groups.GroupCoordinator.OffsetsTopic)
            return (ErrorCode.InvalidPartitions, $"The partition count of {name} cannot change: groups are placed on its partitions by their number.");
        if (count < current) return (ErrorCode.InvalidPartitions, $"The topic {name} currently has {current} partition(s); {count} would not be an increase.");
        if (count == current) return (ErrorCode.InvalidPartitions, $"Topic already has {current} partition(s).");
        if (count > 100_000) return (ErrorCode.InvalidPartitions, $"Number of partitions {count} exceeds this broker's limit of 100000.");
        if (assignments != null)
        {
            if (assignments.Count != count - current)
                return (ErrorCode.InvalidReplicaAssignment, $"Increasing the number of partitions by {count - current} but {assignments.Count} assignments provided.");
            if (CheckAssignment(assignments) is { } bad) return (ErrorCode.InvalidReplicaAssignment, bad);
        }
        List<int[]>? replicas;
        if (assignments != null) replicas = AsReplicas(assignments);
        else
        {
            var placed = Cluster.Place(count - current, Cluster.ReplicasOf(topic, 0).Length, current);
            if (placed.Error != ErrorCode.None) return (placed.Error, placed.Message);
            replicas = placed.Replicas;
        }
        if (validateOnly) return (ErrorCode.None, null);
        if (replicas is null && topic.Record.Replicas is { } existing) replicas = [.. Enumerable.Repeat(existing[0], count - current)];
        if (!Logs.AddPartitions(name, count, replicas)) return (ErrorCode.UnknownTopicOrPartition, $"The topic '{name}' does not exist.");
        LogPartitionsAdded(_logger, name, current, count);
        return (ErrorCode.None, null);
    }

    /// <summary>A manual replica assignment's problem, as Kafka's controller words it, or null.</summary>
    private string? CheckAssignment<TList>(IReadOnlyList<TList> assignment) where TList : IReadOnlyList<int>
    {
        foreach (var replicas in assignment)
        {
            if (replicas.Count == 0) return "The manual partition assignment includes an empty replica list.";
            if (replicas.Count != assignment[0].Count) return "All partitions in the manual partition assignment must have the same number of replicas.";
            foreach (int b in replicas)
                if (Cluster.Node(b) is null) return $"The manual partition assignment includes broker {b}, but no such broker is registered.";
            if (replicas.Distinct().Count() != replicas.Count)
                return $"The manual partition assignment includes the broker {replicas.GroupBy(b => b).First(g => g.Count() > 1).Key} more than once.";
        }
        return null;
    }

    /// <summary>A checked manual assignment as stored: null when it is the single broker's default layout.</summary>
    private List<int[]>? AsReplicas<TList>(IReadOnlyList<TList> assignment) where TList : IReadOnlyList<int> =>
        Cluster.SingleNode ? null : [.. assignment.Select(a => a.ToArray())];

    /// <summary>AlterPartitionReassignments for one partition: checks the new replicas as Kafka's controller does, then
    /// moves the partition (at once: the emulated replicas share one log) and persists the assignment.</summary>
    public (ErrorCode Error, string? Message) ReassignPartition(TopicLogs topic, int partition, IReadOnlyList<int> replicas, bool allowReplicationFactorChange)
    {
        if (CheckAssignment<IReadOnlyList<int>>([replicas]) is { } bad) return (ErrorCode.InvalidReplicaAssignment, bad);
        lock (_reassignLock)
        {
            var current = Cluster.ReplicasOf(topic, partition);
            if (!allowReplicationFactorChange && replicas.Count != current.Length)
                return (ErrorCode.InvalidReplicationFactor, $"The replication factor is changed from {current.Length} to {replicas.Count} but allowReplicationFactorChange is false.");
            if (current.SequenceEqual(replicas)) return (ErrorCode.None, null);
            var all = Enumerable.Range(0, topic.Partitions.Length).Select(p => p == partition ? replicas.ToArray() : Cluster.ReplicasOf(topic, p)).ToList();
            Logs.SetReplicas(topic.Name, all);
            Cluster.Reassign(topic, partition, [.. replicas]);
            LogReassigned(_logger, topic.Name, partition, string.Join(",", current), string.Join(",", replicas));
            return (ErrorCode.None, null);
        }
    }

    private readonly object _reassignLock = new();

    private readonly object _configChangeLock = new();

    /// <summary>Changes a topic's config overrides (AlterConfigs, IncrementalAlterConfigs). <paramref name="change"/>
    /// gets the current overrides and returns the new set, or a refusal; the set is validated, persisted and takes
    /// effect at once. Changes run one at a time, so two requests on one topic cannot lose each other's keys.</summary>
    public Apis.ConfigResources.Lookup ChangeTopicConfigs(sbyte resourceType, string resourceName, bool validateOnly,
        Func<IReadOnlyDictionary<string, string>, (Dictionary<string, string>? Overrides, Apis.ConfigResources.Lookup Refusal)> change)
    {
        lock (_configChangeLock)
        {
            var found = KafkaCompat.Broker.Apis.ConfigResources.FindAlterableTopic(this, resourceType, resourceName);
            if (!found.Ok) return found;
            var topic = found.Topic!;
            var (overrides, refusal) = change(topic.Record.Configs);
            if (overrides is null) return refusal;
            if (TopicConfigs.Validate(overrides.Select(kv => KeyValuePair.Create(kv.Key, (string?)kv.Value))) is { } err)
                return new(ErrorCode.InvalidConfig, err);
            if (validateOnly) return new(ErrorCode.None, null);
            var ignored = TopicConfigs.DropRemoved(overrides);
            bool noOpSet = overrides.TryGetValue(NoOpTopicConfig, out var noOp) && noOp != topic.Record.Configs.GetValueOrDefault(NoOpTopicConfig);
            if (!Logs.SetConfigs(topic.Name, overrides))
                return new(ErrorCode.UnknownTopicOrPartition, $"The topic '{topic.Name}' does not exist.");
            LogTopicConfigsAltered(_logger, topic.Name, string.Join(", ", overrides.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}={kv.Value}")));
            LogIgnoredTopicConfigs(topic.Name, ignored, noOpSet);
            return new(ErrorCode.None, null);
        }
    }

    /// <summary>A topic config Kafka 4.x still accepts and describes but that does nothing (down-conversion is gone).</summary>
    private const string NoOpTopicConfig = "message.downconversion.enable";

    /// <summary>One line per topic config a client set that has no effect since Kafka 4.0.</summary>
    private void LogIgnoredTopicConfigs(string topic, List<string> dropped, bool noOpSet)
    {
        foreach (var key in dropped) LogTopicConfigIgnored(_logger, topic, key, "it was removed in Kafka 4.0 and has no effect; not kept");
        if (noOpSet) LogTopicConfigIgnored(_logger, topic, NoOpTopicConfig, "it has no effect since Kafka 4.0 (records are never down-converted); kept as set");
    }

    private readonly DynamicConfigStore _dynamicConfigs;
    private long _cleanerBackoffMs;

    /// <summary>Raised after a dynamic broker config change took effect in <see cref="Config"/>; the server re-reads
    /// its connection limits.</summary>
    public event Action? BrokerConfigChanged;

    /// <summary>Changes the dynamic broker configs (AlterConfigs, IncrementalAlterConfigs on the broker resource): this
    /// broker's own when <paramref name="resourceName"/> is its id, the cluster-wide defaults when it is empty.
    /// <paramref name="change"/> gets the current values of that resource and returns the new set, or a refusal. As
    /// Kafka does, a key a running broker cannot change is refused with INVALID_REQUEST ("Cannot update these configs
    /// dynamically"), and so is a bad value (Kafka answers INVALID_REQUEST for broker resources, not INVALID_CONFIG:
    /// KAFKA-13609); keys this broker does not know are kept as given. The new set is stored in
    /// <c>dynamic-configs.json</c> and takes effect at once: topic defaults on every partition, connection limits, the
    /// cleaner's backoff.</summary>
    public Apis.ConfigResources.Lookup ChangeBrokerConfigs(string resourceName, bool validateOnly,
        Func<IReadOnlyDictionary<string, string>, (Dictionary<string, string>? Values, Apis.ConfigResources.Lookup Refusal)> change)
    {
        lock (_configChangeLock)
        {
            var found = KafkaCompat.Broker.Apis.ConfigResources.CheckAlterableBroker(this, resourceName);
            if (!found.Ok) return found;
            bool perBroker = resourceName.Length > 0;
            var current = Config.Dynamic;
            var (values, refusal) = change(perBroker ? current.PerBroker : current.ClusterDefault);
            if (values is null) return refusal;
            // Kafka takes secrets only per listener (listener.name.X.ssl...) and encrypted; this broker has no TLS or SASL
            // to give them to, and would keep them in a plain file
            if (values.Keys.Where(BrokerConfigs.IsSensitive).Order(StringComparer.Ordinal).ToList() is { Count: > 0 } secrets)
                return new(ErrorCode.InvalidRequest, $"Cannot update these configs dynamically: {string.Join(", ", secrets)} (this broker takes no secrets while it runs)");
            var fixedKeys = values.Keys.Where(BrokerConfigs.IsStatic).Order(StringComparer.Ordinal).ToList();
            if (fixedKeys.Count > 0)
                return new(ErrorCode.InvalidRequest, $"Cannot update these configs dynamically: {string.Join(", ", fixedKeys)} " +
                    "(a running broker cannot change them: set them in the properties file, with --set or KAFKA_* variables, and restart)");
            foreach (var (k, v) in values.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                if (BrokerConfig.CheckBrokerValue(k, v) is { } bad) return new(ErrorCode.InvalidRequest, bad);
            var next = perBroker ? current with { PerBroker = values } : current with { ClusterDefault = values };
            if (Config.WithDynamic(next).CheckConsistency() is { } inconsistent) return new(ErrorCode.InvalidRequest, inconsistent);
            if (validateOnly) return new(ErrorCode.None, null);
            try
            {
                _dynamicConfigs.Save(next);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                LogStorage(_logger, $"{_dynamicConfigs.Path}: {e.Message}");
                return new(ErrorCode.KafkaStorageError, $"The broker configs could not be stored ({e.Message}); nothing changed.");
            }
            Config.Dynamic = next;
            LogBrokerConfigsAltered(_logger, perBroker ? $"broker {NodeId}" : "the cluster default",
                values.Count == 0 ? "(none)" : string.Join(", ", values.OrderBy(kv => kv.Key, StringComparer.Ordinal)
                    .Select(kv => $"{kv.Key}={(BrokerConfigs.IsSensitive(kv.Key) ? "(hidden)" : kv.Value)}")));
            BrokerConfigsTookEffect();
            return new(ErrorCode.None, null);
        }
    }

    /// <summary>After a dynamic change: every partition gets the settings its topic now resolves to, and the
    /// background work and the server follow the new values.</summary>
    private void BrokerConfigsTookEffect()
    {
        Logs.ReapplyConfigs();
        long backoff = Math.Max(10, Config.CleanerBackoffMs);
        if (_cleanerTimer != null && backoff != _cleanerBackoffMs)
        {
            _cleanerTimer.Change(TimeSpan.FromMilliseconds(backoff), TimeSpan.FromMilliseconds(backoff));
            _cleanerBackoffMs = backoff;
        }
        BrokerConfigChanged?.Invoke();
    }

    public bool DeleteTopic(string name)
    {
        var topic = Logs.Get(name);
        bool ok = Logs.Delete(name);
        if (ok)
        {
            if (topic != null) Cluster.Forget(topic.Id);
            LogTopicDeleted(_logger, name);
            Groups.OnTopicDeleted(name);
        }
        return ok;
    }

    public ILogger Logger => _logger;

    private readonly ITimer _retentionTimer;
    private readonly ITimer? _flushTimer;
    private readonly ITimer? _cleanerTimer;
    private readonly ITimer _coldTimer;

    /// <summary>Background work every <paramref name="ms"/> milliseconds on the broker's clock.</summary>
    private readonly ITimer? _leaderRebalanceTimer;

    /// <summary>auto.leader.rebalance.enable: for each live broker whose share of preferred partitions led elsewhere is
    /// above leader.imbalance.per.broker.percentage, its preferred partitions go back to it (where it is in sync).
    /// Returns how many partitions changed leader.</summary>
    public int RebalanceLeaders()
    {
        int moved = 0;
        try
        {
            var partitions = Logs.Topics.SelectMany(t => Enumerable.Range(0, t.Partitions.Length).Select(p => (Topic: t, Partition: p))).ToList();
            foreach (var node in Cluster.LiveNodes.ToList())
            {
                var preferredHere = partitions.Where(x => Cluster.ReplicasOf(x.Topic, x.Partition)[0] == node.Id).ToList();
                if (preferredHere.Count == 0) continue;
                var ledElsewhere = preferredHere.Where(x => Cluster.Partition(x.Topic, x.Partition).Leader != node.Id).ToList();
                if (ledElsewhere.Count * 100 <= preferredHere.Count * Config.LeaderImbalancePerBrokerPercentage) continue;
                foreach (var (t, p) in ledElsewhere)
                    if (Cluster.ElectPreferred(t, p) == ErrorCode.None) moved++;
            }
            if (moved > 0) LogLeadersRebalanced(_logger, moved);
        }
        catch (Exception e) when (e is ObjectDisposedException or IOException)
        {
            // a topic deleted or the broker stopping meanwhile: the next check sees the new state
        }
        return moved;
    }

    private ITimer Every(long ms, Action work) => Time.CreateTimer(_ => work(), null, TimeSpan.FromMilliseconds(ms), TimeSpan.FromMilliseconds(ms));
    private readonly ITimer _producerExpiryTimer;

    /// <summary>producer.id.expiration.ms on every partition; returns how many producer ids were forgotten.</summary>
    public int RemoveExpiredProducers()
    {
        long now = Time.GetUtcNow().ToUnixTimeMilliseconds();
        return ForEachPartition("producer expiry", p => p.RemoveExpiredProducers(now, Config.ProducerIdExpirationMs));
    }

    /// <summary>Runs background log work on every partition. A storage error on one partition is logged and the others
    /// still get their turn; a partition closed by a concurrent topic deletion is skipped. Returns the sum of the results.</summary>
    private int ForEachPartition(string what, Func<PartitionLog, int> work)
    {
        int total = 0;
        foreach (var t in Logs.Topics)
            foreach (var p in t.Partitions)
            {
                try
                {
                    total += work(p);
                }
                catch (ObjectDisposedException) { }
                catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or Protocol.ProtocolException)
                {
                    LogStorage(_logger, $"{what} of {p.Topic}-{p.Partition} failed: {e.Message}");
                }
            }
        return total;
    }

    /// <summary>Every 10 s: segments no one has read for 30 s give their resident pages back, so memory does not
    /// grow with the size of the log.</summary>
    private void ReleaseColdSegments()
    {
        long now = Environment.TickCount64;
        ForEachPartition("releasing cold segments", p => p.ReleaseColdSegments(now, 30_000));
    }

    private int _cleanerRunning;

    /// <summary>The log cleaner: every log.cleaner.backoff.ms, compacts "compact" partitions whose dirty ratio is high enough.</summary>
    public int Compact(bool force = false)
    {
        if (Interlocked.Exchange(ref _cleanerRunning, 1) == 1) return 0;
        try
        {
            long now = Time.GetUtcNow().ToUnixTimeMilliseconds();
            return ForEachPartition("compaction", p => p.Compact(now, force) != null ? 1 : 0);
        }
        finally
        {
            Volatile.Write(ref _cleanerRunning, 0);
        }
    }

    /// <summary>flush.ms, checked every log.flush.scheduler.interval.ms.</summary>
    private void FlushDuePartitions() => ForEachPartition("flush", p => p.FlushIfDue() ? 1 : 0);

    private int _retentionRunning;

    /// <summary>Every log.retention.check.interval.ms: retention.ms / retention.bytes on every "delete" topic.</summary>
    public int ApplyRetention()
    {
        if (Interlocked.Exchange(ref _retentionRunning, 1) == 1) return 0;
        try
        {
            long now = Time.GetUtcNow().ToUnixTimeMilliseconds();
            int deleted = ForEachPartition("retention", p => p.ApplyRetention(now));
            if (deleted > 0) Logs.CheckpointLogStartOffsets();
            return deleted;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogStorage(_logger, "retention: " + e.Message);
            return 0;
        }
        finally
        {
            Volatile.Write(ref _retentionRunning, 0);
        }
    }

    public void Dispose()
    {
        _retentionTimer.Dispose();
        _flushTimer?.Dispose();
        _cleanerTimer?.Dispose();
        _coldTimer.Dispose();
        _leaderRebalanceTimer?.Dispose();
        _producerExpiryTimer.Dispose();
        Transactions.Dispose();
        Groups.Dispose();
        Logs.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "auto.leader.rebalance.enable: {Count} partition(s) back on their preferred leader")]
    private static partial void LogLeadersRebalanced(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "reassigned {Topic}-{Partition}: replicas {Before} -> {After}")]
    private static partial void LogReassigned(ILogger logger, string topic, int partition, string before, string after);

    [LoggerMessage(Level = LogLevel.Warning, Message = "storage: {Message}")]
    private static partial void LogStorage(ILogger logger, string message);

    [LoggerMessage(Level = LogLevel.Information, Message = "storage: {Message}")]
    private static partial void LogStorageActivity(ILogger logger, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "recovered {Topics} topic(s) after an unclean shutdown")]
    private static partial void LogRecovered(ILogger logger, int topics);

    [LoggerMessage(Level = LogLevel.Information, Message = "created topic {Topic} with {Partitions} partition(s)")]
    private static partial void LogTopicCreated(ILogger logger, string topic, int partitions);

    [LoggerMessage(Level = LogLevel.Information, Message = "topic {Topic} grew from {From} to {To} partitions")]
    private static partial void LogPartitionsAdded(ILogger logger, string topic, int from, int to);

    [LoggerMessage(Level = LogLevel.Information, Message = "topic {Topic} now has config overrides: {Configs}")]
    private static partial void LogTopicConfigsAltered(ILogger logger, string topic, string configs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "topic {Topic}: config {Key} is ignored: {Reason}")]
    private static partial void LogTopicConfigIgnored(ILogger logger, string topic, string key, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "dynamic configs of {Scope} are now: {Configs}")]
    private static partial void LogBrokerConfigsAltered(ILogger logger, string scope, string configs);

    [LoggerMessage(Level = LogLevel.Information, Message = "deleted topic {Topic}")]
    private static partial void LogTopicDeleted(ILogger logger, string topic);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Api} v{Version} from {ClientId} failed; answered with an error")]
    public static partial void LogHandlerFailed(ILogger logger, Exception e, string api, short version, string? clientId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Api} v{Version} from {ClientId}: {Message}")]
    public static partial void LogRejected(ILogger logger, string api, short version, string? clientId, string message);
}
