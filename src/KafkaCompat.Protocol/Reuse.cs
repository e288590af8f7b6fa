namespace KafkaCompat.Protocol;

/// <summary>Receives the error codes a message carries (<c>VisitErrors</c> of every generated message: each error field
/// that is not NONE, in lists and structs too).</summary>
public interface IErrorVisitor
{
    void Error(ErrorCode code);
}

/// <summary>A generated message that can be set back to what a new one has, to be filled again.</summary>
public interface IResettable
{
    /// <summary>Sets every field back to what a new message has. Lists are emptied, unless <paramref name="keepLists"/>
    /// (then the caller refills every list it keeps with <see cref="Reuse.Next{T}"/> and <see cref="Reuse.Trim{T}"/>).</summary>
    void Reset(bool keepLists = false);
}

/// <summary>Helpers of code that reads or builds a message into an object used before (a connection's last request or
/// response of the same API), so that the same shape again allocates nothing.</summary>
public static class Reuse
{
    /// <summary>The list emptied, or a new one when there was none.</summary>
    public static List<T> Emptied<T>(List<T>? list)
    {
        if (list is null) return new();
        list.Clear();
        return list;
    }

    /// <summary>The list's element at <paramref name="used"/> (one used before, not reset) or a new one added; counts it.</summary>
    public static T Next<T>(List<T> list, ref int used) where T : class, new()
    {
        if (used < list.Count) return list[used++];
        var e = new T();
        list.Add(e);
        used++;
        return e;
    }

    /// <summary>Drops the elements past the first <paramref name="used"/>.</summary>
    public static void Trim<T>(List<T> list, int used)
    {
        if (list.Count > used) list.RemoveRange(used, list.Count - used);
    }
}
