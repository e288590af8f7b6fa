using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using KafkaCompat.Broker;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KafkaCompat.Server;

/// <summary>Accepts TCP connections and runs one <see cref="KafkaConnection"/> loop per connection, within Kafka's
/// connection limits: max.connections (past it, accepting waits for a connection to close, as Kafka's acceptor
/// does), max.connections.per.ip and its overrides (a connection past its address's limit is closed at once with a
/// log line), and queued.max.request.bytes shared by every connection. The first three are dynamic broker configs in
/// Kafka: a change through AlterConfigs applies to the next connection (a lower max.connections closes nothing; new
/// connections wait until enough have closed).</summary>
public sealed partial class KafkaServer : IAsyncDisposable
{
    private readonly KafkaBroker _broker;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<long, (Socket Socket, Task Loop, KafkaConnection Connection)> _connections = new();
    private readonly List<Socket> _listeners = [];
    private readonly List<Task> _acceptLoops = [];
    private long _nextId;
    private SemaphoreSlim _slots = new(0);
    private readonly ConcurrentDictionary<IPAddress, int> _perIp = new();
    private volatile Dictionary<IPAddress, int> _ipOverrides = [];
    private readonly object _slotLock = new();
    /// <summary>Slots a lowered max.connections still has to take back: closing connections pay it off before
    /// releasing theirs.</summary>
    private int _slotDebt;
    private long _rejected;

    /// <summary>max.connections, or fewer when the descriptor limit (ulimit -n) allows fewer: the .NET runtime cannot
    /// start a thread without a free descriptor and ends the process when it fails, so connections never take the
    /// last ones (see <see cref="DescriptorLimit"/>).</summary>
    public int MaxConnections { get; private set; }

    /// <summary>queued.max.request.bytes, shared by the connections.</summary>
    public RequestMemoryPool RequestMemory { get; }

    /// <summary>Connections closed because their address had reached max.connections.per.ip.</summary>
    public long RejectedConnections => Interlocked.Read(ref _rejected);

    private readonly KafkaCompat.Broker.Cluster.BrokerNode _node;
    private readonly int _bindPort;

    /// <summary>The broker of the cluster this server is the listener of.</summary>
    public KafkaCompat.Broker.Cluster.BrokerNode Node => _node;

    /// <param name="node">The cluster's broker this listener serves (the first when null).</param>
    /// <param name="port">The port to bind (the configured port when null; 0 for an ephemeral one).</param>
    public KafkaServer(KafkaBroker broker, ILoggerFactory? loggerFactory = null, KafkaCompat.Broker.Cluster.BrokerNode? node = null, int? port = null)
    {
        _broker = broker;
        _node = node ?? broker.Cluster.First;
        _bindPort = port ?? broker.Config.Port;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("KafkaCompat.Server");
        var cfg = broker.Config;
        RequestMemory = new RequestMemoryPool(cfg.QueuedMaxRequestBytes);
        _ipOverrides = ResolveOverrides(cfg.MaxConnectionsPerIpOverrides);
    }

    private static Dictionary<IPAddress, int> ResolveOverrides(IReadOnlyDictionary<string, int> overrides)
    {
        var result = new Dictionary<IPAddress, int>();
        foreach (var (host, limit) in overrides)
        {
            var addresses = IPAddress.TryParse(host, out var ip) ? [ip] : Dns.GetHostAddresses(host);
            foreach (var a in addresses) result[Normalize(a)] = limit;
        }
        return result;
    }

    /// <summary>A dynamic broker config changed: take the connection limits again.</summary>
    private void OnBrokerConfigChanged()
    {
        try
        {
            _ipOverrides = ResolveOverrides(_broker.Config.MaxConnectionsPerIpOverrides);
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or ArgumentException)
        {
            LogOverridesUnresolved(_logger, e.Message);
        }
        int wanted = Math.Max(0, Math.Min(_broker.Config.MaxConnections, DescriptorLimit.ConnectionsAllowed));
        lock (_slotLock)
        {
            int delta = wanted - MaxConnections;
            MaxConnections = wanted;
            if (delta > 0)
            {
                int paid = Math.Min(_slotDebt, delta);
                _slotDebt -= paid;
                if (delta > paid) _slots.Release(delta - paid);
            }
            else
            {
                // take free slots back now; what is in use comes back as connections close
                for (; delta < 0 && _slots.Wait(0); delta++) { }
                _slotDebt -= delta;
            }
        }
    }

    /// <summary>A connection closed (or was turned away): its slot goes to a lowered limit first.</summary>
    private void ReturnSlot()
    {
        lock (_slotLock)
        {
            if (_slotDebt > 0) _slotDebt--;
            else _slots.Release();
        }
    }

    private static IPAddress Normalize(IPAddress a) => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a;

    private int LimitFor(IPAddress address) =>
        _ipOverrides.TryGetValue(address, out int n) ? n : _broker.Config.MaxConnectionsPerIp;

    /// <summary>Counts a connection from <paramref name="address"/>; false when the address is at its limit.</summary>
    private bool TryCountIp(IPAddress address)
    {
        int limit = LimitFor(address);
        while (true)
        {
            int current = _perIp.GetOrAdd(address, 0);
            if (current >= limit) return false;
            if (_perIp.TryUpdate(address, current + 1, current)) return true;
        }
    }

    private void UncountIp(IPAddress address)
    {
        while (true)
        {
            if (!_perIp.TryGetValue(address, out int current)) return;
            if (current <= 1 ? ((ICollection<KeyValuePair<IPAddress, int>>)_perIp).Remove(new(address, current)) : _perIp.TryUpdate(address, current - 1, current))
                return;
        }
    }

    /// <summary>The first listener's bound address.</summary>
    public IPEndPoint? LocalEndPoint => _listeners.Count > 0 ? _listeners[0].LocalEndPoint as IPEndPoint : null;
    /// <summary>Each listener's bound port, in the order of <c>listeners</c>.</summary>
    public IReadOnlyList<int> BoundPorts { get; private set; } = [];
    /// <summary>The port the listener bound (kept after it closes, so a restarted broker binds it again).</summary>
    public int BoundPort { get; private set; }
    public int ConnectionCount => _connections.Count;

    /// <summary>Binds and starts accepting. The broker advertises the bound port (useful when 0 was asked).</summary>
    public void Start()
    {
        var cfg = _broker.Config;
        int index = _node.Id - _broker.Cluster.First.Id;
        var specs = _broker.Listeners;
        // TLS settings are read (and refused) before anything binds: a broker with a bad keystore does not start
        var tls = specs.Select(l => l.Tls ? TlsOptions.Load(cfg, l) : null).ToList();
        var sasl = specs.Select(l => l.Sasl ? KafkaCompat.Broker.Security.SaslMechanisms.For(cfg, l, _broker.Scram) : null).ToList();
        try
        {
            for (int i = 0; i < specs.Count; i++)
            {
                var spec = specs[i];
                var address = BindAddress.Resolve(spec.Host);
                var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                _listeners.Add(socket);
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                // the first listener's port comes from the cluster (--port + index, or its own); the others take theirs + index
                socket.Bind(new IPEndPoint(address, i == 0 ? _bindPort : spec.Port == 0 ? 0 : spec.Port + index));
                socket.Listen(512);
            }
        }
        catch
        {
            foreach (var s in _listeners) s.Dispose();
            _listeners.Clear();
            throw;
        }
        MaxConnections = Math.Max(0, Math.Min(cfg.MaxConnections, DescriptorLimit.ConnectionsAllowed));
        _slots = new SemaphoreSlim(MaxConnections);
        if (MaxConnections < cfg.MaxConnections) LogDescriptorCap(_logger, MaxConnections, DescriptorLimit.Soft);
        _broker.BrokerConfigChanged += OnBrokerConfigChanged;
        BoundPorts = [.. _listeners.Select(l => ((IPEndPoint)l.LocalEndPoint!).Port)];
        int bound = BoundPort = BoundPorts[0];
        _node.Port = specs[0].AdvertisedPort is int advertised ? advertised + index : bound;
        _node.ListenerPorts = [.. specs.Select((l, i) => i == 0 ? _node.Port : l.AdvertisedPort is int p ? p + index : BoundPorts[i])];
        for (int i = 0; i < _listeners.Count; i++) _acceptLoops.Add(AcceptLoop(_listeners[i], i, tls[i], sasl[i]));
        _idleSweep = new Timer(_ => SweepIdle(), null, IdleSweepMs, IdleSweepMs);
    }

    // connections.max.idle.ms is enforced by one sweep over the connections, as Kafka's selector checks its idle channels,
    // not by a timer each connection resets around every request
    private Timer? _idleSweep;
    private const int IdleSweepMs = 100;

    private void SweepIdle()
    {
        long idleMs = _broker.Config.ConnectionsMaxIdleMs;
        if (idleMs is <= 0 or >= int.MaxValue || _stopping.IsCancellationRequested) return;
        long now = Environment.TickCount64;
        foreach (var (_, _, conn) in _connections.Values) conn.CloseIfIdle(now, idleMs);
    }

    private async Task AcceptLoop(Socket listener, int listenerIndex, TlsOptions? tls, KafkaCompat.Broker.Security.SaslMechanisms.Listener? sasl)
    {
        long lastWaitLog = long.MinValue / 2;
        long lastAcceptLog = long.MinValue / 2, acceptFailures = 0;
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                // max.connections: no accept until a slot is free (the client waits in the listen backlog)
                if (!_slots.Wait(0))
                {
                    // once every 10 s at most while clients keep knocking
                    if (Environment.TickCount64 - lastWaitLog >= 10_000)
                    {
                        lastWaitLog = Environment.TickCount64;
                        if (MaxConnections < _broker.Config.MaxConnections) LogAtDescriptorLimit(_logger, MaxConnections, DescriptorLimit.Soft);
                        else LogAtMaxConnections(_logger, MaxConnections);
                    }
                    await _slots.WaitAsync(_stopping.Token).ConfigureAwait(false);
                }
                try
                {
                    socket = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
                }
                catch
                {
                    ReturnSlot();
                    throw;
                }
            }
            catch (Exception) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                // EMFILE (the descriptor limit) among others: log (once a second at most), breathe, go on accepting
                acceptFailures++;
                if (Environment.TickCount64 - lastAcceptLog >= 1000)
                {
                    LogAcceptFailed(_logger, e.Message, acceptFailures);
                    lastAcceptLog = Environment.TickCount64;
                    acceptFailures = 0;
                }
                try { await Task.Delay(50, _stopping.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
                continue;
            }
            var address = (socket.RemoteEndPoint as IPEndPoint)?.Address is { } ra ? Normalize(ra) : IPAddress.None;
            if (!TryCountIp(address))
            {
                Interlocked.Increment(ref _rejected);
                LogRejectedPerIp(_logger, address.ToString(), LimitFor(address));
                socket.Dispose();
                ReturnSlot();
                continue;
            }
            socket.NoDelay = true;
            long id = Interlocked.Increment(ref _nextId);
            var conn = new KafkaConnection(id, socket, _broker, _logger, _stopping.Token, RequestMemory, _node, listenerIndex, tls, sasl);
            // listed before its loop starts, so a loop that ends at once still finds itself to remove
            _connections[id] = (socket, Task.CompletedTask, conn);
            var loop = Task.Run(async () =>
            {
                try { await conn.RunAsync().ConfigureAwait(false); }
                catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
                {
                    // e.g. the client hung up before the connection was set up
                    LogConnectionFailed(_logger, id, e.Message);
                }
                finally
                {
                    _connections.TryRemove(id, out _);
                    UncountIp(address);
                    ReturnSlot();
                }
            });
            _connections.TryUpdate(id, (socket, loop, conn), (socket, Task.CompletedTask, conn));
        }
    }

    /// <summary>Closes every client connection (the listener stays): clients see the broker drop them and reconnect.
    /// Returns how many were closed.</summary>
    public int DropConnections()
    {
        int n = 0;
        foreach (var (socket, _, _) in _connections.Values)
        {
            try { socket.Shutdown(SocketShutdown.Both); n++; } catch (SocketException) { } catch (ObjectDisposedException) { }
        }
        return n;
    }

    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested) return;
        _broker.BrokerConfigChanged -= OnBrokerConfigChanged;
        _stopping.Cancel();
        _idleSweep?.Dispose();
        foreach (var l in _listeners) l.Dispose();
        await Task.WhenAll(_acceptLoops).ConfigureAwait(false);
        var loops = _connections.Values.ToList();
        foreach (var (socket, _, _) in loops)
        {
            try { socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        }
        try { await Task.WhenAll(loops.Select(l => l.Loop)).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false); }
        catch (TimeoutException) { }
        foreach (var (socket, _, _) in loops) socket.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Rejected connection from {Address}, address already has the configured maximum of {Limit} connections (max.connections.per.ip).")]
    private static partial void LogRejectedPerIp(ILogger logger, string address, int limit);

    [LoggerMessage(Level = LogLevel.Warning, Message = "max.connections.per.ip.overrides: {Message}; the previous overrides stay")]
    private static partial void LogOverridesUnresolved(ILogger logger, string message);

    [LoggerMessage(Level = LogLevel.Information, Message = "the descriptor limit (ulimit -n {Limit}) leaves room for {Max} connections")]
    private static partial void LogDescriptorCap(ILogger logger, int max, long limit);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Max} connections are open, as many as the descriptor limit (ulimit -n {Limit}) leaves room for: new connections wait until one closes")]
    private static partial void LogAtDescriptorLimit(ILogger logger, int max, long limit);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Max} connections are open (max.connections): new connections wait until one closes")]
    private static partial void LogAtMaxConnections(ILogger logger, int max);

    [LoggerMessage(Level = LogLevel.Warning, Message = "accept failed: {Message} ({Count} time(s) since the last report); connections wait in the backlog")]
    private static partial void LogAcceptFailed(ILogger logger, string message, long count);

    [LoggerMessage(Level = LogLevel.Debug, Message = "connection {Id} ended: {Message}")]
    private static partial void LogConnectionFailed(ILogger logger, long id, string message);
}
