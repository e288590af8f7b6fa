using System.Buffers.Binary;
using System.Runtime.Intrinsics.X86;

namespace KafkaCompat.Records;

/// <summary>CRC-32C (Castagnoli), using the SSE4.2/ARM CRC instruction when the CPU has it.</summary>
public static class Crc32C
{
    private static readonly uint[] Table = BuildTable();

    private static uint[] BuildTable()
    {
        var t = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0x82F63B78u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }

    public static uint Compute(ReadOnlySpan<byte> data) => ~Append(0xFFFFFFFFu, data);

    // The CRC instruction takes 3 cycles and depends on the previous result, so one stream of it runs at a third of
    // the rate the CPU can issue. Three independent streams over three consecutive blocks keep it busy; their states
    // are joined by linearity: for the raw state, crc(s, A||B) = shift|B|(crc(s, A)) ^ crc(0, B), where shiftN (N
    // zero bytes through the register) is a linear map of the 32-bit state, applied as four byte-indexed tables.
    private const int LongBlock = 8192, ShortBlock = 256;
    private static uint[]? s_shiftLong, s_shiftShort;

    /// <summary>Tables of shiftN for each byte of the state: T[k * 256 + b] = shiftN(b &lt;&lt; 8k). Built from the 32 basis
    /// states, each run through N zero bytes (a few thousand instructions, on first use).</summary>
    private static uint[] ShiftTable(int n)
    {
        Span<uint> basis = stackalloc uint[32];
        for (int i = 0; i < 32; i++)
        {
            ulong c = 1u << i;
            for (int j = 0; j < n; j += 8) c = Sse42.X64.Crc32(c, 0UL);
            basis[i] = (uint)c;
        }
        var t = new uint[4 * 256];
        for (int k = 0; k < 4; k++)
            for (int b = 0; b < 256; b++)
            {
                uint v = 0;
                for (int bit = 0; bit < 8; bit++)
                    if ((b >> bit & 1) != 0) v ^= basis[k * 8 + bit];
                t[k * 256 + b] = v;
            }
        return t;
    }

    private static uint Shift(uint[] t, uint crc) =>
        t[crc & 0xFF] ^ t[256 + (crc >> 8 & 0xFF)] ^ t[512 + (crc >> 16 & 0xFF)] ^ t[768 + (crc >> 24)];

    private static uint ThreeWay(uint crc, ref ReadOnlySpan<byte> data, int block, ref uint[]? table)
    {
        var t = table ??= ShiftTable(block);
        while (data.Length >= 3 * block)
        {
            ulong c0 = crc, c1 = 0, c2 = 0;
            var a = data[..block];
            var b = data.Slice(block, block);
            var c = data.Slice(2 * block, block);
            for (int i = 0; i < block; i += 8)
            {
                c0 = Sse42.X64.Crc32(c0, BinaryPrimitives.ReadUInt64LittleEndian(a[i..]));
                c1 = Sse42.X64.Crc32(c1, BinaryPrimitives.ReadUInt64LittleEndian(b[i..]));
                c2 = Sse42.X64.Crc32(c2, BinaryPrimitives.ReadUInt64LittleEndian(c[i..]));
            }
            crc = Shift(t, Shift(t, (uint)c0) ^ (uint)c1) ^ (uint)c2;
            data = data[(3 * block)..];
        }
        return crc;
    }

    /// <summary>Continues a raw (non-inverted) CRC state over more bytes.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        if (Sse42.X64.IsSupported)
        {
            if (data.Length >= 3 * LongBlock) crc = ThreeWay(crc, ref data, LongBlock, ref s_shiftLong);
            if (data.Length >= 3 * ShortBlock) crc = ThreeWay(crc, ref data, ShortBlock, ref s_shiftShort);
            ulong c = crc;
            while (data.Length >= 8)
            {
                c = Sse42.X64.Crc32(c, BinaryPrimitives.ReadUInt64LittleEndian(data));
                data = data[8..];
            }
            crc = (uint)c;
            foreach (byte b in data) crc = Sse42.Crc32(crc, b);
            return crc;
        }
        if (System.Runtime.Intrinsics.Arm.Crc32.Arm64.IsSupported)
        {
            while (data.Length >= 8)
            {
                crc = System.Runtime.Intrinsics.Arm.Crc32.Arm64.ComputeCrc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
                data = data[8..];
            }
            foreach (byte b in data) crc = System.Runtime.Intrinsics.Arm.Crc32.ComputeCrc32C(crc, b);
            return crc;
        }
        return AppendSoftware(crc, data);
    }

    public static uint AppendSoftware(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }
}
