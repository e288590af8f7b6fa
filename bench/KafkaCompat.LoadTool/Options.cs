using System.Globalization;

namespace KafkaCompat.LoadTool;

/// <summary>Command-line options: <c>--name value</c> pairs and a few flags.</summary>
internal sealed class Options
{
    public int Records { get; private set; } = 2_000_000;
    public int Size { get; private set; } = 100;
    /// <summary>Records produced (and consumed) to a separate topic before measuring; -1 picks a size-based amount.</summary>
    public int WarmupRecords { get; private set; } = -1;
    /// <summary>Produce window: bytes of records sent and not yet acknowledged (0 = only librdkafka's queue limits).</summary>
    public long InflightBytes { get; private set; } = 16L << 20;
    public int LingerMs { get; private set; } = 5;
    public int StartupRuns { get; private set; } = 5;
    public bool RunOurs { get; private set; } = true;
    public bool RunMock { get; private set; } = true;
    public bool Consume { get; private set; } = true;
    public bool KeepData { get; private set; }
    public string? RepoRoot { get; private set; }
    public string? BrokerDll { get; private set; }
    public string? MockScript { get; private set; }
    public string? WorkDir { get; private set; }
    public int StallSeconds { get; private set; } = 30;
    public bool Groups { get; private set; } = true;
    public int GroupMembers { get; private set; } = 10;
    public int GroupPartitions { get; private set; } = 4;
    public int RebalanceRuns { get; private set; } = 5;
    public int Commits { get; private set; } = 5000;
    public bool Scale { get; private set; }
    public double ScaleGb { get; private set; } = 10;
    public int ScalePartitions { get; private set; } = 10_000;
    public int ScaleSegments { get; private set; } = 100_000;
    public int[] ConnectionCounts { get; private set; } = [];
    public int ScaleFetches { get; private set; } = 500;
    public bool ExactlyOnce { get; private set; }
    public bool Kip848 { get; private set; }
    public int Kip848HeartbeatMs { get; private set; } = 50;
    public int Kip848Seconds { get; private set; } = 10;
    public bool Failover { get; private set; }
    public bool Security { get; private set; }
    public int SecurityMiB { get; private set; } = 256;
    public int SecurityConnections { get; private set; } = 300;
    public int FailoverRuns { get; private set; } = 7;
    public int EosRecords { get; private set; } = 1_000_000;
    public int EosTxns { get; private set; } = 500;
    public int EosTxnRecords { get; private set; } = 100;
    public int EosRounds { get; private set; } = 3;
    /// <summary>Producer and consumer processes in the produce/consume phases (1: one producer and one consumer inside
    /// this process); each process has its own partition.</summary>
    public int Clients { get; private set; } = 1;
    /// <summary>Producer acks: "1" (leader) or "all".</summary>
    public string Acks { get; private set; } = "1";
    /// <summary>Records per second over all producers (0: as fast as the window lets).</summary>
    public int Rate { get; private set; }
    /// <summary>The issue-14 figures in one table: startup, 100 B and 900 KB produce/consume, and acks=all latency at a
    /// fixed rate, against both brokers.</summary>
    public bool Headline { get; private set; }
    public int HeadlineLatencySeconds { get; private set; } = 10;
    /// <summary>Skip the produce/consume phases (only startup and, if on, the group phase).</summary>
    public bool OnlyGroups { get; private set; }

    public const string Usage = """
        kafkacompat-load: the same produce/consume workload against KafkaCompat and librdkafka's mock cluster.

          --records N          records to produce (default 2000000)
          --size BYTES         value size of each record (default 100)
          --warmup N           records produced+consumed on a separate topic first (default: min(records/4, 16 MiB/size))
          --inflight-mb MB     max unacknowledged bytes in the producer (default 16; 0 = unbounded)
          --linger-ms MS       producer linger.ms (default 5)
          --clients N          N producer processes and N consumer processes, one partition each (default 1: one of
                               each inside the load tool; at most 4, the mock's partition count)
          --acks 1|all         producer acks (default 1)
          --rate N             records per second over all producers (default 0: as fast as the window allows)
          --headline           instead: the performance figures in one table against both brokers: startup and idle
                               RSS, 2,000,000 x 100 B and 3,000 x 900 KB produced and consumed, and acknowledgement
                               latency at 10,000 records/s of 100 B with acks=all and linger.ms 0 (--clients applies)
          --headline-latency-seconds S  length of that latency phase (default 10)
          --startup-runs N     broker starts for the startup/idle-RSS measurement (default 5; 0 skips)
          --only ours|mock     run against one broker only
          --no-consume         skip the consume phase
          --repo-root DIR      repository root (default: found from the tool's location or the current directory)
          --broker-dll PATH    kafkacompat.dll (default <repo>/src/KafkaCompat/bin/Release/net10.0/kafkacompat.dll,
                               built with `dotnet build -c Release src/KafkaCompat` when missing), or the native
                               kafkacompat executable of a Native AOT publish (run by itself)
          --mock-script PATH   rdkafka mock launcher (default <repo>/../shared/tools/rdkafka-mock/run.sh)
          --work-dir DIR       where data directories and logs go (default: a new temp directory)
          --keep-data          keep the work directory afterwards
          --stall-seconds S    give up on a phase after S seconds without progress (default 30)
          --no-groups          skip the consumer-group phase
          --groups-only        run only startup and the consumer-group phase
          --group-members N    members in the rebalance measurement (default 10)
          --group-partitions N partitions of its topic on our broker (default 4, the mock's auto-create count)
          --rebalance-runs N   rebalances measured, each with a fresh group (default 5)
          --commits N          synchronous offset commits in the commit measurement (default 5000)
          --scale              instead: the log engine at size (our broker only): idle partitions, a large log
          --scale-gb GB        size of the large log (default 10)
          --scale-partitions N idle partitions (default 10000; 0 skips that part), then one record written to each
          --connections N,M    instead: N (then M, ...) concurrent connections held against both brokers: RSS per
                               connection and descriptors
          --scale-segments N   a log of N one-batch segments (default 100000; 0 skips): memory maps, descriptors,
                               RSS, a full read and a restart; --scale-gb 0 skips the large log
                               with the --work-dir of an earlier --scale --keep-data run, its large log is reused
          --scale-fetches N    random-offset fetches timed per log (default 500); --size sets the record size
          --exactly-once       instead: idempotent produce as a ratio of plain produce (acks=all), transactions per
                               second and commit (EndTxn) latency, against both brokers
          --eos-records N      records per produce run (default 1000000); --size sets the record size
          --eos-txns N         transactions measured (default 500)
          --eos-txn-records N  records per transaction (default 100)
          --eos-rounds N       alternating plain/idempotent produce rounds, the best of each counts (default 3)
          --kip848             instead: consumer groups under both protocols, against our broker and librdkafka 2.16's
                               mock (bench/KafkaCompat.LoadTool/scripts/mock_cluster.py): time from the last of
                               --group-members joining to every member assigned (--rebalance-runs runs each), and
                               consumer-protocol heartbeats per broker CPU-second; librdkafka 2.16 from the NuGet cache
          --kip848-heartbeat-ms N  consumer-protocol heartbeat interval both brokers hand out (default 50)
          --kip848-seconds N   length of the heartbeat-rate measurement (default 10)
          --security           instead: the cost of security on our broker, as ratios measured in one run: broker CPU
                               per GB produced over TLS to plaintext (--security-mb MiB, default 256, in ~1 MB
                               batches), and connections set up per second with SASL/SCRAM-SHA-256 and PLAIN to plain
                               connections (--security-connections N, default 300, one after another)
          --failover           instead: failover time (a leader's broker stopped -> first acknowledged produce after the
                               stop) for librdkafka 2.16, ours with 3 brokers and the mock cluster with 3 brokers
                               (bench/KafkaCompat.LoadTool/scripts/failover.py), then startup time and RSS of a
                               3-broker and a 9-broker process (--startup-runs each)
          --failover-runs N    failovers per broker (default 7)
        """;

    /// <summary>A copy with one phase's workload.</summary>
    public Options With(int records, int size, int lingerMs, int rate, string acks, int startupRuns, bool consume)
    {
        var o = (Options)MemberwiseClone();
        o.Records = records; o.Size = size; o.LingerMs = lingerMs; o.Rate = rate; o.Acks = acks; o.StartupRuns = startupRuns;
        o.Consume = consume; o.Groups = false; o.OnlyGroups = false; o.Headline = false;
        o.WarmupRecords = (int)Math.Min(records / 4, Math.Max(1, (16L << 20) / size));
        return o;
    }

    public static Options Parse(string[] args)
    {
        var o = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{a} needs a value");
            int NextInt() => int.Parse(Next(), NumberStyles.Integer, CultureInfo.InvariantCulture);
            switch (a)
            {
                case "--records": o.Records = NextInt(); break;
                case "--size": o.Size = NextInt(); break;
                case "--warmup": o.WarmupRecords = NextInt(); break;
                case "--inflight-mb": o.InflightBytes = (long)(double.Parse(Next(), CultureInfo.InvariantCulture) * (1 << 20)); break;
                case "--linger-ms": o.LingerMs = NextInt(); break;
                case "--startup-runs": o.StartupRuns = NextInt(); break;
                case "--only":
                    string which = Next();
                    o.RunOurs = which == "ours";
                    o.RunMock = which == "mock";
                    if (!o.RunOurs && !o.RunMock) throw new ArgumentException("--only takes 'ours' or 'mock'");
                    break;
                case "--no-consume": o.Consume = false; break;
                case "--clients": o.Clients = NextInt(); break;
                case "--acks":
                    o.Acks = Next();
                    if (o.Acks is not ("1" or "all")) throw new ArgumentException("--acks takes 1 or all");
                    break;
                case "--rate": o.Rate = NextInt(); break;
                case "--headline": o.Headline = true; break;
                case "--headline-latency-seconds": o.HeadlineLatencySeconds = NextInt(); break;
                case "--repo-root": o.RepoRoot = Next(); break;
                case "--broker-dll": o.BrokerDll = Next(); break;
                case "--mock-script": o.MockScript = Next(); break;
                case "--work-dir": o.WorkDir = Next(); break;
                case "--keep-data": o.KeepData = true; break;
                case "--stall-seconds": o.StallSeconds = NextInt(); break;
                case "--no-groups": o.Groups = false; break;
                case "--groups-only": o.OnlyGroups = true; break;
                case "--group-members": o.GroupMembers = NextInt(); break;
                case "--group-partitions": o.GroupPartitions = NextInt(); break;
                case "--rebalance-runs": o.RebalanceRuns = NextInt(); break;
                case "--commits": o.Commits = NextInt(); break;
                case "--scale": o.Scale = true; break;
                case "--scale-gb": o.ScaleGb = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--scale-partitions": o.ScalePartitions = NextInt(); break;
                case "--scale-segments": o.ScaleSegments = NextInt(); break;
                case "--connections": o.ConnectionCounts = Next().Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray(); break;
                case "--scale-fetches": o.ScaleFetches = NextInt(); break;
                case "--exactly-once": o.ExactlyOnce = true; break;
                case "--kip848": o.Kip848 = true; break;
                case "--kip848-heartbeat-ms": o.Kip848HeartbeatMs = NextInt(); break;
                case "--kip848-seconds": o.Kip848Seconds = NextInt(); break;
                case "--failover": o.Failover = true; break;
                case "--security": o.Security = true; break;
                case "--security-mb": o.SecurityMiB = NextInt(); break;
                case "--security-connections": o.SecurityConnections = NextInt(); break;
                case "--failover-runs": o.FailoverRuns = NextInt(); break;
                case "--eos-records": o.EosRecords = NextInt(); break;
                case "--eos-txns": o.EosTxns = NextInt(); break;
                case "--eos-txn-records": o.EosTxnRecords = NextInt(); break;
                case "--eos-rounds": o.EosRounds = NextInt(); break;
                case "-h" or "--help": throw new HelpRequested();
                default: throw new ArgumentException($"unknown option {a}");
            }
        }
        if (o.GroupMembers < 2) throw new ArgumentException("--group-members must be at least 2");
        if (o.Clients is < 1 or > 4) throw new ArgumentException("--clients takes 1 to 4 (the mock auto-creates 4 partitions)");
        if (o.Rate < 0) throw new ArgumentException("--rate must not be negative");
        if (o.Records <= 0) throw new ArgumentException("--records must be positive");
        if (o.Size < 8) throw new ArgumentException("--size must be at least 8 (each value carries its sequence number)");
        if (o.WarmupRecords < 0)
            o.WarmupRecords = (int)Math.Min(o.Records / 4, Math.Max(1, (16L << 20) / o.Size));
        return o;
    }

    public sealed class HelpRequested : Exception;
}
