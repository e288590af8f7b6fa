using System.CommandLine;
using KafkaCompat.Broker.Config;
using KafkaCompat.Host;

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
var setOption = new Option<string[]>("--set") { Description = "A Kafka config key=value (repeatable), e.g. --set num.partitions=3", AllowMultipleArgumentsPerToken = false };

var serve = new Command("serve", "Run the broker") { portOption, hostOption, advertisedOption, dataDirOption, fsyncOption, configOption, setOption };
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
    if (config.CheckConsistency() is { } inconsistent)
    {
        Console.Error.WriteLine(inconsistent);
        return 2;
    }
    return await BrokerHost.RunAsync(config, ct);
});

var root = new RootCommand("KafkaCompat: a Kafka-wire-compatible broker, and client commands that work against any Kafka broker")
{
    serve,
    KafkaCompat.Host.Cli.TopicCommands.Build(),
    KafkaCompat.Host.Cli.ProduceCommand.Build(),
    KafkaCompat.Host.Cli.ConsumeCommand.Build(),
    KafkaCompat.Host.Cli.GroupCommands.Build(),
    KafkaCompat.Host.Cli.TransactionCommands.Build(),
};

return await root.Parse(args).InvokeAsync();
