using System.Text.Json;
using System.Text.Json.Serialization;
using KafkaCompat.Protocol;
using KafkaCompat.Storage;

namespace KafkaCompat.Broker.Security;

/// <summary>
/// Kafka's StandardAuthorizer: <c>authorizer.class.name</c> turns it on (without it every request is allowed and the
/// ACL APIs answer SECURITY_DISABLED). A super user (<c>super.users</c>, <c>User:A;User:B</c>) may do anything. Otherwise
/// the ACLs of the resource's type that match it (its literal name, the <c>*</c> wildcard, prefixes of it) decide: a
/// DENY for the principal (or <c>User:*</c>) and host (or <c>*</c>) wins, then an ALLOW (which also grants DESCRIBE for
/// READ, WRITE, DELETE and ALTER, and DESCRIBE_CONFIGS for ALTER_CONFIGS); a resource with ACLs but none that apply is
/// denied; a resource without any is denied unless <c>allow.everyone.if.no.acl.found</c>.
/// </summary>
public sealed class Authorizer
{
    public const string Wildcard = "*";
    public const string ClusterName = "kafka-cluster";
    public static readonly string[] Served = ["org.apache.kafka.metadata.authorizer.StandardAuthorizer", "kafka.security.authorizer.AclAuthorizer"];

    public bool Enabled { get; }
    private readonly HashSet<string> _superUsers;
    private readonly bool _allowIfNoAcl;
    public AclStore Store { get; }

    public Authorizer(bool enabled, IEnumerable<string> superUsers, bool allowIfNoAcl, AclStore store)
    {
        Enabled = enabled;
        _superUsers = new HashSet<string>(superUsers, StringComparer.Ordinal);
        _allowIfNoAcl = allowIfNoAcl;
        Store = store;
    }

    /// <summary>From <c>authorizer.class.name</c>, <c>super.users</c> and <c>allow.everyone.if.no.acl.found</c>; an
    /// authorizer this broker does not have, or a super user that is not <c>Type:Name</c>, is a configuration error.</summary>
    public static Authorizer From(Config.BrokerConfig config, AclStore store)
    {
        var (enabled, superUsers, allow) = Settings(config);
        return new Authorizer(enabled, superUsers, allow, store);
    }

    public static (bool Enabled, List<string> SuperUsers, bool AllowIfNoAcl) Settings(Config.BrokerConfig config)
    {
        var name = config.Get("authorizer.class.name")?.Trim() ?? "";
        if (name.Length > 0 && !Served.Contains(name))
            throw new ArgumentException($"authorizer.class.name {name} is not served (use {Served[0]})");
        var superUsers = new List<string>();
        foreach (var entry in (config.Get("super.users") ?? "").Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (entry.IndexOf(':') <= 0) throw new ArgumentException($"super.users: '{entry}' is not a principal (Type:Name, e.g. User:admin)");
            superUsers.Add(entry);
        }
        var allowText = config.Get("allow.everyone.if.no.acl.found") ?? "false";
        if (!bool.TryParse(allowText, out bool allow)) throw new ArgumentException($"allow.everyone.if.no.acl.found must be true or false, not '{allowText}'");
        return (name.Length > 0, superUsers, allow);
    }

    private static bool Implies(AclOperation granted, AclOperation wanted) => granted == wanted || granted == AclOperation.All
        || wanted == AclOperation.Describe && granted is AclOperation.Read or AclOperation.Write or AclOperation.Delete or AclOperation.Alter
        || wanted == AclOperation.DescribeConfigs && granted == AclOperation.AlterConfigs;

    /// <summary>Whether <paramref name="principal"/> connecting from <paramref name="host"/> may do
    /// <paramref name="op"/> on the resource (always, without an authorizer).</summary>
    public bool Authorize(string principal, string host, AclOperation op, AclResourceType type, string name)
    {
        if (!Enabled || _superUsers.Contains(principal)) return true;
        bool any = false, allowed = false;
        foreach (var acl in Store.Of(type))
        {
            bool matches = acl.PatternType == AclPatternType.Literal ? acl.Name == name || acl.Name == Wildcard
                : acl.PatternType == AclPatternType.Prefixed && name.StartsWith(acl.Name, StringComparison.Ordinal);
            if (!matches) continue;
            any = true;
            if (acl.Principal != principal && acl.Principal != "User:*") continue;
            if (acl.Host != Wildcard && acl.Host != host) continue;
            if (acl.Permission == AclPermissionType.Deny)
            {
                if (acl.Operation == op || acl.Operation == AclOperation.All) return false;
            }
            else if (Implies(acl.Operation, op)) allowed = true;
        }
        return allowed || (!any && _allowIfNoAcl);
    }

    /// <summary>Kafka's authorizeByResourceType (idempotent InitProducerId asks WRITE on any topic): allowed when the
    /// principal may do the operation on some resource of the type that no DENY takes away.</summary>
    public bool AuthorizeAny(string principal, string host, AclOperation op, AclResourceType type)
    {
        if (Authorize(principal, host, op, type, "hardcode")) return true;
        var applicable = Store.Of(type).Where(a => (a.Principal == principal || a.Principal == "User:*") && (a.Host == Wildcard || a.Host == host)
            && (a.Operation == op || a.Operation == AclOperation.All)).ToList();
        var deny = applicable.Where(a => a.Permission == AclPermissionType.Deny).ToList();
        if (deny.Any(a => a.PatternType == AclPatternType.Literal && a.Name == Wildcard)) return false;
        var allow = applicable.Where(a => a.Permission == AclPermissionType.Allow).ToList();
        if (allow.Any(a => a.PatternType == AclPatternType.Literal && a.Name == Wildcard)) return true;
        bool DeniedByPrefix(string name) => deny.Any(d => d.PatternType == AclPatternType.Prefixed && name.StartsWith(d.Name, StringComparison.Ordinal));
        return allow.Any(a => a.PatternType == AclPatternType.Literal
                ? !deny.Any(d => d.PatternType == AclPatternType.Literal && d.Name == a.Name) && !DeniedByPrefix(a.Name)
                : !DeniedByPrefix(a.Name));
    }

    /// <summary>The operations each resource type has (the authorized-operations fields list these).</summary>
    public static AclOperation[] Supported(AclResourceType type) => type switch
    {
        AclResourceType.Topic => [AclOperation.Read, AclOperation.Write, AclOperation.Create, AclOperation.Delete, AclOperation.Alter,
            AclOperation.Describe, AclOperation.DescribeConfigs, AclOperation.AlterConfigs],
        AclResourceType.Group => [AclOperation.Read, AclOperation.Describe, AclOperation.Delete, AclOperation.DescribeConfigs, AclOperation.AlterConfigs],
        AclResourceType.Cluster => [AclOperation.Create, AclOperation.ClusterAction, AclOperation.DescribeConfigs, AclOperation.AlterConfigs,
            AclOperation.IdempotentWrite, AclOperation.Alter, AclOperation.Describe],
        AclResourceType.TransactionalId => [AclOperation.Describe, AclOperation.Write],
        _ => [],
    };

    /// <summary>The authorized-operations bitfield: bit (1 &lt;&lt; code) for each supported operation allowed.</summary>
    public int AuthorizedOperations(string principal, string host, AclResourceType type, string name)
    {
        int bits = 0;
        foreach (var op in Supported(type))
            if (Authorize(principal, host, op, type, name)) bits |= 1 << (int)op;
        return bits;
    }

    /// <summary>CreateAcls' checks of one binding (Kafka's INVALID_REQUEST messages), or null when it may be stored.</summary>
    public static string? Invalid(AclBinding b)
    {
        if (b.ResourceType == AclResourceType.Cluster && b.Name != ClusterName) return "The only valid name for the CLUSTER resource is kafka-cluster";
        if (string.IsNullOrEmpty(b.Name)) return "Invalid empty resource name";
        if (b.ResourceType is AclResourceType.Any or AclResourceType.Unknown) return $"Invalid resourceType {AclNames.Name(b.ResourceType)}";
        if (b.PatternType is not (AclPatternType.Literal or AclPatternType.Prefixed)) return $"Invalid patternType {AclNames.Name(b.PatternType)}";
        if (b.Operation is AclOperation.Any or AclOperation.Unknown) return $"Invalid operation {AclNames.Name(b.Operation)}";
        if (b.Permission is not (AclPermissionType.Allow or AclPermissionType.Deny)) return $"Invalid permissionType {AclNames.Name(b.Permission)}";
        if (b.Principal.IndexOf(':') <= 0)
            return $"Could not parse principal from `{b.Principal}` (no colon is present separating the principal type from the principal name)";
        return null;
    }
}

/// <summary>The cluster's ACLs, kept in <c>acls.json</c> in the data directory (written whole to a temporary file,
/// synced and renamed, so a crash leaves the old or the new set).</summary>
public sealed class AclStore
{
    public const string FileName = "acls.json";

    internal sealed class Entry
    {
        [JsonPropertyName("resource_type")] public string ResourceType { get; set; } = "";
        [JsonPropertyName("name")] public string Name { get; set; } = "";
        [JsonPropertyName("pattern_type")] public string PatternType { get; set; } = "";
        [JsonPropertyName("principal")] public string Principal { get; set; } = "";
        [JsonPropertyName("host")] public string Host { get; set; } = "";
        [JsonPropertyName("operation")] public string Operation { get; set; } = "";
        [JsonPropertyName("permission")] public string Permission { get; set; } = "";
    }

    private readonly string _path;
    private readonly object _lock = new();
    // replaced whole on each change: readers take the current set without a lock
    private volatile Dictionary<AclResourceType, AclBinding[]> _byType;

    private AclStore(string path, IEnumerable<AclBinding> acls)
    {
        _path = path;
        _byType = Index(acls);
    }

    private static Dictionary<AclResourceType, AclBinding[]> Index(IEnumerable<AclBinding> acls) =>
        acls.Distinct().GroupBy(a => a.ResourceType).ToDictionary(g => g.Key, g => g.ToArray());

    public IReadOnlyList<AclBinding> Of(AclResourceType type) => _byType.TryGetValue(type, out var a) ? a : [];

    public IEnumerable<AclBinding> All => _byType.Values.SelectMany(a => a);

    public int Count => _byType.Values.Sum(a => a.Length);

    public static AclStore Open(string dataDir)
    {
        string path = Path.Combine(dataDir, FileName);
        var acls = new List<AclBinding>();
        if (File.Exists(path))
        {
            try
            {
                foreach (var e in JsonSerializer.Deserialize(File.ReadAllText(path), AclJsonContext.Default.ListEntry) ?? [])
                {
                    var b = new AclBinding(AclNames.Parse<AclResourceType>(e.ResourceType) ?? AclResourceType.Unknown, e.Name,
                        AclNames.Parse<AclPatternType>(e.PatternType) ?? AclPatternType.Unknown, e.Principal, e.Host,
                        AclNames.Parse<AclOperation>(e.Operation) ?? AclOperation.Unknown, AclNames.Parse<AclPermissionType>(e.Permission) ?? AclPermissionType.Unknown);
                    if (Authorizer.Invalid(b) is { } problem) throw new JsonException($"{b}: {problem}");
                    acls.Add(b);
                }
            }
            catch (JsonException e)
            {
                throw new StorageException($"{path} is damaged ({e.Message}); not starting with other ACLs than were set: " +
                    "restore the file, or move it away and add the ACLs again", e);
            }
        }
        return new AclStore(path, acls);
    }

    /// <summary>Adds ACLs (one already there is no change) and writes the file once.</summary>
    public void Add(IReadOnlyCollection<AclBinding> acls)
    {
        if (acls.Count == 0) return;
        lock (_lock)
        {
            var next = Index(All.Concat(acls));
            Save(next);
            _byType = next;
        }
    }

    /// <summary>Removes the ACLs each filter matches, writing the file once; what each filter removed.</summary>
    public List<AclBinding>[] Remove(IReadOnlyList<AclFilter?> filters)
    {
        lock (_lock)
        {
            var current = All.ToList();
            var removed = filters.Select(f => f is null ? [] : current.Where(f.Matches).ToList()).ToArray();
            var gone = removed.SelectMany(r => r).ToHashSet();
            if (gone.Count > 0)
            {
                var next = Index(current.Where(a => !gone.Contains(a)));
                Save(next);
                _byType = next;
            }
            return removed;
        }
    }

    private void Save(Dictionary<AclResourceType, AclBinding[]> acls)
    {
        var model = acls.Values.SelectMany(a => a).Select(a => new Entry
        {
            ResourceType = AclNames.Name(a.ResourceType), Name = a.Name, PatternType = AclNames.Name(a.PatternType), Principal = a.Principal,
            Host = a.Host, Operation = AclNames.Name(a.Operation), Permission = AclNames.Name(a.Permission),
        }).ToList();
        string tmp = _path + ".tmp";
        using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(f, model, AclJsonContext.Default.ListEntry);
            f.Flush(flushToDisk: true);
        }
        File.Move(tmp, _path, overwrite: true);
    }
}

[JsonSerializable(typeof(List<AclStore.Entry>))]
[JsonSourceGenerationOptions(WriteIndented = true)]
internal sealed partial class AclJsonContext : JsonSerializerContext;

/// <summary>An authorization a request needs before it is carried out, and the error that answers it when refused.</summary>
public readonly record struct Requirement(AclOperation Operation, AclResourceType ResourceType, string Name, ErrorCode Denied)
{
    public static Requirement Cluster(AclOperation op) => new(op, AclResourceType.Cluster, Authorizer.ClusterName, ErrorCode.ClusterAuthorizationFailed);
    public static Requirement Group(AclOperation op, string group) => new(op, AclResourceType.Group, group, ErrorCode.GroupAuthorizationFailed);
    public static Requirement TransactionalId(AclOperation op, string id) => new(op, AclResourceType.TransactionalId, id, ErrorCode.TransactionalIdAuthorizationFailed);
}
