using KafkaCompat.Fuzzing;

// kafkacompat-fuzz                 one input per run from AFL++ (persistent mode through SharpFuzz)
// kafkacompat-fuzz FILE|DIR ...    runs the given inputs once and reports the ones that fail (triage, minimised crashes)
// kafkacompat-fuzz --write-handshake-seeds DIR    writes the handshake target's seeds
// KAFKACOMPAT_FUZZ_TARGET=handshakes picks the SASL and TLS handshakes instead of the request frames.
Action<ReadOnlyMemory<byte>> target = Environment.GetEnvironmentVariable("KAFKACOMPAT_FUZZ_TARGET") == "handshakes"
    ? HandshakeFuzzTarget.Run
    : FrameFuzzTarget.Run;
if (args.Length == 2 && args[0] == "--write-handshake-seeds")
{
    Directory.CreateDirectory(args[1]);
    foreach (var (name, input) in HandshakeFuzzTarget.Seeds()) File.WriteAllBytes(Path.Combine(args[1], name + ".bin"), input);
    return 0;
}
if (args.Length == 0)
{
    SharpFuzz.Fuzzer.OutOfProcess.Run(stream =>
    {
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        target(copy.ToArray());
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
            target(File.ReadAllBytes(file));
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
