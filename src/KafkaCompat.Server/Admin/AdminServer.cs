using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using KafkaCompat.Broker;
using KafkaCompat.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace KafkaCompat.Server.Admin;

/// <summary>
/// The admin HTTP API (--admin-port): JSON over HTTP, so tests in any language can drive the cluster. Routes:
/// <c>GET /v1/cluster</c> (brokers, partitions, faults); <c>POST /v1/brokers/{id}/stop</c> (optional
/// <c>?graceMs=</c>: how long it answers after its partitions moved, default 300), <c>/kill</c> (a crash: its
/// partitions move only after broker.session.timeout.ms), <c>/start</c>,
/// <c>/drop-connections</c>; <c>POST /v1/partitions/{topic}/{partition}/leader</c> <c>{"broker":2}</c>;
/// <c>POST /v1/partitions/{topic}/{partition}/replicas</c> <c>{"replicas":[2,3,1]}</c>; <c>POST /v1/elect-leaders</c>
/// (optional <c>?topic=</c>); <c>GET/POST/DELETE /v1/faults</c> and <c>DELETE /v1/faults/{id}</c>. Errors answer
/// <c>{"error": "..."}</c>: 400 for a request that makes no sense, 404 for a broker, partition or fault that does not
/// exist, 409 when the cluster refuses (a broker already stopped, a leader that is not an in-sync replica).
/// </summary>
public sealed class AdminServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    /// <summary>The bound port.</summary>
    public int Port { get; }
    public string Url { get; }

    private AdminServer(WebApplication app, int port, string host)
    {
        _app = app;
        Port = port;
        Url = $"http://{host}:{port}";
    }

    public static async Task<AdminServer> StartAsync(KafkaCluster cluster, string host, int port, ILoggerFactory? loggers = null)
    {
        // the content root is the program's own folder, not the working directory: the host watches its content root, and
        // started from a large directory (/tmp with thousands of entries) the admin API took 17 s to come up
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        if (loggers != null) builder.Services.AddSingleton(loggers);
        var address = BindAddress.Resolve(host);
        builder.WebHost.ConfigureKestrel(o => o.Listen(address, port));
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, AdminJson.Default);
            o.SerializerOptions.TypeInfoResolverChain.Insert(1, ConsoleJson.Default);
        });
        var app = builder.Build();
        Map(app, cluster);
        await app.StartAsync().ConfigureAwait(false);
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new AdminServer(app, new Uri(bound).Port, host is "0.0.0.0" or "" or "*" ? "127.0.0.1" : host);
    }

    private static IResult Fail(int status, string message) => Results.Json(new AdminError(message), AdminJson.Default.AdminError, statusCode: status);
    private static IResult Ok() => Results.Json(new AdminOk(true), AdminJson.Default.AdminOk);

    private static void Map(WebApplication app, KafkaCluster cluster)
    {
        app.MapGet("/health", () => Ok());
        app.MapGet("/metrics", () => Results.Text(PrometheusMetrics.Render(cluster), PrometheusMetrics.ContentType));
        ConsoleApi.Map(app, cluster);
        app.MapGet("/v1/cluster", () => Results.Json(cluster.Status(), AdminJson.Default.ClusterStatus));
        app.MapPost("/v1/brokers/{id:int}/stop", async (int id, int? graceMs) =>
            cluster.Broker.Cluster.Node(id) is null ? Fail(404, $"no broker {id}")
            : graceMs is < 0 ? Fail(400, "graceMs is not negative")
            : await cluster.StopBrokerAsync(id, graceMs is int g ? TimeSpan.FromMilliseconds(g) : null).ConfigureAwait(false) ? Ok() : Fail(409, $"broker {id} is not running"));
        app.MapPost("/v1/brokers/{id:int}/kill", async (int id) =>
            cluster.Broker.Cluster.Node(id) is null ? Fail(404, $"no broker {id}")
            : await cluster.KillBrokerAsync(id).ConfigureAwait(false) ? Ok() : Fail(409, $"broker {id} is not running"));
        app.MapPost("/v1/brokers/{id:int}/start", async (int id) =>
            cluster.Broker.Cluster.Node(id) is null ? Fail(404, $"no broker {id}")
            : await cluster.StartBrokerAsync(id).ConfigureAwait(false) ? Ok() : Fail(409, $"broker {id} is running"));
        app.MapPost("/v1/brokers/{id:int}/drop-connections", (int id) =>
            cluster.Broker.Cluster.Node(id) is null ? Fail(404, $"no broker {id}")
            : cluster.DropConnections(id) is var n and >= 0 ? Results.Json(new AdminCount(n), AdminJson.Default.AdminCount) : Fail(409, $"broker {id} is not running"));
        app.MapPost("/v1/partitions/{topic}/{partition:int}/leader", (string topic, int partition, LeaderChange body) =>
            Answer(cluster.MoveLeader(topic, partition, body.Broker)));
        app.MapPost("/v1/partitions/{topic}/{partition:int}/replicas", (string topic, int partition, ReplicasChange body) =>
            body.Replicas is not { Length: > 0 } ? Fail(400, "replicas: a non-empty list of broker ids") : Answer(cluster.Reassign(topic, partition, body.Replicas)));
        app.MapPost("/v1/elect-leaders", (string? topic) => Results.Json(new AdminCount(cluster.ElectPreferredLeaders(topic)), AdminJson.Default.AdminCount));
        app.MapGet("/v1/faults", () => Results.Json(cluster.Broker.Faults.List().ToList(), AdminJson.Default.ListFaultState));
        app.MapPost("/v1/faults", (FaultRequest body) =>
        {
            try
            {
                int id = cluster.Broker.Faults.Add(body.ToSpec());
                return Results.Json(new AdminFault(id), AdminJson.Default.AdminFault);
            }
            catch (ArgumentException e)
            {
                return Fail(400, e.Message);
            }
        });
        app.MapDelete("/v1/faults", () =>
        {
            cluster.Broker.Faults.Clear();
            return Ok();
        });
        app.MapDelete("/v1/faults/{id:int}", (int id) => cluster.Broker.Faults.Remove(id) ? Ok() : Fail(404, $"no fault {id}"));
    }

    private static IResult Answer((ErrorCode Error, string? Message) r) => r.Error switch
    {
        ErrorCode.None => Ok(),
        ErrorCode.UnknownTopicOrPartition => Fail(404, r.Message ?? r.Error.ToString()),
        _ => Fail(409, $"{r.Error.KafkaName()}: {r.Message}"),
    };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>Error codes and API keys as the HTTP API and the CLI take them (NOT_LEADER_OR_FOLLOWER, Produce).</summary>
public static class Names
{
    /// <summary>An error by Kafka's name (NOT_LEADER_OR_FOLLOWER), its C# name or its number.</summary>
    public static ErrorCode? Error(string? text)
    {
        if (string.IsNullOrEmpty(text)) return null;
        if (short.TryParse(text, out short n)) return Enum.IsDefined((ErrorCode)n) ? (ErrorCode)n : null;
        string flat = text.Replace("_", "", StringComparison.Ordinal);
        return Enum.GetValues<ErrorCode>().Cast<ErrorCode?>().FirstOrDefault(e => string.Equals(e.ToString(), flat, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>An API by name (Produce, produce) or key number.</summary>
    public static ApiKey? Api(string? text)
    {
        if (string.IsNullOrEmpty(text)) return null;
        if (short.TryParse(text, out short n)) return (ApiKey)n;
        return Enum.TryParse<ApiKey>(text, ignoreCase: true, out var k) ? k : throw new ArgumentException($"unknown API '{text}'");
    }
}

public sealed record AdminOk(bool Ok);
public sealed record AdminError(string Error);
public sealed record AdminCount(int Count);
public sealed record AdminFault(int Id);
public sealed record LeaderChange(int Broker);
public sealed record ReplicasChange(int[]? Replicas);

/// <summary>A fault as the HTTP API takes it: kind error|latency|throttle|drop|partition-error, and what it matches.</summary>
public sealed record FaultRequest(string Kind, string? Api = null, int? Broker = null, string? Error = null, int? LatencyMs = null,
    int? ThrottleMs = null, string? Topic = null, int? Partition = null, int? Count = null)
{
    public FaultSpec ToSpec()
    {
        var kind = Kind.Replace("-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal).ToLowerInvariant() switch
        {
            "error" => FaultKind.Error,
            "latency" => FaultKind.Latency,
            "throttle" => FaultKind.Throttle,
            "drop" => FaultKind.Drop,
            "partitionerror" or "partition" => FaultKind.PartitionError,
            _ => throw new ArgumentException($"unknown fault kind '{Kind}' (error, latency, throttle, drop, partition-error)"),
        };
        var error = Names.Error(Error);
        if (Error != null && error is null) throw new ArgumentException($"unknown error '{Error}'");
        return new FaultSpec(kind, Names.Api(Api), Broker, error ?? ErrorCode.None, LatencyMs ?? 0, ThrottleMs ?? 0, Topic, Partition, Count);
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true)]
[JsonSerializable(typeof(ClusterStatus))]
[JsonSerializable(typeof(List<FaultState>))]
[JsonSerializable(typeof(FaultRequest))]
[JsonSerializable(typeof(LeaderChange))]
[JsonSerializable(typeof(ReplicasChange))]
[JsonSerializable(typeof(AdminOk))]
[JsonSerializable(typeof(AdminError))]
[JsonSerializable(typeof(AdminCount))]
[JsonSerializable(typeof(AdminFault))]
public sealed partial class AdminJson : JsonSerializerContext;
