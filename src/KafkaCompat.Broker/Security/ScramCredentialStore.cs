using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using KafkaCompat.Protocol;
using KafkaCompat.Storage;

namespace KafkaCompat.Broker.Security;

/// <summary>A user's SCRAM credential as Kafka keeps it: never the password, only the salt, the iteration count and
/// the two keys derived from the salted password.</summary>
public sealed record ScramCredential(byte[] Salt, byte[] StoredKey, byte[] ServerKey, int Iterations)
{
    public static ScramCredential FromSaltedPassword(ScramMechanism m, byte[] salt, ReadOnlySpan<byte> saltedPassword, int iterations) =>
        new(salt, Scram.StoredKey(m, saltedPassword), Scram.ServerKey(m, saltedPassword), iterations);

    public static ScramCredential FromPassword(ScramMechanism m, string password, int iterations = Scram.MinIterations)
    {
        var salt = RandomNumberGenerator.GetBytes(Scram.HashLength(m));
        return FromSaltedPassword(m, salt, Scram.SaltedPassword(m, password, salt, iterations), iterations);
    }
}

/// <summary>One change of an AlterUserScramCredentials request, or of <c>--add-scram</c>: a credential set (with its
/// keys) or removed (null).</summary>
public readonly record struct ScramChange(string User, ScramMechanism Mechanism, ScramCredential? Credential);

/// <summary>
/// The SCRAM credentials of the cluster (Kafka keeps them in its metadata log as UserScramCredentialRecords):
/// <c>scram-credentials.json</c> in the data directory, holding per user and mechanism the salt, stored key, server
/// key and iterations, base64. Written whole to a temporary file, synced, then renamed over the old one, so a crash
/// leaves the old or the new set, never half of one.
/// </summary>
public sealed partial class ScramCredentialStore
{
    public const string FileName = "scram-credentials.json";

    internal sealed class Entry
    {
        [JsonPropertyName("salt")] public string Salt { get; set; } = "";
        [JsonPropertyName("stored_key")] public string StoredKey { get; set; } = "";
        [JsonPropertyName("server_key")] public string ServerKey { get; set; } = "";
        [JsonPropertyName("iterations")] public int Iterations { get; set; }
    }

    private readonly string _path;
    private readonly object _lock = new();
    // user -> mechanism -> credential; replaced whole on each change, so readers need no lock
    private volatile Dictionary<string, Dictionary<ScramMechanism, ScramCredential>> _users;

    private ScramCredentialStore(string path, Dictionary<string, Dictionary<ScramMechanism, ScramCredential>> users)
    {
        _path = path;
        _users = users;
    }

    public string Path => _path;

    /// <summary>Reads the file (none: no credentials yet). A file that does not parse stops the start, naming it,
    /// rather than start with users missing.</summary>
    public static ScramCredentialStore Open(string dataDir)
    {
        string path = System.IO.Path.Combine(dataDir, FileName);
        var users = new Dictionary<string, Dictionary<ScramMechanism, ScramCredential>>(StringComparer.Ordinal);
        if (File.Exists(path))
        {
            try
            {
                var model = JsonSerializer.Deserialize(File.ReadAllText(path), ScramJsonContext.Default.DictionaryStringDictionaryStringEntry) ?? [];
                foreach (var (user, mechanisms) in model)
                {
                    var entries = new Dictionary<ScramMechanism, ScramCredential>();
                    foreach (var (name, e) in mechanisms ?? [])
                    {
                        var m = Scram.Parse(name);
                        if (m == ScramMechanism.Unknown || e is null) throw new JsonException($"user {user}: unknown mechanism {name}");
                        entries[m] = new ScramCredential(Convert.FromBase64String(e.Salt), Convert.FromBase64String(e.StoredKey),
                            Convert.FromBase64String(e.ServerKey), e.Iterations);
                    }
                    if (entries.Count > 0) users[user] = entries;
                }
            }
            catch (Exception e) when (e is JsonException or FormatException)
            {
                throw new StorageException($"{path} is damaged ({e.Message}); not starting without the SCRAM users it held: " +
                    "restore the file, or move it away and add the users again", e);
            }
        }
        return new ScramCredentialStore(path, users);
    }

    public ScramCredential? Get(string user, ScramMechanism m) =>
        _users.TryGetValue(user, out var entries) && entries.TryGetValue(m, out var c) ? c : null;

    /// <summary>The mechanisms and iterations a user has credentials for (none: an unknown user).</summary>
    public IReadOnlyList<(ScramMechanism Mechanism, int Iterations)> Describe(string user) =>
        _users.TryGetValue(user, out var entries) ? [.. entries.OrderBy(e => e.Key).Select(e => (e.Key, e.Value.Iterations))] : [];

    /// <summary>Every user with a credential, sorted.</summary>
    public IReadOnlyList<string> Users => [.. _users.Keys.Order(StringComparer.Ordinal)];

    /// <summary>Applies changes together and writes the file once; removing what does not exist does nothing.</summary>
    public void Apply(IReadOnlyCollection<ScramChange> changes)
    {
        if (changes.Count == 0) return;
        lock (_lock)
        {
            var next = _users.ToDictionary(kv => kv.Key, kv => new Dictionary<ScramMechanism, ScramCredential>(kv.Value), StringComparer.Ordinal);
            foreach (var c in changes)
            {
                if (c.Credential is { } credential)
                {
                    if (!next.TryGetValue(c.User, out var entries)) next[c.User] = entries = [];
                    entries[c.Mechanism] = credential;
                }
                else if (next.TryGetValue(c.User, out var entries) && entries.Remove(c.Mechanism) && entries.Count == 0)
                    next.Remove(c.User);
            }
            Save(next);
            _users = next;
        }
    }

    private void Save(Dictionary<string, Dictionary<ScramMechanism, ScramCredential>> users)
    {
        var model = users.ToDictionary(u => u.Key, u => u.Value.ToDictionary(e => Scram.Name(e.Key), e => new Entry
        {
            Salt = Convert.ToBase64String(e.Value.Salt),
            StoredKey = Convert.ToBase64String(e.Value.StoredKey),
            ServerKey = Convert.ToBase64String(e.Value.ServerKey),
            Iterations = e.Value.Iterations,
        }), StringComparer.Ordinal);
        string tmp = _path + ".tmp";
        using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(f, model, ScramJsonContext.Default.DictionaryStringDictionaryStringEntry);
            f.Flush(flushToDisk: true);
        }
        File.Move(tmp, _path, overwrite: true);
    }

    /// <summary>
    /// A credential in the form of <c>kafka-storage format --add-scram</c>:
    /// <c>SCRAM-SHA-256=[name=alice,password=alice-secret]</c>, optionally with <c>iterations=8192</c>, or with
    /// <c>salt=</c> and <c>saltedpassword=</c> (base64) instead of the password. Values may be double-quoted.
    /// </summary>
    public static ScramChange ParseAddScram(string spec)
    {
        var m = AddScramForm().Match(spec.Trim());
        if (!m.Success) throw new ArgumentException($"--add-scram: expected MECHANISM=[name=USER,password=PASSWORD], got '{spec}'");
        var mechanism = Scram.Parse(m.Groups["mech"].Value);
        if (mechanism == ScramMechanism.Unknown)
            throw new ArgumentException($"--add-scram: unknown mechanism {m.Groups["mech"].Value} (SCRAM-SHA-256 or SCRAM-SHA-512)");
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in SplitOutsideQuotes(m.Groups["body"].Value))
        {
            int eq = part.IndexOf('=');
            if (eq <= 0) throw new ArgumentException($"--add-scram: expected key=value, got '{part}'");
            string value = part[(eq + 1)..].Trim();
            if (value.Length >= 2 && value[0] == '"' && value[^1] == '"') value = value[1..^1];
            values[part[..eq].Trim()] = value;
        }
        foreach (var key in values.Keys)
            if (key.ToLowerInvariant() is not ("name" or "password" or "iterations" or "salt" or "saltedpassword"))
                throw new ArgumentException($"--add-scram: unknown key {key} (name, password, iterations, salt, saltedpassword)");
        if (!values.TryGetValue("name", out var name) || name.Length == 0) throw new ArgumentException("--add-scram: name= is required");
        int iterations = Scram.MinIterations;
        if (values.TryGetValue("iterations", out var it)
            && (!int.TryParse(it, NumberStyles.None, CultureInfo.InvariantCulture, out iterations) || iterations < Scram.MinIterations || iterations > Scram.MaxIterations))
            throw new ArgumentException($"--add-scram: iterations must be between {Scram.MinIterations} and {Scram.MaxIterations}, got {it}");
        if (values.TryGetValue("password", out var password))
        {
            if (values.ContainsKey("saltedpassword")) throw new ArgumentException("--add-scram: give password= or saltedpassword=, not both");
            if (!values.TryGetValue("salt", out var saltText)) return new(name, mechanism, ScramCredential.FromPassword(mechanism, password, iterations));
            var salt = Base64(saltText, "salt");
            return new(name, mechanism, ScramCredential.FromSaltedPassword(mechanism, salt, Scram.SaltedPassword(mechanism, password, salt, iterations), iterations));
        }
        if (values.TryGetValue("saltedpassword", out var salted) && values.TryGetValue("salt", out var s))
            return new(name, mechanism, ScramCredential.FromSaltedPassword(mechanism, Base64(s, "salt"), Base64(salted, "saltedpassword"), iterations));
        throw new ArgumentException("--add-scram: password= (or salt= and saltedpassword=) is required");
    }

    private static byte[] Base64(string text, string key)
    {
        try { return Convert.FromBase64String(text); }
        catch (FormatException) { throw new ArgumentException($"--add-scram: {key} must be base64"); }
    }

    private static IEnumerable<string> SplitOutsideQuotes(string body)
    {
        int start = 0;
        bool quoted = false;
        for (int i = 0; i <= body.Length; i++)
        {
            if (i < body.Length && body[i] == '"') quoted = !quoted;
            if (i == body.Length || (body[i] == ',' && !quoted))
            {
                if (i > start) yield return body[start..i];
                start = i + 1;
            }
        }
    }

    [GeneratedRegex(@"^(?<mech>[A-Za-z0-9-]+)=\[(?<body>.*)\]$")]
    private static partial Regex AddScramForm();
}

[JsonSerializable(typeof(Dictionary<string, Dictionary<string, ScramCredentialStore.Entry>>))]
internal sealed partial class ScramJsonContext : JsonSerializerContext;
