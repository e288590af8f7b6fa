using System.Text.RegularExpressions;

namespace KafkaCompat.Protocol;

/// <summary>The options of a JAAS login module entry as Kafka's <c>sasl.jaas.config</c> holds them (the broker's
/// users, the client's own login): <c>org.apache...PlainLoginModule required username="admin" password="x";</c>.
/// Quoted values take Java's escapes; bare values run to a space or ';'.</summary>
public static partial class JaasOptions
{
    public static Dictionary<string, string> Parse(string text)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match m in Option().Matches(text))
            result[m.Groups["key"].Value] = m.Groups["quoted"].Success ? Regex.Unescape(m.Groups["quoted"].Value) : m.Groups["bare"].Value;
        return result;
    }

    [GeneratedRegex("""(?<key>[A-Za-z_][\w.-]*)\s*=\s*(?:"(?<quoted>(?:[^"\\]|\\.)*)"|(?<bare>[^\s;"]+))""")]
    private static partial Regex Option();
}
