using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace KafkaCompat.Broker.Security;

/// <summary>
/// SASL/OAUTHBEARER (RFC 7628) with Kafka's development validator for unsecured JWTs (<c>alg: none</c>): the client's
/// <c>n,[a=authzid],\x01auth=Bearer TOKEN\x01[key=value\x01]...\x01</c> is parsed, the token's claims are checked
/// (the principal claim, <c>exp</c>, <c>iat</c>, the required scope) and the principal is <c>User:</c> the principal
/// claim. An invalid token is answered as RFC 7628 and Kafka do it: a successful step carrying
/// <c>{"status":"invalid_token"}</c>, to which the client answers 0x01, and then SASL_AUTHENTICATION_FAILED with
/// that same JSON. The session ends when the token expires (or sooner with <c>connections.max.reauth.ms</c>).
/// </summary>
public sealed partial class OAuthBearerServer(OAuthBearerServer.Options options, TimeProvider? time = null) : ISaslMechanism
{
    /// <summary>The validator's JAAS options: <c>unsecuredValidatorPrincipalClaimName</c> (sub),
    /// <c>unsecuredValidatorScopeClaimName</c> (scope), <c>unsecuredValidatorRequiredScope</c> (space-separated) and
    /// <c>unsecuredValidatorAllowableClockSkewMs</c> (0).</summary>
    public sealed record Options(string PrincipalClaim, string ScopeClaim, IReadOnlyList<string> RequiredScope, long ClockSkewMs)
    {
        public static readonly Options Default = new("sub", "scope", [], 0);

        public static Options FromJaas(string? jaas)
        {
            if (jaas is null) return Default;
            var o = JaasConfig.Options(jaas);
            long skew = 0;
            if (o.TryGetValue("unsecuredValidatorAllowableClockSkewMs", out var s)
                && (!long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out skew)))
                throw new ArgumentException($"unsecuredValidatorAllowableClockSkewMs must be a non-negative number of ms, not '{s}'");
            return new(o.GetValueOrDefault("unsecuredValidatorPrincipalClaimName") is { Length: > 0 } p ? p : "sub",
                o.GetValueOrDefault("unsecuredValidatorScopeClaimName") is { Length: > 0 } sc ? sc : "scope",
                (o.GetValueOrDefault("unsecuredValidatorRequiredScope") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries), skew);
        }
    }

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private string? _errorJson;
    private bool _done;

    public SaslStep Evaluate(ReadOnlySpan<byte> response)
    {
        if (_done) return Hidden("Unexpected OAUTHBEARER message after the exchange completed");
        if (_errorJson != null)
        {
            // the client acknowledges the error with a single 0x01 (RFC 7628 3.2.3); Kafka then fails with the JSON
            _done = true;
            return response.Length == 1 && response[0] == 1 ? new([], false, null, _errorJson) : Hidden("Expected the 0x01 acknowledgement of the error");
        }
        string text;
        try { text = new UTF8Encoding(false, true).GetString(response); }
        catch (DecoderFallbackException) { return Hidden("the OAUTHBEARER message is not UTF-8"); }
        var m = InitialResponse().Match(text);
        if (!m.Success) return Hidden("Invalid OAUTHBEARER client first message");
        var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var kv in m.Groups["kvpairs"].Value.Split('\x01', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = kv.IndexOf('=');
            pairs[kv[..eq]] = kv[(eq + 1)..];
        }
        if (!pairs.TryGetValue("auth", out var auth) || AuthValue().Match(auth) is not { Success: true } a
            || !a.Groups["scheme"].Value.Equals("bearer", StringComparison.OrdinalIgnoreCase))
            return Hidden("Invalid OAUTHBEARER client first message: no Bearer token");
        var authzid = m.Groups["authzid"].Success ? m.Groups["authzid"].Value.Replace("=2C", ",").Replace("=3D", "=") : "";
        string? principal;
        long expiresMs;
        string status;
        string? scope, reason;
        try
        {
            (principal, expiresMs, status, scope, reason) = Validate(a.Groups["token"].Value);
        }
        catch (InvalidOperationException e)
        {
            // a claim that is not valid UTF-8 is found only when it is read (the fuzzer's find)
            (principal, expiresMs, status, scope, reason) = (null, 0, "invalid_token", null, $"the token does not decode: {e.Message}");
        }
        if (principal is null)
        {
            _errorJson = scope is null ? $"{{\"status\":\"{status}\"}}" : $"{{\"status\":\"{status}\", \"scope\":\"{scope}\"}}";
            return new(Encoding.UTF8.GetBytes(_errorJson), false, null, null) { Reason = reason };
        }
        if (authzid.Length > 0 && authzid != principal)
            return new([], false, null, $"Authentication failed: Client requested an authorization id ({authzid}) that is different from the token's principal name ({principal})");
        _done = true;
        return new([], true, "User:" + principal, null) { CredentialLifetimeMs = Math.Max(0, expiresMs - _time.GetUtcNow().ToUnixTimeMilliseconds()) };
    }

    private static SaslStep Hidden(string reason) => new([], false, null, reason, Hidden: true);

    /// <summary>The token's principal and expiry (Unix ms), or the failure's status, scope and reason.</summary>
    private (string? Principal, long ExpiresMs, string Status, string? Scope, string Reason) Validate(string token)
    {
        (string?, long, string, string?, string) Invalid(string reason) => (null, 0, "invalid_token", null, reason);
        var parts = token.Split('.');
        if (parts.Length != 3 || parts[2].Length != 0) return Invalid("an unsecured JWS has 3 dot-separated parts and an empty signature");
        JsonElement header, claims;
        try
        {
            header = JsonDocument.Parse(Base64Url(parts[0])).RootElement;
            claims = JsonDocument.Parse(Base64Url(parts[1])).RootElement;
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            return Invalid($"the token does not decode: {e.Message}");
        }
        if (header.ValueKind != JsonValueKind.Object || claims.ValueKind != JsonValueKind.Object) return Invalid("the token's header and claims must be JSON objects");
        if (!header.TryGetProperty("alg", out var alg) || alg.ValueKind != JsonValueKind.String || alg.GetString() != "none")
            return Invalid("Unsecured JWS must have 'none' for an algorithm");
        if (!claims.TryGetProperty(options.PrincipalClaim, out var sub) || sub.ValueKind != JsonValueKind.String || sub.GetString() is not { Length: > 0 } principal)
            return Invalid($"Required claim missing: {options.PrincipalClaim}");
        if (!claims.TryGetProperty("exp", out var expElement) || expElement.ValueKind != JsonValueKind.Number)
            return Invalid("Required claim missing: exp");
        long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        long exp = (long)(expElement.GetDouble() * 1000);
        if (now - options.ClockSkewMs >= exp) return Invalid($"The indicated time ({exp} ms) is in the past (now {now} ms)");
        if (claims.TryGetProperty("iat", out var iatElement))
        {
            if (iatElement.ValueKind != JsonValueKind.Number) return Invalid("The iat claim is not a number");
            long iat = (long)(iatElement.GetDouble() * 1000);
            if (iat > now + options.ClockSkewMs) return Invalid($"The indicated time ({iat} ms) is in the future (now {now} ms)");
            if (exp <= iat) return Invalid("The token expires before it was issued");
        }
        if (options.RequiredScope.Count > 0)
        {
            var granted = new HashSet<string>(StringComparer.Ordinal);
            if (claims.TryGetProperty(options.ScopeClaim, out var sc))
            {
                if (sc.ValueKind == JsonValueKind.String) granted.UnionWith(sc.GetString()!.Split(' ', StringSplitOptions.RemoveEmptyEntries));
                else if (sc.ValueKind == JsonValueKind.Array)
                    granted.UnionWith(sc.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!));
            }
            if (options.RequiredScope.FirstOrDefault(s => !granted.Contains(s)) is { } missing)
                return (null, 0, "insufficient_scope", $"[{string.Join(", ", options.RequiredScope)}]", $"the token's scope lacks {missing}");
        }
        return (principal, exp, "", null, "");
    }

    private static byte[] Base64Url(string s)
    {
        var t = s.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(t.PadRight(t.Length + (4 - t.Length % 4) % 4, '='));
    }

    // n,[a=authzid],\x01 key=value\x01 ... \x01
    [GeneratedRegex(@"^n,(?:a=(?<authzid>(?:[\x01-\x2b\x2d-\x3c\x3e-\x7f]|=2C|=3D)+))?,\x01(?<kvpairs>(?:[A-Za-z]+=[\x21-\x7E \t\r\n]+\x01)*)\x01$")]
    private static partial Regex InitialResponse();

    [GeneratedRegex(@"^(?<scheme>\w+) +(?<token>[-_.a-zA-Z0-9]+={0,2})$")]
    private static partial Regex AuthValue();
}
