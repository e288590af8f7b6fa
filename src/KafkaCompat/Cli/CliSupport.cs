using System.CommandLine;
using System.Text.Json;
using KafkaCompat.Client;
using KafkaCompat.Protocol;
using Spectre.Console;

namespace KafkaCompat.Host.Cli;

/// <summary>Exit codes the client commands return; scripts can rely on them.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>The broker answered with a Kafka error (printed by its Kafka name).</summary>
    public const int KafkaError = 1;
    /// <summary>Bad arguments or input.</summary>
    public const int Usage = 2;
    /// <summary>No broker could be reached.</summary>
    public const int Unreachable = 3;
}

/// <summary>The options every client command takes, and how results and errors are written.</summary>
public static class CliSupport
{
    public static readonly Option<string> Bootstrap = new("--bootstrap-server", "-b")
    {
        Description = "Broker to connect to, HOST:PORT[,HOST:PORT...]",
        DefaultValueFactory = _ => "localhost:9092",
        Recursive = true,
    };

    public static readonly Option<string> Output = new("--output", "-o")
    {
        Description = "table (default, for people) or json (for scripts)",
        DefaultValueFactory = _ => "table",
        Recursive = true,
    };

    public static readonly Option<string?> CommandConfig = new("--command-config")
    {
        Description = "A properties file with the client's security settings, as Kafka's tools take it: security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location, ...",
        Recursive = true,
    };

    public static bool Json(ParseResult p) => string.Equals(p.GetValue(Output), "json", StringComparison.OrdinalIgnoreCase);

    /// <summary>Runs a client command: connects, runs <paramref name="body"/>, and turns failures into a message on
    /// stderr and an exit code.</summary>
    public static async Task<int> RunAsync(ParseResult p, CancellationToken invocationCt, Func<KafkaClient, CancellationToken, Task<int>> body)
    {
        // Ctrl-C and SIGTERM (docker stop, kill) end a command the same way: its token is cancelled, so a consumer
        // commits and leaves its group and a producer sends what it has read before the process exits
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(invocationCt);
        void OnSignal(System.Runtime.InteropServices.PosixSignalContext c)
        {
            c.Cancel = true;
            stop.Cancel();
        }
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, OnSignal);
        using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, OnSignal);
        var ct = stop.Token;
        var output = p.GetValue(Output);
        if (output is not ("table" or "json"))
        {
            Console.Error.WriteLine($"--output must be table or json, not '{output}'");
            return ExitCodes.Usage;
        }
        ClientSecurity? security = null;
        if (p.GetValue(CommandConfig) is { } file)
        {
            try
            {
                security = ClientSecurity.FromFile(file);
            }
            catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
            {
                return Fail(ExitCodes.Usage, $"--command-config {file}: {e.Message}");
            }
        }
        try
        {
            await using var client = await KafkaClient.ConnectAsync(p.GetValue(Bootstrap)!, ct: ct, security: security).ConfigureAwait(false);
            return await body(client, ct).ConfigureAwait(false);
        }
        catch (KafkaErrorException e)
        {
            return Fail(ExitCodes.KafkaError, e.Message);
        }
        catch (KafkaConnectionException e)
        {
            return Fail(ExitCodes.Unreachable, e.Message);
        }
        catch (UsageException e)
        {
            return Fail(ExitCodes.Usage, e.Message);
        }
        catch (ArgumentException e)
        {
            return Fail(ExitCodes.Usage, e.Message);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return ExitCodes.Ok;
        }
        catch (IOException e) when (e.Message.Contains("Broken pipe", StringComparison.OrdinalIgnoreCase))
        {
            return ExitCodes.Ok; // the reader of our output went away (`consume ... | head`)
        }
        catch (IOException e)
        {
            return Fail(ExitCodes.Usage, e.Message);
        }
    }

    public static int Fail(int code, string message)
    {
        Console.Error.WriteLine("ERROR " + message);
        return code;
    }

    /// <summary>Throws the Kafka error of a response entry unless it is NONE.</summary>
    public static void Check(ErrorCode error, string? message, string what)
    {
        if (error != ErrorCode.None) throw new KafkaErrorException(error, message is { Length: > 0 } ? $"{what}: {message}" : what);
    }

    /// <summary>key=value pairs given on the command line.</summary>
    public static List<(string Key, string Value)> Pairs(IEnumerable<string>? items, string option)
    {
        var result = new List<(string, string)>();
        foreach (var kv in items ?? [])
        {
            int eq = kv.IndexOf('=');
            if (eq <= 0) throw new UsageException($"{option} expects key=value, got '{kv}'");
            result.Add((kv[..eq].Trim(), kv[(eq + 1)..]));
        }
        return result;
    }

    /// <summary>A time given as Unix milliseconds or ISO 8601 (UTC unless it says otherwise), in Unix milliseconds.</summary>
    public static long ParseTime(string s, string option)
    {
        if (long.TryParse(s, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out long ms)) return ms;
        if (DateTimeOffset.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var t))
            return t.ToUnixTimeMilliseconds();
        throw new UsageException($"{option}: '{s}' is neither Unix milliseconds nor an ISO 8601 time");
    }

    public static void WriteJson(Action<Utf8JsonWriter> write)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true }))
            write(w);
        stdout.Write("\n"u8);
    }

    public static Table NewTable(params string[] columns)
    {
        var t = new Table().Border(TableBorder.Rounded);
        foreach (var c in columns) t.AddColumn(new TableColumn(Markup.Escape(c)));
        return t;
    }

    public static void AddRow(Table t, params object?[] cells) =>
        t.AddRow(cells.Select(c => new Text(c?.ToString() ?? "")).ToArray<Spectre.Console.Rendering.IRenderable>());
}

/// <summary>Bad input found after parsing (e.g. a malformed key=value).</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>A one-line progress display on stderr for long runs, only when stderr is a terminal.</summary>
public sealed class Progress : IDisposable
{
    private readonly string _what;
    private readonly bool _on;
    private long _last;
    private long _count;

    private Progress(string what, bool on)
    {
        _what = what;
        _on = on;
    }

    /// <param name="quiet">No display (JSON output, or the records themselves are on the terminal).</param>
    public static Progress Start(bool quiet, string what) => new(what, !quiet && !Console.IsErrorRedirected);

    public void Report(long count)
    {
        _count = count;
        if (!_on || Environment.TickCount64 - _last < 250) return;
        _last = Environment.TickCount64;
        Console.Error.Write($"\r{_what} {count:N0} records...");
    }

    public void Dispose()
    {
        if (_on && _last != 0) Console.Error.Write($"\r{_what} {_count:N0} records   \n");
        _last = 0;
    }
}
