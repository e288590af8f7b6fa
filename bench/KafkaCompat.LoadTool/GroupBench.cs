using System.Diagnostics;
using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace KafkaCompat.LoadTool;

internal sealed record GroupResult(
    int Members, int Partitions, double[] RebalanceMs, long Commits, TimeSpan CommitElapsed, double[] CommitLatencyMs,
    CpuTimes CommitCpu, IReadOnlyList<string> Problems)
{
    public double CommitsPerSecond => Commits / CommitElapsed.TotalSeconds;
}

/// <summary>
/// Consumer-group phase. Rebalance: N-1 members form a stable group, then the N-th subscribes; measured from its
/// Subscribe() to the moment every member has its new assignment (librdkafka's assigned callback), repeated
/// <c>--rebalance-runs</c> times with a fresh group each time. Commit: one member commits an explicit offset
/// synchronously in a loop (each commit waits for the broker's answer).
/// </summary>
internal sealed class GroupBench(Options options, ClientDiagnostics diagnostics)
{
    private const string Topic = "load-group";

    private IConsumer<byte[], byte[]> NewConsumer(string bootstrap, string group, Action onAssigned) =>
        new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = group,
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            SessionTimeoutMs = 10000,
            // the rebalance reaches existing members through their heartbeat: poll it often for both brokers
            HeartbeatIntervalMs = 100,
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.Range,
        })
        .SetPartitionsAssignedHandler((_, _) => onAssigned())
        .SetLogHandler((_, m) => diagnostics.Add($"group consumer {m.Level} {m.Facility}: {m.Message}"))
        .SetErrorHandler((_, e) => diagnostics.Add($"group consumer error {e.Code}: {e.Reason}"))
        .Build();

    private sealed class Member(IConsumer<byte[], byte[]> consumer) : IDisposable
    {
        public IConsumer<byte[], byte[]> Consumer { get; } = consumer;
        public long AssignedAtTicks;
        public int Assignments;
        public Thread? Poller;
        public volatile bool Stop;

        public void Dispose()
        {
            Stop = true;
            Poller?.Join();
            try { Consumer.Close(); } catch (KafkaException) { }
            Consumer.Dispose();
        }
    }

    private Member Start(string bootstrap, string group)
    {
        Member? m = null;
        var c = NewConsumer(bootstrap, group, () =>
        {
            Volatile.Write(ref m!.AssignedAtTicks, Stopwatch.GetTimestamp());
            Interlocked.Increment(ref m.Assignments);
        });
        m = new Member(c);
        m.Poller = new Thread(() =>
        {
            while (!m.Stop)
            {
                try { c.Consume(TimeSpan.FromMilliseconds(50)); }
                catch (ConsumeException) { }
            }
        }) { IsBackground = true };
        c.Subscribe(Topic);
        m.Poller.Start();
        return m;
    }

    private static bool WaitFor(Func<bool> cond, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (cond()) return true;
            Thread.Sleep(1);
        }
        return cond();
    }

    public async Task<GroupResult> RunAsync(string bootstrap, bool useCreateTopics, Func<CpuTimes> brokerCpu)
    {
        var problems = new List<string>();
        int n = options.GroupMembers;
        int partitions;
        using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build())
        {
            if (useCreateTopics)
            {
                try
                {
                    await admin.CreateTopicsAsync([new TopicSpecification { Name = Topic, NumPartitions = options.GroupPartitions, ReplicationFactor = 1 }]);
                }
                catch (CreateTopicsException e) when (e.Results.All(r => r.Error.Code == ErrorCode.TopicAlreadyExists)) { }
            }
            var md = admin.GetMetadata(Topic, TimeSpan.FromSeconds(10));
            partitions = md.Topics[0].Partitions.Count;
        }

        var rebalance = new List<double>();
        for (int run = 0; run < options.RebalanceRuns; run++)
        {
            string group = $"load-rebalance-{run}-{Guid.NewGuid():N}";
            var members = new List<Member>();
            try
            {
                for (int i = 0; i < n - 1; i++) members.Add(Start(bootstrap, group));
                if (!WaitFor(() => members.All(m => Volatile.Read(ref m.Assignments) > 0), TimeSpan.FromSeconds(60)))
                {
                    problems.Add($"rebalance run {run}: the first {n - 1} members did not all get an assignment within 60 s");
                    continue;
                }
                // let the group settle: no assignment for a while
                long settledAt;
                do
                {
                    settledAt = members.Max(m => Volatile.Read(ref m.AssignedAtTicks));
                    Thread.Sleep(500);
                } while (members.Max(m => Volatile.Read(ref m.AssignedAtTicks)) != settledAt);

                var before = members.Select(m => Volatile.Read(ref m.Assignments)).ToArray();
                long t0 = Stopwatch.GetTimestamp();
                members.Add(Start(bootstrap, group));
                bool done = WaitFor(() =>
                    members.Take(n - 1).Select((m, i) => Volatile.Read(ref m.Assignments) > before[i]).All(x => x)
                    && Volatile.Read(ref members[^1].Assignments) > 0, TimeSpan.FromSeconds(60));
                if (!done)
                {
                    problems.Add($"rebalance run {run}: not every member was reassigned within 60 s");
                    continue;
                }
                long t1 = members.Max(m => Volatile.Read(ref m.AssignedAtTicks));
                rebalance.Add(Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds);
            }
            finally
            {
                foreach (var m in members) m.Dispose();
            }
        }

        // commit throughput: one member, synchronous commits of a moving offset
        var latencies = new List<double>();
        long commits = 0;
        TimeSpan elapsed = TimeSpan.Zero;
        CpuTimes cpu = default;
        var committer = Start(bootstrap, "load-commit-" + Guid.NewGuid().ToString("N"));
        try
        {
            if (!WaitFor(() => Volatile.Read(ref committer.Assignments) > 0, TimeSpan.FromSeconds(60)))
                problems.Add("commit: the committing member got no assignment within 60 s");
            else
            {
                // the poller thread must not race the commits for the consumer handle's queue
                committer.Stop = true;
                committer.Poller!.Join();
                var tp = new TopicPartition(Topic, 0);
                var cpu0 = brokerCpu();
                var sw = Stopwatch.StartNew();
                for (long i = 1; i <= options.Commits; i++)
                {
                    long s = Stopwatch.GetTimestamp();
                    committer.Consumer.Commit([new TopicPartitionOffset(tp, i)]);
                    latencies.Add(Stopwatch.GetElapsedTime(s).TotalMilliseconds);
                    commits++;
                }
                elapsed = sw.Elapsed;
                cpu = brokerCpu() - cpu0;
                var committed = committer.Consumer.Committed([tp], TimeSpan.FromSeconds(10));
                if (committed[0].Offset.Value != options.Commits)
                    problems.Add($"commit: committed offset reads back as {committed[0].Offset.Value}, expected {options.Commits}");
            }
        }
        catch (KafkaException e)
        {
            problems.Add($"commit: {e.Error.Code} {e.Error.Reason} after {commits} commits");
        }
        finally
        {
            committer.Dispose();
        }
        return new GroupResult(n, partitions, rebalance.Order().ToArray(), commits, elapsed, latencies.Order().ToArray(), cpu, problems);
    }
}
