using System.Globalization;
using KafkaCompat.Protocol;
using KafkaCompat.Storage;

namespace KafkaCompat.Broker.Apis;

/// <summary>The config resources of DescribeConfigs, AlterConfigs and IncrementalAlterConfigs, and how each is found.</summary>
public static class ConfigResources
{
    public const sbyte Topic = 2, Broker = 4, BrokerLogger = 8;

    public readonly record struct Lookup(ErrorCode Error, string? Message, TopicLogs? Topic = null)
    {
        public bool Ok => Error == ErrorCode.None;
    }

    public static Lookup FindTopic(KafkaBroker broker, string name)
    {
        if (KafkaBroker.CheckTopicName(name) is { } bad) return new(ErrorCode.InvalidTopicException, bad);
        var topic = broker.Logs.Get(name);
        return topic is null
            ? new(ErrorCode.UnknownTopicOrPartition, $"The topic '{name}' does not exist.")
            : new(ErrorCode.None, null, topic);
    }

    /// <summary>A broker resource names this broker's id, or is empty for the cluster-wide defaults.</summary>
    public static Lookup CheckBroker(KafkaBroker broker, string name)
    {
        if (name.Length == 0 || (int.TryParse(name, NumberStyles.Integer, CultureInfo.InvariantCulture, out int id) && id == broker.NodeId))
            return new(ErrorCode.None, null);
        return new(ErrorCode.InvalidRequest, $"Unexpected broker id, expected {broker.NodeId} or empty string, but received {name}");
    }

    /// <summary>The broker resource of an AlterConfigs or IncrementalAlterConfigs entry: this broker's id, or empty
    /// for the cluster-wide defaults; otherwise Kafka's refusals.</summary>
    public static Lookup CheckAlterableBroker(KafkaBroker broker, string name)
    {
        if (name.Length == 0) return new(ErrorCode.None, null);
        if (!int.TryParse(name, NumberStyles.Integer, CultureInfo.InvariantCulture, out int id))
            return new(ErrorCode.InvalidRequest, $"Node id must be an integer, but it is: {name}");
        return id == broker.NodeId ? new(ErrorCode.None, null)
            : new(ErrorCode.InvalidRequest, $"Unexpected broker id, expected {broker.NodeId}, but received {name}");
    }

    /// <summary>The topic resource of an AlterConfigs or IncrementalAlterConfigs entry: a topic that exists, or why
    /// not (broker resources go to <see cref="KafkaBroker.ChangeBrokerConfigs"/>).</summary>
    public static Lookup FindAlterableTopic(KafkaBroker broker, sbyte type, string name) =>
        type == Topic ? FindTopic(broker, name) : Unsupported(type);

    /// <summary>The outcome for each resource of an alter request, in order: a resource named twice is refused, as
    /// Kafka refuses it; the others are altered.</summary>
    public static List<Lookup> AlterEach<T>(IReadOnlyList<T> resources, Func<T, (sbyte Type, string Name)> id, Func<T, Lookup> alter)
    {
        var repeated = resources.GroupBy(id).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet();
        return resources.Select(r => repeated.Contains(id(r)) ? new Lookup(ErrorCode.InvalidRequest, "Each resource must appear at most once.") : alter(r)).ToList();
    }

    /// <summary>A change refused before anything was altered.</summary>
    public static (Dictionary<string, string>? Overrides, Lookup Refusal) Refuse(ErrorCode code, string message) => (null, new(code, message));

    /// <summary>With an authorizer: the refusal of a resource's configs to this principal (null: allowed). A topic's
    /// need the operation on the topic; a broker's and the cluster default's on the cluster.</summary>
    public static Lookup? Authorize(RequestContext ctx, sbyte type, string name, Protocol.AclOperation op) => type switch
    {
        Topic when !ctx.Authorize(op, Protocol.AclResourceType.Topic, name) => new(ErrorCode.TopicAuthorizationFailed, null),
        Broker or BrokerLogger when !ctx.Authorize(op, Protocol.AclResourceType.Cluster, Security.Authorizer.ClusterName) => new(ErrorCode.ClusterAuthorizationFailed, null),
        _ => null,
    };

    public static Lookup Unsupported(sbyte type) => type == BrokerLogger
        ? new(ErrorCode.InvalidRequest, "Broker logger configs are not supported by this broker.")
        : new(ErrorCode.InvalidRequest, $"Unsupported resource type {type} for configs.");
}
