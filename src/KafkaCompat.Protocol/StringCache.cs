using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace KafkaCompat.Protocol;

/// <summary>
/// The strings a connection sends again and again (client id, topic names, group and member ids) decoded once per
/// thread: a direct-mapped table of recent short strings, found by a hash of their UTF-8 bytes and confirmed by
/// comparing every byte. A hit allocates nothing; a miss decodes as before and replaces the slot's entry. Strings are
/// immutable, so handing the same instance to several requests is safe.
/// </summary>
internal static class StringCache
{
    /// <summary>Longer strings are rare on the hot path (topic names are at most 249 bytes, most far shorter).</summary>
    public const int MaxLength = 128;
    private const int Slots = 256;

    private sealed class Entry(byte[] utf8, string value)
    {
        public readonly byte[] Utf8 = utf8;
        public readonly string Value = value;
    }

    [ThreadStatic] private static Entry?[]? t_slots;

    public static string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > MaxLength) return Encoding.UTF8.GetString(utf8);
        if (utf8.Length == 0) return string.Empty;
        var slots = t_slots ??= new Entry?[Slots];
        int slot = (int)(Hash(utf8) % Slots);
        var e = slots[slot];
        if (e != null && utf8.SequenceEqual(e.Utf8)) return e.Value;
        string s = Encoding.UTF8.GetString(utf8);
        slots[slot] = new Entry(utf8.ToArray(), s);
        return s;
    }

    private static uint Hash(ReadOnlySpan<byte> b)
    {
        uint h = (uint)b.Length * 0x9E3779B1;
        while (b.Length >= 4)
        {
            h = BitOperations.RotateLeft(h ^ BinaryPrimitives.ReadUInt32LittleEndian(b), 13) * 0x85EBCA6B;
            b = b[4..];
        }
        foreach (byte x in b) h = BitOperations.RotateLeft(h ^ x, 7) * 0xC2B2AE35;
        return h ^ (h >> 16);
    }
}
