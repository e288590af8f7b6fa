using KafkaCompat.Protocol.Generator;

// usage: KafkaCompat.Protocol.Generator [SPEC_DIR] [OUTPUT_DIR]
string root = FindRepoRoot();
string specDir = args.Length > 0 ? args[0] : Path.Combine(root, "protocol-specs");
string outDir = args.Length > 1 ? args[1] : Path.Combine(root, "src", "KafkaCompat.Protocol", "Generated");
Directory.CreateDirectory(outDir);
int count = 0;
foreach (var (fileName, code) in CodeGenerator.GenerateAll(specDir))
{
    File.WriteAllText(Path.Combine(outDir, fileName), code);
    count++;
}
Console.WriteLine($"generated {count} files into {outDir}");

static string FindRepoRoot()
{
    var dir = new DirectoryInfo(AppContext.BaseDirectory);
    while (dir != null && !File.Exists(Path.Combine(dir.FullName, "KafkaCompat.sln"))) dir = dir.Parent;
    return dir?.FullName ?? Directory.GetCurrentDirectory();
}
