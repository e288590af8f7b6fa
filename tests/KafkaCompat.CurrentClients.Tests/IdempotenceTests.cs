using KafkaCompat.Protocol;
using KafkaCompat.Testing;
using KafkaCompat.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace KafkaCompat.CurrentClients.Tests;

/// <summary>Idempotent producers on librdkafka 2.16 (Confluent.Kafka 2.16.0, and Debian's confluent-kafka-python
/// given the same library), while the broker drops some Produce responses after appending.</summary>
public sealed class IdempotenceTests(ITestOutputHelper output) : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;

    public Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(settings: new Dictionary<string, string> { ["group.initial.rebalance.delay.ms"] = "0" });
        return _b.Broker.Groups.WaitLoadedAsync();
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    [Fact]
    public Task ConfluentKafkaRetriedBatchesAreStoredOnce() =>
        IdempotenceScenarios.RetriedBatchesAreStoredOnce(_b, "idem-cs216-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public async Task ConfluentKafkaPythonOnLibrdkafka216()
    {
        string suffix = Guid.NewGuid().ToString("N")[..8];
        _b.Broker.Faults.DropResponses(ApiKey.Produce, every: 4, times: 4);
        await ClientScripts.RunAsync(output, _b.Port, "/usr/bin/python3", "confluent_idempotence_test.py", CurrentLibrdkafka.PythonEnvironment, suffix, "2.16.0");
        Assert.True(_b.Broker.Logs.Get("idem-py-" + suffix)!.Partitions.Sum(p => p.DuplicatesAnswered) >= 1, "no retried batch reached the broker");
    }
}

/// <summary>librdkafka 2.16 for processes (confluent-kafka-python, kcat): a folder with <c>librdkafka.so.1</c> linked to
/// the library this project runs on, for their LD_LIBRARY_PATH.</summary>
internal static class CurrentLibrdkafka
{
    private static readonly Lazy<string> Dir = new(() =>
    {
        string lib = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "librdkafka.so");
        if (!File.Exists(lib)) throw new InvalidOperationException($"{lib} is missing: build this project");
        string dir = Path.Combine(Path.GetTempPath(), "kafkacompat-librdkafka-2.16-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        string link = Path.Combine(dir, "librdkafka.so.1");
        if (!File.Exists(link)) File.CreateSymbolicLink(link, lib);
        return dir;
    });

    public static IReadOnlyDictionary<string, string> PythonEnvironment => new Dictionary<string, string> { ["LD_LIBRARY_PATH"] = Dir.Value };
}
