using System.CommandLine;
using KafkaCompat.Broker.Config;
using KafkaCompat.Host;

// Socket completions run on the socket engine's threads instead of hopping to the thread pool: a request is read,
// handled and answered on the thread that saw it arrive. Handlers do not block on other connections (long polls and
// group joins wait asynchronously), and per request this saves a thread-pool wake-up, 40% of the broker's CPU for
// small requests at 10,000 requests/s (issue 14). Read by the runtime when the first socket is made, so set before
// anything else; DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0 in the environment turns it off.
if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");

// `kafkacompat` with no command (or only options) means `kafkacompat serve`.
if (args.Length == 0 || args[0].StartsWith('-') && args[0] is not ("-h" or "--help" or "-?" or "--version"))
    args = ["serve", .. args];

var portOption = new Option<int>("--port") { Description = "TCP port to listen on (0 picks a free port)", DefaultValueFactory = _ => 9092 };
var hostOption = new Option<string>("--host") { Description = "Address to bind", DefaultValueFactory = _ => "127.0.0.1" };
var advertisedOption = new Option<string?>("--advertised-host") { Description = "Host name given to clients in Metadata (default: the bind address)" };
var dataDirOption = new Option<string>("--data-dir") { Description = "Directory for the log and metadata", DefaultValueFactory = _ => "./data" };
var fsyncOption = new Option<bool>("--fsync-every-write")
{
    Description = "Acknowledge a write only once it is on disk (same as --set log.flush.interval.messages=1)",
};
var configOption = new Option<string?>("--config")
{
    Description = "A Kafka server.properties file; --set, KAFKA_* variables and the options above override its keys",
};
var brokersOption = new Option<int>("--brokers")
{
    Description = "Run a cluster of N brokers in this process (node ids node.id..node.id+N-1, ports --port..--port+N-1)",
    DefaultValueFactory = _ => 1,
};
var racksOption = new Option<string?>("--racks") { Description = "broker.rack of each broker, comma-separated in node order (e.g. a,b,c)" };
var adminPortOption = new Option<int?>("--admin-port")
{
    Description = "Serve the admin HTTP API (cluster status, broker stop/start, leader moves, fault injection) on this port (0: a free one)",
};
var readyFileOption = new Option<string?>("--ready-file")
{
    Description = "Write this JSON file (bootstrap servers, brokers and their ports, admin URL, pid) once every listener accepts connections; removed on a clean stop",
};
var devTlsOption = new Option<bool>("--dev-tls")
{
    Description = "Write a throwaway CA and server certificate into the data directory (dev-tls/) for every TLS listener without a keystore, adding an SSL listener if there is none; prints the CA's path for clients",
};
var addScramOption = new Option<string[]>("--add-scram")
{
    Description = "A SCRAM user to set at start, as kafka-storage format takes it (repeatable): 'SCRAM-SHA-256=[name=alice,password=alice-secret]'",
    AllowMultipleArgumentsPerToken = false,
};
var jaasOption = new Option<string?>("--jaas-config")
{
    Description = "A JAAS file with the KafkaServer section (PLAIN's user_NAME=\"password\" options), as Kafka's -Djava.security.auth.login.config takes it",
};
var ephemeralOption = new Option<bool>("--ephemeral") { Description = "Keep the log in a new temporary directory, removed when the broker stops (instead of --data-dir)" };
var setOption = new Option<string[]>("--set") { Description = "A Kafka config key=value (repeatable), e.g. --set num.partitions=3", AllowMultipleArgumentsPerToken = false };

var serve = new Command("serve", "Run the broker") { portOption, hostOption, advertisedOption, dataDirOption, ephemeralOption, fsyncOption, configOption, setOption, brokersOption, racksOption, adminPortOption, readyFileOption, devTlsOption, addScramOption, jaasOption };
serve.SetAction(async (parse, ct) =>
{
    // precedence, lowest first: defaults, the properties file, KAFKA_* variables, --set, the explicit options
    var config = new BrokerConfig();
    try
    {
        if (parse.GetValue(configOption) is { } file)
        {
            if (!File.Exists(file))
            {
                Console.Error.WriteLine($"--config: no such file '{file}'");
                return 2;
            }
            config.LoadProperties(file);
        }
        config.ApplyEnvironment(Environment.GetEnvironmentVariables());
        if (parse.GetValue(fsyncOption)) config.Set("log.flush.interval.messages", "1");
        foreach (var kv in parse.GetValue(setOption) ?? [])
        {
            int eq = kv.IndexOf('=');
            if (eq <= 0)
            {
                Console.Error.WriteLine($"--set expects key=value, got '{kv}'");
                return 2;
            }
            config.Apply(kv[..eq].Trim(), kv[(eq + 1)..].Trim());
        }
    }
    catch (ArgumentException e)
    {
        Console.Error.WriteLine(e.Message);
        return 2;
    }
    bool Given(Option o) => parse.GetResult(o) is { Implicit: false };
    if (Given(portOption)) config.Port = parse.GetValue(portOption);
    if (Given(hostOption)) config.Host = parse.GetValue(hostOption)!;
    if (Given(advertisedOption)) config.AdvertisedHost = parse.GetValue(advertisedOption);
    if (Given(dataDirOption)) config.DataDir = parse.GetValue(dataDirOption)!;
    bool ephemeral = parse.GetValue(ephemeralOption);
    if (ephemeral && Given(dataDirOption))
    {
        Console.Error.WriteLine("--ephemeral and --data-dir: give one of them");
        return 2;
    }
    if (ephemeral) config.DataDir = Directory.CreateTempSubdirectory("kafkacompat-").FullName;
    int brokers = parse.GetValue(brokersOption);
    if (brokers is < 1 or > 64)
    {
        Console.Error.WriteLine($"--brokers must be between 1 and 64, got {brokers}");
        return 2;
    }
    config.Brokers = brokers;
    config.AddScram = [.. parse.GetValue(addScramOption) ?? []];
    if (parse.GetValue(jaasOption) is { } jaasFile) config.JaasFile = Path.GetFullPath(jaasFile);
    if (parse.GetValue(racksOption) is { } racks)
    {
        var list = racks.Split(',', StringSplitOptions.TrimEntries);
        if (list.Length != brokers)
        {
            Console.Error.WriteLine($"--racks names {list.Length} rack(s) for {brokers} broker(s)");
            return 2;
        }
        config.Racks = list;
    }
    if (parse.GetValue(devTlsOption))
    {
        try
        {
            Directory.CreateDirectory(config.DataDir);
            Console.Out.WriteLine($"dev tls ca {KafkaCompat.Server.DevTls.Prepare(config)}");
        }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"--dev-tls: {e.Message}");
            return 2;
        }
    }
    if ((config.CheckConsistency() ?? TlsProblem(config)) is { } inconsistent)
    {
        Console.Error.WriteLine(inconsistent);
        return 2;
    }
    try
    {
        return await BrokerHost.RunAsync(config, ct, parse.GetValue(adminPortOption), parse.GetValue(readyFileOption));
    }
    finally
    {
        if (ephemeral)
        {
            try { Directory.Delete(config.DataDir, recursive: true); }
            catch (IOException e) { Console.Error.WriteLine($"kafkacompat: could not remove the ephemeral data directory {config.DataDir}: {e.Message}"); }
        }
    }
});

var root = new RootCommand("KafkaCompat: a Kafka-wire-compatible broker, and client commands that work against any Kafka broker")
{
    serve,
    KafkaCompat.Host.Cli.TopicCommands.Build(),
    KafkaCompat.Host.Cli.ProduceCommand.Build(),
    KafkaCompat.Host.Cli.ConsumeCommand.Build(),
    KafkaCompat.Host.Cli.GroupCommands.Build(),
    KafkaCompat.Host.Cli.TransactionCommands.Build(),
    KafkaCompat.Host.Cli.UserCommands.Build(),
    KafkaCompat.Host.Cli.AclCommands.Build(),
    KafkaCompat.Host.Cli.ClusterCommands.Build(),
};

return await root.Parse(args).InvokeAsync();

// a TLS listener's keystore, truststore and settings are read before the broker starts: a problem is a configuration error (exit 2)
static string? TlsProblem(KafkaCompat.Broker.Config.BrokerConfig config)
{
    try
    {
        foreach (var l in KafkaCompat.Broker.Config.Listeners.Of(config).Where(l => l.Tls)) KafkaCompat.Server.TlsOptions.Load(config, l);
        return null;
    }
    catch (ArgumentException e)
    {
        return e.Message;
    }
}
