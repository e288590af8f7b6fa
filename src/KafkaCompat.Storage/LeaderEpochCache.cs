using System.Globalization;

namespace KafkaCompat.Storage;

/// <summary>
/// Where each leader epoch of a partition began: (epoch, start offset) pairs, ascending, kept in the partition's
/// directory as <c>leader-epoch-checkpoint</c> in Kafka's text layout (a version line "0", a count line, then one
/// "epoch startOffset" line per entry). A partition whose file is absent has had one epoch, 0, from its start; the
/// file is written only when a later epoch begins, so a single broker writes none. Answers OffsetForLeaderEpoch the way
/// Kafka's epoch cache does. Not thread-safe: the partition log calls it under its append lock (reads copy the list).
/// </summary>
public sealed class LeaderEpochCache
{
    public const string FileName = "leader-epoch-checkpoint";
    private readonly string _path;
    private volatile (int Epoch, long StartOffset)[] _entries;

    private LeaderEpochCache(string path, (int, long)[] entries)
    {
        _path = path;
        _entries = entries;
    }

    /// <summary>Reads the partition's checkpoint; an absent or unreadable file means epoch 0 from offset 0.</summary>
    public static LeaderEpochCache Load(string partitionDir, Action<string>? log = null)
    {
        string path = Path.Combine(partitionDir, FileName);
        (int, long)[] initial = [(0, 0)];
        if (!File.Exists(path)) return new LeaderEpochCache(path, initial);
        try
        {
            var lines = File.ReadAllLines(path);
            if (lines.Length < 2 || lines[0].Trim() != "0" || !int.TryParse(lines[1], NumberStyles.None, CultureInfo.InvariantCulture, out int count) || lines.Length < 2 + count)
                throw new InvalidDataException("bad header");
            var entries = new List<(int, long)>(count);
            for (int i = 0; i < count; i++)
            {
                var parts = lines[2 + i].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int epoch)
                    || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long start))
                    throw new InvalidDataException($"bad line {3 + i}");
                if (entries.Count > 0 && (epoch <= entries[^1].Item1 || start < entries[^1].Item2)) throw new InvalidDataException($"line {3 + i} out of order");
                entries.Add((epoch, start));
            }
            return new LeaderEpochCache(path, entries.Count > 0 ? [.. entries] : initial);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            log?.Invoke($"{path}: {e.Message}; leader epochs start again from 0");
            return new LeaderEpochCache(path, initial);
        }
    }

    /// <summary>The current (latest) leader epoch.</summary>
    public int Latest => _entries[^1].Epoch;

    public IReadOnlyList<(int Epoch, long StartOffset)> Entries => _entries;

    /// <summary>Epoch <paramref name="epoch"/> begins at <paramref name="startOffset"/> (the log end offset when a new
    /// leader takes over); ignored unless it is newer than the latest. Persisted before it takes effect.</summary>
    public void Assign(int epoch, long startOffset)
    {
        var current = _entries;
        if (epoch <= current[^1].Epoch) return;
        // as Kafka's cache: entries that begin at or after the new start are replaced (they never led a record)
        (int, long)[] next = [.. current.Where(x => x.StartOffset < startOffset), (epoch, startOffset)];
        Write(next);
        _entries = next;
    }

    /// <summary>Kafka's answer to OffsetForLeaderEpoch: the largest epoch not above <paramref name="requested"/> and the
    /// offset where the epoch after it began (the log end offset for the latest epoch); (-1, -1) for an epoch newer
    /// than the latest or for -1.</summary>
    public (int Epoch, long EndOffset) EndOffsetFor(int requested, long logEndOffset)
    {
        var e = _entries;
        if (requested < 0) return (-1, -1);
        if (requested == e[^1].Epoch) return (requested, logEndOffset);
        if (requested > e[^1].Epoch) return (-1, -1);
        int higher = Array.FindIndex(e, x => x.Epoch > requested);
        // older than the first epoch known: the requested epoch, ending where the first known one begins
        if (higher == 0) return (requested, e[0].StartOffset);
        return (e[higher - 1].Epoch, e[higher].StartOffset);
    }

    /// <summary>The epoch the record at <paramref name="offset"/> was written in.</summary>
    public int EpochOf(long offset)
    {
        var e = _entries;
        for (int i = e.Length - 1; i >= 0; i--)
            if (e[i].StartOffset <= offset) return e[i].Epoch;
        return e[0].Epoch;
    }

    private void Write((int Epoch, long StartOffset)[] entries)
    {
        string tmp = _path + ".tmp";
        using (var w = new StreamWriter(tmp))
        {
            w.Write("0\n");
            w.Write(entries.Length.ToString(CultureInfo.InvariantCulture));
            w.Write('\n');
            foreach (var (epoch, start) in entries) w.Write(string.Create(CultureInfo.InvariantCulture, $"{epoch} {start}\n"));
            w.Flush();
            ((FileStream)w.BaseStream).Flush(flushToDisk: true);
        }
        File.Move(tmp, _path, overwrite: true);
    }
}
