using System.Collections.Concurrent;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using KafkaCompat.Testing;
using Xunit;
using Xunit.Abstractions;

namespace KafkaCompat.CurrentClients.Tests;

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
        ["group.consumer.heartbeat.interval.ms"] = "300",
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
}
