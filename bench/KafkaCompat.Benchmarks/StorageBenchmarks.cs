using BenchmarkDotNet.Attributes;
using KafkaCompat.Records;
using KafkaCompat.Storage;

namespace KafkaCompat.Benchmarks;

internal static class BenchBatches
{
    /// <summary>An uncompressed batch of one record whose total size is exactly <paramref name="totalBytes"/>.</summary>
    public static byte[] OneRecordBatch(int totalBytes)
    {
        int valueSize = totalBytes - RecordBatch.HeaderSize;
        for (int attempt = 0; attempt < 8; attempt++)
        {
            var batch = new RecordBatchBuilder().Add(default, new byte[valueSize], 1_700_000_000_000, nullKey: true).Build();
            if (batch.Length == totalBytes) return batch;
            valueSize -= batch.Length - totalBytes;
        }
        throw new InvalidOperationException($"cannot build a batch of exactly {totalBytes} bytes");
    }

    public static string NewTempDir(string what)
    {
        string dir = Path.Combine(Path.GetTempPath(), $"kafkacompat-bench-{what}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }
}

/// <summary>
/// PartitionLog.Append of one 1 KiB batch: validation with CRC-32C, copy into the mapped segment, offset rewrite,
/// sparse index. Each iteration starts a fresh log (segment.bytes 1 GiB, so no roll happens inside an iteration).
/// </summary>
[MemoryDiagnoser]
[InvocationCount(AppendsPerIteration)]
public class SegmentAppendBenchmarks
{
    private const int AppendsPerIteration = 393_216; // 384 MiB of 1 KiB batches per iteration (well over 100 ms)
    private byte[] _batch = [];
    private string _root = "";
    private PartitionLog? _log;

    [GlobalSetup]
    public void Setup()
    {
        _batch = BenchBatches.OneRecordBatch(1024);
        _root = BenchBatches.NewTempDir("append");
    }

    [IterationSetup]
    public void OpenLog()
    {
        string dir = Path.Combine(_root, Guid.NewGuid().ToString("N"));
        _log = PartitionLog.Open(dir, "bench", 0, new LogConfig { SegmentBytes = 1 << 30 }, clean: true);
    }

    [IterationCleanup]
    public void CloseLog()
    {
        var log = _log!;
        _log = null;
        log.Delete();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    [Benchmark]
    public long Append1KiB() => _log!.Append(_batch).BaseOffset;
}

/// <summary>
/// PartitionLog.Read of up to 1 MiB (whole batches) at offsets spread over a filled 256 MiB log, with
/// batches of 1 KiB (about a thousand batch headers walked per read) or 16 KiB. <c>ReadAndCopy</c> also copies
/// the slice out, as sending it does.
/// </summary>
[MemoryDiagnoser]
public class FetchReadBenchmarks
{
    private const int ReadBytes = 1 << 20;
    private const long LogBytes = 256L << 20;
    private string _root = "";
    private PartitionLog? _log;
    private long[] _offsets = [];
    private int _next;
    private readonly byte[] _copy = new byte[2 * ReadBytes];

    [Params(1024, 16384)]
    public int BatchBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _root = BenchBatches.NewTempDir("read");
        _log = PartitionLog.Open(_root, "bench", 0, new LogConfig { SegmentBytes = 1 << 30 }, clean: true);
        var batch = BenchBatches.OneRecordBatch(BatchBytes);
        long batches = LogBytes / BatchBytes;
        for (long i = 0; i < batches; i++) _log.Append(batch);
        // 64 start offsets spread over the log, leaving at least 1 MiB after each
        long readable = batches - ReadBytes / BatchBytes;
        _offsets = Enumerable.Range(0, 64).Select(i => readable * i / 64).ToArray();
        var probe = _log.Read(_offsets[^1], ReadBytes, minOneBatch: true);
        if (probe.Records.Length != ReadBytes) throw new InvalidOperationException($"read returned {probe.Records.Length} bytes");
        probe.Lease?.Dispose();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _log?.Delete();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private long NextOffset()
    {
        long o = _offsets[_next];
        _next = (_next + 1) & 63;
        return o;
    }

    [Benchmark]
    public int Read1MiB()
    {
        var r = _log!.Read(NextOffset(), ReadBytes, minOneBatch: true);
        r.Lease?.Dispose();
        return r.Records.Length;
    }

    [Benchmark]
    public int ReadAndCopy1MiB()
    {
        var r = _log!.Read(NextOffset(), ReadBytes, minOneBatch: true);
        r.Records.Span.CopyTo(_copy);
        r.Lease?.Dispose();
        return r.Records.Length;
    }
}
