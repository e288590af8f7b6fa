using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace KafkaCompat.Storage;

/// <summary>What is persisted about a topic besides its data.</summary>
public sealed class TopicRecord
{
    public required string Name { get; init; }
    public required Guid Id { get; init; }
    public required int Partitions { get; set; }
    /// <summary>Config overrides. Replaced whole on a change (never mutated), so readers need no lock.</summary>
    public Dictionary<string, string> Configs { get; set; } = new();
    /// <summary>The broker ids holding each partition's replicas, preferred leader first; null on a single broker
    /// (every partition on that broker). Replaced whole on a change.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public List<int[]>? Replicas { get; set; }
}

[JsonSerializable(typeof(List<TopicRecord>))]
[JsonSourceGenerationOptions(WriteIndented = true)]
internal partial class TopicJsonContext : JsonSerializerContext;

/// <summary>A topic's partition logs plus its persisted description.</summary>
public sealed class TopicLogs(TopicRecord record, PartitionLog[] partitions)
{
    public TopicRecord Record { get; } = record;
    public string Name => Record.Name;
    public Guid Id => Record.Id;
    private PartitionLog[] _partitions = partitions;

    /// <summary>The partition logs. CreatePartitions swaps in a longer array; readers keep whichever they read.</summary>
    public PartitionLog[] Partitions => Volatile.Read(ref _partitions);

    internal void Grow(PartitionLog[] all) => Volatile.Write(ref _partitions, all);
}

/// <summary>
/// Owns the data directory: <c>topics.json</c> (names, ids, partition counts, config overrides), one
/// <c>&lt;topic&gt;-&lt;partition&gt;</c> directory per partition, and the clean-shutdown marker that decides
/// whether active segments are verified on start.
/// </summary>
public sealed class LogManager : IDisposable
{
    public const string CleanShutdownFile = ".kafkacompat_cleanshutdown";
    private readonly ConcurrentDictionary<string, TopicLogs> _topics = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Guid, TopicLogs> _byId = new();
    private readonly object _metaLock = new();
    private readonly Func<TopicRecord, LogConfig> _configFor;
    private readonly Action<string>? _log;

    public string DataDir { get; }
    public bool RecoveredFromUncleanShutdown { get; }

    private readonly Action<string>? _activity;

    /// <param name="log">Storage problems (recovery cuts, rebuilt indexes, failed deletes).</param>
    /// <param name="activity">Routine events: segments deleted by retention, compaction passes.</param>
    public LogManager(string dataDir, Func<TopicRecord, LogConfig> configFor, Action<string>? log = null, Action<string>? activity = null)
    {
        _activity = activity;
        DataDir = Path.GetFullPath(dataDir);
        _configFor = configFor;
        _log = log;
        Directory.CreateDirectory(DataDir);
        string marker = Path.Combine(DataDir, CleanShutdownFile);
        bool clean = File.Exists(marker);
        var records = LoadRecords();
        var starts = LoadLogStartOffsets();
        RecoveredFromUncleanShutdown = !clean && records.Count > 0;
        foreach (var r in records)
        {
            var logs = new PartitionLog[r.Partitions];
            var cfg = configFor(r);
            for (int p = 0; p < r.Partitions; p++)
            {
                logs[p] = PartitionLog.Open(DataDir, r.Name, p, cfg, clean, log, starts.GetValueOrDefault((r.Name, p)));
                logs[p].Activity = activity;
            }
            var t = new TopicLogs(r, logs);
            _topics[r.Name] = t;
            _byId[r.Id] = t;
        }
        if (clean) File.Delete(marker);
    }

    private string MetaPath => Path.Combine(DataDir, "topics.json");
    private string StartOffsetsPath => Path.Combine(DataDir, "log-start-offset-checkpoint");
    private readonly object _checkpointLock = new();

    /// <summary>Kafka's checkpoint format: a version line (0), a count line, then "topic partition offset" lines.</summary>
    private Dictionary<(string, int), long> LoadLogStartOffsets()
    {
        var result = new Dictionary<(string, int), long>();
        if (!File.Exists(StartOffsetsPath)) return result;
        var lines = File.ReadAllLines(StartOffsetsPath);
        if (lines.Length < 2 || lines[0] != "0" || !int.TryParse(lines[1], out int count) || count != lines.Length - 2)
            _log?.Invoke($"{StartOffsetsPath} is damaged (expected a version line 0, a count line and that many entries); reading the entries it has");
        for (int i = 2; i < lines.Length; i++)
        {
            var parts = lines[i].Split(' ');
            if (parts.Length == 3 && int.TryParse(parts[1], out int p) && long.TryParse(parts[2], out long o) && p >= 0 && o >= 0) result[(parts[0], p)] = o;
            else _log?.Invoke($"{StartOffsetsPath} line {i + 1} is damaged ('{lines[i]}'); that partition starts at its first segment");
        }
        return result;
    }

    /// <summary>Writes the log start offsets that differ from the first segment's base (after DeleteRecords).</summary>
    public void CheckpointLogStartOffsets()
    {
        lock (_checkpointLock)
        {
            var entries = _topics.Values.SelectMany(t => t.Partitions)
                .Where(p => p.LogStartOffset > p.Segments[0].BaseOffset)
                .Select(p => $"{p.Topic} {p.Partition} {p.LogStartOffset}").ToList();
            string tmp = StartOffsetsPath + ".tmp";
            File.WriteAllLines(tmp, new[] { "0", entries.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) }.Concat(entries));
            using (var fs = new FileStream(tmp, FileMode.Open, FileAccess.Read)) fs.Flush(flushToDisk: true);
            File.Move(tmp, StartOffsetsPath, overwrite: true);
        }
    }

    /// <summary>topics.json. A damaged file stops the start (naming the file and the damage) rather than starting
    /// without the topics it lists.</summary>
    private List<TopicRecord> LoadRecords()
    {
        if (!File.Exists(MetaPath)) return new();
        List<TopicRecord>? records;
        try
        {
            records = JsonSerializer.Deserialize(File.ReadAllText(MetaPath), TopicJsonContext.Default.ListTopicRecord);
        }
        catch (JsonException e)
        {
            throw new StorageException($"{MetaPath} is damaged ({e.Message}); not starting rather than losing the topics it lists: " +
                "restore the file (the topic directories are intact), or move it away to start without topics", e);
        }
        var bad = records?.FirstOrDefault(r => string.IsNullOrEmpty(r.Name) || r.Partitions < 1 || r.Id == Guid.Empty);
        if (bad != null)
            throw new StorageException($"{MetaPath} is damaged (topic '{bad.Name}': name, id and a positive partition count are required); " +
                "not starting rather than losing topics: restore the file, or move it away to start without topics");
        return records ?? new();
    }

    private void SaveRecords()
    {
        var list = _topics.Values.Select(t => t.Record).OrderBy(r => r.Name, StringComparer.Ordinal).ToList();
        string tmp = MetaPath + ".tmp";
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write))
        {
            JsonSerializer.Serialize(fs, list, TopicJsonContext.Default.ListTopicRecord);
            fs.Flush(flushToDisk: true);
        }
        File.Move(tmp, MetaPath, overwrite: true);
    }

    /// <summary>Saves topics.json after a change to a record; if that fails, <paramref name="undo"/> puts the record
    /// back, so what is in memory never runs ahead of what a restart would find.</summary>
    private void SaveRecordsOrUndo(Action undo)
    {
        try
        {
            SaveRecords();
        }
        catch
        {
            undo();
            throw;
        }
    }

    public IEnumerable<TopicLogs> Topics => _topics.Values;

    private long _layoutVersion;
    /// <summary>Changes whenever a topic is created or deleted or gains partitions: a cached view of topics and
    /// partition counts is current while this has not moved.</summary>
    public long LayoutVersion => Volatile.Read(ref _layoutVersion);
    public int TopicCount => _topics.Count;

    public TopicLogs? Get(string name) => _topics.TryGetValue(name, out var t) ? t : null;
    public TopicLogs? Get(Guid id) => _byId.TryGetValue(id, out var t) ? t : null;

    /// <summary>Creates a topic; returns null if one with that name (or the given id) exists. The id is new unless
    /// given (tests replaying captured frames that name a topic by id).</summary>
    public TopicLogs? Create(string name, int partitions, Dictionary<string, string> configs, Guid? id = null, List<int[]>? replicas = null)
    {
        if (replicas != null && replicas.Count != partitions) throw new ArgumentException("one replica list per partition", nameof(replicas));
        lock (_metaLock)
        {
            if (_topics.ContainsKey(name) || id is { } taken && (taken == Guid.Empty || _byId.ContainsKey(taken))) return null;
            var record = new TopicRecord { Name = name, Id = id ?? NewTopicId(), Partitions = partitions, Configs = configs, Replicas = replicas };
            var cfg = _configFor(record);
            var logs = new PartitionLog[partitions];
            for (int p = 0; p < partitions; p++)
            {
                // a leftover directory from an unclean delete must not resurrect old data
                string dir = Path.Combine(DataDir, PartitionLog.DirectoryName(name, p));
                if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
                logs[p] = PartitionLog.Open(DataDir, name, p, cfg, clean: true, _log);
                logs[p].Activity = _activity;
            }
            var t = new TopicLogs(record, logs);
            _topics[name] = t;
            _byId[record.Id] = t;
            SaveRecords();
            Interlocked.Increment(ref _layoutVersion);
            return t;
        }
    }

    private static Guid NewTopicId()
    {
        // Kafka never hands out the zero UUID or the sentinel with only the low bit set
        Guid g;
        do g = Guid.NewGuid(); while (g == Guid.Empty);
        return g;
    }

    /// <summary>Replaces a topic's config overrides, persists them and applies them to its partitions.
    /// Returns false when the topic does not exist.</summary>
    public bool SetConfigs(string name, IReadOnlyDictionary<string, string> configs)
    {
        lock (_metaLock)
        {
            if (!_topics.TryGetValue(name, out var t)) return false;
            var previous = t.Record.Configs;
            t.Record.Configs = new Dictionary<string, string>(configs, StringComparer.Ordinal);
            SaveRecordsOrUndo(() => t.Record.Configs = previous);
            var cfg = _configFor(t.Record);
            foreach (var p in t.Partitions) p.Config = cfg;
            return true;
        }
    }

    /// <summary>Recomputes every topic's settings (the broker defaults under them changed) and gives each partition
    /// the new ones; a partition whose settings did not change is left alone.</summary>
    public void ReapplyConfigs()
    {
        lock (_metaLock)
        {
            foreach (var t in _topics.Values)
            {
                var cfg = _configFor(t.Record);
                foreach (var p in t.Partitions)
                    if (p.Config != cfg) p.Config = cfg;
            }
        }
    }

    /// <summary>Adds partitions to a topic so that it has <paramref name="count"/>; returns false when the topic does
    /// not exist. The caller has checked that the count grows.</summary>
    public bool AddPartitions(string name, int count, IReadOnlyList<int[]>? newReplicas = null)
    {
        lock (_metaLock)
        {
            if (!_topics.TryGetValue(name, out var t)) return false;
            var old = t.Partitions;
            if (count <= old.Length) return true;
            var oldReplicas = t.Record.Replicas;
            if (newReplicas != null || oldReplicas != null)
            {
                if (newReplicas is null || newReplicas.Count != count - old.Length) throw new ArgumentException("one replica list per new partition", nameof(newReplicas));
                t.Record.Replicas = [.. oldReplicas ?? [.. Enumerable.Repeat(newReplicas[0], old.Length)], .. newReplicas];
            }
            var cfg = _configFor(t.Record);
            var all = new PartitionLog[count];
            old.CopyTo(all, 0);
            for (int p = old.Length; p < count; p++)
            {
                string dir = Path.Combine(DataDir, PartitionLog.DirectoryName(name, p));
                if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
                all[p] = PartitionLog.Open(DataDir, name, p, cfg, clean: true, _log);
                all[p].Activity = _activity;
            }
            t.Record.Partitions = count;
            // not recorded, so not added: remove the new logs and leave the topic as it was
            SaveRecordsOrUndo(() =>
            {
                t.Record.Partitions = old.Length;
                t.Record.Replicas = oldReplicas;
                for (int p = old.Length; p < count; p++) all[p].Delete();
            });
            t.Grow(all);
            Interlocked.Increment(ref _layoutVersion);
            return true;
        }
    }

    /// <summary>Replaces a topic's replica assignment and persists it; false when the topic does not exist.</summary>
    public bool SetReplicas(string name, List<int[]> replicas)
    {
        lock (_metaLock)
        {
            if (!_topics.TryGetValue(name, out var t)) return false;
            if (replicas.Count != t.Partitions.Length) throw new ArgumentException("one replica list per partition", nameof(replicas));
            var previous = t.Record.Replicas;
            t.Record.Replicas = replicas;
            SaveRecordsOrUndo(() => t.Record.Replicas = previous);
            return true;
        }
    }

    public bool Delete(string name)
    {
        lock (_metaLock)
        {
            if (!_topics.TryRemove(name, out var t)) return false;
            _byId.TryRemove(t.Id, out _);
            Interlocked.Increment(ref _layoutVersion);
            SaveRecords();
            foreach (var p in t.Partitions) p.Delete();
            return true;
        }
    }

    public void FlushAll()
    {
        foreach (var t in _topics.Values)
            foreach (var p in t.Partitions) p.Flush();
    }

    /// <summary>Closes every log, syncs the file system once (one syncfs, not one sync per file: a stop with 50,000
    /// partitions takes seconds, not minutes), then writes the clean-shutdown marker.</summary>
    public void Dispose()
    {
        lock (_metaLock)
        {
            CheckpointLogStartOffsets();
            foreach (var t in _topics.Values)
                foreach (var p in t.Partitions) p.Close(sync: false);
            // the logs' maps are gone: their written pages are in the page cache, and this writes them all
            Native.SyncFileSystem(DataDir);
            string marker = Path.Combine(DataDir, CleanShutdownFile);
            using (var f = new FileStream(marker, FileMode.Create, FileAccess.Write)) f.Flush(flushToDisk: true);
        }
    }
}
