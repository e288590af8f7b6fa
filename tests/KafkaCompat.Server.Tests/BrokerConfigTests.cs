using System.Diagnostics;
using KafkaCompat.Broker.Config;
using KafkaCompat.Protocol.Messages;
using KafkaCompat.TestSupport;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>Broker configuration from a server.properties file, KAFKA_* variables and --set, and their precedence.</summary>
public sealed class BrokerConfigTests
{
    [Fact]
    public void PropertiesAreReadAsJavaWritesThem()
    {
        var parsed = BrokerConfig.ParseProperties(
        [
            "# a comment",
            "! another comment",
            "",
            "num.partitions=3",
            "   log.retention.hours = 48",
            "log.dirs: /var/lib/kafka",
            "broker.rack rack-1",
            "listeners=PLAINTEXT://:9093,\\",
            "    CONTROLLER://:9094",
            "odd=a\\=b\\tc",
            "empty=",
        ]);
        Assert.Equal(
        [
            ("num.partitions", "3"), ("log.retention.hours", "48"), ("log.dirs", "/var/lib/kafka"), ("broker.rack", "rack-1"),
            ("listeners", "PLAINTEXT://:9093,CONTROLLER://:9094"), ("odd", "a=b\tc"), ("empty", ""),
        ], parsed);
    }

    [Fact]
    public void ListenerAndLogDirKeysMoveTheAddressAndDataDirectory()
    {
        var c = new BrokerConfig();
        c.Apply("listeners", "PLAINTEXT://:9093,CONTROLLER://:9094");
        Assert.Equal(("0.0.0.0", 9093), (c.Host, c.Port));
        c.Apply("listeners", "PLAINTEXT://localhost:19092");
        Assert.Equal(("localhost", 19092), (c.Host, c.Port));
        c.Apply("advertised.listeners", "PLAINTEXT://kafka.example:19092");
        Assert.Equal("kafka.example", c.AdvertisedHost);
        c.Apply("log.dirs", "/data/a,/data/b");
        Assert.Equal("/data/a", c.DataDir);
        Assert.Equal("PLAINTEXT://localhost:19092", c.Get("listeners"));
    }

    [Fact]
    public void FileThenEnvironmentThenSetThenOptions()
    {
        string dir = Path.Combine(Path.GetTempPath(), "kafkacompat-props-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        string props = Path.Combine(dir, "server.properties");
        File.WriteAllLines(props,
        [
            "num.partitions=3",
            "log.retention.hours=5",
            "auto.create.topics.enable=false",
            "log.dirs=" + Path.Combine(dir, "from-file"),
            "listeners=PLAINTEXT://127.0.0.1:1", // overridden by --port 0 below
        ]);
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { RepoPaths.BrokerDll, "serve", "--config", props, "--port", "0", "--set", "auto.create.topics.enable=true" })
            psi.ArgumentList.Add(a);
        psi.Environment["KAFKA_LOG_RETENTION_HOURS"] = "6";
        using var p = Process.Start(psi)!;
        p.ErrorDataReceived += (_, _) => { };
        p.BeginErrorReadLine();
        try
        {
            var line = p.StandardOutput.ReadLine() ?? throw new InvalidOperationException("broker exited before listening");
            Assert.StartsWith("listening on 127.0.0.1:", line);
            int port = int.Parse(line[(line.LastIndexOf(':') + 1)..]);
            using var c = new RawClient(port);
            var r = c.Call<DescribeConfigsRequest, DescribeConfigsResponse>(new DescribeConfigsRequest
            {
                Resources = [new() { ResourceType = 4, ResourceName = "1" }],
            }, 4).Results.Single();
            var values = r.Configs.ToDictionary(x => x.Name, x => x.Value);
            Assert.Equal("3", values["num.partitions"]);              // the file
            Assert.Equal("6", values["log.retention.hours"]);         // KAFKA_* beats the file
            Assert.Equal("true", values["auto.create.topics.enable"]); // --set beats the file
            Assert.Equal(Path.Combine(dir, "from-file"), values["log.dirs"]);
            Assert.True(Directory.Exists(Path.Combine(dir, "from-file")));
            Assert.NotEqual(1, port);                                   // --port beats listeners
        }
        finally
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void EnvironmentNamesAndBadValues()
    {
        var c = new BrokerConfig();
        c.ApplyEnvironment(new System.Collections.Hashtable
        {
            ["KAFKA_NUM_PARTITIONS"] = "4",
            ["KAFKA_SOME__UNDERSCORED_KEY"] = "x",
            ["KAFKA_WITH___DASH"] = "y",
            ["PATH"] = "/bin",
        });
        Assert.Equal(4, c.NumPartitions);
        Assert.Equal("x", c.Get("some_underscored.key"));
        Assert.Equal("y", c.Get("with-dash"));
        Assert.Null(c.Get("path"));

        var e = Assert.Throws<ArgumentException>(() => c.Apply("log.segment.bytes", "1g"));
        Assert.Contains("log.segment.bytes", e.Message);
        Assert.Throws<ArgumentException>(() => c.Apply("log.retention.hours", "soon"));
        Assert.Throws<ArgumentException>(() => c.Apply("log.cleanup.policy", "shred"));
        Assert.Throws<ArgumentException>(() => c.Apply("auto.create.topics.enable", "maybe"));
        c.Apply("some.key.we.do.not.know", "anything"); // kept as given
        c.Apply("advertised.listeners", "PLAINTEXT://kafka.example:29092");
        Assert.Equal(("kafka.example", 29092), (c.AdvertisedHost, c.AdvertisedPort));
    }

    [Fact]
    public async Task ABadBrokerValueIsAnErrorExit()
    {
        var (exit, _, err) = await CliRunner.RunDllAsync(null, "serve", "--port", "0", "--set", "log.segment.bytes=1g");
        Assert.Equal(2, exit);
        Assert.Contains("log.segment.bytes", err);
    }

    [Fact]
    public async Task AMissingPropertiesFileIsAnErrorExit()
    {
        var (exit, _, err) = await CliRunner.RunDllAsync(null, "serve", "--config", "/nonexistent/server.properties", "--port", "0");
        Assert.Equal(2, exit);
        Assert.Contains("no such file", err);
    }

    [Fact]
    public async Task ADamagedTopicsFileStopsTheStartAndNamesTheFile()
    {
        string dir = Path.Combine(Path.GetTempPath(), "kc-damaged-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "topics.json"), "[{\"Name\": \"orders\", \"Id\": \"not-a-guid\"");
            var (exit, _, err) = await CliRunner.RunDllAsync(null, "serve", "--port", "0", "--data-dir", dir);
            Assert.Equal(1, exit);
            Assert.Contains("topics.json is damaged", err);
            Assert.Contains("not starting rather than losing the topics", err);
            // nothing was overwritten: the user can still repair it
            Assert.StartsWith("[{\"Name\": \"orders\"", File.ReadAllText(Path.Combine(dir, "topics.json")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
