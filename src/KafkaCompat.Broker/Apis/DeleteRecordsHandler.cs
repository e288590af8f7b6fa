// DeleteRecords (key 21): versions 0-2. Moves a partition's log start offset up (offset -1: to the high
// watermark); segments wholly below it are removed. Compacted-only topics refuse it with POLICY_VIOLATION.
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using KafkaCompat.Storage;

namespace KafkaCompat.Broker.Apis;

public sealed class DeleteRecordsHandler : ApiHandler<DeleteRecordsRequest, DeleteRecordsResponse>
{
    protected override ValueTask<DeleteRecordsResponse?> Handle(RequestContext ctx, DeleteRecordsRequest req)
    {
        var resp = new DeleteRecordsResponse();
        bool changed = false;
        foreach (var t in req.Topics)
        {
            var tr = new DeleteRecordsResponse.DeleteRecordsTopicResult { Name = t.Name };
            resp.Topics.Add(tr);
            var topic = ctx.Broker.Logs.Get(t.Name);
            bool denied = !ctx.Authorize(AclOperation.Delete, AclResourceType.Topic, t.Name);
            foreach (var p in t.Partitions)
            {
                var pr = new DeleteRecordsResponse.DeleteRecordsPartitionResult { PartitionIndex = p.PartitionIndex, LowWatermark = -1 };
                tr.Partitions.Add(pr);
                if (denied)
                {
                    pr.ErrorCode = ErrorCode.TopicAuthorizationFailed;
                    continue;
                }
                if (topic is null || p.PartitionIndex < 0 || p.PartitionIndex >= topic.Partitions.Length)
                {
                    pr.ErrorCode = ErrorCode.UnknownTopicOrPartition;
                    continue;
                }
                if (Leadership.Check(ctx, topic, p.PartitionIndex) is var lead and not ErrorCode.None)
                {
                    pr.ErrorCode = lead;
                    continue;
                }
                var log = topic.Partitions[p.PartitionIndex];
                if (!log.Config.DeletePolicy)
                {
                    pr.ErrorCode = ErrorCode.PolicyViolation;
                    continue;
                }
                long target = p.Offset == -1 ? log.HighWatermark : p.Offset;
                try
                {
                    long before = log.LogStartOffset;
                    pr.LowWatermark = log.DeleteRecordsBefore(target);
                    changed |= pr.LowWatermark != before;
                }
                catch (OffsetOutOfRangeException)
                {
                    pr.ErrorCode = ErrorCode.OffsetOutOfRange;
                }
            }
        }
        if (changed) ctx.Broker.Logs.CheckpointLogStartOffsets();
        return new(resp);
    }

    protected override DeleteRecordsResponse? ErrorResponse(DeleteRecordsRequest request, ErrorCode error) => new()
    {
        Topics = request.Topics.Select(t => new DeleteRecordsResponse.DeleteRecordsTopicResult
        {
            Name = t.Name,
            Partitions = t.Partitions.Select(p => new DeleteRecordsResponse.DeleteRecordsPartitionResult { PartitionIndex = p.PartitionIndex, ErrorCode = error, LowWatermark = -1 }).ToList(),
        }).ToList(),
    };

    protected override IEnumerable<Requirement> Requires(DeleteRecordsRequest request, short version) => Nothing;
}
