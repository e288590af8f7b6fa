// AlterConfigs (key 33): versions 0-2. Replaces all of a resource's config values with the ones given (configs not
// named go back to what lies under them). Topics: the topic's overrides, validated as a whole (INVALID_CONFIG), then
// persisted and applied. Broker (its id, or "" for the cluster-wide defaults): the dynamic broker configs, checked as
// Kafka checks them (INVALID_REQUEST), stored and applied at once (KafkaBroker.ChangeBrokerConfigs).
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class AlterConfigsHandler : ApiHandler<AlterConfigsRequest, AlterConfigsResponse>
{
    protected override ValueTask<AlterConfigsResponse?> Handle(RequestContext ctx, AlterConfigsRequest req)
    {
        var resp = new AlterConfigsResponse();
        var outcomes = ConfigResources.AlterEach(req.Resources, r => (r.ResourceType, r.ResourceName), r => ConfigResources.Authorize(ctx, r.ResourceType, r.ResourceName, AclOperation.AlterConfigs) ?? Alter(ctx.Broker, r, req.ValidateOnly));
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
        res.ResourceType == ConfigResources.Broker
            ? broker.ChangeBrokerConfigs(res.ResourceName, validateOnly, _ => Given(res))
            : broker.ChangeTopicConfigs(res.ResourceType, res.ResourceName, validateOnly, _ => Given(res));

    /// <summary>The whole new set: the configs named in the request.</summary>
    private static (Dictionary<string, string>?, ConfigResources.Lookup) Given(AlterConfigsRequest.AlterConfigsResource res)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var c in res.Configs)
        {
            if (c.Value is null) return ConfigResources.Refuse(ErrorCode.InvalidRequest, $"Null value not supported for : {c.Name}");
            if (!values.TryAdd(c.Name, c.Value)) return ConfigResources.Refuse(ErrorCode.InvalidRequest, $"Error due to duplicate config keys: {c.Name}");
        }
        return (values, default);
    }

    protected override IEnumerable<Requirement> Requires(AlterConfigsRequest request, short version) => Nothing;
}
