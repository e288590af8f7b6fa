using System.Buffers.Binary;
using System.Text;

namespace KafkaCompat.Protocol;

/// <summary>Thrown once when a message is malformed or ends early. The connection that sent it is closed.</summary>
public sealed class ProtocolException(string message) : Exception(message);

/// <summary>
/// Reads Kafka primitive types from a contiguous buffer. Records and bytes fields are returned as slices of the
/// backing memory, never copied. Reading past the end throws <see cref="ProtocolException"/>.
/// </summary>
public ref struct KafkaReader
{
    private readonly ReadOnlyMemory<byte> _memory;
    private readonly ReadOnlySpan<byte> _span;
    private int _pos;

    public KafkaReader(ReadOnlyMemory<byte> memory)
    {
        _memory = memory;
        _span = memory.Span;
        _pos = 0;
    }

    public readonly int Position => _pos;
    public readonly int Remaining => _span.Length - _pos;
    public readonly bool End => _pos >= _span.Length;

    private ReadOnlySpan<byte> Take(int n)
    {
        if (n < 0 || n > _span.Length - _pos)
            throw new ProtocolException($"message truncated: needed {n} bytes at offset {_pos}, {_span.Length - _pos} left");
        var s = _span.Slice(_pos, n);
        _pos += n;
        return s;
    }

    private ReadOnlyMemory<byte> TakeMemory(int n)
    {
        if (n < 0 || n > _span.Length - _pos)
            throw new ProtocolException($"message truncated: needed {n} bytes at offset {_pos}, {_span.Length - _pos} left");
        var s = _memory.Slice(_pos, n);
        _pos += n;
        return s;
    }

    public sbyte ReadInt8() => (sbyte)Take(1)[0];
    public bool ReadBool() => Take(1)[0] != 0;
    public short ReadInt16() => BinaryPrimitives.ReadInt16BigEndian(Take(2));
    public ushort ReadUInt16() => BinaryPrimitives.ReadUInt16BigEndian(Take(2));
    public int ReadInt32() => BinaryPrimitives.ReadInt32BigEndian(Take(4));
    public uint ReadUInt32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));
    public long ReadInt64() => BinaryPrimitives.ReadInt64BigEndian(Take(8));
    public double ReadFloat64() => BinaryPrimitives.ReadDoubleBigEndian(Take(8));
    public Guid ReadUuid() => new(Take(16), bigEndian: true);

    public uint ReadUnsignedVarInt()
    {
        uint value = 0;
        for (int shift = 0; shift < 35; shift += 7)
        {
            byte b = Take(1)[0];
            value |= (uint)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return value;
        }
        throw new ProtocolException("unsigned varint longer than 5 bytes");
    }

    public ulong ReadUnsignedVarLong()
    {
        ulong value = 0;
        for (int shift = 0; shift < 70; shift += 7)
        {
            byte b = Take(1)[0];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return value;
        }
        throw new ProtocolException("unsigned varlong longer than 10 bytes");
    }

    public int ReadVarInt()
    {
        uint v = ReadUnsignedVarInt();
        return (int)(v >> 1) ^ -(int)(v & 1);
    }

    public long ReadVarLong()
    {
        ulong v = ReadUnsignedVarLong();
        return (long)(v >> 1) ^ -(long)(v & 1);
    }

    /// <summary>Length prefix of a string/bytes/array: -1 means null.</summary>
    private int ReadLength(bool compact, bool int16Length)
    {
        if (compact)
        {
            uint n = ReadUnsignedVarInt();
            if (n > int.MaxValue) throw new ProtocolException("compact length out of range");
            return (int)n - 1;
        }
        int len = int16Length ? ReadInt16() : ReadInt32();
        if (len < -1) throw new ProtocolException($"negative length {len}");
        return len;
    }

    public string? ReadNullableString(bool compact)
    {
        int len = ReadLength(compact, int16Length: true);
        if (len < 0) return null;
        return StringCache.Get(Take(len));
    }

    public string ReadString(bool compact) =>
        ReadNullableString(compact) ?? throw new ProtocolException("null value for a non-nullable string");

    public ReadOnlyMemory<byte>? ReadNullableBytes(bool compact)
    {
        int len = ReadLength(compact, int16Length: false);
        if (len < 0) return null;
        return TakeMemory(len);
    }

    public ReadOnlyMemory<byte> ReadBytes(bool compact) =>
        ReadNullableBytes(compact) ?? throw new ProtocolException("null value for non-nullable bytes");

    /// <summary>Array element count, -1 for null. Bounded by the bytes left so a hostile count cannot allocate.</summary>
    public int ReadArrayLength(bool compact)
    {
        int len = ReadLength(compact, int16Length: false);
        if (len > Remaining) throw new ProtocolException($"array length {len} exceeds the {Remaining} bytes left");
        return len;
    }

    /// <summary>Skips a tagged-field section, handing each known tag to <paramref name="onTag"/>.</summary>
    public int ReadTagCount()
    {
        uint n = ReadUnsignedVarInt();
        if (n > (uint)Remaining) throw new ProtocolException("tagged field count exceeds the message");
        return (int)n;
    }

    public ReadOnlyMemory<byte> ReadRaw(int length) => TakeMemory(length);

    public void Skip(int length) => Take(length);
}
