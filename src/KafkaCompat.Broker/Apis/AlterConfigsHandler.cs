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
        var outcomes = ConfigResources.AlterEach(req.Resources, r => (r.ResourceType, r.ResourceName), r => Alter(ctx.Broker, r, req.ValidateOnly));
        foreach (var (res, outcome) in req.Resources.Zip(outcomes))
        {
            resp.Responses.Add(new AlterConfigsResponse.AlterConfigsResourceResponse
            {
                ResourceType = res.ResourceType, ResourceName = res.ResourceName,
                ErrorCode = outcome.Error, ErrorMessage = outcome.Message,
            });
        }
        return new(resp);
    }

    private static ConfigResources.Lookup Alter(KafkaBroker broker, AlterConfigsRequest.AlterConfigsResource res, bool validateOnly) =>
        broker.ChangeTopicConfigs(res.ResourceType, res.ResourceName, validateOnly, _ =>
        {
            var overrides = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var c in res.Configs)
            {
                if (c.Value is null) return ConfigResources.Refuse(ErrorCode.InvalidRequest, $"Null value not supported for : {c.Name}");
                if (!overrides.TryAdd(c.Name, c.Value)) return ConfigResources.Refuse(ErrorCode.InvalidRequest, $"Error due to duplicate config keys: {c.Name}");
            }
            return (overrides, default);
        });
}
