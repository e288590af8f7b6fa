using System.Runtime.InteropServices;

namespace KafkaCompat.Server;

/// <summary>
/// The process's descriptor limit (RLIMIT_NOFILE, what <c>ulimit -n</c> sets). Reaching it is fatal for a .NET
/// process, not only for the request that needed a descriptor: the runtime needs one to start a thread, and when
/// it cannot, it prints "Out of memory." and aborts. So connections may only use what the limit leaves after the
/// descriptors open at start-up and a reserve for the log's short-lived file handles (segment rolls, snapshots,
/// syncs) and the runtime: an eighth of the limit, at least 64.
/// </summary>
public static partial class DescriptorLimit
{
    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Max;
    }

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRLimit(int resource, out RLimit limit);

    private const int RlimitNofile = 7;

    /// <summary>The soft limit, or long.MaxValue when it cannot be read or is unlimited.</summary>
    public static long Soft { get; } = ReadSoft();

    /// <summary>Descriptors open now (/proc/self/fd).</summary>
    public static int OpenNow()
    {
        try { return Directory.GetFileSystemEntries("/proc/self/fd").Length; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return 0; }
    }

    /// <summary>Connections the limit leaves room for (int.MaxValue when it is far away).</summary>
    public static int ConnectionsAllowed
    {
        get
        {
            if (Soft >= int.MaxValue / 2) return int.MaxValue;
            long reserve = Math.Max(64, Soft / 8);
            return (int)Math.Max(1, Soft - OpenNow() - reserve);
        }
    }

    private static long ReadSoft()
    {
        try
        {
            if (GetRLimit(RlimitNofile, out var l) != 0) return long.MaxValue;
            return l.Current >= long.MaxValue ? long.MaxValue : (long)l.Current;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return long.MaxValue;
        }
    }
}
