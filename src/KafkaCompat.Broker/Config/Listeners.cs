using System.Globalization;

namespace KafkaCompat.Broker.Config;

/// <summary>Kafka's security protocols: what a listener speaks on its port.</summary>
public enum SecurityProtocol { Plaintext, Ssl, SaslPlaintext, SaslSsl }

/// <summary>One listener of <c>listeners</c>: its name, where it binds, what it speaks, and the address clients are
/// told (<c>advertised.listeners</c> by the same name; the bind address when absent).</summary>
public sealed record ListenerSpec(string Name, string Host, int Port, SecurityProtocol Protocol, string? AdvertisedHost, int? AdvertisedPort)
{
    public bool Tls => Protocol is SecurityProtocol.Ssl or SecurityProtocol.SaslSsl;
    public bool Sasl => Protocol is SecurityProtocol.SaslPlaintext or SecurityProtocol.SaslSsl;

    /// <summary>A setting of this listener: <c>listener.name.NAME.KEY</c> (the name lower-cased, as Kafka has it), else
    /// the broker-wide <c>KEY</c>.</summary>
    public string? Setting(BrokerConfig config, string key) =>
        config.Get($"listener.name.{Name.ToLowerInvariant()}.{key}") ?? config.Get(key);
}

/// <summary>Reads <c>listeners</c>, <c>listener.security.protocol.map</c> and <c>advertised.listeners</c> as Kafka does
/// (<c>NAME://host:port</c> lists; names map to protocols, PLAINTEXT, SSL, SASL_PLAINTEXT and SASL_SSL to
/// themselves). The first listener's host and port are <see cref="BrokerConfig.Host"/> and <see cref="BrokerConfig.Port"/>,
/// which <c>--host</c> and <c>--port</c> set.</summary>
public static class Listeners
{
    public const string DefaultProtocolMap = "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL";

    /// <summary>The listeners in effect; throws <see cref="ArgumentException"/> with Kafka's reason when they make no
    /// sense (a name twice, a port twice, a name without a protocol).</summary>
    public static IReadOnlyList<ListenerSpec> Of(BrokerConfig config)
    {
        var map = ProtocolMap(config.Get("listener.security.protocol.map") ?? DefaultProtocolMap);
        var entries = Entries(config.Get("listeners") ?? $"PLAINTEXT://{config.Host}:{config.Port}", "listeners");
        if (entries.Count == 0) throw new ArgumentException("listeners must name at least one listener");
        var advertised = config.Get("advertised.listeners") is { Length: > 0 } a ? Entries(a, "advertised.listeners") : [];
        var result = new List<ListenerSpec>();
        for (int i = 0; i < entries.Count; i++)
        {
            var (name, host, port) = entries[i];
            if (i == 0) (host, port) = (config.Host, config.Port); // --host / --port
            if (!map.TryGetValue(name, out var protocol))
                throw new ArgumentException($"No security protocol defined for listener {name} (listener.security.protocol.map: {string.Join(",", map.Keys)})");
            if (result.Any(l => l.Name == name)) throw new ArgumentException($"Each listener must have a different name, listeners: {config.Get("listeners")}");
            if (port != 0 && result.Any(l => l.Port == port)) throw new ArgumentException($"Each listener must have a different port, listeners: {config.Get("listeners")}");
            var adv = advertised.FirstOrDefault(x => x.Name == name);
            string? advertisedHost = adv.Name is null ? (i == 0 ? config.AdvertisedHost : null) : adv.Host.Length > 0 ? adv.Host : null;
            int? advertisedPort = adv.Name is null ? (i == 0 ? config.AdvertisedPort : null) : adv.Port;
            if (advertisedHost is "0.0.0.0" or "::") throw new ArgumentException($"advertised.listeners cannot use the nonroutable meta-address {advertisedHost}.");
            result.Add(new ListenerSpec(name, host.Length == 0 ? "0.0.0.0" : host, port, protocol, advertisedHost, advertisedPort));
        }
        if (advertised.FirstOrDefault(x => !result.Any(l => l.Name == x.Name)) is { Name: not null } stray)
            throw new ArgumentException($"advertised.listeners listener names must be equal to or a subset of the ones defined in listeners; {stray.Name} is not");
        return result;
    }

    private static Dictionary<string, SecurityProtocol> ProtocolMap(string value)
    {
        var map = new Dictionary<string, SecurityProtocol>(StringComparer.Ordinal);
        foreach (var entry in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            int colon = entry.IndexOf(':');
            if (colon <= 0) throw new ArgumentException($"listener.security.protocol.map: '{entry}' is not NAME:PROTOCOL");
            map[entry[..colon].ToUpperInvariant()] = entry[(colon + 1)..].ToUpperInvariant() switch
            {
                "PLAINTEXT" => SecurityProtocol.Plaintext,
                "SSL" => SecurityProtocol.Ssl,
                "SASL_PLAINTEXT" => SecurityProtocol.SaslPlaintext,
                "SASL_SSL" => SecurityProtocol.SaslSsl,
                var other => throw new ArgumentException($"listener.security.protocol.map: unknown security protocol {other} (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL)"),
            };
        }
        return map;
    }

    /// <summary>The entries of a listener list: <c>NAME://host:port</c>, IPv6 hosts in brackets, an empty host for
    /// every interface.</summary>
    public static List<(string Name, string Host, int Port)> Entries(string value, string key)
    {
        var result = new List<(string, string, int)>();
        foreach (var entry in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            int scheme = entry.IndexOf("://", StringComparison.Ordinal);
            int colon = entry.LastIndexOf(':');
            if (scheme <= 0 || colon <= scheme + 2
                || !int.TryParse(entry[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > 65535)
                throw new ArgumentException($"{key}: unable to parse {entry} to a broker endpoint (NAME://host:port)");
            result.Add((entry[..scheme].ToUpperInvariant(), entry[(scheme + 3)..colon].Trim('[', ']'), port));
        }
        return result;
    }
}
