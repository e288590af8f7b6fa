using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;
using KafkaCompat.Protocol;
using KafkaCompat.Storage;

namespace KafkaCompat.Server;

/// <summary>
/// One connection's sender of responses that hold ranges of the log (a Fetch), without copying them in this process, as
/// Kafka does: one SendPacketsAsync whose log ranges are file regions, which the runtime sends with sendfile (the kernel
/// copies from the page cache to the socket; the pages are never mapped in here). A range whose file cannot be opened
/// any more (its segment was deleted while the fetch held it) is sent from the mapping instead. Made on the
/// connection's first such response and used again for every later one: its event args, size prefix and element array
/// are not allocated per response (the runtime still makes an element per range, and its own objects per send).
/// </summary>
internal sealed class ZeroCopySender() : SocketAsyncEventArgs(unsafeSuppressExecutionContextFlow: true), IValueTaskSource
{
    /// <summary>Log ranges at least this large go to the socket by sendfile.</summary>
    public const int ZeroCopyMin = 16 << 10;

    private ManualResetValueTaskSourceCore<bool> _done;
    private readonly byte[] _prefix = new byte[4];
    private SendPacketsElement? _prefixElement;
    // the elements of the response being sent, then nulls (which SendPacketsAsync skips)
    private SendPacketsElement?[] _elements = new SendPacketsElement?[8];
    private MappedFile?[] _lent = new MappedFile?[8];

    /// <summary>Whether the response holds a range of the log large enough to go by sendfile.</summary>
    public static bool HasFileRegion(KafkaWriter w)
    {
        foreach (var seg in w.Segments)
            if (seg.Length >= ZeroCopyMin && MemoryMarshal.TryGetMemoryManager(seg, out MappedFile? _, out _, out _)) return true;
        return false;
    }

    /// <summary>Sends the size prefix and the response; the socket's earlier bytes must have been flushed.</summary>
    public async ValueTask SendAsync(Socket socket, KafkaWriter w)
    {
        var segments = w.Segments;
        if (_elements.Length < segments.Length + 1)
        {
            _elements = new SendPacketsElement?[segments.Length + 1];
            _lent = new MappedFile?[segments.Length + 1];
        }
        BinaryPrimitives.WriteInt32BigEndian(_prefix, w.Length);
        _elements[0] = _prefixElement ??= new SendPacketsElement(_prefix);
        int n = 1;
        try
        {
            foreach (var seg in segments)
            {
                if (seg.Length >= ZeroCopyMin && MemoryMarshal.TryGetMemoryManager(seg, out MappedFile? mapped, out int start, out int length)
                    && mapped!.AcquireForSending() is { } file)
                {
                    _lent[n] = mapped;
                    _elements[n++] = new SendPacketsElement(file, start, length);
                }
                else _elements[n++] = new SendPacketsElement(seg);
            }
            SendPacketsElements = _elements!;
            _done.Reset();
            if (!socket.SendPacketsAsync(this)) _done.SetResult(true);
            await new ValueTask(this, _done.Version).ConfigureAwait(false);
            if (SocketError != SocketError.Success) throw new SocketException((int)SocketError);
        }
        finally
        {
            for (int i = 0; i < n; i++)
            {
                _elements[i] = null;
                if (_lent[i] is { } f)
                {
                    f.ReleaseForSending();
                    _lent[i] = null;
                }
            }
        }
    }

    protected override void OnCompleted(SocketAsyncEventArgs e) => _done.SetResult(true);

    void IValueTaskSource.GetResult(short token) => _done.GetResult(token);
    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _done.GetStatus(token);
    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _done.OnCompleted(continuation, state, token, flags);
}
