using System.Text.Json;
using System.Text.Json.Serialization;
using KafkaCompat.Storage;

namespace KafkaCompat.Broker.Config;

/// <summary>The file behind <see cref="DynamicBrokerValues"/>: <c>dynamic-configs.json</c> in the data directory,
/// holding the cluster-wide defaults and the values of each broker id apart (Kafka keeps them as the configs of the
/// broker resource "" and of each id):
/// <code>{"cluster_default": {"log.retention.ms": "3600000"}, "brokers": {"1": {"message.max.bytes": "2000000"}}}</code>
/// Written whole to a temporary file, synced, then renamed over the old one, so a crash leaves the old or the new
/// file, never half of one. Entries of other broker ids (a data directory moved from another node) are kept.</summary>
public sealed class DynamicConfigStore
{
    public const string FileName = "dynamic-configs.json";

    internal sealed class Model
    {
        [JsonPropertyName("cluster_default")]
        public Dictionary<string, string> ClusterDefault { get; set; } = new(StringComparer.Ordinal);

        [JsonPropertyName("brokers")]
        public Dictionary<string, Dictionary<string, string>> Brokers { get; set; } = new(StringComparer.Ordinal);
    }

    private readonly string _path;
    private readonly string _nodeId;
    private readonly object _lock = new();
    private Model _saved;

    public string Path => _path;

    private DynamicConfigStore(string path, string nodeId, Model saved)
    {
        _path = path;
        _nodeId = nodeId;
        _saved = saved;
    }

    /// <summary>Reads the file (none: nothing set yet). A file that does not parse stops the start, naming the file,
    /// rather than start with other retention or size limits than were set. A value that no longer passes the checks
    /// is left out and reported through <paramref name="log"/>, as Kafka drops invalid dynamic values at start.</summary>
    public static (DynamicConfigStore Store, DynamicBrokerValues Values) Open(string dataDir, int nodeId, Action<string>? log = null)
    {
        string path = System.IO.Path.Combine(dataDir, FileName);
        var id = nodeId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Model model = new();
        if (File.Exists(path))
        {
            try
            {
                model = JsonSerializer.Deserialize(File.ReadAllText(path), DynamicConfigJsonContext.Default.Model) ?? new();
            }
            catch (JsonException e)
            {
                throw new StorageException($"{path} is damaged ({e.Message}); not starting with other broker settings than were set: " +
                    "restore the file, or move it away to start with the static settings only", e);
            }
            model.ClusterDefault ??= new(StringComparer.Ordinal);
            model.Brokers ??= new(StringComparer.Ordinal);
        }
        var values = new DynamicBrokerValues(
            Usable(model.Brokers.GetValueOrDefault(id), $"broker {id}", log),
            Usable(model.ClusterDefault, "cluster default", log));
        return (new DynamicConfigStore(path, id, model), values);
    }

    private static Dictionary<string, string> Usable(Dictionary<string, string>? stored, string what, Action<string>? log)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (stored is null) return result;
        foreach (var (k, v) in stored)
        {
            var problem = v is null ? "no value" : BrokerConfigs.IsStatic(k) ? "not a dynamic config" : BrokerConfig.CheckBrokerValue(k, v);
            if (problem is null) result[k] = v!;
            else log?.Invoke($"dynamic {what} config {k} in {FileName} is ignored: {problem}");
        }
        return result;
    }

    /// <summary>Stores <paramref name="values"/> as this broker's and the cluster defaults. Throws on an I/O failure,
    /// leaving the file as it was.</summary>
    public void Save(DynamicBrokerValues values)
    {
        lock (_lock)
        {
            var model = new Model
            {
                ClusterDefault = new(values.ClusterDefault, StringComparer.Ordinal),
                Brokers = new(_saved.Brokers, StringComparer.Ordinal),
            };
            if (values.PerBroker.Count > 0) model.Brokers[_nodeId] = new(values.PerBroker, StringComparer.Ordinal);
            else model.Brokers.Remove(_nodeId);
            string tmp = _path + ".tmp";
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write))
            {
                JsonSerializer.Serialize(fs, model, DynamicConfigJsonContext.Default.Model);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, _path, overwrite: true);
            _saved = model;
        }
    }
}

[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(DynamicConfigStore.Model))]
internal partial class DynamicConfigJsonContext : JsonSerializerContext;
