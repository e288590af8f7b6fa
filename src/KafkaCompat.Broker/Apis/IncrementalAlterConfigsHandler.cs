// IncrementalAlterConfigs (key 44): versions 0-1. Changes a resource's config values one key at a time: SET, DELETE
// (back to what lies under it), and for list configs APPEND and SUBTRACT. Topics: the topic's overrides, validated as
// a whole (INVALID_CONFIG), then persisted and applied. Broker (its id, or "" for the cluster-wide defaults): the
// dynamic broker configs, checked as Kafka checks them (INVALID_REQUEST), stored and applied at once.
using KafkaCompat.Broker.Config;
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class IncrementalAlterConfigsHandler : ApiHandler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>
{
    public const sbyte OpSet = 0, OpDelete = 1, OpAppend = 2, OpSubtract = 3;

    protected override ValueTask<IncrementalAlterConfigsResponse?> Handle(RequestContext ctx, IncrementalAlterConfigsRequest req)
    {
        var resp = new IncrementalAlterConfigsResponse();
        var outcomes = ConfigResources.AlterEach(req.Resources, r => (r.ResourceType, r.ResourceName), r => ConfigResources.Authorize(ctx, r.ResourceType, r.ResourceName, AclOperation.AlterConfigs) ?? Alter(ctx.Broker, r, req.ValidateOnly));
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
        res.ResourceType == ConfigResources.Broker
            ? broker.ChangeBrokerConfigs(res.ResourceName, validateOnly, existing => Apply(existing, res, BrokerKey))
            : broker.ChangeTopicConfigs(res.ResourceType, res.ResourceName, validateOnly, existing => Apply(existing, res, TopicKey));

    /// <summary>What an operation needs to know of a key: its type and the default a list operation starts from.</summary>
    private readonly record struct KeyInfo(ConfigType Type, string? Default);

    /// <summary>Topic keys: Kafka's topic configs (and those Kafka 4.0 removed, which are accepted and dropped later).</summary>
    private static (KeyInfo? Info, ConfigResources.Lookup Refusal) TopicKey(string name) =>
        (TopicConfigs.Find(name) ?? TopicConfigs.FindRemoved(name)) is { } def
            ? (new KeyInfo(def.Type, def.Default), default)
            : (null, new(ErrorCode.InvalidConfig, $"Unknown topic config name: {name}"));

    /// <summary>Broker keys: any name may be set or deleted (unknown ones are kept as given, as Kafka keeps them); a
    /// list operation needs a key whose type is known.</summary>
    private static (KeyInfo? Info, ConfigResources.Lookup Refusal) BrokerKey(string name) =>
        (BrokerConfigs.Find(name) is { } def ? new KeyInfo(def.Type, def.Default) : new KeyInfo(ConfigType.Unknown, null), default);

    private static (Dictionary<string, string>?, ConfigResources.Lookup) Apply(IReadOnlyDictionary<string, string> existing,
        IncrementalAlterConfigsRequest.AlterConfigsResource res, Func<string, (KeyInfo? Info, ConfigResources.Lookup Refusal)> key)
    {
        if (res.Configs.GroupBy(c => c.Name).FirstOrDefault(g => g.Count() > 1) is { } dup)
            return ConfigResources.Refuse(ErrorCode.InvalidRequest, $"Error due to duplicate config keys: {dup.Key}");
        var values = new Dictionary<string, string>(existing, StringComparer.Ordinal);
        foreach (var c in res.Configs)
        {
            var (info, refusal) = key(c.Name);
            if (info is not { } def) return (null, refusal);
            switch (c.ConfigOperation)
            {
                case OpSet:
                    if (c.Value is null) return ConfigResources.Refuse(ErrorCode.InvalidRequest, $"Null value not supported for : {c.Name}");
                    values[c.Name] = c.Value;
                    break;
                case OpDelete:
                    values.Remove(c.Name);
                    break;
                case OpAppend or OpSubtract:
                    if (c.Value is null) return ConfigResources.Refuse(ErrorCode.InvalidRequest, $"Null value not supported for : {c.Name}");
                    if (def.Type == ConfigType.Unknown) return ConfigResources.Refuse(ErrorCode.InvalidConfig, $"Unknown config name: {c.Name}");
                    if (def.Type != ConfigType.List)
                        return ConfigResources.Refuse(ErrorCode.InvalidConfig,
                            $"Config value {(c.ConfigOperation == OpAppend ? "append" : "subtract")} is not allowed for config key: {c.Name}");
                    // the current list: the resource's own value, else the key's default (as Kafka does)
                    var current = (values.GetValueOrDefault(c.Name) ?? def.Default ?? "")
                        .Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();
                    var given = c.Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                    if (c.ConfigOperation == OpAppend) current.AddRange(given.Where(g => !current.Contains(g)));
                    else current.RemoveAll(given.Contains);
                    values[c.Name] = string.Join(',', current);
                    break;
                default:
                    return ConfigResources.Refuse(ErrorCode.InvalidRequest, $"Unknown config operation {c.ConfigOperation} for config key: {c.Name}");
            }
        }
        return (values, default);
    }

    protected override IEnumerable<Requirement> Requires(IncrementalAlterConfigsRequest request, short version) => Nothing;
}
