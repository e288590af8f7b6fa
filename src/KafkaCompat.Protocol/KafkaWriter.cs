using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace KafkaCompat.Protocol;

/// <summary>
/// Writes Kafka primitive types. Small values go into pooled buffers; large records/bytes payloads are kept as
/// references to the caller's memory (for example a slice of a memory-mapped segment) and are only copied when
/// the finished message is sent. Leases registered with <see cref="AddLease"/> are released on Dispose, after
/// the bytes have been copied out.
/// </summary>
public sealed class KafkaWriter : IBufferWriter<byte>, IDisposable
{
    private const int ChunkSize = 4096;
    private const int ReferenceThreshold = 1024;

    private readonly List<ReadOnlyMemory<byte>> _done = new();
    private readonly List<byte[]> _rented = new();
    private List<IDisposable>? _leases;
    private byte[] _current;
    private int _currentStart;
    private int _currentPos;

    public KafkaWriter()
    {
        _current = ArrayPool<byte>.Shared.Rent(ChunkSize);
        _rented.Add(_current);
    }

    // two spare writers per thread (a tagged field's body is written while its response is), taken by Rent and given
    // back by Dispose with their first chunk: a response is written without allocating one
    [ThreadStatic] private static KafkaWriter? t_spare;
    [ThreadStatic] private static KafkaWriter? t_spare2;
    private bool _spare;
    private bool _free; // in a thread's spare slot: a second Dispose does nothing

    /// <summary>An empty writer: one of this thread's spares when one is free, else a new one. Dispose gives it back.</summary>
    public static KafkaWriter Rent()
    {
        var w = t_spare;
        if (w is not null) t_spare = null;
        else if ((w = t_spare2) is not null) t_spare2 = null;
        else return new KafkaWriter { _spare = true };
        w._free = false;
        return w;
    }

    /// <summary>Total bytes written so far.</summary>
    public int Length { get; private set; }

    public void AddLease(IDisposable lease) => (_leases ??= new()).Add(lease);

    public void Advance(int count)
    {
        _currentPos += count;
        Length += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(Math.Max(sizeHint, 1));
        return _current.AsMemory(_currentPos);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(Math.Max(sizeHint, 1));
        return _current.AsSpan(_currentPos);
    }

    private void Ensure(int n)
    {
        if (_current.Length - _currentPos >= n) return;
        SealCurrent();
        _current = ArrayPool<byte>.Shared.Rent(Math.Max(n, ChunkSize));
        _rented.Add(_current);
        _currentStart = 0;
        _currentPos = 0;
    }

    private void SealCurrent()
    {
        if (_currentPos > _currentStart)
            _done.Add(_current.AsMemory(_currentStart, _currentPos - _currentStart));
        _currentStart = _currentPos;
    }

    /// <summary>The written bytes, in order, as segments (a span: walking it allocates no enumerator).</summary>
    public ReadOnlySpan<ReadOnlyMemory<byte>> Segments
    {
        get
        {
            SealCurrent();
            return System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_done);
        }
    }

    public byte[] ToArray()
    {
        var result = new byte[Length];
        int at = 0;
        foreach (var s in Segments)
        {
            s.Span.CopyTo(result.AsSpan(at));
            at += s.Length;
        }
        return result;
    }

    public void CopyTo(IBufferWriter<byte> target)
    {
        foreach (var s in Segments) target.Write(s.Span);
    }

    public void Dispose()
    {
        if (_free) return;
        if (_leases != null)
        {
            foreach (var l in _leases) l.Dispose();
            _leases.Clear();
        }
        _done.Clear();
        if (_spare && (t_spare is null || t_spare2 is null) && _rented.Count > 0)
        {
            // back to this thread's spare slot with its first chunk, emptied
            for (int i = 1; i < _rented.Count; i++) ArrayPool<byte>.Shared.Return(_rented[i]);
            _current = _rented[0];
            _rented.RemoveRange(1, _rented.Count - 1);
            _currentStart = _currentPos = 0;
            Length = 0;
            _free = true;
            if (t_spare is null) t_spare = this;
            else t_spare2 = this;
            return;
        }
        foreach (var a in _rented) ArrayPool<byte>.Shared.Return(a);
        _rented.Clear();
    }

    public void WriteInt8(sbyte v) { GetSpan(1)[0] = (byte)v; Advance(1); }
    public void WriteBool(bool v) { GetSpan(1)[0] = v ? (byte)1 : (byte)0; Advance(1); }
    public void WriteInt16(short v) { BinaryPrimitives.WriteInt16BigEndian(GetSpan(2), v); Advance(2); }
    public void WriteUInt16(ushort v) { BinaryPrimitives.WriteUInt16BigEndian(GetSpan(2), v); Advance(2); }
    public void WriteInt32(int v) { BinaryPrimitives.WriteInt32BigEndian(GetSpan(4), v); Advance(4); }
    public void WriteUInt32(uint v) { BinaryPrimitives.WriteUInt32BigEndian(GetSpan(4), v); Advance(4); }
    public void WriteInt64(long v) { BinaryPrimitives.WriteInt64BigEndian(GetSpan(8), v); Advance(8); }
    public void WriteFloat64(double v) { BinaryPrimitives.WriteDoubleBigEndian(GetSpan(8), v); Advance(8); }

    public void WriteUuid(Guid v)
    {
        v.TryWriteBytes(GetSpan(16), bigEndian: true, out _);
        Advance(16);
    }

    public void WriteUnsignedVarInt(uint v)
    {
        var span = GetSpan(5);
        int i = 0;
        while (v >= 0x80)
        {
            span[i++] = (byte)(v | 0x80);
            v >>= 7;
        }
        span[i++] = (byte)v;
        Advance(i);
    }

    public void WriteUnsignedVarLong(ulong v)
    {
        var span = GetSpan(10);
        int i = 0;
        while (v >= 0x80)
        {
            span[i++] = (byte)(v | 0x80);
            v >>= 7;
        }
        span[i++] = (byte)v;
        Advance(i);
    }

    public void WriteVarInt(int v) => WriteUnsignedVarInt((uint)((v << 1) ^ (v >> 31)));
    public void WriteVarLong(long v) => WriteUnsignedVarLong((ulong)((v << 1) ^ (v >> 63)));

    private void WriteLength(int len, bool compact, bool int16Length)
    {
        if (compact) WriteUnsignedVarInt((uint)(len + 1));
        else if (int16Length) WriteInt16((short)len);
        else WriteInt32(len);
    }

    public void WriteNullableString(string? s, bool compact)
    {
        if (s is null)
        {
            WriteLength(-1, compact, int16Length: true);
            return;
        }
        int n = Encoding.UTF8.GetByteCount(s);
        if (n > short.MaxValue) throw new ArgumentException("string longer than 32767 bytes");
        WriteLength(n, compact, int16Length: true);
        Encoding.UTF8.GetBytes(s, GetSpan(n));
        Advance(n);
    }

    public void WriteString(string s, bool compact) => WriteNullableString(s ?? throw new ArgumentNullException(nameof(s)), compact);

    public void WriteNullableBytes(ReadOnlyMemory<byte>? b, bool compact)
    {
        if (b is null)
        {
            WriteLength(-1, compact, int16Length: false);
            return;
        }
        WriteLength(b.Value.Length, compact, int16Length: false);
        WriteRaw(b.Value);
    }

    public void WriteBytes(ReadOnlyMemory<byte> b, bool compact) => WriteNullableBytes(b, compact);

    /// <summary>Appends bytes; large payloads are referenced, not copied.</summary>
    public void WriteRaw(ReadOnlyMemory<byte> b)
    {
        if (b.Length >= ReferenceThreshold)
        {
            SealCurrent();
            _done.Add(b);
            Length += b.Length;
            return;
        }
        b.Span.CopyTo(GetSpan(b.Length));
        Advance(b.Length);
    }

    public void WriteArrayLength(int count, bool compact) => WriteLength(count, compact, int16Length: false);

    /// <summary>Writes one tagged field whose body is produced by <paramref name="body"/>.</summary>
    public void WriteTaggedField(int tag, Action<KafkaWriter> body)
    {
        using var tmp = Rent();
        body(tmp);
        WriteTaggedField(tag, tmp);
    }

    /// <summary>Writes one tagged field whose body was written into <paramref name="body"/>.</summary>
    public void WriteTaggedField(int tag, KafkaWriter body)
    {
        WriteUnsignedVarInt((uint)tag);
        WriteUnsignedVarInt((uint)body.Length);
        foreach (var s in body.Segments)
        {
            s.Span.CopyTo(GetSpan(s.Length));
            Advance(s.Length);
        }
    }
}
