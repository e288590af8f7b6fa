namespace KafkaCompat.Protocol;

/// <summary>Helpers of the generated ReadInto, which reads a message into an object read before.</summary>
public static class Reuse
{
    /// <summary>The list emptied, or a new one when there was none.</summary>
    public static List<T> Emptied<T>(List<T>? list)
    {
        if (list is null) return new();
        list.Clear();
        return list;
    }
}
