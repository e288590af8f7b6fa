// IncrementalAlterConfigs (key 44): versions 0-1. Changes a topic's config overrides one key at a time: SET, DELETE
// (back to the broker default), and for list configs APPEND and SUBTRACT. The result is validated as a whole
// (INVALID_CONFIG), then persisted and applied.
using KafkaCompat.Broker.Config;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class IncrementalAlterConfigsHandler : ApiHandler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>
{
    public const sbyte OpSet = 0, OpDelete = 1, OpAppend = 2, OpSubtract = 3;

    protected override ValueTask<IncrementalAlterConfigsResponse?> Handle(RequestContext ctx, IncrementalAlterConfigsRequest req)
    {
        var resp = new IncrementalAlterConfigsResponse();
        var outcomes = ConfigResources.AlterEach(req.Resources, r => (r.ResourceType, r.ResourceName), r => Alter(ctx.Broker, r, req.ValidateOnly));
        foreach (var (res, outcome) in req.Resources.Zip(outcomes))
        {
            resp.Responses.Add(new IncrementalAlterConfigsResponse.AlterConfigsResourceResponse
            {
                ResourceType = res.ResourceType, ResourceName = res.ResourceName,
                ErrorCode = outcome.Error, ErrorMessage = outcome.Message,
            });
        }
        return new(resp);
    }

    private static ConfigResources.Lookup Alter(KafkaBroker broker, IncrementalAlterConfigsRequest.AlterConfigsResource res, bool validateOnly) =>
        broker.ChangeTopicConfigs(res.ResourceType, res.ResourceName, validateOnly, existing =>
        {
            if (res.Configs.GroupBy(c => c.Name).FirstOrDefault(g => g.Count() > 1) is { } dup)
                return ConfigResources.Refuse(ErrorCode.InvalidRequest, $"Error due to duplicate config keys: {dup.Key}");
            var overrides = new Dictionary<string, string>(existing, StringComparer.Ordinal);
            foreach (var c in res.Configs)
            {
                // the keys Kafka 4.0 removed are accepted here and dropped when the change is made
                var def = TopicConfigs.Find(c.Name) ?? TopicConfigs.FindRemoved(c.Name);
                if (def is null) return ConfigResources.Refuse(ErrorCode.InvalidConfig, $"Unknown topic config name: {c.Name}");
                switch (c.ConfigOperation)
                {
                    case OpSet:
                        if (c.Value is null) return ConfigResources.Refuse(ErrorCode.InvalidRequest, $"Null value not supported for : {c.Name}");
                        overrides[c.Name] = c.Value;
                        break;
                    case OpDelete:
                        overrides.Remove(c.Name);
                        break;
                    case OpAppend or OpSubtract:
                        if (c.Value is null) return ConfigResources.Refuse(ErrorCode.InvalidRequest, $"Null value not supported for : {c.Name}");
                        if (def.Type != ConfigType.List)
                            return ConfigResources.Refuse(ErrorCode.InvalidConfig,
                                $"Config value {(c.ConfigOperation == OpAppend ? "append" : "subtract")} is not allowed for config key: {c.Name}");
                        // the current list: the topic's own value, else the topic-level default (as Kafka does)
                        var current = (overrides.GetValueOrDefault(c.Name) ?? def.Default)
                            .Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();
                        var given = c.Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                        if (c.ConfigOperation == OpAppend) current.AddRange(given.Where(g => !current.Contains(g)));
                        else current.RemoveAll(given.Contains);
                        overrides[c.Name] = string.Join(',', current);
                        break;
                    default:
                        return ConfigResources.Refuse(ErrorCode.InvalidRequest, $"Unknown config operation {c.ConfigOperation} for config key: {c.Name}");
                }
            }
            return (overrides, default);
        });
}
