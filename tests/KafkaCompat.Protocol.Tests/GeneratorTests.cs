using KafkaCompat.TestSupport;
using KafkaCompat.Protocol.Generator;
using Xunit;

namespace KafkaCompat.Protocol.Tests;

public class GeneratorTests
{
    [Fact]
    public void CheckedInCodecsMatchTheSpecs()
    {
        string root = RepoPaths.Root;
        var generatedDir = Path.Combine(root, "src", "KafkaCompat.Protocol", "Generated");
        var expected = CodeGenerator.GenerateAll(Path.Combine(root, "protocol-specs")).ToList();
        Assert.NotEmpty(expected);
        foreach (var (file, code) in expected)
        {
            var path = Path.Combine(generatedDir, file);
            Assert.True(File.Exists(path), $"{file} missing: run `dotnet run --project src/KafkaCompat.Protocol.Generator`");
            Assert.True(code == File.ReadAllText(path), $"{file} is stale: run `dotnet run --project src/KafkaCompat.Protocol.Generator`");
        }
        var extra = Directory.GetFiles(generatedDir, "*.g.cs").Select(Path.GetFileName).Except(expected.Select(e => e.FileName)).ToList();
        Assert.Empty(extra);
    }

    [Theory]
    [InlineData("3+", 12, 3, 12)]
    [InlineData("0-4", 12, 0, 4)]
    [InlineData("7", 12, 7, 7)]
    public void VersionRangesParse(string text, int highest, int min, int max)
    {
        var r = VersionRange.Parse(text, highest);
        Assert.Equal((min, max), (r.Min, r.Max));
        Assert.True(VersionRange.Parse("none", highest).IsEmpty);
    }
}
