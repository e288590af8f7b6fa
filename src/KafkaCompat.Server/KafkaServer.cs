using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using KafkaCompat.Broker;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KafkaCompat.Server;

/// <summary>Accepts TCP connections and runs one <see cref="KafkaConnection"/> loop per connection.</summary>
public sealed partial class KafkaServer : IAsyncDisposable
{
    private readonly KafkaBroker _broker;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<long, (Socket Socket, Task Loop)> _connections = new();
    private Socket? _listener;
    private Task? _acceptLoop;
    private long _nextId;

    public KafkaServer(KafkaBroker broker, ILoggerFactory? loggerFactory = null)
    {
        _broker = broker;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("KafkaCompat.Server");
    }

    public IPEndPoint? LocalEndPoint => _listener?.LocalEndPoint as IPEndPoint;
    public int ConnectionCount => _connections.Count;

    /// <summary>Binds and starts accepting. The broker advertises the bound port (useful when 0 was asked).</summary>
    public void Start()
    {
        var cfg = _broker.Config;
        IPAddress address = cfg.Host switch
        {
            "0.0.0.0" or "" or "*" => IPAddress.Any,
            "::" => IPAddress.IPv6Any,
            "localhost" => IPAddress.Loopback,
            _ => IPAddress.TryParse(cfg.Host, out var a) ? a : Dns.GetHostAddresses(cfg.Host).First(),
        };
        var listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(new IPEndPoint(address, cfg.Port));
        listener.Listen(512);
        _listener = listener;
        // advertised.listeners may name another port (a container's mapped port); otherwise the one bound
        _broker.AdvertisedPort = _broker.Config.AdvertisedPort ?? ((IPEndPoint)listener.LocalEndPoint!).Port;
        _acceptLoop = AcceptLoop(listener);
    }

    private async Task AcceptLoop(Socket listener)
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                LogAcceptFailed(_logger, e.Message);
                continue;
            }
            socket.NoDelay = true;
            long id = Interlocked.Increment(ref _nextId);
            var conn = new KafkaConnection(id, socket, _broker, _logger, _stopping.Token);
            var loop = Task.Run(async () =>
            {
                try { await conn.RunAsync().ConfigureAwait(false); }
                catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
                {
                    // e.g. the client hung up before the connection was set up
                    LogConnectionFailed(_logger, id, e.Message);
                }
                finally { _connections.TryRemove(id, out _); }
            });
            _connections[id] = (socket, loop);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested) return;
        _stopping.Cancel();
        _listener?.Dispose();
        if (_acceptLoop != null) await _acceptLoop.ConfigureAwait(false);
        var loops = _connections.Values.ToList();
        foreach (var (socket, _) in loops)
        {
            try { socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        }
        try { await Task.WhenAll(loops.Select(l => l.Loop)).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false); }
        catch (TimeoutException) { }
        foreach (var (socket, _) in loops) socket.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "accept failed: {Message}")]
    private static partial void LogAcceptFailed(ILogger logger, string message);

    [LoggerMessage(Level = LogLevel.Debug, Message = "connection {Id} ended: {Message}")]
    private static partial void LogConnectionFailed(ILogger logger, long id, string message);
}
