using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using KafkaCompat.Benchmarks;

// Usage: dotnet run -c Release --project bench/KafkaCompat.Benchmarks -- --filter '*Crc*' [--job short]
//
// Benchmarks run in this process (in-process emit toolchain): BenchmarkDotNet does not generate and build a
// separate project per run, which keeps a shared build machine quiet and never touches the src/ obj folders.
// Pass --out-of-process to get BenchmarkDotNet's default toolchain (a generated project built in Release).
bool outOfProcess = args.Contains("--out-of-process");
args = args.Where(a => a != "--out-of-process").ToArray();

IConfig config = DefaultConfig.Instance;
if (!outOfProcess)
    config = config.AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).AsMutator());

BenchmarkSwitcher.FromAssembly(typeof(CrcBenchmarks).Assembly).Run(args, config);
