using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Client;

/// <summary>
/// A small Kafka client on this repository's protocol library: bootstraps from <c>host:port[,host:port...]</c>,
/// learns the brokers from Metadata and keeps one connection per broker. Works against any Kafka broker.
/// </summary>
public sealed class KafkaClient : IAsyncDisposable
{
    private readonly string _clientId;
    private readonly Dictionary<int, BrokerConnection> _nodes = new();
    private readonly Dictionary<int, (string Host, int Port)> _addresses = new();
    private BrokerConnection _bootstrap;
    private readonly string _bootstrapHost;
    private readonly int _bootstrapPort;
    private readonly ClientSecurity? _security;

    public int ControllerId { get; private set; } = -1;
    public string? ClusterId { get; private set; }

    private KafkaClient(BrokerConnection bootstrap, string clientId, ClientSecurity? security)
    {
        _security = security;
        _bootstrap = bootstrap;
        _bootstrapHost = bootstrap.Host;
        _bootstrapPort = bootstrap.Port;
        _clientId = clientId;
    }

    private async Task<BrokerConnection> BootstrapAsync(CancellationToken ct)
    {
        if (_bootstrap.Broken) _bootstrap = await BrokerConnection.ConnectAsync(_bootstrapHost, _bootstrapPort, _clientId, ct, _security).ConfigureAwait(false);
        return _bootstrap;
    }

    /// <summary>Connects to the first reachable bootstrap server (through TLS and SASL as <paramref name="security"/>
    /// says; null: PLAINTEXT).</summary>
    public static async Task<KafkaClient> ConnectAsync(string bootstrapServers, string clientId = "kafkacompat-cli", CancellationToken ct = default,
        ClientSecurity? security = null)
    {
        var errors = new List<string>();
        foreach (var server in bootstrapServers.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var (host, port) = ParseHostPort(server);
            try
            {
                var conn = await BrokerConnection.ConnectAsync(host, port, clientId, ct, security).ConfigureAwait(false);
                var client = new KafkaClient(conn, clientId, security);
                await client.MetadataAsync([], ct).ConfigureAwait(false);
                return client;
            }
            catch (KafkaConnectionException e)
            {
                errors.Add(e.Message);
            }
        }
        throw new KafkaConnectionException(errors.Count > 0 ? string.Join("; ", errors) : "no bootstrap server given");
    }

    public static (string Host, int Port) ParseHostPort(string server)
    {
        int colon = server.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(server[(colon + 1)..], out int port) || port is <= 0 or > 65535)
            throw new ArgumentException($"'{server}' is not HOST:PORT");
        return (server[..colon].Trim('[', ']'), port);
    }

    /// <summary>Metadata for the given topics (null: all topics; empty: brokers only), remembering the brokers.</summary>
    public async Task<MetadataResponse> MetadataAsync(IReadOnlyList<string>? topics, CancellationToken ct = default, bool allowAutoCreate = false)
    {
        var req = new MetadataRequest
        {
            Topics = topics?.Select(t => new MetadataRequest.MetadataRequestTopic { Name = t }).ToList(),
            AllowAutoTopicCreation = allowAutoCreate,
        };
        var resp = await (await BootstrapAsync(ct).ConfigureAwait(false)).SendAsync<MetadataRequest, MetadataResponse>(req, ct: ct).ConfigureAwait(false);
        foreach (var b in resp.Brokers) _addresses[b.NodeId] = (b.Host, b.Port);
        ControllerId = resp.ControllerId;
        ClusterId = resp.ClusterId;
        return resp;
    }

    /// <summary>The connection to a broker by node id (the bootstrap connection when it is that broker).</summary>
    public async Task<BrokerConnection> NodeAsync(int nodeId, CancellationToken ct = default)
    {
        if (_nodes.TryGetValue(nodeId, out var c) && !c.Broken) return c;
        if (!_addresses.TryGetValue(nodeId, out var addr)) throw new KafkaConnectionException($"broker {nodeId} is not in the cluster metadata");
        c = await BrokerConnection.ConnectAsync(addr.Host, addr.Port, _clientId, ct, _security).ConfigureAwait(false);
        _nodes[nodeId] = c;
        return c;
    }

    /// <summary>Where admin requests go: the controller if Metadata names one, else the bootstrap broker.</summary>
    public Task<BrokerConnection> AdminAsync(CancellationToken ct = default) =>
        ControllerId >= 0 && _addresses.ContainsKey(ControllerId) ? NodeAsync(ControllerId, ct) : BootstrapAsync(ct);

    /// <summary>The group coordinator of <paramref name="group"/>.</summary>
    public async Task<BrokerConnection> CoordinatorAsync(string group, CancellationToken ct = default) =>
        await NodeAsync(await FindCoordinatorAsync(group, ct).ConfigureAwait(false), ct).ConfigureAwait(false);

    /// <summary>The transaction coordinator of <paramref name="transactionalId"/>.</summary>
    public async Task<BrokerConnection> TransactionCoordinatorAsync(string transactionalId, CancellationToken ct = default) =>
        await NodeAsync(await FindCoordinatorAsync(transactionalId, ct, keyType: 1).ConfigureAwait(false), ct).ConfigureAwait(false);

    /// <summary>FindCoordinator: the node id of the coordinator of a group (key type 0) or a transactional id (1); its
    /// address is remembered.</summary>
    public async Task<int> FindCoordinatorAsync(string group, CancellationToken ct = default, sbyte keyType = 0)
    {
        var resp = await (await BootstrapAsync(ct).ConfigureAwait(false)).SendAsync<FindCoordinatorRequest, FindCoordinatorResponse>(
            new FindCoordinatorRequest { Key = group, KeyType = keyType, CoordinatorKeys = [group] }, ct: ct).ConfigureAwait(false);
        // v4+ answer per key; older versions at the top level
        var (error, message, node, host, port) = resp.Coordinators.Count > 0
            ? (resp.Coordinators[0].ErrorCode, resp.Coordinators[0].ErrorMessage, resp.Coordinators[0].NodeId, resp.Coordinators[0].Host, resp.Coordinators[0].Port)
            : (resp.ErrorCode, resp.ErrorMessage, resp.NodeId, resp.Host, resp.Port);
        if (error != 0) throw new KafkaErrorException((ErrorCode)error, message);
        _addresses[node] = (host, port);
        return node;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var c in _nodes.Values) await c.DisposeAsync().ConfigureAwait(false);
        await _bootstrap.DisposeAsync().ConfigureAwait(false);
    }
}
