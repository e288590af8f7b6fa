using KafkaCompat.Broker;
using KafkaCompat.Broker.Config;
using KafkaCompat.Server;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace KafkaCompat.Host;

/// <summary>Runs the broker under Microsoft.Extensions.Hosting: logs to stderr, stops on SIGINT/SIGTERM.</summary>
public static class BrokerHost
{
    /// <summary>Exit codes: 0 after a clean stop (SIGINT, SIGTERM); 1 when the broker cannot run (a port in use, a data
    /// directory it cannot write); 2 for a command line or configuration that makes no sense (set before this runs).</summary>
    public static async Task<int> RunAsync(BrokerConfig config, CancellationToken ct, int? adminPort = null, string? readyFile = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Services.AddSingleton(config);
        builder.Services.AddSingleton(new AdminOptions(adminPort, readyFile));
        builder.Services.AddHostedService<BrokerService>();
        using var host = builder.Build();
        try
        {
            await host.RunAsync(ct);
            return 0;
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"kafkacompat: {e.Message}");
            return 1;
        }
    }
}

internal sealed record AdminOptions(int? Port, string? ReadyFile = null);

/// <summary>The --ready-file: what a script in any language needs to connect, written once every listener accepts.</summary>
internal sealed record ReadyBroker(int Id, string Host, int Port, string? Rack);
internal sealed record ReadyListener(string Name, string SecurityProtocol, string BootstrapServers);
internal sealed record ReadyInfo(string BootstrapServers, List<ReadyBroker> Brokers, string? AdminUrl, int Pid, string DataDir, List<ReadyListener> Listeners);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.SnakeCaseLower)]
[System.Text.Json.Serialization.JsonSerializable(typeof(ReadyInfo))]
internal sealed partial class ReadyJson : System.Text.Json.Serialization.JsonSerializerContext;

internal sealed class BrokerService(BrokerConfig config, AdminOptions admin, ILoggerFactory loggers) : IHostedService
{
    private KafkaBroker? _broker;
    private KafkaCluster? _cluster;
    private KafkaCompat.Server.Admin.AdminServer? _admin;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _broker = new KafkaBroker(config, loggers);
        _cluster = new KafkaCluster(_broker, loggers);
        _cluster.Start();
        if (_broker.Cluster.SingleNode)
            Console.Out.WriteLine($"listening on {config.Host}:{_cluster.First.BoundPort}");
        else
            foreach (var node in _broker.Cluster.Nodes)
                Console.Out.WriteLine($"listening on {config.Host}:{_cluster.PortOf(node.Id)} (broker {node.Id}{(node.Rack is null ? "" : $", rack {node.Rack}")})");
        // the other listeners: NAME://HOST:PORT
        for (int i = 1; i < _broker.Listeners.Count; i++)
        {
            var l = _broker.Listeners[i];
            foreach (var node in _broker.Cluster.Nodes)
                Console.Out.WriteLine($"listening on {l.Name}://{l.Host}:{_cluster.Server(node.Id)!.BoundPorts[i]}{(_broker.Cluster.SingleNode ? "" : $" (broker {node.Id})")}");
        }
        if (admin.Port is int port)
        {
            _admin = await KafkaCompat.Server.Admin.AdminServer.StartAsync(_cluster, config.Host, port, loggers);
            Console.Out.WriteLine($"admin api on {_admin.Url}");
        }
        if (admin.ReadyFile is { } ready)
        {
            var info = new ReadyInfo(_cluster.BootstrapServers(config.Host is "0.0.0.0" or "::" or "" or "*" ? "127.0.0.1" : config.Host),
                [.. _broker.Cluster.Nodes.Select(n => new ReadyBroker(n.Id, config.Host, _cluster.PortOf(n.Id), n.Rack))],
                _admin?.Url, Environment.ProcessId, Path.GetFullPath(config.DataDir),
                [.. _broker.Listeners.Select((l, i) => new ReadyListener(l.Name, ProtocolName(l.Protocol),
                    string.Join(",", _broker.Cluster.Nodes.Select(n => $"{_broker.AdvertisedHost("127.0.0.1", i)}:{n.PortOf(i)}"))))]);
            // written beside and renamed: a reader never sees half a file
            string temp = ready + ".tmp";
            File.WriteAllText(temp, System.Text.Json.JsonSerializer.Serialize(info, ReadyJson.Default.ReadyInfo));
            File.Move(temp, ready, overwrite: true);
            _readyFile = ready;
        }
        Console.Out.Flush();
    }

    private string? _readyFile;

    private static string ProtocolName(KafkaCompat.Broker.Config.SecurityProtocol p) => p switch
    {
        KafkaCompat.Broker.Config.SecurityProtocol.Ssl => "SSL",
        KafkaCompat.Broker.Config.SecurityProtocol.SaslPlaintext => "SASL_PLAINTEXT",
        KafkaCompat.Broker.Config.SecurityProtocol.SaslSsl => "SASL_SSL",
        _ => "PLAINTEXT",
    };

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // joins and syncs waiting in the coordinator are answered (NOT_COORDINATOR) before connections close
        _broker?.Groups.Dispose();
        if (_admin != null) await _admin.DisposeAsync();
        if (_cluster != null) await _cluster.DisposeAsync();
        _broker?.Dispose();
        if (_readyFile != null)
        {
            try { File.Delete(_readyFile); } catch (IOException) { }
        }
    }
}
