using System.Collections.Concurrent;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using KafkaCompat.Testing;
using KafkaCompat.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace KafkaCompat.CurrentClients.Tests;

internal static class GroupCoordinatorEpochs
{
    public const int StaticLeave = KafkaCompat.Broker.Groups.GroupCoordinator.StaticLeaveEpoch;
}

/// <summary>The consumer group protocol of KIP-848 (group.protocol=consumer) with Confluent.Kafka 2.16.0 on librdkafka
/// 2.16: the broker assigns (uniform), members reconcile by revoking before others are assigned, static members
/// come back to their partitions. Short group timings keep the tests quick.</summary>
public sealed class ConsumerProtocolTests(ITestOutputHelper output) : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    internal static readonly Dictionary<string, string> FastConsumerGroups = new()
    {
        ["group.consumer.session.timeout.ms"] = "6000",
        ["group.consumer.min.session.timeout.ms"] = "1000",
        ["group.consumer.heartbeat.interval.ms"] = "500",
        ["group.consumer.min.heartbeat.interval.ms"] = "100",
        ["group.initial.rebalance.delay.ms"] = "0",
    };

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(settings: FastConsumerGroups);
        return _b.Broker.Groups.WaitLoadedAsync();
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    private async Task CreateTopic(string name, int partitions)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = _b.BootstrapServers }).Build();
        await admin.CreateTopicsAsync([new TopicSpecification { Name = name, NumPartitions = partitions, ReplicationFactor = 1 }]);
    }

    private async Task Produce(string topic, int partitions, int perPartition, string prefix)
    {
        using var p = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = _b.BootstrapServers }).Build();
        for (int part = 0; part < partitions; part++)
            for (int i = 0; i < perPartition; i++)
                p.Produce(new TopicPartition(topic, part), new Message<string, string> { Key = $"{part}", Value = $"{prefix}-{part}-{i}" });
        p.Flush(TimeSpan.FromSeconds(30));
    }

    private sealed class Member : IDisposable
    {
        public required IConsumer<string, string> Consumer { get; init; }
        public required string Name { get; init; }
        public ConcurrentQueue<string> Events { get; } = new();
        public ConcurrentBag<string> Values { get; } = new();
        public HashSet<TopicPartition> Owned { get; } = new();
        private bool _closed;

        public TopicPartition[] OwnedNow()
        {
            lock (Owned) return Owned.OrderBy(tp => tp.Topic, StringComparer.Ordinal).ThenBy(tp => tp.Partition.Value).ToArray();
        }

        public void Close()
        {
            if (_closed) return;
            _closed = true;
            var close = Task.Run(Consumer.Close);
            if (!close.Wait(TimeSpan.FromSeconds(30))) throw new TimeoutException($"{Name}: Close() did not return within 30 s");
        }

        public void Dispose()
        {
            try { Close(); } catch (ObjectDisposedException) { }
            Consumer.Dispose();
        }
    }

    /// <summary>Every partition owned by at most one member at any time (the protocol revokes before it assigns).</summary>
    private readonly ConcurrentDictionary<TopicPartition, string> _owners = new();
    private readonly ConcurrentQueue<string> _violations = new();

    private Member NewMember(string group, string name, string? instance = null, string? assignor = null)
    {
        Member? member = null;
        var cfg = new ConsumerConfig
        {
            BootstrapServers = _b.BootstrapServers,
            GroupId = group,
            GroupInstanceId = instance,
            GroupProtocol = GroupProtocol.Consumer,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = true,
            AutoCommitIntervalMs = 200,
            ClientId = name,
        };
        if (assignor != null) cfg.Set("group.remote.assignor", assignor);
        if (Environment.GetEnvironmentVariable("KC_DEBUG_CGRP") == "1") cfg.Debug = "cgrp";
        var consumer = new ConsumerBuilder<string, string>(cfg)
            .SetPartitionsAssignedHandler((_, parts) =>
            {
                foreach (var tp in parts)
                    if (!_owners.TryAdd(tp, name) && _owners.TryGetValue(tp, out var other) && other != name)
                        _violations.Enqueue($"{tp} assigned to {name} while {other} owns it");
                lock (member!.Owned) foreach (var tp in parts) member.Owned.Add(tp);
                member.Events.Enqueue("assigned:" + string.Join(",", parts.Select(p => $"{p.Topic}[{p.Partition.Value}]")));
            })
            .SetPartitionsRevokedHandler((_, parts) =>
            {
                foreach (var tp in parts.Select(p => p.TopicPartition)) _owners.TryRemove(new KeyValuePair<TopicPartition, string>(tp, name));
                lock (member!.Owned) foreach (var tp in parts) member.Owned.Remove(tp.TopicPartition);
                member.Events.Enqueue("revoked:" + string.Join(",", parts.Select(p => $"{p.Topic}[{p.Partition.Value}]")));
            })
            .SetPartitionsLostHandler((_, parts) =>
            {
                foreach (var tp in parts.Select(p => p.TopicPartition)) _owners.TryRemove(new KeyValuePair<TopicPartition, string>(tp, name));
                lock (member!.Owned) foreach (var tp in parts) member.Owned.Remove(tp.TopicPartition);
                member.Events.Enqueue("lost:" + string.Join(",", parts.Select(p => $"{p.Topic}[{p.Partition.Value}]")));
            })
            .Build();
        member = new Member { Consumer = consumer, Name = name };
        return member;
    }

    private static bool PollUntil(IEnumerable<Member> members, Func<bool> done, int seconds = 30)
    {
        var list = members.ToList();
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < deadline)
        {
            foreach (var m in list)
            {
                var r = m.Consumer.Consume(TimeSpan.FromMilliseconds(20));
                if (r is { IsPartitionEOF: false, Message: not null }) m.Values.Add(r.Message.Value);
            }
            if (done()) return true;
        }
        return done();
    }

    private void Dump(params Member[] members)
    {
        foreach (var m in members) output.WriteLine($"{m.Name}: {string.Join(" ", m.Events)}");
        foreach (var v in _violations) output.WriteLine("VIOLATION " + v);
    }

    [Fact]
    public async Task ThreeMembersShareATopicAndEveryRecordIsConsumedOnce()
    {
        const string topic = "kip848-share", group = "kip848-share";
        await CreateTopic(topic, 6);
        await Produce(topic, 6, 20, "a");
        var ms = new[] { NewMember(group, "m1"), NewMember(group, "m2"), NewMember(group, "m3") };
        try
        {
            foreach (var m in ms) m.Consumer.Subscribe(topic);
            bool ok = PollUntil(ms, () => ms.All(m => m.OwnedNow().Length == 2) && ms.Sum(m => m.Values.Count) >= 120);
            Dump(ms);
            Assert.True(ok, "three members did not settle on two partitions each and consume 120 records");
            var all = ms.SelectMany(m => m.Values).ToList();
            Assert.Equal(120, all.Count);
            Assert.Equal(120, all.Distinct().Count());
            Assert.Empty(_violations);
            var d = _b.Broker.Groups.DescribeConsumerGroup(group);
            Assert.Equal("Stable", d.State);
            Assert.Equal(3, d.Members.Count);
        }
        finally
        {
            foreach (var m in ms) m.Dispose();
        }
    }

    private static string Show(IEnumerable<TopicPartition> tps) => string.Join(",", tps.Select(tp => $"{tp.Topic}[{tp.Partition.Value}]"));

    [Fact]
    public async Task AMemberAddedGetsPartitionsOnlyAfterTheirOwnersRevokedThem()
    {
        const string topic = "kip848-add", group = "kip848-add";
        await CreateTopic(topic, 6);
        var a = NewMember(group, "a");
        var b = NewMember(group, "b");
        Member? c = null;
        try
        {
            a.Consumer.Subscribe(topic);
            b.Consumer.Subscribe(topic);
            Assert.True(PollUntil([a, b], () => a.OwnedNow().Length == 3 && b.OwnedNow().Length == 3), "two members did not get three partitions each");
            int epochBefore = _b.Broker.Groups.DescribeConsumerGroup(group).GroupEpoch;
            c = NewMember(group, "c");
            c.Consumer.Subscribe(topic);
            bool ok = PollUntil([a, b, c], () => a.OwnedNow().Length == 2 && b.OwnedNow().Length == 2 && c.OwnedNow().Length == 2);
            Dump(a, b, c);
            Assert.True(ok, "the third member did not get two partitions");
            Assert.Empty(_violations);
            Assert.Equal(6, a.OwnedNow().Concat(b.OwnedNow()).Concat(c.OwnedNow()).Distinct().Count());
            // the members that kept partitions were never asked to give those up
            Assert.DoesNotContain(a.Events, e => e.StartsWith("lost:"));
            var d = _b.Broker.Groups.DescribeConsumerGroup(group);
            Assert.Equal(epochBefore + 1, d.GroupEpoch);
            Assert.Equal("Stable", d.State);
            Assert.All(d.Members, m => Assert.Equal(d.AssignmentEpoch, m.Member.MemberEpoch));
        }
        finally
        {
            a.Dispose();
            b.Dispose();
            c?.Dispose();
        }
    }

    [Fact]
    public async Task ARegexSubscriptionPicksUpANewTopic()
    {
        const string group = "kip848-regex";
        await CreateTopic("kip848-rx-a", 2);
        await CreateTopic("kip848-other", 2);
        var m = NewMember(group, "rx");
        try
        {
            m.Consumer.Subscribe("^kip848-rx-.*");
            Assert.True(PollUntil([m], () => m.OwnedNow().Length == 2), "the pattern's first topic was not assigned: " + Show(m.OwnedNow()));
            Assert.All(m.OwnedNow(), tp => Assert.Equal("kip848-rx-a", tp.Topic));
            await CreateTopic("kip848-rx-b", 3);
            await Produce("kip848-rx-b", 3, 5, "rx");
            bool ok = PollUntil([m], () => m.OwnedNow().Length == 5 && m.Values.Count(v => v.StartsWith("rx-")) == 15);
            Dump(m);
            Assert.True(ok, "the new matching topic was not assigned and consumed: " + Show(m.OwnedNow()));
            Assert.DoesNotContain(m.OwnedNow(), tp => tp.Topic == "kip848-other");
            var d = _b.Broker.Groups.DescribeConsumerGroup(group);
            // librdkafka sends the pattern in parentheses (several patterns are joined with |)
            Assert.Contains("^kip848-rx-.*", Assert.Single(d.Members).Member.SubscribedTopicRegex);
        }
        finally
        {
            m.Dispose();
        }
    }

    [Fact]
    public async Task PartitionsAddedToASubscribedTopicAreAssignedWithoutARestart()
    {
        const string topic = "kip848-grow", group = "kip848-grow";
        await CreateTopic(topic, 2);
        var a = NewMember(group, "g1");
        var b = NewMember(group, "g2");
        try
        {
            a.Consumer.Subscribe(topic);
            b.Consumer.Subscribe(topic);
            Assert.True(PollUntil([a, b], () => a.OwnedNow().Length == 1 && b.OwnedNow().Length == 1));
            int epoch = _b.Broker.Groups.DescribeConsumerGroup(group).GroupEpoch;
            using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = _b.BootstrapServers }).Build())
                await admin.CreatePartitionsAsync([new PartitionsSpecification { Topic = topic, IncreaseTo = 4 }]);
            await Produce(topic, 4, 3, "grown");
            bool ok = PollUntil([a, b], () => a.OwnedNow().Length == 2 && b.OwnedNow().Length == 2
                && a.Values.Concat(b.Values).Count(v => v.StartsWith("grown-2-") || v.StartsWith("grown-3-")) == 6);
            Dump(a, b);
            Assert.True(ok, $"the new partitions were not assigned and consumed: {Show(a.OwnedNow())} / {Show(b.OwnedNow())}");
            Assert.Empty(_violations);
            Assert.Equal(epoch + 1, _b.Broker.Groups.DescribeConsumerGroup(group).GroupEpoch); // one bump for the new partitions
        }
        finally
        {
            a.Dispose();
            b.Dispose();
        }
    }

    [Fact]
    public async Task AStaticMemberRestartsIntoItsPartitionsWithoutAReassignment()
    {
        const string topic = "kip848-static", group = "kip848-static";
        await CreateTopic(topic, 4);
        var a = NewMember(group, "s1", instance: "instance-1");
        var b = NewMember(group, "s2", instance: "instance-2");
        Member? again = null;
        try
        {
            a.Consumer.Subscribe(topic);
            b.Consumer.Subscribe(topic);
            Assert.True(PollUntil([a, b], () => a.OwnedNow().Length == 2 && b.OwnedNow().Length == 2));
            var aOwned = a.OwnedNow();
            var before = _b.Broker.Groups.DescribeConsumerGroup(group);
            int bEvents = b.Events.Count;
            a.Dispose(); // a static member leaves with epoch -2: its partitions stay reserved for it
            var left = _b.Broker.Groups.DescribeConsumerGroup(group);
            Assert.Equal(GroupCoordinatorEpochs.StaticLeave, left.Members.Single(m => m.Member.InstanceId == "instance-1").Member.MemberEpoch);
            _owners.Clear();
            again = NewMember(group, "s1-again", instance: "instance-1");
            again.Consumer.Subscribe(topic);
            bool ok = PollUntil([again, b], () => again.OwnedNow().Length == 2);
            Dump(again, b);
            Assert.True(ok, "the restarted static member did not get its partitions back");
            Assert.Equal(Show(aOwned), Show(again.OwnedNow()));
            Assert.False(PollUntil([again, b], () => b.Events.Count > bEvents, seconds: 2), "the other member saw a rebalance: " + string.Join(" ", b.Events));
            var after = _b.Broker.Groups.DescribeConsumerGroup(group);
            Assert.Equal(before.GroupEpoch, after.GroupEpoch);
            Assert.Equal(2, after.Members.Count);
        }
        finally
        {
            b.Dispose();
            again?.Dispose();
        }
    }

    [Fact]
    public async Task TheGroupSurvivesABrokerRestartWithEveryMemberKeepingItsEpoch()
    {
        const string topic = "kip848-restart", group = "kip848-restart";
        await CreateTopic(topic, 4);
        await Produce(topic, 4, 5, "before");
        var a = NewMember(group, "r1");
        var b = NewMember(group, "r2");
        try
        {
            a.Consumer.Subscribe(topic);
            b.Consumer.Subscribe(topic);
            Assert.True(PollUntil([a, b], () => a.OwnedNow().Length == 2 && b.OwnedNow().Length == 2 && a.Values.Count + b.Values.Count == 20));
            var before = _b.Broker.Groups.DescribeConsumerGroup(group);
            var owned = (Show(a.OwnedNow()), Show(b.OwnedNow()));
            int port = _b.Port;
            string dir = _b.DataDir;
            await _b.StopAsync();
            _b = EmbeddedBroker.Start(dir, FastConsumerGroups, port: port);
            await _b.Broker.Groups.WaitLoadedAsync();
            var loaded = _b.Broker.Groups.DescribeConsumerGroup(group);
            Assert.Equal(before.GroupEpoch, loaded.GroupEpoch);
            Assert.Equal(before.Members.Select(m => (m.Member.MemberId, m.Member.MemberEpoch)).Order(), loaded.Members.Select(m => (m.Member.MemberId, m.Member.MemberEpoch)).Order());
            await Produce(topic, 4, 5, "after");
            bool ok = PollUntil([a, b], () => a.Values.Count + b.Values.Count >= 40, seconds: 40);
            Dump(a, b);
            Assert.True(ok, $"not every record after the restart was consumed ({a.Values.Count + b.Values.Count} of 40)");
            Assert.Equal(owned, (Show(a.OwnedNow()), Show(b.OwnedNow())));
            var after = _b.Broker.Groups.DescribeConsumerGroup(group);
            Assert.Equal(before.GroupEpoch, after.GroupEpoch);
            Assert.Equal(40, a.Values.Concat(b.Values).Distinct().Count());
        }
        finally
        {
            a.Dispose();
            b.Dispose();
        }
    }
}

/// <summary>Process clients of the consumer group protocol: confluent-kafka-python on librdkafka 2.16 with
/// group.protocol=consumer, one process per member (three share a topic, one is killed with SIGKILL and its partitions
/// move after its session timeout, one is added, a regex subscription picks up a new topic), @platformatic/kafka and
/// kafka-ts.</summary>
public sealed class ConsumerProtocolProcessTests(ITestOutputHelper output) : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(settings: ConsumerProtocolTests.FastConsumerGroups);
        return _b.Broker.Groups.WaitLoadedAsync();
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    [Fact]
    public Task ConfluentKafkaPythonOnLibrdkafka216() => ConsumerGroupState.OnFailureAsync(_b, () =>
        ClientScripts.RunAsync(output, _b.Port, "/usr/bin/python3", "confluent_consumer_protocol_test.py", CurrentLibrdkafka.PythonEnvironment, null, "2.16.0"));

    /// <summary>@platformatic/kafka 1.35.0, a current pure-JavaScript client with its own KIP-848 member, at the newest
    /// versions it knows (Fetch 17, ListOffsets 9): classic and consumer groups, offsets, a split consumer group.</summary>
    [Fact]
    public Task PlatformaticKafka() => ClientScripts.RunAsync(output, _b.Port, "node", "platformatic_test.mjs");

    /// <summary>kafka-ts 1.5.0, a current TypeScript client that sends Kafka 4.2's newest versions: Produce 13 and
    /// Fetch 18 by topic id, ListOffsets 11, OffsetCommit/OffsetFetch 10, DescribeGroups 6, ListGroups 5, DescribeCluster
    /// 2, DescribeTopicPartitions, ListConfigResources 1, OffsetForLeaderEpoch 4; a classic and a consumer group.</summary>
    [Fact]
    public Task KafkaTs() => ClientScripts.RunAsync(output, _b.Port, "node", "kafka_ts_test.js");
}

/// <summary>What the coordinator holds for each consumer group, added to a failing client script's message: a member
/// that never settles shows whether the target was wrong or a step towards it never reached the client.</summary>
internal static class ConsumerGroupState
{
    public static async Task OnFailureAsync(EmbeddedBroker b, Func<Task> run)
    {
        try
        {
            await run();
        }
        catch (Exception e) when (e is Xunit.Sdk.XunitException)
        {
            throw new Xunit.Sdk.XunitException(e.Message + "\nthe coordinator's consumer groups:\n" + Describe(b));
        }
    }

    public static string Describe(EmbeddedBroker b)
    {
        var text = new System.Text.StringBuilder();
        foreach (var g in b.Broker.Groups.List([], ["consumer"]).Groups)
        {
            var d = b.Broker.Groups.DescribeConsumerGroup(g.GroupId);
            text.AppendLine($"{g.GroupId}: {d.State}, group epoch {d.GroupEpoch}, assignment epoch {d.AssignmentEpoch}");
            foreach (var (m, target) in d.Members)
                text.AppendLine($"  {m.ClientId} {m.MemberId}: epoch {m.MemberEpoch} (previous {m.PreviousMemberEpoch}), {m.State}, assigned {m.Assigned}, "
                    + $"pending revocation {m.PendingRevocation}, target {target}");
        }
        return text.ToString();
    }
}

/// <summary>Both group protocols on one broker at the same time: the KIP-848 script on librdkafka 2.16 runs beside the
/// classic-protocol scripts of librdkafka 2.0.2 (confluent-kafka-python), kafka-python and kafkajs.</summary>
public sealed class GroupProtocolsSideBySideTests(ITestOutputHelper output) : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    public Task InitializeAsync()
    {
        var settings = new Dictionary<string, string>(ConsumerProtocolTests.FastConsumerGroups) { ["group.min.session.timeout.ms"] = "1000" };
        _b = EmbeddedBroker.Start(settings: settings);
        return _b.Broker.Groups.WaitLoadedAsync();
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    [Fact]
    public async Task ClassicAndConsumerGroupsOfEveryClientAtOnce()
    {
        await Task.WhenAll(
            ConsumerGroupState.OnFailureAsync(_b, () =>
                ClientScripts.RunAsync(output, _b.Port, "/usr/bin/python3", "confluent_consumer_protocol_test.py", CurrentLibrdkafka.PythonEnvironment, null, "2.16.0")),
            ClientScripts.RunAsync(output, _b.Port, "/usr/bin/python3", "confluent_group_test.py"),
            ClientScripts.RunAsync(output, _b.Port, "/usr/bin/python3", "kafka_python_group_test.py"),
            ClientScripts.RunAsync(output, _b.Port, "node", "kafkajs_group_test.js"));
        var listed = _b.Broker.Groups.List([], []).Groups;
        Assert.Contains(listed, g => g.GroupType == "consumer");
        Assert.Contains(listed, g => g.GroupType == "classic");
    }
}

/// <summary>A consumer group across a kill -9 of the broker process: the group's records in __consumer_offsets (not
/// synced; the page cache keeps them) are replayed at the restart, the members come back with their epochs, keep
/// their partitions without a revocation and consume what is produced after the restart.</summary>
public sealed class ConsumerProtocolKillNineTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kc-kill9-" + Guid.NewGuid().ToString("N")[..8]);
    private System.Diagnostics.Process? _broker;

    private static int FreePort()
    {
        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        int port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    private void StartBroker(int port)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { RepoPaths.BrokerDll, "serve", "--port", port.ToString(), "--data-dir", _dir }) psi.ArgumentList.Add(a);
        foreach (var (k, v) in ConsumerProtocolTests.FastConsumerGroups) { psi.ArgumentList.Add("--set"); psi.ArgumentList.Add($"{k}={v}"); }
        _broker = System.Diagnostics.Process.Start(psi)!;
        _broker.ErrorDataReceived += (_, e) => { if (e.Data != null) output.WriteLine("broker: " + e.Data); };
        _broker.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            var line = _broker.StandardOutput.ReadLine();
            if (line == null) break;
            if (line.StartsWith("listening on", StringComparison.Ordinal))
            {
                _ = Task.Run(() => { while (_broker.StandardOutput.ReadLine() != null) { } });
                return;
            }
        }
        throw new InvalidOperationException("the broker did not start");
    }

    public void Dispose()
    {
        if (_broker is { HasExited: false }) _broker.Kill(entireProcessTree: true);
        _broker?.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task MembersKeepTheirEpochsAndPartitionsAcrossAKillNine()
    {
        int port = FreePort();
        StartBroker(port);
        string bootstrap = $"127.0.0.1:{port}";
        const string topic = "kip848-kill9";
        using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build())
            await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = 4, ReplicationFactor = 1 }]);
        var events = new ConcurrentQueue<string>();
        var values = new ConcurrentBag<string>();
        IConsumer<string, string> Member(string name) => new ConsumerBuilder<string, string>(new ConsumerConfig
            {
                BootstrapServers = bootstrap, GroupId = "kip848-kill9", GroupProtocol = GroupProtocol.Consumer, ClientId = name,
                AutoOffsetReset = AutoOffsetReset.Earliest, EnableAutoCommit = true, AutoCommitIntervalMs = 200,
            })
            .SetPartitionsAssignedHandler((_, ps) => events.Enqueue($"{name} assigned {ps.Count}"))
            .SetPartitionsRevokedHandler((_, ps) => events.Enqueue($"{name} revoked {ps.Count}"))
            .SetPartitionsLostHandler((_, ps) => events.Enqueue($"{name} lost {ps.Count}"))
            .Build();
        using var a = Member("a");
        using var b = Member("b");
        a.Subscribe(topic);
        b.Subscribe(topic);
        bool Poll(Func<bool> done, int seconds)
        {
            var until = DateTime.UtcNow.AddSeconds(seconds);
            while (DateTime.UtcNow < until)
            {
                foreach (var c in new[] { a, b })
                    if (c.Consume(TimeSpan.FromMilliseconds(20)) is { IsPartitionEOF: false, Message: not null } r) values.Add(r.Message.Value);
                if (done()) return true;
            }
            return done();
        }
        Assert.True(Poll(() => a.Assignment.Count == 2 && b.Assignment.Count == 2, 30), "the members did not settle on two partitions each");
        Poll(() => false, 2); // a few more heartbeats: the settled assignment is what the log holds
        var assignedBefore = (string.Join(",", a.Assignment.Select(p => p.Partition.Value).Order()), string.Join(",", b.Assignment.Select(p => p.Partition.Value).Order()));
        int eventsBefore = events.Count;

        _broker!.Kill(entireProcessTree: true); // SIGKILL: no clean stop, nothing synced
        _broker.WaitForExit();
        StartBroker(port);

        using (var p = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = bootstrap }).Build())
        {
            for (int i = 0; i < 20; i++) p.Produce(new TopicPartition(topic, i % 4), new Message<string, string> { Value = $"after-{i}" });
            p.Flush(TimeSpan.FromSeconds(30));
        }
        bool ok = Poll(() => values.Count(v => v.StartsWith("after-")) == 20, 40);
        foreach (var e in events) output.WriteLine(e);
        Assert.True(ok, $"{values.Count(v => v.StartsWith("after-"))} of 20 records produced after the restart were consumed");
        Assert.Equal(eventsBefore, events.Count); // no revocation, no loss, no new assignment
        Assert.Equal(assignedBefore, (string.Join(",", a.Assignment.Select(p => p.Partition.Value).Order()), string.Join(",", b.Assignment.Select(p => p.Partition.Value).Order())));
    }
}
