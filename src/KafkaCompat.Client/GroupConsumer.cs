using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Client;

/// <summary>
/// Membership of a consumer group for one topic with the classic protocol and the "range" assignor (the leader
/// assigns, as every Kafka client does): join, sync, heartbeat in the background, commit, leave.
/// </summary>
public sealed class GroupConsumer : IAsyncDisposable
{
    private const string Assignor = "range";
    private readonly KafkaClient _client;
    private readonly string _group;
    private readonly string _topic;
    private readonly int _sessionTimeoutMs;
    private int _coordinatorNode = -1;
    private string _memberId = "";
    private int _generation = -1;
    private volatile bool _rejoin;
    private CancellationTokenSource? _heartbeatStop;
    private Task? _heartbeat;

    public IReadOnlyList<int> Assigned { get; private set; } = [];
    /// <summary>The topic's partitions and leaders as loaded at the last join (partitions may have been added).</summary>
    public TopicLayout? Layout { get; private set; }
    /// <summary>Set by the heartbeat when the group rebalances; the owner rejoins with <see cref="JoinAsync"/>.</summary>
    public bool RejoinNeeded => _rejoin;
    public string MemberId => _memberId;

    public GroupConsumer(KafkaClient client, string group, string topic, int sessionTimeoutMs = 10_000)
    {
        _client = client;
        _group = group;
        _topic = topic;
        _sessionTimeoutMs = sessionTimeoutMs;
    }

    private async Task<BrokerConnection> CoordinatorAsync(CancellationToken ct)
    {
        if (_coordinatorNode < 0) _coordinatorNode = await _client.FindCoordinatorAsync(_group, ct).ConfigureAwait(false);
        return await _client.NodeAsync(_coordinatorNode, ct).ConfigureAwait(false);
    }

    /// <summary>Joins (or rejoins) the group and returns this member's partitions of the topic; <see cref="Layout"/>
    /// is reloaded first, so partitions added since are known.</summary>
    public async Task<IReadOnlyList<int>> JoinAsync(CancellationToken ct)
    {
        await StopHeartbeatAsync().ConfigureAwait(false);
        var layout = Layout = await TopicLayout.LoadAsync(_client, _topic, allowAutoCreate: false, ct).ConfigureAwait(false);
        for (int attempt = 0; ; attempt++)
        {
            var coordinator = await CoordinatorAsync(ct).ConfigureAwait(false);
            var join = await coordinator.SendAsync<JoinGroupRequest, JoinGroupResponse>(new JoinGroupRequest
            {
                GroupId = _group, SessionTimeoutMs = _sessionTimeoutMs, RebalanceTimeoutMs = 30_000, MemberId = _memberId,
                ProtocolType = "consumer",
                Protocols = [new() { Name = Assignor, Metadata = ConsumerProtocol.Subscription([_topic]) }],
            }, ct: ct).ConfigureAwait(false);
            var error = (ErrorCode)join.ErrorCode;
            if (error == ErrorCode.MemberIdRequired)
            {
                _memberId = join.MemberId;
                continue;
            }
            if (error is ErrorCode.UnknownMemberId or ErrorCode.IllegalGeneration && attempt < 5)
            {
                _memberId = "";
                continue;
            }
            if (error is ErrorCode.NotCoordinator or ErrorCode.CoordinatorNotAvailable && attempt < 50)
            {
                _coordinatorNode = -1;
                await Task.Delay(200, ct).ConfigureAwait(false);
                continue;
            }
            if (error is ErrorCode.CoordinatorLoadInProgress or ErrorCode.RebalanceInProgress && attempt < 50)
            {
                await Task.Delay(200, ct).ConfigureAwait(false);
                continue;
            }
            if (error != ErrorCode.None) throw new KafkaErrorException(error, $"joining group '{_group}'");
            _memberId = join.MemberId;
            _generation = join.GenerationId;
            var assignments = join.Leader == join.MemberId ? await AssignRangeAsync(join.Members, layout, ct).ConfigureAwait(false) : [];
            var sync = await coordinator.SendAsync<SyncGroupRequest, SyncGroupResponse>(new SyncGroupRequest
            {
                GroupId = _group, GenerationId = _generation, MemberId = _memberId, ProtocolType = "consumer", ProtocolName = Assignor,
                Assignments = assignments,
            }, ct: ct).ConfigureAwait(false);
            if ((ErrorCode)sync.ErrorCode is ErrorCode.RebalanceInProgress or ErrorCode.IllegalGeneration && attempt < 50) continue;
            if (sync.ErrorCode != 0) throw new KafkaErrorException((ErrorCode)sync.ErrorCode, $"syncing group '{_group}'");
            // a partition the leader knows of but this member's metadata does not yet: load the layout again
            var assigned = ConsumerProtocol.AssignedPartitions(sync.Assignment).Where(a => a.Topic == _topic).Select(a => a.Partition).Order().ToList();
            if (assigned.Any(p => !layout.Leaders.ContainsKey(p)))
                layout = Layout = await TopicLayout.LoadAsync(_client, _topic, allowAutoCreate: false, ct).ConfigureAwait(false);
            Assigned = assigned.Where(layout.Leaders.ContainsKey).ToList();
            _rejoin = false;
            _heartbeatStop = new CancellationTokenSource();
            _heartbeat = HeartbeatLoopAsync(_heartbeatStop.Token);
            return Assigned;
        }
    }

    /// <summary>The range assignor: per topic, partitions in order split into contiguous ranges over the members in
    /// Kafka's order, the first (partitions % members) members getting one more.</summary>
    private async Task<List<SyncGroupRequest.SyncGroupRequestAssignment>> AssignRangeAsync(List<JoinGroupResponse.JoinGroupResponseMember> members,
        TopicLayout layout, CancellationToken ct)
    {
        var subscribers = members.Select(m => new RangeMember(m.MemberId, m.GroupInstanceId, ConsumerProtocol.SubscribedTopics(m.Metadata))).ToList();
        var counts = new Dictionary<string, int>(StringComparer.Ordinal) { [layout.Name] = layout.PartitionCount };
        foreach (var topic in subscribers.SelectMany(m => m.Topics).Distinct().Where(t => !counts.ContainsKey(t)))
        {
            // other members may subscribe to other topics: the leader assigns those too
            try
            {
                counts[topic] = (await TopicLayout.LoadAsync(_client, topic, allowAutoCreate: false, ct).ConfigureAwait(false)).PartitionCount;
            }
            catch (KafkaErrorException)
            {
                // a topic that does not exist is not assigned
            }
        }
        var owned = AssignRange(subscribers, counts);
        return members.Select(m => new SyncGroupRequest.SyncGroupRequestAssignment
        {
            MemberId = m.MemberId, Assignment = ConsumerProtocol.Assignment(owned[m.MemberId]),
        }).ToList();
    }

    public sealed record RangeMember(string MemberId, string? InstanceId, IReadOnlyList<string> Topics);

    /// <summary>Kafka's RangeAssignor: per topic, partitions in order split into contiguous ranges over its subscribers
    /// in Kafka's member order (static members first by group.instance.id, then the others by member id), the first
    /// (partitions % members) subscribers getting one more.</summary>
    public static Dictionary<string, List<(string Topic, IReadOnlyList<int> Partitions)>> AssignRange(
        IReadOnlyList<RangeMember> members, IReadOnlyDictionary<string, int> partitionCounts)
    {
        var owned = members.ToDictionary(m => m.MemberId, _ => new List<(string, IReadOnlyList<int>)>());
        foreach (var (topic, count) in partitionCounts.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var consumers = members.Where(m => m.Topics.Contains(topic))
                .OrderBy(m => m.InstanceId is null ? 1 : 0).ThenBy(m => m.InstanceId, StringComparer.Ordinal)
                .ThenBy(m => m.MemberId, StringComparer.Ordinal).Select(m => m.MemberId).ToList();
            if (consumers.Count == 0) continue;
            int per = count / consumers.Count, extra = count % consumers.Count, next = 0;
            for (int i = 0; i < consumers.Count; i++)
            {
                int n = per + (i < extra ? 1 : 0);
                if (n > 0) owned[consumers[i]].Add((topic, Enumerable.Range(next, n).ToList()));
                next += n;
            }
        }
        return owned;
    }

    private async Task HeartbeatLoopAsync(CancellationToken ct)
    {
        int interval = Math.Max(100, _sessionTimeoutMs / 3);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, ct).ConfigureAwait(false);
                var coordinator = await CoordinatorAsync(ct).ConfigureAwait(false);
                var resp = await coordinator.SendAsync<HeartbeatRequest, HeartbeatResponse>(new HeartbeatRequest
                {
                    GroupId = _group, GenerationId = _generation, MemberId = _memberId,
                }, ct: ct).ConfigureAwait(false);
                var error = (ErrorCode)resp.ErrorCode;
                if (error == ErrorCode.None) continue;
                if (error is ErrorCode.IllegalGeneration or ErrorCode.UnknownMemberId or ErrorCode.FencedInstanceId) _memberId = "";
                if (error is ErrorCode.NotCoordinator or ErrorCode.CoordinatorNotAvailable) _coordinatorNode = -1;
                _rejoin = true; // a rebalance, or membership lost: the owner joins again
                return;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is KafkaConnectionException or KafkaErrorException)
            {
                _rejoin = true;
                return;
            }
        }
    }

    /// <summary>Commits the positions of this member's partitions; false when the group has moved on (a rebalance).</summary>
    public async Task<bool> CommitAsync(IReadOnlyDictionary<int, long> positions, CancellationToken ct)
    {
        if (positions.Count == 0 || _generation < 0) return true;
        try
        {
            // on the coordinator this member already knows: no FindCoordinator per commit
            var coordinator = await CoordinatorAsync(ct).ConfigureAwait(false);
            await GroupAdmin.CommitAsync(coordinator, _group, positions.ToDictionary(p => (_topic, p.Key), p => p.Value), _memberId, _generation, ct).ConfigureAwait(false);
            return true;
        }
        catch (KafkaErrorException e) when (e.Code is ErrorCode.RebalanceInProgress or ErrorCode.IllegalGeneration or ErrorCode.UnknownMemberId)
        {
            _rejoin = true;
            return false;
        }
    }

    private async Task StopHeartbeatAsync()
    {
        if (_heartbeatStop is null) return;
        await _heartbeatStop.CancelAsync().ConfigureAwait(false);
        if (_heartbeat != null)
        {
            try { await _heartbeat.ConfigureAwait(false); }
            catch (Exception e) when (e is OperationCanceledException or KafkaConnectionException or KafkaErrorException) { }
        }
        _heartbeatStop.Dispose();
        _heartbeatStop = null;
    }

    /// <summary>Leaves the group so the others rebalance at once.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopHeartbeatAsync().ConfigureAwait(false);
        if (_generation < 0 || _memberId.Length == 0) return;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            var coordinator = await CoordinatorAsync(timeout.Token).ConfigureAwait(false);
            await coordinator.SendAsync<LeaveGroupRequest, LeaveGroupResponse>(new LeaveGroupRequest
            {
                GroupId = _group, MemberId = _memberId, Members = [new() { MemberId = _memberId }],
            }, ct: timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is KafkaConnectionException or KafkaErrorException or OperationCanceledException)
        {
            // leaving is a courtesy: the session timeout removes the member anyway
        }
    }
}
