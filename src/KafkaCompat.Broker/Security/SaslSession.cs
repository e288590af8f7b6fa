using System.Text;
using System.Text.RegularExpressions;
using KafkaCompat.Protocol;

namespace KafkaCompat.Broker.Security;

/// <summary>One step of a SASL exchange: the server's token for the client, done once the exchange is complete, or a
/// failure with the message Kafka sends (SASL_AUTHENTICATION_FAILED). A <paramref name="Hidden"/> failure's message is
/// the reason for the log only: the client gets Kafka's generic message, as for a SaslException in Kafka.</summary>
public readonly record struct SaslStep(byte[] Challenge, bool Complete, string? Principal, string? Error, bool Hidden = false)
{
    /// <summary>How long the credential just presented stays valid (an OAUTHBEARER token's exp); null: no limit.</summary>
    public long? CredentialLifetimeMs { get; init; }
    /// <summary>Why a step that is not a failure still refuses the client (an invalid token's first answer), for the log.</summary>
    public string? Reason { get; init; }
}

/// <summary>A SASL mechanism's server side for one exchange.</summary>
public interface ISaslMechanism
{
    SaslStep Evaluate(ReadOnlySpan<byte> response);
}

/// <summary>Where a connection stands in Kafka's SASL exchange (SaslServerAuthenticator's states).</summary>
public enum SaslState { Handshake, Authenticate, Complete, Failed }

/// <summary>
/// The SASL exchange of one connection on a SASL listener. Before it completes, a connection may send ApiVersions and
/// SaslHandshake, then the mechanism's tokens: in SaslAuthenticate requests after a v1 handshake, as raw length-prefixed
/// frames after a v0 one (kafka-python 2.0.2). Anything else closes the connection. A completed session may be
/// re-authenticated (KIP-368) with a new handshake of the same mechanism, when it has a lifetime.
/// </summary>
public sealed class SaslSession(IReadOnlyList<string> enabled, Func<string, ISaslMechanism?> mechanisms)
{
    public SaslState State { get; private set; } = SaslState.Handshake;
    /// <summary>After a v0 handshake the tokens travel as raw frames, not in SaslAuthenticate requests.</summary>
    public bool RawFrames { get; private set; }
    public string? Mechanism { get; private set; }
    public string? Principal { get; private set; }
    public IReadOnlyList<string> Enabled { get; } = enabled;
    /// <summary>How long an authentication holds (connections.max.reauth.ms; 0: for the connection's life). With a
    /// lifetime, the client re-authenticates on the same connection before it ends.</summary>
    public long LifetimeMs { get; init; }
    /// <summary>Why the exchange failed (Kafka's message), once it has.</summary>
    public string? Failure { get; private set; }
    /// <summary>When the authentication ends (<see cref="Environment.TickCount64"/>): its completion plus
    /// <see cref="LifetimeMs"/>, renewed by each re-authentication; never without a lifetime.</summary>
    public long ExpiresAt { get; private set; } = long.MaxValue;
    public bool Expired => Environment.TickCount64 >= ExpiresAt;
    /// <summary>The lifetime of the current authentication, sent in SaslAuthenticate v1+ (0: none): the shorter of
    /// <see cref="LifetimeMs"/> and the credential's own (an OAUTHBEARER token's expiry).</summary>
    public long SessionLifetimeMs { get; private set; }
    private string? _reason;
    private ISaslMechanism? _current;
    private bool _reauthenticating;

    /// <summary>SaslHandshake: the mechanism is enabled (NONE) or not (UNSUPPORTED_SASL_MECHANISM; the connection then
    /// closes). After authentication, a handshake starts a re-authentication with the same mechanism.</summary>
    public ErrorCode Handshake(string mechanism, short version)
    {
        if (State == SaslState.Complete)
        {
            // only a session with a lifetime is re-authenticated, and with the mechanism it began with
            if (ExpiresAt == long.MaxValue || mechanism != Mechanism) return ErrorCode.IllegalSaslState;
            _reauthenticating = true;
        }
        else if (State != SaslState.Handshake) return ErrorCode.IllegalSaslState;
        if (!Enabled.Contains(mechanism) || mechanisms(mechanism) is not { } m)
        {
            State = SaslState.Failed;
            Failure = $"the client asked for SASL mechanism {mechanism}; enabled: {string.Join(", ", Enabled)}";
            return ErrorCode.UnsupportedSaslMechanism;
        }
        _current = m;
        Mechanism = mechanism;
        RawFrames = version == 0;
        State = SaslState.Authenticate;
        return ErrorCode.None;
    }

    /// <summary>A token of the client; a failure leaves the session failed (the connection closes).</summary>
    public SaslStep Authenticate(ReadOnlySpan<byte> response)
    {
        if (State != SaslState.Authenticate || _current is null) return new([], false, null, "Unexpected SASL token");
        var step = _current.Evaluate(response);
        if (step.Reason != null) _reason = step.Reason;
        if (step.Error != null)
        {
            State = SaslState.Failed;
            Failure = _reason is null ? step.Error : $"{step.Error} ({_reason})";
            // Kafka tells the client only that the credentials were wrong, not why (the log has the reason)
            return step.Hidden
                ? step with { Error = $"Authentication failed during {(_reauthenticating ? "re-authentication" : "authentication")} due to invalid credentials with SASL mechanism {Mechanism}" }
                : step;
        }
        if (step.Complete)
        {
            if (_reauthenticating && step.Principal != Principal)
            {
                State = SaslState.Failed;
                Failure = $"Cannot change principals during re-authentication from {Principal}: {step.Principal}";
                return step with { Complete = false, Error = Failure };
            }
            Principal = step.Principal;
            State = SaslState.Complete;
            long lifetime = step.CredentialLifetimeMs is long credential
                ? Math.Max(1, LifetimeMs > 0 ? Math.Min(LifetimeMs, credential) : credential)
                : LifetimeMs;
            SessionLifetimeMs = Math.Max(0, lifetime);
            ExpiresAt = lifetime > 0 ? Environment.TickCount64 + lifetime : long.MaxValue;
            _reason = null;
            _current = null;
            _reauthenticating = false;
        }
        return step;
    }
}

/// <summary>SASL/PLAIN (RFC 4616) against the users of the listener's JAAS config (<c>user_NAME="password"</c>), with
/// Kafka's failure messages.</summary>
public sealed class PlainMechanism(IReadOnlyDictionary<string, string> users) : ISaslMechanism
{
    public SaslStep Evaluate(ReadOnlySpan<byte> response)
    {
        var parts = Encoding.UTF8.GetString(response).Split('\0');
        if (parts.Length != 3) return Fail($"Invalid SASL/PLAIN response: expected 3 tokens, got {parts.Length}");
        var (authzid, user, password) = (parts[0], parts[1], parts[2]);
        if (user.Length == 0) return Fail("Authentication failed: username not specified");
        if (password.Length == 0) return Fail("Authentication failed: password not specified");
        if (!users.TryGetValue(user, out var expected) || !FixedTimeEquals(expected, password))
            return Fail("Authentication failed: Invalid username or password");
        if (authzid.Length > 0 && authzid != user)
            return Fail("Authentication failed: Client requested an authorization id that is different from username");
        return new([], true, "User:" + user, null);
    }

    private static SaslStep Fail(string message) => new([], false, null, message);

    private static bool FixedTimeEquals(string a, string b) =>
        System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));
}

/// <summary>The options of a JAAS login module entry as Kafka's <c>sasl.jaas.config</c> holds them:
/// <c>org.apache...PlainLoginModule required username="admin" password="x" user_admin="x";</c></summary>
public static partial class JaasConfig
{
    public static Dictionary<string, string> Options(string text) => JaasOptions.Parse(text);

    /// <summary>The users of a PLAIN login module: <c>user_NAME="password"</c>.</summary>
    public static Dictionary<string, string> PlainUsers(string text) =>
        Options(text).Where(kv => kv.Key.StartsWith("user_", StringComparison.Ordinal) && kv.Key.Length > 5)
            .ToDictionary(kv => kv.Key[5..], kv => kv.Value, StringComparer.Ordinal);

    /// <summary>The sections of a JAAS file (what <c>-Djava.security.auth.login.config</c> names), each with its login
    /// module entries: <c>KafkaServer { org.apache...PlainLoginModule required user_alice="x"; };</c>. Comments
    /// (<c>//</c> and <c>/* */</c>) are skipped. A file that does not parse is refused with the reason.</summary>
    public static Dictionary<string, List<string>> Sections(string text)
    {
        text = Comments().Replace(text, "");
        var sections = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
        int at = 0;
        while (true)
        {
            int open = text.IndexOf('{', at);
            if (open < 0)
            {
                if (text[at..].Trim().Length > 0) throw new ArgumentException($"JAAS file: unexpected text '{text[at..].Trim()}'");
                return sections;
            }
            string name = text[at..open].Trim();
            int close = text.IndexOf('}', open);
            if (name.Length == 0 || name.Any(char.IsWhiteSpace) || close < 0)
                throw new ArgumentException($"JAAS file: expected 'Name {{ module flag options; }};' near '{text[at..Math.Min(text.Length, open + 20)].Trim()}'");
            sections[name] = [.. text[(open + 1)..close].Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(e => e + ";")];
            at = close + 1;
            while (at < text.Length && (char.IsWhiteSpace(text[at]) || text[at] == ';')) at++;
        }
    }

    /// <summary>The entry of a login module (by the end of its class name) in a section, or null.</summary>
    public static string? Entry(IReadOnlyDictionary<string, List<string>> sections, string section, string module) =>
        sections.TryGetValue(section, out var entries) ? entries.FirstOrDefault(e => e.Split((char[])[' ', '\t', '\n', '\r'], 2)[0].EndsWith(module, StringComparison.Ordinal)) : null;

    [GeneratedRegex(@"/\*.*?\*/|//[^\n]*", RegexOptions.Singleline)]
    private static partial Regex Comments();
}

/// <summary>The SASL mechanisms of a listener, from Kafka's keys: <c>sasl.enabled.mechanisms</c> (listener-prefixed
/// first) and, for PLAIN, the users of <c>listener.name.NAME.plain.sasl.jaas.config</c> (or <c>sasl.jaas.config</c>);
/// SCRAM's users are the cluster's stored credentials. A mechanism this broker does not serve, or PLAIN without users,
/// is a configuration error.</summary>
public static class SaslMechanisms
{
    public static readonly IReadOnlyList<string> Served = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"];

    public sealed record Listener(IReadOnlyList<string> Enabled, Func<string, ISaslMechanism?> Create, long LifetimeMs);

    /// <param name="scram">The cluster's SCRAM credentials (null while only checking the configuration).</param>
    private static string ReadJaas(string path)
    {
        try { return File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new ArgumentException($"the JAAS file {path} cannot be read: {e.Message}", e); }
    }

    public static Listener For(Config.BrokerConfig config, Config.ListenerSpec listener, ScramCredentialStore? scram = null)
    {
        string name = listener.Name.ToLowerInvariant();
        var enabled = (listener.Setting(config, "sasl.enabled.mechanisms") ?? "GSSAPI")
            .Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(m => m.ToUpperInvariant()).Distinct().ToList();
        if (enabled.Count == 0) throw new ArgumentException($"listener {listener.Name}: sasl.enabled.mechanisms is empty");
        if (enabled.FirstOrDefault(m => !Served.Contains(m)) is { } unserved)
            throw new ArgumentException($"listener {listener.Name}: SASL mechanism {unserved} is not served (set sasl.enabled.mechanisms to {string.Join(", ", Served)})");
        // Kafka's order: the listener's property for the mechanism, then the JAAS file's section for the listener
        // ("<listener>.KafkaServer"), then its KafkaServer section; sasl.jaas.config without a prefix last
        var file = config.JaasFile is { } path ? JaasConfig.Sections(ReadJaas(path)) : null;
        string? Jaas(string mechanism, string module) =>
            config.Get($"listener.name.{name}.{mechanism.ToLowerInvariant()}.sasl.jaas.config") ?? config.Get($"listener.name.{name}.sasl.jaas.config")
            ?? (file is null ? null : JaasConfig.Entry(file, $"{name}.KafkaServer", module) ?? JaasConfig.Entry(file, "KafkaServer", module))
            ?? config.Get("sasl.jaas.config");
        IReadOnlyDictionary<string, string> plainUsers = new Dictionary<string, string>();
        if (enabled.Contains("PLAIN"))
        {
            string? jaas = Jaas("PLAIN", "PlainLoginModule");
            plainUsers = jaas is null ? new Dictionary<string, string>() : JaasConfig.PlainUsers(jaas);
            if (plainUsers.Count == 0)
                throw new ArgumentException($"listener {listener.Name}: SASL/PLAIN needs its users: listener.name.{name}.plain.sasl.jaas.config=\"org.apache.kafka.common.security.plain.PlainLoginModule required user_alice=\\\"alice-secret\\\";\" (or a KafkaServer section in the JAAS file)");
        }
        var oauth = enabled.Contains("OAUTHBEARER")
            ? OAuthBearerServer.Options.FromJaas(Jaas("OAUTHBEARER", "OAuthBearerLoginModule"))
            : OAuthBearerServer.Options.Default;
        long lifetime = long.TryParse(config.Get($"listener.name.{name}.{enabled[0].ToLowerInvariant()}.connections.max.reauth.ms") ?? config.Get("connections.max.reauth.ms"),
            System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out long ms) ? Math.Max(0, ms) : 0;
        return new Listener(enabled, m => m switch
        {
            "PLAIN" => new PlainMechanism(plainUsers),
            "SCRAM-SHA-256" or "SCRAM-SHA-512" when scram != null => new ScramServer(Scram.Parse(m), scram.Get),
            "OAUTHBEARER" => new OAuthBearerServer(oauth),
            _ => null,
        }, lifetime);
    }
}
