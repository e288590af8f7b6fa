using System.Globalization;
using KafkaCompat.Records;
using KafkaCompat.Storage;

namespace KafkaCompat.Broker.Config;

/// <summary>The values AlterConfigs and IncrementalAlterConfigs set on a running broker: this broker's own (resource
/// name = its id) and the cluster-wide defaults (resource name ""). Immutable: a change swaps the whole set.</summary>
public sealed record DynamicBrokerValues(IReadOnlyDictionary<string, string> PerBroker, IReadOnlyDictionary<string, string> ClusterDefault)
{
    public static readonly DynamicBrokerValues Empty = new(new Dictionary<string, string>(), new Dictionary<string, string>());
}

/// <summary>
/// The broker's settings, keyed by Kafka's own names (<c>num.partitions</c>, <c>log.segment.bytes</c>, ...).
/// Static sources, later overriding earlier: defaults, then the <c>--config</c> properties file, then <c>KAFKA_*</c>
/// environment variables, then <c>--set</c>, then the explicit <c>--port/--host/--advertised-host/--data-dir</c>.
/// Above them, as in Kafka, the dynamic values (<see cref="Dynamic"/>): a cluster-wide default beats a static value, and
/// a value set for this broker beats both.
/// </summary>
public sealed class BrokerConfig
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private DynamicBrokerValues _dynamic = DynamicBrokerValues.Empty;

    /// <summary>The dynamic layers (AlterConfigs on the broker resource); set by the broker once a change is validated
    /// and stored, read by every lookup.</summary>
    public DynamicBrokerValues Dynamic
    {
        get => Volatile.Read(ref _dynamic);
        set => Volatile.Write(ref _dynamic, value);
    }

    /// <summary>A copy with other dynamic values, to check a change before it is made.</summary>
    public BrokerConfig WithDynamic(DynamicBrokerValues dynamic)
    {
        var copy = new BrokerConfig { Host = Host, Port = Port, AdvertisedHost = AdvertisedHost, AdvertisedPort = AdvertisedPort, DataDir = DataDir, Brokers = Brokers, Racks = Racks };
        foreach (var (k, v) in _values) copy._values[k] = v;
        copy._dynamic = dynamic;
        return copy;
    }

    /// <summary>The value set for <paramref name="key"/> (not its default) in the highest layer that sets it: this
    /// broker's dynamic value, the cluster-wide dynamic default, the static setting.</summary>
    private string? SetValue(string key)
    {
        var d = Dynamic;
        return d.PerBroker.TryGetValue(key, out var v) || d.ClusterDefault.TryGetValue(key, out v) || _values.TryGetValue(key, out v) ? v : null;
    }

    public string Host { get; set; } = "127.0.0.1";
    public int Port { get; set; } = 9092;
    public string? AdvertisedHost { get; set; }
    /// <summary>The port of <c>advertised.listeners</c>, when it names one; clients are told the bound port otherwise.</summary>
    public int? AdvertisedPort { get; set; }
    public string DataDir { get; set; } = "./data";
    /// <summary>SCRAM credentials set at start (<c>serve --add-scram</c>), in the form of Kafka's
    /// <c>kafka-storage format --add-scram</c>: <c>SCRAM-SHA-256=[name=alice,password=alice-secret]</c>.</summary>
    public List<string> AddScram { get; set; } = [];
    /// <summary>A JAAS file with the brokers' login modules (<c>serve --jaas-config</c>, or
    /// <c>-Djava.security.auth.login.config=FILE</c> in <c>KAFKA_OPTS</c>, as Kafka's scripts take it).</summary>
    public string? JaasFile { get; set; }
    /// <summary>How many brokers this process runs (--brokers): node ids node.id, node.id + 1, ...; each listens on its
    /// own port (consecutive from <see cref="Port"/>, or ephemeral when it is 0).</summary>
    public int Brokers { get; set; } = 1;
    /// <summary>broker.rack per broker, in node order (--racks); when absent, broker.rack names the first's.</summary>
    public IReadOnlyList<string?>? Racks { get; set; }
    /// <summary>The racks in effect: --racks, else broker.rack for the first broker.</summary>
    public IReadOnlyList<string?> EffectiveRacks => Racks ?? [Get("broker.rack")];
    public short OffsetsTopicReplicationFactor => (short)GetInt("offsets.topic.replication.factor");
    public bool AutoLeaderRebalance => GetBool("auto.leader.rebalance.enable");
    public int BrokerSessionTimeoutMs => GetInt("broker.session.timeout.ms");
    public long LeaderImbalanceCheckIntervalMs => GetLong("leader.imbalance.check.interval.seconds") * 1000;
    public int LeaderImbalancePerBrokerPercentage => GetInt("leader.imbalance.per.broker.percentage");
    public short TransactionStateReplicationFactor => (short)GetInt("transaction.state.log.replication.factor");

    /// <summary>Defaults of the broker keys that have one (see <see cref="BrokerConfigs"/>).</summary>
    public static readonly IReadOnlyDictionary<string, string> BrokerDefaults = BrokerConfigs.All
        .Where(d => d.Default != null).ToDictionary(d => d.Name, d => d.Default!, StringComparer.Ordinal);

    public void Set(string key, string value) => _values[key] = value;

    /// <summary>Sets a key; Kafka's listener and log directory keys also move the bind address, the advertised host
    /// and the data directory (<c>listeners=PLAINTEXT://:9093</c>, <c>log.dirs=/var/lib/kafka</c>).</summary>
    public void Apply(string key, string value)
    {
        if (CheckBrokerValue(key, value) is { } problem) throw new ArgumentException(problem);
        Set(key, value);
        switch (key)
        {
            case "listeners" when FirstListener(value) is var (host, port):
                Host = host.Length == 0 ? "0.0.0.0" : host;
                Port = port;
                break;
            case "advertised.listeners" when FirstListener(value) is var (host, port):
                if (host.Length > 0) AdvertisedHost = host;
                AdvertisedPort = port;
                break;
            case "log.dirs" or "log.dir" when value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) is [var first, ..]:
                DataDir = first;
                break;
            case "port" when int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int p):
                Port = p;
                break;
        }
    }

    /// <summary>Null when <paramref name="value"/> suits <paramref name="key"/>: the type of a known broker key, and for
    /// the broker names of topic configs (log.segment.bytes, ...) the topic config's own rules.</summary>
    public static string? CheckBrokerValue(string key, string value)
    {
        var def = BrokerConfigs.Find(key);
        if (def is null) return null; // keys this broker does not act on are kept as given
        var topicDef = TopicConfigs.All.FirstOrDefault(t => t.BrokerKey == key);
        if (topicDef != null)
            return topicDef.Check(value) is { } err ? err.Replace($"configuration {topicDef.Name}", $"configuration {key}", StringComparison.Ordinal) : null;
        return TopicConfigDef.CheckType(def.Type, key, value);
    }

    /// <summary>The host and port of the first entry of a listener list such as <c>PLAINTEXT://localhost:9092,...</c>.</summary>
    private static (string Host, int Port)? FirstListener(string value)
    {
        var first = value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        if (first is null) return null;
        int scheme = first.IndexOf("://", StringComparison.Ordinal);
        var hostPort = scheme >= 0 ? first[(scheme + 3)..] : first;
        int colon = hostPort.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(hostPort[(colon + 1)..], NumberStyles.Integer, CultureInfo.InvariantCulture, out int port)) return null;
        return (hostPort[..colon].Trim('[', ']'), port);
    }

    /// <summary>Reads a Java properties file (<c>key=value</c> or <c>key: value</c>, <c>#</c>/<c>!</c> comments,
    /// <c>\</c> line continuations) as Kafka's <c>server.properties</c> is written, and applies each key.</summary>
    public void LoadProperties(string path)
    {
        foreach (var (k, v) in ParseProperties(File.ReadAllLines(path))) Apply(k, v);
    }

    public static List<(string Key, string Value)> ParseProperties(IEnumerable<string> lines)
    {
        var result = new List<(string, string)>();
        string? pending = null;
        foreach (var raw in lines)
        {
            var line = raw.TrimStart();
            if (pending is null && (line.Length == 0 || line[0] is '#' or '!')) continue;
            // a line ending in an odd number of backslashes continues on the next one
            int trailing = line.Length - line.TrimEnd('\\').Length;
            bool continues = trailing % 2 == 1;
            var part = continues ? line[..^1] : line;
            pending = pending is null ? part : pending + part;
            if (continues) continue;
            int sep = pending.IndexOfAny(['=', ':']);
            int space = pending.IndexOfAny([' ', '\t']);
            if (space >= 0 && (sep < 0 || space < sep)) sep = space;
            string key = (sep < 0 ? pending : pending[..sep]).Trim();
            string value = sep < 0 ? "" : pending[(sep + 1)..].TrimStart(' ', '\t', '=', ':').Trim();
            if (key.Length > 0) result.Add((Unescape(key), Unescape(value)));
            pending = null;
        }
        return result;
    }

    private static string Unescape(string s)
    {
        if (!s.Contains('\\')) return s;
        var sb = new System.Text.StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] != '\\' || i + 1 == s.Length) { sb.Append(s[i]); continue; }
            char c = s[++i];
            sb.Append(c switch { 't' => '\t', 'n' => '\n', 'r' => '\r', 'f' => '\f', _ => c });
        }
        return sb.ToString();
    }

    /// <summary>The effective value: per-broker dynamic, cluster-default dynamic, static, else the default.</summary>
    public string? Get(string key) => SetValue(key) ?? BrokerDefaults.GetValueOrDefault(key);

    /// <summary>The static settings (properties file, environment, --set).</summary>
    public IReadOnlyDictionary<string, string> Overrides => _values;

    // a setting that does not parse falls back to the key's default in BrokerConfigs (the one place defaults live)
    private int GetInt(string key) =>
        int.TryParse(Get(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : int.Parse(BrokerDefaults[key], CultureInfo.InvariantCulture);

    private long GetLong(string key) =>
        long.TryParse(Get(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : long.Parse(BrokerDefaults[key], CultureInfo.InvariantCulture);

    private bool GetBool(string key) => bool.TryParse(Get(key), out var v) ? v : bool.Parse(BrokerDefaults[key]);

    public int NodeId => int.TryParse(_values.GetValueOrDefault("node.id") ?? _values.GetValueOrDefault("broker.id"), out var id) ? id : 1;
    public int NumPartitions => GetInt("num.partitions");
    public short DefaultReplicationFactor => (short)GetInt("default.replication.factor");
    public bool AutoCreateTopics => GetBool("auto.create.topics.enable");
    public bool DeleteTopicEnable => GetBool("delete.topic.enable");
    /// <summary>connections.max.idle.ms: a connection with no request for this long is closed.</summary>
    public long ConnectionsMaxIdleMs => GetLong("connections.max.idle.ms");
    public int MaxConnections => GetInt("max.connections");
    public int MaxConnectionsPerIp => GetInt("max.connections.per.ip");
    public long QueuedMaxRequestBytes => GetLong("queued.max.request.bytes");

    /// <summary>max.connections.per.ip.overrides: address (or host name) to its own limit.</summary>
    public IReadOnlyDictionary<string, int> MaxConnectionsPerIpOverrides
    {
        get
        {
            var result = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
            var text = SetValue("max.connections.per.ip.overrides") ?? "";
            foreach (var entry in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                int colon = entry.LastIndexOf(':');
                if (colon <= 0 || !int.TryParse(entry[(colon + 1)..], NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) || n < 0)
                    throw new ArgumentException($"Invalid value {text} for configuration max.connections.per.ip.overrides: expected host:count,host:count");
                result[entry[..colon].Trim('[', ']')] = n;
            }
            return result;
        }
    }

    /// <summary>The rules Kafka checks across keys at start-up (KafkaConfig's validation); null when they hold.</summary>
    public string? CheckConsistency()
    {
        try
        {
            if (QueuedMaxRequestBytes > 0 && QueuedMaxRequestBytes < SocketRequestMaxBytes)
                return "queued.max.request.bytes must be larger or equal to socket.request.max.bytes";
            if (MaxConnectionsPerIp == 0 && MaxConnectionsPerIpOverrides.Count == 0)
                return "max.connections.per.ip can be set to zero only if max.connections.per.ip.overrides property is set.";
            if (MaxConnections < 0) return "Invalid value for configuration max.connections: must be at least 0";
            if (MaxConnectionsPerIp < 0) return "Invalid value for configuration max.connections.per.ip: must be at least 0";
            int session = GroupConsumerSessionTimeoutMs, heartbeat = GroupConsumerHeartbeatIntervalMs;
            int minSession = GetInt("group.consumer.min.session.timeout.ms"), maxSession = GetInt("group.consumer.max.session.timeout.ms");
            int minHb = GetInt("group.consumer.min.heartbeat.interval.ms"), maxHb = GetInt("group.consumer.max.heartbeat.interval.ms");
            if (session < minSession) return "group.consumer.session.timeout.ms must be greater than or equal to group.consumer.min.session.timeout.ms";
            if (session > maxSession) return "group.consumer.session.timeout.ms must be less than or equal to group.consumer.max.session.timeout.ms";
            if (heartbeat < minHb) return "group.consumer.heartbeat.interval.ms must be greater than or equal to group.consumer.min.heartbeat.interval.ms";
            if (heartbeat > maxHb) return "group.consumer.heartbeat.interval.ms must be less than or equal to group.consumer.max.heartbeat.interval.ms";
            if (heartbeat >= session) return "group.consumer.heartbeat.interval.ms must be less than group.consumer.session.timeout.ms";
            if (GroupConsumerAssignors.FirstOrDefault(a => Groups.Assignors.Find(a) is null) is { } unknown)
                return $"group.consumer.assignors: unknown assignor {unknown} (uniform and range are served)";
            if (JaasFile != null && !File.Exists(JaasFile)) return $"the JAAS file {JaasFile} does not exist";
            var listeners = Listeners.Of(this);
            foreach (var l in listeners.Where(l => l.Sasl)) Security.SaslMechanisms.For(this, l);
            foreach (var spec in AddScram) Security.ScramCredentialStore.ParseAddScram(spec);
            Security.Authorizer.Settings(this);
            if (Brokers > 1)
            {
                // each broker binds every listener at the listener's port + its index: no two may meet
                var ports = listeners.Where(l => l.Port != 0).SelectMany(l => Enumerable.Range(l.Port, Brokers)).ToList();
                if (ports.GroupBy(p => p).FirstOrDefault(g => g.Count() > 1) is { } clash)
                    return $"with {Brokers} brokers each listener takes {Brokers} consecutive ports from its own: port {clash.Key} is taken twice; space the listeners' ports further apart or use port 0";
            }
        }
        catch (ArgumentException e)
        {
            return e.Message;
        }
        return null;
    }
    public int? LogMaxMemoryMaps => _values.TryGetValue("log.max.memory.maps", out var v) && int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) ? n : null;
    public int SocketRequestMaxBytes => GetInt("socket.request.max.bytes");

    public int GroupInitialRebalanceDelayMs => GetInt("group.initial.rebalance.delay.ms");
    public int GroupMinSessionTimeoutMs => GetInt("group.min.session.timeout.ms");
    public int GroupMaxSessionTimeoutMs => GetInt("group.max.session.timeout.ms");
    public int GroupMaxSize => GetInt("group.max.size");
    public bool ConsumerProtocolEnabled => (Get("group.coordinator.rebalance.protocols") ?? "").Split(',').Any(p => p.Trim() == "consumer");
    public int GroupConsumerSessionTimeoutMs => GetInt("group.consumer.session.timeout.ms");
    public int GroupConsumerHeartbeatIntervalMs => GetInt("group.consumer.heartbeat.interval.ms");
    public int GroupConsumerMaxSize => GetInt("group.consumer.max.size");
    public IReadOnlyList<string> GroupConsumerAssignors => (Get("group.consumer.assignors") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    public long OffsetsRetentionMs => GetLong("offsets.retention.minutes") * 60_000;
    public int OffsetsRetentionCheckIntervalMs => GetInt("offsets.retention.check.interval.ms");
    public int OffsetMetadataMaxBytes => GetInt("offset.metadata.max.bytes");
    public int OffsetsTopicPartitions => GetInt("offsets.topic.num.partitions");
    public int OffsetsTopicSegmentBytes => GetInt("offsets.topic.segment.bytes");

    /// <summary>Applies <c>KAFKA_NUM_PARTITIONS=3</c>-style variables: strip the prefix, lower-case, '_' to '.'.</summary>
    public void ApplyEnvironment(System.Collections.IDictionary env)
    {
        foreach (System.Collections.DictionaryEntry e in env)
        {
            var name = (string)e.Key;
            if (!name.StartsWith("KAFKA_", StringComparison.Ordinal) || e.Value is not string value) continue;
            // the JVM's options: only the JAAS file is read from them
            if (name == "KAFKA_OPTS")
            {
                if (System.Text.RegularExpressions.Regex.Match(value, @"-Djava\.security\.auth\.login\.config=(?<f>""[^""]+""|\S+)") is { Success: true } m)
                    JaasFile = m.Groups["f"].Value.Trim('"');
                continue;
            }
            // the container images' convention: ___ is '-', __ is '_', _ is '.'
            var key = name["KAFKA_".Length..].ToLowerInvariant().Replace("___", "\u0001").Replace("__", "\u0002").Replace('_', '.')
                .Replace('\u0001', '-').Replace('\u0002', '_');
            if (key.Length > 0) Apply(key, value);
        }
    }

    /// <summary>Effective value of a topic config for a topic with the given overrides.</summary>
    public string TopicValue(string key, IReadOnlyDictionary<string, string> topicOverrides)
    {
        if (topicOverrides.TryGetValue(key, out var v)) return v;
        var def = TopicConfigs.Find(key) ?? throw new ArgumentException($"unknown topic config {key}");
        if (key == "retention.ms") return BrokerRetentionMs().ToString(CultureInfo.InvariantCulture);
        if (key == "segment.ms") return BrokerRollMs().ToString(CultureInfo.InvariantCulture);
        if (def.BrokerKey != null && SetValue(def.BrokerKey) is { } b) return b;
        return def.Default;
    }

    /// <summary>A topic config as DescribeConfigs and CreateTopics report it: the topic's override, else the broker's
    /// setting under one of the synonyms (per-broker dynamic, cluster-default dynamic, static: Kafka's order), else
    /// the default.</summary>
    public DescribedConfig DescribeTopicConfig(TopicConfigDef def, IReadOnlyDictionary<string, string> topicOverrides, bool withDocumentation)
    {
        var synonyms = new List<ConfigSynonym>();
        if (topicOverrides.TryGetValue(def.Name, out var own)) synonyms.Add(new(def.Name, own, ConfigSource.DynamicTopic));
        var brokerNames = BrokerConfigs.SynonymsOf(def);
        foreach (var (layer, source) in SetLayers())
            foreach (var name in brokerNames)
                if (layer.TryGetValue(name, out var v)) synonyms.Add(new(name, v, source));
        // the default is reported under the last (lowest precedence) broker name that has one
        var defaultName = brokerNames.LastOrDefault(n => BrokerDefaults.ContainsKey(n));
        synonyms.Add(defaultName is null ? new(def.Name, def.Default, ConfigSource.Default)
            : new(defaultName, BrokerDefaults[defaultName], ConfigSource.Default));
        return new DescribedConfig(def.Name, TopicValue(def.Name, topicOverrides), synonyms[0].Source, ReadOnly: false,
            Sensitive: false, def.Type, withDocumentation ? def.Doc : null, synonyms);
    }

    /// <summary>The layers that set values, highest precedence first (the defaults come last, apart).</summary>
    private (IReadOnlyDictionary<string, string> Values, ConfigSource Source)[] SetLayers()
    {
        var d = Dynamic;
        return [(d.PerBroker, ConfigSource.DynamicBroker), (d.ClusterDefault, ConfigSource.DynamicDefaultBroker), (_values, ConfigSource.StaticBroker)];
    }

    /// <summary>The synonyms of a broker key as Kafka lists them: every layer in precedence order (per-broker dynamic,
    /// cluster-default dynamic, static, default), within a layer the key's group in its order (log.retention.ms,
    /// .minutes, .hours), then everything before the first entry under the key's own name dropped.</summary>
    private List<ConfigSynonym> BrokerSynonymList(string name, bool sensitive)
    {
        var names = BrokerConfigs.BrokerSynonyms(name);
        var list = new List<ConfigSynonym>();
        foreach (var (layer, source) in SetLayers())
            foreach (var n in names)
                if (layer.TryGetValue(n, out var v)) list.Add(new(n, sensitive ? null : v, source));
        foreach (var n in names)
            if (BrokerDefaults.TryGetValue(n, out var v)) list.Add(new(n, sensitive ? null : v, ConfigSource.Default));
        int own = list.FindIndex(s => s.Name == name);
        return own < 0 ? [] : list[own..];
    }

    /// <summary>The broker's effective configuration (DescribeConfigs on its id): every key it knows plus whatever was
    /// set statically or dynamically, each with where its value comes from. Read-only unless AlterConfigs may change it
    /// (<see cref="BrokerConfigs.IsDynamic"/>).</summary>
    public IEnumerable<DescribedConfig> DescribeBroker(bool withDocumentation)
    {
        var dynamic = Dynamic;
        var described = new SortedDictionary<string, DescribedConfig>(StringComparer.Ordinal);
        void Add(string name, ConfigType type, string? doc)
        {
            bool sensitive = BrokerConfigs.IsSensitive(name);
            var synonyms = BrokerSynonymList(name, sensitive);
            var (value, source) = synonyms.Count > 0 ? (synonyms[0].Value, synonyms[0].Source) : (null, ConfigSource.Default);
            described[name] = new DescribedConfig(name, value, source, ReadOnly: !BrokerConfigs.IsDynamic(name), sensitive,
                sensitive ? ConfigType.Password : type, withDocumentation ? doc : null, synonyms);
        }
        foreach (var def in BrokerConfigs.All) Add(def.Name, def.Type, def.Doc);
        foreach (var k in _values.Keys.Concat(dynamic.ClusterDefault.Keys).Concat(dynamic.PerBroker.Keys))
            if (!described.ContainsKey(k)) Add(k, ConfigType.String, null);
        // node.id not set but its older name broker.id is: the id in use, under node.id
        if (SetValue("node.id") is null && SetValue("broker.id") is not null)
        {
            var id = NodeId.ToString(CultureInfo.InvariantCulture);
            described["node.id"] = described["node.id"] with { Value = id, Source = ConfigSource.StaticBroker, Synonyms = [new("node.id", id, ConfigSource.StaticBroker)] };
        }
        void Fixed(string name, string? value, ConfigSource source, ConfigType type, string doc) =>
            described[name] = new DescribedConfig(name, value, source, ReadOnly: true, Sensitive: false, type, withDocumentation ? doc : null,
                value is null ? [] : [new(name, value, source)]);
        Fixed("listeners", $"PLAINTEXT://{Host}:{Port}", ConfigSource.StaticBroker, ConfigType.List, "Address and port the broker listens on.");
        Fixed("advertised.listeners", AdvertisedHost is null ? null : $"PLAINTEXT://{AdvertisedHost}:{AdvertisedPort ?? Port}",
            AdvertisedHost is null ? ConfigSource.Default : ConfigSource.StaticBroker, ConfigType.List, "Address clients are told to connect to.");
        Fixed("log.dirs", Path.GetFullPath(DataDir), ConfigSource.StaticBroker, ConfigType.List, "Directory holding the topics' data.");
        return described.Values;
    }

    /// <summary>The cluster-wide dynamic defaults (DescribeConfigs on the broker resource named ""): only the keys set
    /// there, as Kafka answers, each with its synonyms from that layer alone.</summary>
    public IEnumerable<DescribedConfig> DescribeClusterDefaults(bool withDocumentation)
    {
        foreach (var (name, value) in Dynamic.ClusterDefault.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            bool sensitive = BrokerConfigs.IsSensitive(name);
            var def = BrokerConfigs.Find(name);
            var synonyms = BrokerSynonymList(name, sensitive).Where(s => s.Source == ConfigSource.DynamicDefaultBroker).ToList();
            yield return new DescribedConfig(name, sensitive ? null : value, ConfigSource.DynamicDefaultBroker, ReadOnly: !BrokerConfigs.IsDynamic(name),
                sensitive, sensitive ? ConfigType.Password : def?.Type ?? ConfigType.String, withDocumentation ? def?.Doc : null, synonyms);
        }
    }

    private long BrokerRetentionMs()
    {
        if (long.TryParse(SetValue("log.retention.ms"), out var ms)) return ms;
        if (long.TryParse(SetValue("log.retention.minutes"), out var min)) return min * 60_000;
        return GetInt("log.retention.hours") * 3_600_000L;
    }

    private long BrokerRollMs()
    {
        if (long.TryParse(SetValue("log.roll.ms"), out var ms)) return ms;
        return GetInt("log.roll.hours") * 3_600_000L;
    }

    public LogConfig LogConfigFor(IReadOnlyDictionary<string, string> topicOverrides)
    {
        var policy = TopicValue("cleanup.policy", topicOverrides).Split(',', StringSplitOptions.TrimEntries);
        return new()
        {
            SegmentBytes = int.Parse(TopicValue("segment.bytes", topicOverrides), CultureInfo.InvariantCulture),
            SegmentIndexBytes = int.Parse(TopicValue("segment.index.bytes", topicOverrides), CultureInfo.InvariantCulture),
            IndexIntervalBytes = int.Parse(TopicValue("index.interval.bytes", topicOverrides), CultureInfo.InvariantCulture),
            MaxMessageBytes = int.Parse(TopicValue("max.message.bytes", topicOverrides), CultureInfo.InvariantCulture),
            TimestampType = TopicValue("message.timestamp.type", topicOverrides) == "LogAppendTime"
                ? TimestampType.LogAppendTime : TimestampType.CreateTime,
            RetentionMs = long.Parse(TopicValue("retention.ms", topicOverrides), CultureInfo.InvariantCulture),
            RetentionBytes = long.Parse(TopicValue("retention.bytes", topicOverrides), CultureInfo.InvariantCulture),
            SegmentMs = long.Parse(TopicValue("segment.ms", topicOverrides), CultureInfo.InvariantCulture),
            DeletePolicy = policy.Contains("delete"),
            CompactPolicy = policy.Contains("compact"),
            FileDeleteDelayMs = long.Parse(TopicValue("file.delete.delay.ms", topicOverrides), CultureInfo.InvariantCulture),
            FlushMessages = long.Parse(TopicValue("flush.messages", topicOverrides), CultureInfo.InvariantCulture),
            FlushMs = long.Parse(TopicValue("flush.ms", topicOverrides), CultureInfo.InvariantCulture),
            DeleteRetentionMs = long.Parse(TopicValue("delete.retention.ms", topicOverrides), CultureInfo.InvariantCulture),
            MinCompactionLagMs = long.Parse(TopicValue("min.compaction.lag.ms", topicOverrides), CultureInfo.InvariantCulture),
            MinCleanableDirtyRatio = double.Parse(TopicValue("min.cleanable.dirty.ratio", topicOverrides), CultureInfo.InvariantCulture),
            MinInSyncReplicas = int.Parse(TopicValue("min.insync.replicas", topicOverrides), CultureInfo.InvariantCulture),
        };
    }

    /// <summary>log.cleaner.backoff.ms: how often the cleaner looks for logs to compact.</summary>
    public long CleanerBackoffMs => GetLong("log.cleaner.backoff.ms");
    public bool CleanerEnabled => GetBool("log.cleaner.enable");

    /// <summary>log.flush.scheduler.interval.ms: how often flush.ms is checked (Kafka's default: never).</summary>
    public long FlushSchedulerIntervalMs => GetLong("log.flush.scheduler.interval.ms");

    public int TransactionMaxTimeoutMs => GetInt("transaction.max.timeout.ms");
    public int TransactionStateLogPartitions => GetInt("transaction.state.log.num.partitions");
    public int TransactionStateLogSegmentBytes => GetInt("transaction.state.log.segment.bytes");
    public int TransactionAbortCheckIntervalMs => GetInt("transaction.abort.timed.out.transaction.cleanup.interval.ms");
    public int TransactionalIdExpirationMs => GetInt("transactional.id.expiration.ms");
    public int TransactionalIdExpirationCheckIntervalMs => GetInt("transaction.remove.expired.transaction.cleanup.interval.ms");
    /// <summary>producer.id.expiration.ms: how long a partition keeps an idle producer's state.</summary>
    public int ProducerIdExpirationMs => GetInt("producer.id.expiration.ms");
    /// <summary>producer.id.expiration.check.interval.ms</summary>
    public int ProducerIdExpirationCheckIntervalMs => GetInt("producer.id.expiration.check.interval.ms");
    /// <summary>log.retention.check.interval.ms: how often retention runs.</summary>
    public long RetentionCheckIntervalMs => GetLong("log.retention.check.interval.ms");
}
