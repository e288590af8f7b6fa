// CreatePartitions (key 37): versions 0-3. Grows a topic to the requested partition count (it can never shrink);
// manual assignments must name this broker once per new partition. validate_only checks without changing anything.
// As Kafka's controller: more than 10,000 new partitions in one request are refused whole (POLICY_VIOLATION
// "Unable to perform excessively large batch operation.").
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class CreatePartitionsHandler : ApiHandler<CreatePartitionsRequest, CreatePartitionsResponse>
{
    protected override ValueTask<CreatePartitionsResponse?> Handle(RequestContext ctx, CreatePartitionsRequest req)
    {
        var resp = new CreatePartitionsResponse();
        var duplicates = req.Topics.GroupBy(t => t.Name).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet();
        var answered = new HashSet<string>(StringComparer.Ordinal);
        long added = req.Topics.DistinctBy(t => t.Name).Sum(t => ctx.Broker.Logs.Get(t.Name) is { } topic ? Math.Max(0L, (long)t.Count - topic.Partitions.Length) : 0);
        if (added > KafkaBroker.MaxPartitionsPerRequest)
        {
            foreach (var t in req.Topics.DistinctBy(t => t.Name))
                resp.Results.Add(new CreatePartitionsResponse.CreatePartitionsTopicResult
                {
                    Name = t.Name, ErrorCode = ErrorCode.PolicyViolation, ErrorMessage = "Unable to perform excessively large batch operation.",
                });
            KafkaBroker.LogRejected(ctx.Broker.Logger, "CreatePartitions", ctx.ApiVersion, ctx.ClientId, $"{added} new partitions asked for in one request (at most {KafkaBroker.MaxPartitionsPerRequest})");
            return new(resp);
        }
        foreach (var t in req.Topics)
        {
            if (!answered.Add(t.Name)) continue; // one answer per name, as Kafka gives
            var (error, message) = duplicates.Contains(t.Name)
                ? (ErrorCode.InvalidRequest, "Duplicate topic name.")
                : !ctx.Authorize(AclOperation.Alter, AclResourceType.Topic, t.Name) ? (ErrorCode.TopicAuthorizationFailed, (string?)null)
                : ctx.Broker.AddPartitions(t.Name, t.Count, t.Assignments?.Select(a => a.BrokerIds).ToList(), req.ValidateOnly);
            resp.Results.Add(new CreatePartitionsResponse.CreatePartitionsTopicResult
            {
                Name = t.Name, ErrorCode = error, ErrorMessage = message,
            });
        }
        return new(resp);
    }

    protected override IEnumerable<Requirement> Requires(CreatePartitionsRequest request, short version) => Nothing;
}
