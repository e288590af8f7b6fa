using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;

namespace KafkaCompat.Records;

/// <summary>
/// The four Kafka codecs for batch bodies, for the places that must look inside or rewrite a batch (timestamp
/// lookups, compaction, tools). The produce and fetch paths never decompress: batches are stored and served as the
/// producer sent them. gzip comes with .NET; lz4 (frame format) and zstd use the system liblz4 and libzstd; snappy
/// uses IronSnappy with Kafka's (xerial) framing, and also reads the unframed snappy some clients send.
/// </summary>
public static class RecordCompression
{
    /// <summary>Upper bound on a decompressed body, so a hostile batch cannot exhaust memory.</summary>
    public const int MaxDecompressedBytes = 256 << 20;

    public static ReadOnlyMemory<byte> Decompress(CompressionType type, ReadOnlyMemory<byte> body) => type switch
    {
        CompressionType.None => body,
        CompressionType.Gzip => GzipDecompress(body),
        CompressionType.Snappy => SnappyCodec.Decompress(body.Span),
        CompressionType.Lz4 => Lz4Codec.Decompress(body.Span),
        CompressionType.Zstd => ZstdCodec.Decompress(body.Span),
        _ => throw new InvalidDataException($"unknown compression codec {(int)type}"),
    };

    public static byte[] Compress(CompressionType type, ReadOnlySpan<byte> data) => type switch
    {
        CompressionType.None => data.ToArray(),
        CompressionType.Gzip => GzipCompress(data),
        CompressionType.Snappy => SnappyCodec.Compress(data),
        CompressionType.Lz4 => Lz4Codec.Compress(data),
        CompressionType.Zstd => ZstdCodec.Compress(data),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>True when this process can decode the codec (lz4 and zstd need the system libraries).</summary>
    public static bool CanDecompress(CompressionType type) => type switch
    {
        CompressionType.None or CompressionType.Gzip or CompressionType.Snappy => true,
        CompressionType.Lz4 => Lz4Codec.Available,
        CompressionType.Zstd => ZstdCodec.Available,
        _ => false,
    };

    private static byte[] GzipDecompress(ReadOnlyMemory<byte> body)
    {
        using var input = new MemoryStream(body.ToArray(), writable: false);
        using var gz = new GZipStream(input, CompressionMode.Decompress);
        return ReadBounded(gz);
    }

    private static byte[] GzipCompress(ReadOnlySpan<byte> data)
    {
        using var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(data);
        return output.ToArray();
    }

    internal static byte[] ReadBounded(Stream s)
    {
        using var output = new MemoryStream();
        var buf = new byte[81920];
        int n;
        while ((n = s.Read(buf)) > 0)
        {
            if (output.Length + n > MaxDecompressedBytes) throw new InvalidDataException($"decompressed batch exceeds {MaxDecompressedBytes} bytes");
            output.Write(buf, 0, n);
        }
        return output.ToArray();
    }
}

/// <summary>Snappy with the xerial framing Kafka's Java client writes: a 16-byte header, then length-prefixed blocks.</summary>
internal static class SnappyCodec
{
    private static ReadOnlySpan<byte> Magic => [0x82, (byte)'S', (byte)'N', (byte)'A', (byte)'P', (byte)'P', (byte)'Y', 0];
    private const int BlockSize = 32 * 1024;

    public static byte[] Decompress(ReadOnlySpan<byte> src)
    {
        if (!src.StartsWith(Magic)) return Block(src); // unframed snappy (librdkafka)
        if (src.Length < 16) throw new InvalidDataException("truncated snappy header");
        using var output = new MemoryStream();
        for (int pos = 16; pos < src.Length;)
        {
            if (pos + 4 > src.Length) throw new InvalidDataException("truncated snappy block length");
            int len = BinaryPrimitives.ReadInt32BigEndian(src[pos..]);
            pos += 4;
            // compared without adding: pos + len overflows for a length near int.MaxValue (found by the fuzzer)
            if (len < 0 || len > src.Length - pos) throw new InvalidDataException("snappy block length out of range");
            var block = Block(src.Slice(pos, len));
            if (output.Length + block.Length > RecordCompression.MaxDecompressedBytes) throw new InvalidDataException("decompressed batch too large");
            output.Write(block);
            pos += len;
        }
        return output.ToArray();
    }

    private static byte[] Block(ReadOnlySpan<byte> block)
    {
        // the block opens with its decoded length (a varint): refuse before the decoder allocates it
        ulong length = 0;
        for (int i = 0, shift = 0; i < Math.Min(block.Length, 5); i++, shift += 7)
        {
            length |= (ulong)(block[i] & 0x7f) << shift;
            if ((block[i] & 0x80) == 0) break;
        }
        if (length > RecordCompression.MaxDecompressedBytes) throw new InvalidDataException($"snappy block claims {length} bytes, more than {RecordCompression.MaxDecompressedBytes}");
        try
        {
            return IronSnappy.Snappy.Decode(block);
        }
        catch (Exception e) when (e is not InvalidDataException and not OutOfMemoryException)
        {
            throw new InvalidDataException("corrupt snappy data: " + e.Message, e);
        }
    }

    public static byte[] Compress(ReadOnlySpan<byte> data)
    {
        using var output = new MemoryStream();
        output.Write(Magic);
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, 1);
        output.Write(word); // version
        output.Write(word); // compatible version
        for (int pos = 0; pos < data.Length; pos += BlockSize)
        {
            var block = IronSnappy.Snappy.Encode(data.Slice(pos, Math.Min(BlockSize, data.Length - pos)));
            BinaryPrimitives.WriteInt32BigEndian(word, block.Length);
            output.Write(word);
            output.Write(block);
        }
        return output.ToArray();
    }
}

/// <summary>LZ4 frame format through the system liblz4 (independent 64 KiB blocks, as Kafka's Java client writes).</summary>
internal static unsafe partial class Lz4Codec
{
    private const string Lib = "liblz4.so.1";
    private const uint Version = 100;

    [StructLayout(LayoutKind.Sequential)]
    private struct Preferences
    {
        public int BlockSizeId;        // 4 = 64 KiB
        public int BlockMode;          // 1 = independent
        public int ContentChecksum;
        public int FrameType;
        public ulong ContentSize;
        public uint DictId;
        public int BlockChecksum;
        public int CompressionLevel;
        public uint AutoFlush;
        public uint FavorDecSpeed;
        public uint Reserved0, Reserved1, Reserved2;
    }

    [LibraryImport(Lib)] private static partial nuint LZ4F_createDecompressionContext(out nint ctx, uint version);
    [LibraryImport(Lib)] private static partial nuint LZ4F_freeDecompressionContext(nint ctx);
    [LibraryImport(Lib)] private static partial nuint LZ4F_decompress(nint ctx, byte* dst, ref nuint dstSize, byte* src, ref nuint srcSize, nint options);
    [LibraryImport(Lib)] private static partial uint LZ4F_isError(nuint code);
    [LibraryImport(Lib)] private static partial nint LZ4F_getErrorName(nuint code);
    [LibraryImport(Lib)] private static partial nuint LZ4F_compressFrameBound(nuint srcSize, Preferences* prefs);
    [LibraryImport(Lib)] private static partial nuint LZ4F_compressFrame(byte* dst, nuint dstCapacity, byte* src, nuint srcSize, Preferences* prefs);

    public static bool Available { get; } = NativeLibrary.TryLoad(Lib, out _);

    private static string Error(nuint code) => Marshal.PtrToStringAnsi(LZ4F_getErrorName(code)) ?? "lz4 error";

    public static byte[] Decompress(ReadOnlySpan<byte> src)
    {
        if (!Available) throw new NotSupportedException("lz4 needs the system liblz4 (Debian: liblz4-1)");
        var rc = LZ4F_createDecompressionContext(out var ctx, Version);
        if (LZ4F_isError(rc) != 0) throw new InvalidOperationException(Error(rc));
        try
        {
            using var output = new MemoryStream(Math.Max(src.Length * 4, 1024));
            var buf = new byte[128 * 1024];
            fixed (byte* s = src)
            fixed (byte* d = buf)
            {
                int pos = 0;
                while (true)
                {
                    nuint inSize = (nuint)(src.Length - pos), outSize = (nuint)buf.Length;
                    nuint hint = LZ4F_decompress(ctx, d, ref outSize, s + pos, ref inSize, 0);
                    if (LZ4F_isError(hint) != 0) throw new InvalidDataException("corrupt lz4 data: " + Error(hint));
                    pos += (int)inSize;
                    if (output.Length + (long)outSize > RecordCompression.MaxDecompressedBytes) throw new InvalidDataException("decompressed batch too large");
                    output.Write(buf, 0, (int)outSize);
                    if (hint == 0) break; // frame complete
                    if (inSize == 0 && outSize == 0) throw new InvalidDataException("truncated lz4 frame");
                }
            }
            return output.ToArray();
        }
        finally
        {
            LZ4F_freeDecompressionContext(ctx);
        }
    }

    public static byte[] Compress(ReadOnlySpan<byte> data)
    {
        if (!Available) throw new NotSupportedException("lz4 needs the system liblz4 (Debian: liblz4-1)");
        var prefs = new Preferences { BlockSizeId = 4, BlockMode = 1 };
        nuint bound = LZ4F_compressFrameBound((nuint)data.Length, &prefs);
        var dst = new byte[(int)bound];
        fixed (byte* s = data)
        fixed (byte* d = dst)
        {
            nuint n = LZ4F_compressFrame(d, bound, s, (nuint)data.Length, &prefs);
            if (LZ4F_isError(n) != 0) throw new InvalidOperationException(Error(n));
            return dst.AsSpan(0, (int)n).ToArray();
        }
    }
}

/// <summary>Zstandard through the system libzstd; decoding streams, so frames without a content size work too.</summary>
internal static unsafe partial class ZstdCodec
{
    private const string Lib = "libzstd.so.1";

    [StructLayout(LayoutKind.Sequential)]
    private struct Buffer
    {
        public byte* Ptr;
        public nuint Size;
        public nuint Pos;
    }

    [LibraryImport(Lib)] private static partial nint ZSTD_createDStream();
    [LibraryImport(Lib)] private static partial nuint ZSTD_freeDStream(nint ds);
    [LibraryImport(Lib)] private static partial nuint ZSTD_initDStream(nint ds);
    [LibraryImport(Lib)] private static partial nuint ZSTD_decompressStream(nint ds, Buffer* output, Buffer* input);
    [LibraryImport(Lib)] private static partial uint ZSTD_isError(nuint code);
    [LibraryImport(Lib)] private static partial nint ZSTD_getErrorName(nuint code);
    [LibraryImport(Lib)] private static partial nuint ZSTD_compressBound(nuint srcSize);
    [LibraryImport(Lib)] private static partial nuint ZSTD_compress(byte* dst, nuint dstCapacity, byte* src, nuint srcSize, int level);

    public static bool Available { get; } = NativeLibrary.TryLoad(Lib, out _);

    private static string Error(nuint code) => Marshal.PtrToStringAnsi(ZSTD_getErrorName(code)) ?? "zstd error";

    public static byte[] Decompress(ReadOnlySpan<byte> src)
    {
        if (!Available) throw new NotSupportedException("zstd needs the system libzstd (Debian: libzstd1)");
        var ds = ZSTD_createDStream();
        if (ds == 0) throw new OutOfMemoryException("ZSTD_createDStream");
        try
        {
            ZSTD_initDStream(ds);
            using var output = new MemoryStream(Math.Max(src.Length * 4, 1024));
            var buf = new byte[128 * 1024];
            fixed (byte* s = src)
            fixed (byte* d = buf)
            {
                var input = new Buffer { Ptr = s, Size = (nuint)src.Length, Pos = 0 };
                while (true)
                {
                    var outb = new Buffer { Ptr = d, Size = (nuint)buf.Length, Pos = 0 };
                    nuint rc = ZSTD_decompressStream(ds, &outb, &input);
                    if (ZSTD_isError(rc) != 0) throw new InvalidDataException("corrupt zstd data: " + Error(rc));
                    if (output.Length + (long)outb.Pos > RecordCompression.MaxDecompressedBytes) throw new InvalidDataException("decompressed batch too large");
                    output.Write(buf, 0, (int)outb.Pos);
                    if (input.Pos == input.Size && outb.Pos < outb.Size)
                    {
                        if (rc != 0) throw new InvalidDataException("truncated zstd frame");
                        break;
                    }
                }
            }
            return output.ToArray();
        }
        finally
        {
            ZSTD_freeDStream(ds);
        }
    }

    public static byte[] Compress(ReadOnlySpan<byte> data)
    {
        if (!Available) throw new NotSupportedException("zstd needs the system libzstd (Debian: libzstd1)");
        nuint bound = ZSTD_compressBound((nuint)data.Length);
        var dst = new byte[(int)bound];
        fixed (byte* s = data)
        fixed (byte* d = dst)
        {
            nuint n = ZSTD_compress(d, bound, s, (nuint)data.Length, 3);
            if (ZSTD_isError(n) != 0) throw new InvalidOperationException(Error(n));
            return dst.AsSpan(0, (int)n).ToArray();
        }
    }
}
