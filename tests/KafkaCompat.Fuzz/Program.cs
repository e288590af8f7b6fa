using KafkaCompat.Fuzzing;

// kafkacompat-fuzz                 one input per run from AFL++ (persistent mode through SharpFuzz)
// kafkacompat-fuzz FILE|DIR ...    runs the given inputs once and reports the ones that fail (triage, minimised crashes)
if (args.Length == 0)
{
    SharpFuzz.Fuzzer.OutOfProcess.Run(stream =>
    {
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        FrameFuzzTarget.Run(copy.ToArray());
    });
    return 0;
}

int failed = 0, ran = 0;
foreach (var arg in args)
{
    var files = Directory.Exists(arg) ? Directory.GetFiles(arg).Where(f => !Path.GetFileName(f).StartsWith('.') && !f.EndsWith(".md", StringComparison.Ordinal)) : [arg];
    foreach (var file in files.Order(StringComparer.Ordinal))
    {
        ran++;
        try
        {
            FrameFuzzTarget.Run(File.ReadAllBytes(file));
        }
        catch (Exception e)
        {
            failed++;
            Console.WriteLine($"{file}: {e.GetType().Name}: {e.Message}");
            Console.WriteLine(e.StackTrace);
        }
    }
}
Console.WriteLine($"{ran} inputs, {failed} failed");
return failed == 0 ? 0 : 1;
