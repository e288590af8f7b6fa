// Metadata (key 3): versions 0-13. The live brokers of the cluster, and per partition its leader (LEADER_NOT_AVAILABLE
// when no replica is live), leader epoch, replicas, in-sync replicas and offline replicas. v13 adds a top-level error
// code (KIP-1102: REBOOTSTRAP_REQUIRED when the client's brokers are gone), always NONE here.
// Topic ids from v10; auto-creation when the request allows it (v4+) and auto.create.topics.enable is true.
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using KafkaCompat.Storage;

namespace KafkaCompat.Broker.Apis;

public sealed class MetadataHandler : ApiHandler<MetadataRequest, MetadataResponse>
{
    /// <summary>READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS: no ACLs here.</summary>
    private const int AllTopicOperations = (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11);

    protected override ValueTask<MetadataResponse?> Handle(RequestContext ctx, MetadataRequest req)
    {
        var broker = ctx.Broker;
        var resp = new MetadataResponse
        {
            ClusterId = broker.ClusterId,
            ControllerId = broker.Cluster.ControllerId,
        };
        foreach (var node in broker.Cluster.RegisteredNodes)
        {
            var (host, port) = ctx.Endpoint(node);
            resp.Brokers.Add(new MetadataResponse.MetadataResponseBroker { NodeId = node.Id, Host = host, Port = port, Rack = node.Rack });
        }
        bool allTopics = req.Topics is null || (ctx.ApiVersion == 0 && req.Topics.Count == 0);
        if (allTopics)
        {
            foreach (var t in broker.Logs.Topics.OrderBy(t => t.Name, StringComparer.Ordinal))
                resp.Topics.Add(Describe(broker, t, req.IncludeTopicAuthorizedOperations));
        }
        else
        {
            foreach (var rt in req.Topics!)
            {
                if (rt.Name is null)
                {
                    var byId = broker.Logs.Get(rt.TopicId);
                    resp.Topics.Add(byId != null
                        ? Describe(broker, byId, req.IncludeTopicAuthorizedOperations)
                        : new MetadataResponse.MetadataResponseTopic { ErrorCode = ErrorCode.UnknownTopicId, Name = null, TopicId = rt.TopicId });
                    continue;
                }
                if (KafkaBroker.CheckTopicName(rt.Name) != null)
                {
                    resp.Topics.Add(new MetadataResponse.MetadataResponseTopic { ErrorCode = ErrorCode.InvalidTopicException, Name = rt.Name });
                    continue;
                }
                var (topic, err) = broker.GetOrAutoCreate(rt.Name, req.AllowAutoTopicCreation);
                resp.Topics.Add(topic != null
                    ? Describe(broker, topic, req.IncludeTopicAuthorizedOperations)
                    : new MetadataResponse.MetadataResponseTopic { ErrorCode = err, Name = rt.Name });
            }
        }
        return new(resp);
    }

    private static MetadataResponse.MetadataResponseTopic Describe(KafkaBroker broker, TopicLogs t, bool includeOps)
    {
        var topic = new MetadataResponse.MetadataResponseTopic
        {
            Name = t.Name,
            TopicId = t.Id,
            IsInternal = t.Name.StartsWith("__", StringComparison.Ordinal),
        };
        if (includeOps) topic.TopicAuthorizedOperations = AllTopicOperations;
        for (int p = 0; p < t.Partitions.Length; p++)
        {
            var state = broker.Cluster.Partition(t, p);
            topic.Partitions.Add(new MetadataResponse.MetadataResponsePartition
            {
                ErrorCode = state.Leader < 0 ? ErrorCode.LeaderNotAvailable : ErrorCode.None,
                PartitionIndex = p,
                LeaderId = state.Leader,
                LeaderEpoch = state.LeaderEpoch,
                ReplicaNodes = [.. state.Replicas],
                IsrNodes = [.. state.Isr],
                OfflineReplicas = [.. broker.Cluster.Offline(state)],
            });
        }
        return topic;
    }

    protected override MetadataResponse? ErrorResponse(MetadataRequest request, ErrorCode error) => new()
    {
        Topics = (request.Topics ?? []).Select(t => new MetadataResponse.MetadataResponseTopic { Name = t.Name, TopicId = t.TopicId, ErrorCode = error }).ToList(),
    };
}
