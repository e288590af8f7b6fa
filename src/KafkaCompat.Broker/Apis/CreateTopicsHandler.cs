// CreateTopics (key 19): versions 0-7. Partitions (-1 = num.partitions), replication factor 1 (-1 = default),
// manual assignments on this broker, topic configs validated (INVALID_CONFIG), validate_only.
// v5+ answers with the partition count, replication factor and the topic's effective configs; v7 the topic id.
// As Kafka's controller: a request asking for more than 10,000 partitions in all is refused whole
// (POLICY_VIOLATION "Excessively large number of partitions per request.").
using KafkaCompat.Broker.Config;
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class CreateTopicsHandler : ApiHandler<CreateTopicsRequest, CreateTopicsResponse>
{
    protected override ValueTask<CreateTopicsResponse?> Handle(RequestContext ctx, CreateTopicsRequest req)
    {
        var broker = ctx.Broker;
        var resp = new CreateTopicsResponse();
        var duplicates = req.Topics.GroupBy(t => t.Name).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet();
        long total = req.Topics.Sum(t => t.Assignments.Count > 0 ? t.Assignments.Count
            : t.NumPartitions == -1 ? broker.Config.NumPartitions : Math.Max(0, t.NumPartitions));
        if (total > KafkaBroker.MaxPartitionsPerRequest)
        {
            foreach (var t in req.Topics)
            {
                var r = new CreateTopicsResponse.CreatableTopicResult { Name = t.Name };
                Fail(r, ErrorCode.PolicyViolation, "Excessively large number of partitions per request.");
                resp.Topics.Add(r);
            }
            KafkaBroker.LogRejected(broker.Logger, "CreateTopics", ctx.ApiVersion, ctx.ClientId, $"{total} partitions asked for in one request (at most {KafkaBroker.MaxPartitionsPerRequest})");
            return new(resp);
        }
        foreach (var t in req.Topics)
        {
            var r = new CreateTopicsResponse.CreatableTopicResult { Name = t.Name };
            resp.Topics.Add(r);
            if (duplicates.Contains(t.Name))
            {
                Fail(r, ErrorCode.InvalidRequest, $"Create topics request from client `{ctx.ClientId}` contains multiple entries for the following topics: {t.Name}");
                continue;
            }
            if (!ctx.MayCreateTopic(t.Name))
            {
                Fail(r, ErrorCode.TopicAuthorizationFailed, "Authorization failed.");
                continue;
            }
            int partitions = t.NumPartitions;
            short rf = t.ReplicationFactor;
            if (t.Assignments.Count > 0)
            {
                if (partitions != -1 || rf != -1)
                {
                    Fail(r, ErrorCode.InvalidRequest, "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.");
                    continue;
                }
                var idx = t.Assignments.Select(a => a.PartitionIndex).Order().ToList();
                if (!idx.SequenceEqual(Enumerable.Range(0, idx.Count)))
                {
                    Fail(r, ErrorCode.InvalidReplicaAssignment, "Partitions should be 0-based and consecutive in the manual partition assignment.");
                    continue;
                }
                partitions = idx.Count;
                rf = (short)t.Assignments[0].BrokerIds.Count;
            }
            var configs = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var c in t.Configs) configs[c.Name] = c.Value;
            var assignment = t.Assignments.Count > 0 ? t.Assignments.OrderBy(a => a.PartitionIndex).Select(a => (IReadOnlyList<int>)a.BrokerIds).ToList() : null;
            var result = broker.CreateTopic(t.Name, partitions, rf, configs, req.ValidateOnly, assignment);
            if (result.Error != ErrorCode.None)
            {
                Fail(r, result.Error, result.Message);
                continue;
            }
            r.NumPartitions = partitions == -1 ? broker.Config.NumPartitions : partitions;
            r.ReplicationFactor = rf == -1 ? broker.Config.DefaultReplicationFactor : rf;
            if (result.Topic != null) r.TopicId = result.Topic.Id;
            r.Configs = [];
            var overrides = configs.Where(kv => kv.Value != null).ToDictionary(kv => kv.Key, kv => kv.Value!);
            foreach (var def in TopicConfigs.All)
            {
                var d = broker.Config.DescribeTopicConfig(def, overrides, withDocumentation: false);
                r.Configs.Add(new CreateTopicsResponse.CreatableTopicConfigs
                {
                    Name = d.Name, Value = d.Value, ReadOnly = d.ReadOnly, ConfigSource = (sbyte)d.Source, IsSensitive = d.Sensitive,
                });
            }
        }
        return new(resp);
    }

    private static void Fail(CreateTopicsResponse.CreatableTopicResult r, ErrorCode code, string? message)
    {
        r.ErrorCode = code;
        r.ErrorMessage = message;
        if (code == ErrorCode.InvalidConfig) r.TopicConfigErrorCode = code;
    }

    protected override CreateTopicsResponse? ErrorResponse(CreateTopicsRequest request, ErrorCode error) => new()
    {
        Topics = request.Topics.Select(t => new CreateTopicsResponse.CreatableTopicResult { Name = t.Name, ErrorCode = error, NumPartitions = -1, ReplicationFactor = -1 }).ToList(),
    };

    protected override IEnumerable<Requirement> Requires(CreateTopicsRequest request, short version) => Nothing;
}
