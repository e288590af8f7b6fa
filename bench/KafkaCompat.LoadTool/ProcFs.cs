using System.Globalization;
using System.Runtime.InteropServices;

namespace KafkaCompat.LoadTool;

internal readonly record struct CpuTimes(double User, double System)
{
    public double Total => User + System;
    public static CpuTimes operator -(CpuTimes a, CpuTimes b) => new(a.User - b.User, a.System - b.System);
}

/// <summary>Linux /proc readings of another process: CPU time and memory.</summary>
internal static partial class ProcFs
{
    private const int ScClkTck = 2; // _SC_CLK_TCK on Linux

    [LibraryImport("libc", EntryPoint = "sysconf")]
    private static partial long SysConf(int name);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int sig);

    public static readonly long ClockTicks = ReadClockTicks();

    private static long ReadClockTicks()
    {
        try
        {
            long t = SysConf(ScClkTck);
            return t > 0 ? t : 100;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return 100;
        }
    }

    /// <summary>utime and stime of the process, in seconds (/proc/PID/stat fields 14 and 15).</summary>
    public static CpuTimes Cpu(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        // the command name (field 2) is in parentheses and may contain spaces: split after the last ')'
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // fields[0] is field 3 (state), so field N is fields[N - 3]
        long utime = long.Parse(fields[14 - 3], CultureInfo.InvariantCulture);
        long stime = long.Parse(fields[15 - 3], CultureInfo.InvariantCulture);
        return new CpuTimes((double)utime / ClockTicks, (double)stime / ClockTicks);
    }

    /// <summary>Major page faults of the process so far (/proc/PID/stat field 12): reads that had to go to the disk.</summary>
    public static long MajorFaults(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[12 - 3], CultureInfo.InvariantCulture);
    }

    /// <summary>A "kB" line of /proc/PID/status (VmRSS, VmHWM, ...), in MiB; NaN if absent.</summary>
    public static double StatusMiB(int pid, string key)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (!line.StartsWith(key + ":", StringComparison.Ordinal)) continue;
            var parts = line[(key.Length + 1)..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return long.Parse(parts[0], CultureInfo.InvariantCulture) / 1024.0;
        }
        return double.NaN;
    }

    public static bool Terminate(int pid) => Kill(pid, 15) == 0;
}
