// DescribeConfigs (key 32): versions 0-4. Topic resources: every topic config with its effective value and source
// (topic override, dynamic broker value, dynamic cluster default, static broker setting, default) and, when asked, its
// synonyms and documentation. Broker resources: the broker's effective configuration (its own id), or, as Kafka
// answers for the empty name, only the dynamic cluster-wide defaults that are set.
using KafkaCompat.Broker.Config;
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class DescribeConfigsHandler : ApiHandler<DescribeConfigsRequest, DescribeConfigsResponse>
{
    protected override ValueTask<DescribeConfigsResponse?> Handle(RequestContext ctx, DescribeConfigsRequest req)
    {
        var broker = ctx.Broker;
        var resp = new DescribeConfigsResponse();
        foreach (var res in req.Resources)
        {
            var result = new DescribeConfigsResponse.DescribeConfigsResult { ResourceType = res.ResourceType, ResourceName = res.ResourceName };
            resp.Results.Add(result);
            IEnumerable<DescribedConfig> configs;
            ConfigResources.Lookup found;
            if (ConfigResources.Authorize(ctx, res.ResourceType, res.ResourceName, AclOperation.DescribeConfigs) is { } refused)
            {
                result.ErrorCode = refused.Error;
                continue;
            }
            switch (res.ResourceType)
            {
                case ConfigResources.Topic:
                    found = ConfigResources.FindTopic(broker, res.ResourceName);
                    configs = found.Topic is { } topic
                        ? TopicConfigs.All.Select(def => broker.Config.DescribeTopicConfig(def, topic.Record.Configs, req.IncludeDocumentation))
                        : [];
                    break;
                case ConfigResources.Broker:
                    found = ConfigResources.CheckBroker(broker, res.ResourceName);
                    configs = !found.Ok ? []
                        : res.ResourceName.Length > 0 ? broker.Config.DescribeBroker(req.IncludeDocumentation)
                        : broker.Config.DescribeClusterDefaults(req.IncludeDocumentation);
                    break;
                default:
                    found = ConfigResources.Unsupported(res.ResourceType);
                    configs = [];
                    break;
            }
            if (!found.Ok)
            {
                result.ErrorCode = found.Error;
                result.ErrorMessage = found.Message;
                continue;
            }
            var keys = res.ConfigurationKeys is { Count: > 0 } k ? new HashSet<string>(k, StringComparer.Ordinal) : null;
            foreach (var c in configs)
            {
                if (keys != null && !keys.Contains(c.Name)) continue;
                result.Configs.Add(new DescribeConfigsResponse.DescribeConfigsResourceResult
                {
                    Name = c.Name,
                    Value = c.Value,
                    ReadOnly = c.ReadOnly,
                    IsDefault = c.Source == ConfigSource.Default,
                    ConfigSource = (sbyte)c.Source,
                    IsSensitive = c.Sensitive,
                    Synonyms = req.IncludeSynonyms
                        ? c.Synonyms.Select(s => new DescribeConfigsResponse.DescribeConfigsSynonym { Name = s.Name, Value = s.Value, Source = (sbyte)s.Source }).ToList()
                        : [],
                    ConfigType = (sbyte)c.Type,
                    Documentation = c.Documentation,
                });
            }
        }
        return new(resp);
    }

    protected override IEnumerable<Requirement> Requires(DescribeConfigsRequest request, short version) => Nothing;
}
