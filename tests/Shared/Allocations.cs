namespace KafkaCompat.TestSupport;

/// <summary>Bytes a call allocates, from the runtime's per-thread allocation counter (deterministic, not a timing):
/// averaged over many calls after a warm-up, for the allocation budgets of the hot paths.</summary>
internal static class Allocations
{
    public static long BytesPerCall(Action call, int calls = 2000)
    {
        for (int i = 0; i < 300; i++) call();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < calls; i++) call();
        return (GC.GetAllocatedBytesForCurrentThread() - before) / calls;
    }
}
