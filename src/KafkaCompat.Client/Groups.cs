using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Client;

public sealed record GroupListing(string GroupId, string State, string ProtocolType, string GroupType = "classic");

public sealed record GroupMemberView(string MemberId, string? InstanceId, string ClientId, string Host, List<(string Topic, int Partition)> Assigned);

/// <summary>A described group. <paramref name="GroupType"/> is "consumer" for a KIP-848 group (then
/// <paramref name="Protocol"/> is its server-side assignor), "classic" otherwise.</summary>
public sealed record GroupView(string GroupId, string State, string ProtocolType, string Protocol, List<GroupMemberView> Members, string GroupType = "classic");

/// <summary>Committed offset, end offset and lag of one partition a group has offsets for (or is assigned); without a
/// committed offset the lag is unknown (null), as kafka-consumer-groups shows it ("-").</summary>
public sealed record PartitionLag(string Topic, int Partition, long Committed, long End, string? Owner)
{
    public long? Lag => Committed < 0 ? null : Math.Max(0, End - Committed);
}

/// <summary>Group administration: list, describe with lag, delete, reset offsets.</summary>
public static class GroupAdmin
{
    public static async Task<List<GroupListing>> ListAsync(KafkaClient client, CancellationToken ct)
    {
        var md = await client.MetadataAsync([], ct).ConfigureAwait(false);
        var result = new List<GroupListing>();
        foreach (var b in md.Brokers)
        {
            var conn = await client.NodeAsync(b.NodeId, ct).ConfigureAwait(false);
            var resp = await conn.SendAsync<ListGroupsRequest, ListGroupsResponse>(new ListGroupsRequest(), ct: ct).ConfigureAwait(false);
            if (resp.ErrorCode != 0) throw new KafkaErrorException((ErrorCode)resp.ErrorCode, "listing groups");
            result.AddRange(resp.Groups.Select(g => new GroupListing(g.GroupId, g.GroupState, g.ProtocolType, g.GroupType.Length > 0 ? g.GroupType : "classic")));
        }
        return result.OrderBy(g => g.GroupId, StringComparer.Ordinal).ToList();
    }

    /// <summary>Describes a group as Kafka's admin client does: ConsumerGroupDescribe first (a KIP-848 group), then
    /// DescribeGroups when the group is not a consumer group (or the broker does not know the API).</summary>
    public static async Task<GroupView> DescribeAsync(KafkaClient client, string group, CancellationToken ct)
    {
        var conn = await client.CoordinatorAsync(group, ct).ConfigureAwait(false);
        if (conn.Supports<ConsumerGroupDescribeRequest>())
        {
            var cresp = await conn.SendAsync<ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse>(new ConsumerGroupDescribeRequest { GroupIds = [group] }, ct: ct)
                .ConfigureAwait(false);
            var cg = cresp.Groups.Single();
            if (cg.ErrorCode == ErrorCode.None)
            {
                var cmembers = cg.Members.Select(m => new GroupMemberView(m.MemberId, m.InstanceId, m.ClientId, m.ClientHost,
                    m.Assignment.TopicPartitions.SelectMany(t => t.Partitions.Select(p => (t.TopicName, p))).ToList())).ToList();
                return new GroupView(cg.GroupId, cg.GroupState, "consumer", cg.AssignorName, cmembers, "consumer");
            }
            if (cg.ErrorCode != ErrorCode.GroupIdNotFound) throw new KafkaErrorException(cg.ErrorCode, $"group '{group}'");
        }
        var resp = await conn.SendAsync<DescribeGroupsRequest, DescribeGroupsResponse>(new DescribeGroupsRequest { Groups = [group] }, ct: ct).ConfigureAwait(false);
        var g = resp.Groups.Single();
        if (g.ErrorCode != 0) throw new KafkaErrorException((ErrorCode)g.ErrorCode, $"group '{group}'");
        var members = g.Members.Select(m => new GroupMemberView(m.MemberId, m.GroupInstanceId, m.ClientId, m.ClientHost,
            g.ProtocolType == "consumer" ? ConsumerProtocol.AssignedPartitions(m.MemberAssignment) : [])).ToList();
        return new GroupView(g.GroupId, g.GroupState, g.ProtocolType, g.ProtocolData, members);
    }

    /// <summary>The group's committed offsets (all topics, or one topic's partitions).</summary>
    public static async Task<Dictionary<(string Topic, int Partition), long>> CommittedAsync(KafkaClient client, string group, CancellationToken ct)
    {
        var conn = await client.CoordinatorAsync(group, ct).ConfigureAwait(false);
        var resp = await conn.SendAsync<OffsetFetchRequest, OffsetFetchResponse>(new OffsetFetchRequest
        {
            GroupId = group, Topics = null, Groups = [new() { GroupId = group, Topics = null }],
        }, ct: ct).ConfigureAwait(false);
        var result = new Dictionary<(string, int), long>();
        if (resp.Groups.Count > 0)
        {
            var g = resp.Groups[0];
            if (g.ErrorCode != 0) throw new KafkaErrorException((ErrorCode)g.ErrorCode, $"offsets of group '{group}'");
            foreach (var t in g.Topics)
                foreach (var p in t.Partitions)
                    if (p.ErrorCode == 0 && p.CommittedOffset >= 0) result[(t.Name, p.PartitionIndex)] = p.CommittedOffset;
        }
        else
        {
            if (resp.ErrorCode != 0) throw new KafkaErrorException((ErrorCode)resp.ErrorCode, $"offsets of group '{group}'");
            foreach (var t in resp.Topics)
                foreach (var p in t.Partitions)
                    if (p.ErrorCode == 0 && p.CommittedOffset >= 0) result[(t.Name, p.PartitionIndex)] = p.CommittedOffset;
        }
        return result;
    }

    /// <summary>Per partition the group has committed offsets for (or is assigned): committed, end offset, lag, owner.</summary>
    public static async Task<List<PartitionLag>> LagAsync(KafkaClient client, GroupView view, CancellationToken ct)
    {
        var committed = await CommittedAsync(client, view.GroupId, ct).ConfigureAwait(false);
        var owners = view.Members.SelectMany(m => m.Assigned.Select(a => (a, m.ClientId + " " + m.MemberId)))
            .GroupBy(x => x.a).ToDictionary(g => g.Key, g => g.First().Item2);
        var keys = committed.Keys.Union(owners.Keys).ToList();
        var result = new List<PartitionLag>();
        foreach (var byTopic in keys.GroupBy(k => k.Item1))
        {
            TopicLayout layout;
            try
            {
                layout = await TopicLayout.LoadAsync(client, byTopic.Key, allowAutoCreate: false, ct).ConfigureAwait(false);
            }
            catch (KafkaErrorException e) when (e.Code == ErrorCode.UnknownTopicOrPartition)
            {
                continue; // offsets of a deleted topic
            }
            var parts = byTopic.Select(k => k.Item2).Where(layout.Leaders.ContainsKey).Order().ToList();
            var ends = await TopicIo.OffsetsAsync(client, layout, parts, TopicIo.Latest, ct).ConfigureAwait(false);
            foreach (var p in parts)
                result.Add(new PartitionLag(byTopic.Key, p, committed.GetValueOrDefault((byTopic.Key, p), -1), ends[p], owners.GetValueOrDefault((byTopic.Key, p))));
        }
        return result.OrderBy(r => r.Topic, StringComparer.Ordinal).ThenBy(r => r.Partition).ToList();
    }

    public static async Task DeleteAsync(KafkaClient client, string group, CancellationToken ct)
    {
        var conn = await client.CoordinatorAsync(group, ct).ConfigureAwait(false);
        var resp = await conn.SendAsync<DeleteGroupsRequest, DeleteGroupsResponse>(new DeleteGroupsRequest { GroupsNames = [group] }, ct: ct).ConfigureAwait(false);
        var r = resp.Results.Single();
        if (r.ErrorCode != 0) throw new KafkaErrorException((ErrorCode)r.ErrorCode, $"deleting group '{group}'");
    }

    /// <summary>Commits offsets for a group that has no active members (generation -1), as kafka-consumer-groups
    /// --reset-offsets does; an active group answers an error.</summary>
    public static async Task CommitAsync(KafkaClient client, string group, IReadOnlyDictionary<(string Topic, int Partition), long> offsets,
        CancellationToken ct = default) =>
        await CommitAsync(await client.CoordinatorAsync(group, ct).ConfigureAwait(false), group, offsets, "", -1, ct).ConfigureAwait(false);

    /// <summary>OffsetCommit on a known coordinator connection, as a member (its id and generation) or, with "" and -1,
    /// for a group without active members.</summary>
    public static async Task CommitAsync(BrokerConnection coordinator, string group, IReadOnlyDictionary<(string Topic, int Partition), long> offsets,
        string memberId, int generation, CancellationToken ct)
    {
        var resp = await coordinator.SendAsync<OffsetCommitRequest, OffsetCommitResponse>(new OffsetCommitRequest
        {
            GroupId = group, GenerationIdOrMemberEpoch = generation, MemberId = memberId,
            Topics = offsets.GroupBy(o => o.Key.Topic).Select(t => new OffsetCommitRequest.OffsetCommitRequestTopic
            {
                Name = t.Key,
                Partitions = t.Select(o => new OffsetCommitRequest.OffsetCommitRequestPartition { PartitionIndex = o.Key.Partition, CommittedOffset = o.Value }).ToList(),
            }).ToList(),
        }, ct: ct).ConfigureAwait(false);
        foreach (var t in resp.Topics)
            foreach (var p in t.Partitions)
                if (p.ErrorCode != 0) throw new KafkaErrorException((ErrorCode)p.ErrorCode, $"committing {t.Name}-{p.PartitionIndex} for group '{group}'");
    }
}
