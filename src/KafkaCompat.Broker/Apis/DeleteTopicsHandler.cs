// DeleteTopics (key 20): versions 0-6. By name (v0-5 topic_names, v6 topics[].name) or by id (v6).
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class DeleteTopicsHandler : ApiHandler<DeleteTopicsRequest, DeleteTopicsResponse>
{
    protected override ValueTask<DeleteTopicsResponse?> Handle(RequestContext ctx, DeleteTopicsRequest req)
    {
        var broker = ctx.Broker;
        var resp = new DeleteTopicsResponse();
        var wanted = ctx.ApiVersion >= 6
            ? req.Topics.Select(t => (t.Name, t.TopicId)).ToList()
            : req.TopicNames.Select(n => ((string?)n, Guid.Empty)).ToList();
        foreach (var (name, id) in wanted)
        {
            var r = new DeleteTopicsResponse.DeletableTopicResult { Name = name, TopicId = id };
            resp.Responses.Add(r);
            var topic = name != null ? broker.Logs.Get(name) : broker.Logs.Get(id);
            // DELETE on the cluster, or DESCRIBE and DELETE on the topic; a topic asked for by id that the principal
            // may not describe keeps its name hidden
            if (!ctx.Authorize(AclOperation.Delete, AclResourceType.Cluster, Authorizer.ClusterName) && (name ?? topic?.Name) is { } target
                && !(ctx.Authorize(AclOperation.Describe, AclResourceType.Topic, target) && ctx.Authorize(AclOperation.Delete, AclResourceType.Topic, target)))
            {
                r.ErrorCode = ErrorCode.TopicAuthorizationFailed;
                continue;
            }
            if (!broker.Config.DeleteTopicEnable)
            {
                r.ErrorCode = ErrorCode.TopicDeletionDisabled;
                continue;
            }
            if (topic is null)
            {
                r.ErrorCode = (name is null ? ErrorCode.UnknownTopicId : ErrorCode.UnknownTopicOrPartition);
                r.ErrorMessage = name is null ? $"Topic id {id} not found." : "This server does not host this topic-partition.";
                continue;
            }
            r.Name = topic.Name;
            r.TopicId = topic.Id;
            if (!broker.DeleteTopic(topic.Name))
            {
                r.ErrorCode = ErrorCode.UnknownTopicOrPartition;
            }
        }
        return new(resp);
    }

    protected override IEnumerable<Requirement> Requires(DeleteTopicsRequest request, short version) => Nothing;
}
