// AlterConfigs (key 33): versions 0-2. Replaces all of a topic's config overrides with the ones given (configs not
// named go back to the broker default). Validated as a whole first (INVALID_CONFIG), then persisted and applied.
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class AlterConfigsHandler : ApiHandler<AlterConfigsRequest, AlterConfigsResponse>
{
    protected override ValueTask<AlterConfigsResponse?> Handle(RequestContext ctx, AlterConfigsRequest req)
    {
        var resp = new AlterConfigsResponse();
        var repeated = req.Resources.GroupBy(r => (r.ResourceType, r.ResourceName)).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet();
        foreach (var res in req.Resources)
        {
            ConfigResources.Lookup outcome;
            if (repeated.Contains((res.ResourceType, res.ResourceName)))
                outcome = new(ErrorCode.InvalidRequest, "Each resource must appear at most once.");
            else
                lock (ctx.Broker.ConfigChangeLock) outcome = Alter(ctx.Broker, res, req.ValidateOnly);
            resp.Responses.Add(new AlterConfigsResponse.AlterConfigsResourceResponse
            {
                ResourceType = res.ResourceType, ResourceName = res.ResourceName,
                ErrorCode = (short)outcome.Error, ErrorMessage = outcome.Message,
            });
        }
        return new(resp);
    }

    private static ConfigResources.Lookup Alter(KafkaBroker broker, AlterConfigsRequest.AlterConfigsResource res, bool validateOnly)
    {
        var found = ConfigResources.FindAlterableTopic(broker, res.ResourceType, res.ResourceName);
        if (!found.Ok) return found;
        var overrides = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var c in res.Configs)
        {
            if (c.Value is null) return new(ErrorCode.InvalidRequest, $"Null value not supported for : {c.Name}");
            if (!overrides.TryAdd(c.Name, c.Value)) return new(ErrorCode.InvalidRequest, $"Error due to duplicate config keys: {c.Name}");
        }
        return broker.AlterTopicConfigs(found.Topic!, overrides, validateOnly);
    }
}
