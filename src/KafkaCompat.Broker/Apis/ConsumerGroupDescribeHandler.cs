// ConsumerGroupDescribe (key 69): versions 0-1 (KIP-848). Describes consumer groups: state, group and assignment
// epochs, the assignor, and per member its epoch, subscription, current and target assignment (topic ids and names);
// v1 adds the member type (1: a consumer-protocol member). A classic or unknown group is GROUP_ID_NOT_FOUND.
using KafkaCompat.Broker.Groups;
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class ConsumerGroupDescribeHandler : ApiHandler<ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse>
{
    protected override ValueTask<ConsumerGroupDescribeResponse?> Handle(RequestContext ctx, ConsumerGroupDescribeRequest req)
    {
        var groups = ctx.Broker.Groups;
        var resp = new ConsumerGroupDescribeResponse();
        foreach (var id in req.GroupIds)
        {
            if (!ctx.Authorize(AclOperation.Describe, AclResourceType.Group, id))
            {
                resp.Groups.Add(new ConsumerGroupDescribeResponse.DescribedGroup { GroupId = id, ErrorCode = ErrorCode.GroupAuthorizationFailed });
                continue;
            }
            if (groups.CheckCoordinator(ctx.NodeId, id) is var notHere and not Protocol.ErrorCode.None)
            {
                resp.Groups.Add(new ConsumerGroupDescribeResponse.DescribedGroup { GroupId = id, ErrorCode = notHere });
                continue;
            }
            var d = groups.DescribeConsumerGroup(id);
            var g = new ConsumerGroupDescribeResponse.DescribedGroup
            {
                ErrorCode = d.Error, ErrorMessage = d.Message, GroupId = id, GroupState = d.State, GroupEpoch = d.GroupEpoch,
                AssignmentEpoch = d.AssignmentEpoch, AssignorName = d.AssignorName,
            };
            foreach (var (m, target) in d.Members)
            {
                g.Members.Add(new ConsumerGroupDescribeResponse.Member
                {
                    MemberId = m.MemberId, InstanceId = m.InstanceId, RackId = m.RackId, MemberEpoch = m.MemberEpoch,
                    ClientId = m.ClientId, ClientHost = m.ClientHost, SubscribedTopicNames = m.SubscribedTopicNames.ToList(),
                    SubscribedTopicRegex = m.SubscribedTopicRegex,
                    Assignment = Describe(groups, m.Assigned), TargetAssignment = Describe(groups, target),
                    MemberType = 1,
                });
            }
            resp.Groups.Add(g);
        }
        return new(resp);
    }

    private static ConsumerGroupDescribeResponse.MemberAssignment Describe(GroupCoordinator groups, TopicPartitions tps)
    {
        var a = new ConsumerGroupDescribeResponse.MemberAssignment();
        foreach (var (topic, parts) in tps)
            a.TopicPartitions.Add(new ConsumerGroupDescribeResponse.TopicIdNamePartitions { TopicId = topic, TopicName = groups.TopicName(topic), Partitions = parts.ToList() });
        return a;
    }

    protected override IEnumerable<Requirement> Requires(ConsumerGroupDescribeRequest request, short version) => Nothing;
}
