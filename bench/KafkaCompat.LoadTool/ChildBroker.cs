using System.Collections.Concurrent;
using System.Diagnostics;

namespace KafkaCompat.LoadTool;

/// <summary>
/// A broker run as a child process: started, considered ready when its readiness line appears on stdout,
/// its output copied to a log file, stopped with SIGTERM (then SIGKILL after 10 s).
/// </summary>
internal sealed class ChildBroker : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Task _stdout, _stderr;
    private readonly ConcurrentQueue<string> _stderrLines = new();

    public string Name { get; }
    public int Pid { get; }
    public string Bootstrap { get; }
    /// <summary>From just before the exec to the moment the readiness line was read.</summary>
    public TimeSpan StartupTime { get; }
    public string LogPath { get; }
    public int? ExitCode { get; private set; }
    public bool HasExited => _process.HasExited;
    public IEnumerable<string> StderrLines => _stderrLines;

    private ChildBroker(string name, Process process, string bootstrap, TimeSpan startup, StreamWriter log, string logPath, Task stdout, Task stderr, ConcurrentQueue<string> stderrLines)
    {
        Name = name;
        _process = process;
        Pid = process.Id;
        Bootstrap = bootstrap;
        StartupTime = startup;
        _log = log;
        LogPath = logPath;
        _stdout = stdout;
        _stderr = stderr;
        _stderrLines = stderrLines;
    }

    /// <param name="ready">Given each stdout line; returns the bootstrap address once the broker is ready.</param>
    public static async Task<ChildBroker> StartAsync(string name, string fileName, IEnumerable<string> args, Func<string, string?> ready, string logPath, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var argv = args.ToList();
        // `dotnet kafkacompat.dll ...`, or the native (Native AOT) kafkacompat executable run by itself
        if (fileName == "dotnet" && argv.Count > 0 && !argv[0].EndsWith(".dll", StringComparison.Ordinal) && File.Exists(argv[0]))
        {
            fileName = argv[0];
            argv.RemoveAt(0);
        }
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        foreach (var a in argv) psi.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        var logLock = new object();
        void Log(string stream, string line)
        {
            lock (logLock) log.WriteLine($"{DateTime.Now:HH:mm:ss.fff} [{stream}] {line}");
        }

        var readyTcs = new TaskCompletionSource<(string Bootstrap, long Ticks)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var stderrLines = new ConcurrentQueue<string>();
        long startTicks = Stopwatch.GetTimestamp();
        var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {fileName}");

        var stdout = Task.Run(async () =>
        {
            string? line;
            while ((line = await process.StandardOutput.ReadLineAsync().ConfigureAwait(false)) != null)
            {
                long now = Stopwatch.GetTimestamp();
                if (!readyTcs.Task.IsCompleted && ready(line) is { } bootstrap) readyTcs.TrySetResult((bootstrap, now));
                Log("out", line);
            }
            readyTcs.TrySetException(new InvalidOperationException($"{name} closed its stdout before it was ready"));
        });
        var stderr = Task.Run(async () =>
        {
            string? line;
            while ((line = await process.StandardError.ReadLineAsync().ConfigureAwait(false)) != null)
            {
                stderrLines.Enqueue(line);
                Log("err", line);
            }
        });

        try
        {
            var (bootstrap, readyTicks) = await readyTcs.Task.WaitAsync(timeout).ConfigureAwait(false);
            return new ChildBroker(name, process, bootstrap, Stopwatch.GetElapsedTime(startTicks, readyTicks), log, logPath, stdout, stderr, stderrLines);
        }
        catch
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            log.Dispose();
            throw new InvalidOperationException($"{name} did not become ready within {timeout.TotalSeconds:0} s; " +
                $"exit code {(process.HasExited ? process.ExitCode.ToString() : "-")}; stderr: {string.Join(" | ", stderrLines.Take(5))}; log {logPath}");
        }
    }

    public CpuTimes Cpu() => ProcFs.Cpu(Pid);
    public double RssMiB() => ProcFs.StatusMiB(Pid, "VmRSS");
    public double PeakRssMiB() => ProcFs.StatusMiB(Pid, "VmHWM");
    public double AnonMiB() => ProcFs.StatusMiB(Pid, "RssAnon");

    /// <summary>SIGTERM, then SIGKILL if it has not exited after 10 s. Returns how long the stop took.</summary>
    public async Task<TimeSpan> StopAsync()
    {
        var sw = Stopwatch.StartNew();
        if (!_process.HasExited)
        {
            ProcFs.Terminate(Pid);
            try
            {
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                Console.Error.WriteLine($"  ! {Name} (pid {Pid}) did not exit 10 s after SIGTERM; killing it");
                try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                await _process.WaitForExitAsync().ConfigureAwait(false);
            }
        }
        ExitCode = _process.ExitCode;
        await Task.WhenAll(_stdout, _stderr).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        return sw.Elapsed;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited) await StopAsync().ConfigureAwait(false);
        }
        finally
        {
            _log.Dispose();
            _process.Dispose();
        }
    }
}
