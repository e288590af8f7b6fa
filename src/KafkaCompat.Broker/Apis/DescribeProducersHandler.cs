// DescribeProducers (key 61): version 0. The producer state of each requested partition: every producer id the
// partition remembers, with its epoch, last sequence, last timestamp, coordinator epoch and the first offset of its
// open transaction (-1 when none).
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class DescribeProducersHandler : ApiHandler<DescribeProducersRequest, DescribeProducersResponse>
{
    protected override ValueTask<DescribeProducersResponse?> Handle(RequestContext ctx, DescribeProducersRequest req)
    {
        var resp = new DescribeProducersResponse();
        foreach (var t in req.Topics)
        {
            var tr = new DescribeProducersResponse.TopicResponse { Name = t.Name };
            resp.Topics.Add(tr);
            var topic = ctx.Broker.Logs.Get(t.Name);
            bool denied = !ctx.Authorize(AclOperation.Read, AclResourceType.Topic, t.Name);
            foreach (int p in t.PartitionIndexes)
            {
                var pr = new DescribeProducersResponse.PartitionResponse { PartitionIndex = p };
                tr.Partitions.Add(pr);
                if (denied)
                {
                    pr.ErrorCode = ErrorCode.TopicAuthorizationFailed;
                    continue;
                }
                if (topic is null || p < 0 || p >= topic.Partitions.Length)
                {
                    pr.ErrorCode = ErrorCode.UnknownTopicOrPartition;
                    pr.ErrorMessage = $"The partition {t.Name}-{p} does not exist.";
                    continue;
                }
                try
                {
                    foreach (var e in topic.Partitions[p].ActiveProducers().OrderBy(e => e.ProducerId))
                        pr.ActiveProducers.Add(new DescribeProducersResponse.ProducerState
                        {
                            ProducerId = e.ProducerId,
                            ProducerEpoch = e.Epoch,
                            LastSequence = e.LastSeq,
                            LastTimestamp = e.LastTimestamp,
                            CoordinatorEpoch = e.CoordinatorEpoch,
                            CurrentTxnStartOffset = e.CurrentTxnFirstOffset,
                        });
                }
                catch (ObjectDisposedException)
                {
                    pr.ErrorCode = ErrorCode.UnknownTopicOrPartition;
                }
            }
        }
        return new(resp);
    }

    protected override IEnumerable<Requirement> Requires(DescribeProducersRequest request, short version) => Nothing;
}
