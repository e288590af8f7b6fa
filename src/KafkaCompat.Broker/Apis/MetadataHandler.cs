// Metadata (key 3): versions 0-13. The live brokers of the cluster, and per partition its leader (LEADER_NOT_AVAILABLE
// when no replica is live), leader epoch, replicas, in-sync replicas and offline replicas. v13 adds a top-level error
// code (KIP-1102: REBOOTSTRAP_REQUIRED when the client's brokers are gone), always NONE here.
// Topic ids from v10; auto-creation when the request allows it (v4+) and auto.create.topics.enable is true.
using KafkaCompat.Broker.Security;
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
            // topics the principal may not describe are left out, as Kafka hides them
            foreach (var t in broker.Logs.Topics.OrderBy(t => t.Name, StringComparer.Ordinal))
                if (ctx.Authorize(AclOperation.Describe, AclResourceType.Topic, t.Name))
                    resp.Topics.Add(Describe(ctx, t, req.IncludeTopicAuthorizedOperations));
        }
        else
        {
            foreach (var rt in req.Topics!)
            {
                if (rt.Name is null)
                {
                    var byId = broker.Logs.Get(rt.TopicId);
                    resp.Topics.Add(byId != null && !ctx.Authorize(AclOperation.Describe, AclResourceType.Topic, byId.Name)
                        ? new MetadataResponse.MetadataResponseTopic { ErrorCode = ErrorCode.TopicAuthorizationFailed, Name = null, TopicId = rt.TopicId }
                        : byId != null
                        ? Describe(ctx, byId, req.IncludeTopicAuthorizedOperations)
                        : new MetadataResponse.MetadataResponseTopic { ErrorCode = ErrorCode.UnknownTopicId, Name = null, TopicId = rt.TopicId });
                    continue;
                }
                // not describable: refused by name, whether it exists or not (nothing is disclosed)
                if (!ctx.Authorize(AclOperation.Describe, AclResourceType.Topic, rt.Name))
                {
                    resp.Topics.Add(new MetadataResponse.MetadataResponseTopic { ErrorCode = ErrorCode.TopicAuthorizationFailed, Name = rt.Name });
                    continue;
                }
                if (KafkaBroker.CheckTopicName(rt.Name) != null)
                {
                    resp.Topics.Add(new MetadataResponse.MetadataResponseTopic { ErrorCode = ErrorCode.InvalidTopicException, Name = rt.Name });
                    continue;
                }
                // auto-creation needs CREATE on the cluster or the topic
                if (req.AllowAutoTopicCreation && broker.Config.AutoCreateTopics && broker.Logs.Get(rt.Name) is null && !ctx.MayCreateTopic(rt.Name))
                {
                    resp.Topics.Add(new MetadataResponse.MetadataResponseTopic { ErrorCode = ErrorCode.TopicAuthorizationFailed, Name = rt.Name });
                    continue;
                }
                var (topic, err) = broker.GetOrAutoCreate(rt.Name, req.AllowAutoTopicCreation);
                resp.Topics.Add(topic != null
                    ? Describe(ctx, topic, req.IncludeTopicAuthorizedOperations)
                    : new MetadataResponse.MetadataResponseTopic { ErrorCode = err, Name = rt.Name });
            }
        }
        // v8-10: the cluster's operations for this principal (0 without DESCRIBE on the cluster)
        if (req.IncludeClusterAuthorizedOperations)
            resp.ClusterAuthorizedOperations = !broker.Authorizer.Enabled ? DescribeClusterHandler.AllClusterOperations
                : ctx.Authorize(AclOperation.Describe, AclResourceType.Cluster, Authorizer.ClusterName) ? ctx.AuthorizedOperations(AclResourceType.Cluster, Authorizer.ClusterName) : 0;
        return new(resp);
    }

    private static MetadataResponse.MetadataResponseTopic Describe(RequestContext ctx, TopicLogs t, bool includeOps)
    {
        var broker = ctx.Broker;
        var topic = new MetadataResponse.MetadataResponseTopic
        {
            Name = t.Name,
            TopicId = t.Id,
            IsInternal = t.Name.StartsWith("__", StringComparison.Ordinal),
        };
        if (includeOps)
            topic.TopicAuthorizedOperations = broker.Authorizer.Enabled ? ctx.AuthorizedOperations(AclResourceType.Topic, t.Name) : AllTopicOperations;
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

    protected override IEnumerable<Requirement> Requires(MetadataRequest request, short version) => Nothing;
}
