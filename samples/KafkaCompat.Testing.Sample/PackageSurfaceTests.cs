using System.Text.Json;
using KafkaCompat.Testing;
using Xunit;

namespace KafkaCompat.Testing.Sample;

/// <summary>The package gives a test author its fixture and nothing of the engine: a project compiles against
/// KafkaCompat.Testing.dll alone, while the broker's assemblies come along to run.</summary>
public class PackageSurfaceTests
{
    [Fact]
    public void OnlyTheFixtureIsVisibleToTheTestProject()
    {
        Assert.Equal(["EmbeddedKafka", "EmbeddedKafkaFaults", "EmbeddedKafkaOptions"],
            typeof(EmbeddedKafka).Assembly.GetExportedTypes().Select(t => t.Name).Order());
        // what NuGet resolved for this project: compile against the fixture's reference assembly only
        var assets = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "obj", "project.assets.json")));
        var package = assets.RootElement.GetProperty("targets").EnumerateObject().First().Value.EnumerateObject()
            .Single(p => p.Name.StartsWith("KafkaCompat.Testing/", StringComparison.Ordinal)).Value;
        Assert.Equal(["ref/net10.0/KafkaCompat.Testing.dll"], package.GetProperty("compile").EnumerateObject().Select(p => p.Name));
        var runtime = package.GetProperty("runtime").EnumerateObject().Select(p => Path.GetFileName(p.Name)).ToList();
        foreach (var engine in new[] { "KafkaCompat.Testing.dll", "KafkaCompat.Server.dll", "KafkaCompat.Broker.dll", "KafkaCompat.Storage.dll", "KafkaCompat.Protocol.dll", "KafkaCompat.Records.dll" })
            Assert.Contains(engine, runtime);
    }
}
