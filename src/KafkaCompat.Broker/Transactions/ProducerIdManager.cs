using System.Globalization;

namespace KafkaCompat.Broker.Transactions;

/// <summary>
/// Hands out producer ids from blocks of <see cref="BlockSize"/>, as Kafka's controller does. The end of the current
/// block is written to <c>producer-ids</c> in the data directory (and synced) before any id of the block is given,
/// so an id is never given twice, even after a crash: a restart continues from the next block.
/// </summary>
public sealed class ProducerIdManager
{
    public const int BlockSize = 1000;
    public const string FileName = "producer-ids";
    private readonly string _path;
    private readonly object _lock = new();
    private long _next;
    private long _blockEnd;

    public ProducerIdManager(string dataDir)
    {
        _path = Path.Combine(dataDir, FileName);
        long start = 0;
        if (File.Exists(_path))
        {
            foreach (var line in File.ReadAllLines(_path))
                if (line.StartsWith("next.block.start=", StringComparison.Ordinal)
                    && long.TryParse(line.AsSpan("next.block.start=".Length), NumberStyles.None, CultureInfo.InvariantCulture, out long v))
                    start = v;
        }
        _next = _blockEnd = start;
    }

    /// <summary>The next unused producer id.</summary>
    public long Next()
    {
        lock (_lock)
        {
            if (_next >= _blockEnd) AllocateBlock();
            return _next++;
        }
    }

    private void AllocateBlock()
    {
        long end = _blockEnd + BlockSize;
        string tmp = _path + ".tmp";
        using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            f.Write(System.Text.Encoding.ASCII.GetBytes($"# producer ids below this are taken\nnext.block.start={end}\n"));
            f.Flush(flushToDisk: true);
        }
        File.Move(tmp, _path, overwrite: true);
        _next = _blockEnd;
        _blockEnd = end;
    }
}
