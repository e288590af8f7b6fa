namespace KafkaCompat.Protocol;

/// <summary>Kafka's resource types, by their code in the ACL APIs and DescribeConfigs' neighbours (int8 on the wire).</summary>
public enum AclResourceType : sbyte
{
    Unknown = 0, Any = 1, Topic = 2, Group = 3, Cluster = 4, TransactionalId = 5, DelegationToken = 6, User = 7,
}

/// <summary>Kafka's ACL operations; an authorized-operations bitfield sets bit (1 &lt;&lt; code).</summary>
public enum AclOperation : sbyte
{
    Unknown = 0, Any = 1, All = 2, Read = 3, Write = 4, Create = 5, Delete = 6, Alter = 7, Describe = 8, ClusterAction = 9,
    DescribeConfigs = 10, AlterConfigs = 11, IdempotentWrite = 12, CreateTokens = 13, DescribeTokens = 14, TwoPhaseCommit = 15,
}

public enum AclPermissionType : sbyte { Unknown = 0, Any = 1, Deny = 2, Allow = 3 }

public enum AclPatternType : sbyte { Unknown = 0, Any = 1, Match = 2, Literal = 3, Prefixed = 4 }

/// <summary>The names Kafka's tools print for the ACL enums (TOPIC, READ, ALLOW, LITERAL), and their codes back.</summary>
public static class AclNames
{
    public static string Name<T>(T value) where T : struct, Enum => Upper(value.ToString());

    private static string Upper(string pascal)
    {
        var sb = new System.Text.StringBuilder(pascal.Length + 4);
        for (int i = 0; i < pascal.Length; i++)
        {
            if (i > 0 && char.IsUpper(pascal[i])) sb.Append('_');
            sb.Append(char.ToUpperInvariant(pascal[i]));
        }
        return sb.ToString();
    }

    /// <summary>The value named (TOPIC, transactional-id, TransactionalId, ...), or null.</summary>
    public static T? Parse<T>(string text) where T : struct, Enum
    {
        string key = text.Replace("-", "").Replace("_", "");
        foreach (var v in Enum.GetValues<T>())
            if (string.Equals(v.ToString(), key, StringComparison.OrdinalIgnoreCase)) return v;
        return null;
    }

    /// <summary>The enum value of a wire code; codes Kafka does not know are Unknown (0).</summary>
    public static T Of<T>(sbyte code) where T : struct, Enum =>
        Enum.IsDefined(typeof(T), code) ? (T)(object)code : default;
}

/// <summary>One ACL: a principal allowed or denied an operation on a resource pattern from a host.</summary>
public readonly record struct AclBinding(AclResourceType ResourceType, string Name, AclPatternType PatternType, string Principal, string Host,
    AclOperation Operation, AclPermissionType Permission)
{
    public override string ToString() =>
        $"(principal={Principal}, host={Host}, operation={AclNames.Name(Operation)}, permissionType={AclNames.Name(Permission)}) on {AclNames.Name(ResourceType)}:{AclNames.Name(PatternType)}:{Name}";
}

/// <summary>Kafka's AclBindingFilter, as DescribeAcls and DeleteAcls take it. A null name, principal or host matches
/// any; ANY matches any type, operation or permission; the MATCH pattern type finds every ACL that affects the named
/// resource (its literal name, the wildcard, and the prefixes of it).</summary>
public sealed record AclFilter(AclResourceType ResourceType, string? Name, AclPatternType PatternType, string? Principal, string? Host,
    AclOperation Operation, AclPermissionType Permission)
{
    public bool Matches(AclBinding b)
    {
        if (ResourceType != AclResourceType.Any && ResourceType != b.ResourceType) return false;
        if (PatternType is not (AclPatternType.Any or AclPatternType.Match) && PatternType != b.PatternType) return false;
        if (Name != null)
        {
            if (PatternType == AclPatternType.Match)
            {
                bool affects = b.PatternType == AclPatternType.Literal ? b.Name == Name || b.Name == "*"
                    : b.PatternType == AclPatternType.Prefixed && Name.StartsWith(b.Name, StringComparison.Ordinal);
                if (!affects) return false;
            }
            else if (b.Name != Name) return false;
        }
        return (Principal is null || Principal == b.Principal) && (Host is null || Host == b.Host)
            && (Operation == AclOperation.Any || Operation == b.Operation)
            && (Permission == AclPermissionType.Any || Permission == b.Permission);
    }

    /// <summary>Why a filter cannot be used (Kafka's INVALID_REQUEST messages), or null.</summary>
    public string? Problem() =>
        ResourceType == AclResourceType.Unknown || PatternType == AclPatternType.Unknown ? "Unknown patternFilter."
        : Operation == AclOperation.Unknown || Permission == AclPermissionType.Unknown ? "Unknown entryFilter."
        : null;
}

