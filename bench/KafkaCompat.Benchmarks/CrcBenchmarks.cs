using BenchmarkDotNet.Attributes;
using KafkaCompat.Records;

namespace KafkaCompat.Benchmarks;

/// <summary>CRC-32C over a record batch body: the hardware path (SSE4.2 / ARM CRC) against the table-driven one.</summary>
[MemoryDiagnoser]
public class CrcBenchmarks
{
    private byte[] _data = [];

    [Params(1024, 1024 * 1024)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _data = new byte[Size];
        new Random(42).NextBytes(_data);
        uint sw = ~Crc32C.AppendSoftware(0xFFFFFFFFu, _data);
        uint hw = Crc32C.Compute(_data);
        if (sw != hw) throw new InvalidOperationException($"CRC paths disagree: software {sw:x8}, Compute {hw:x8}");
    }

    [Benchmark(Baseline = true)]
    public uint Software() => ~Crc32C.AppendSoftware(0xFFFFFFFFu, _data);

    [Benchmark]
    public uint Compute() => Crc32C.Compute(_data);
}
