using System.IO.Compression;

namespace KafkaCompat.Records;

/// <summary>
/// Decompression of batch bodies for the few places that must look inside a batch (timestamp lookups, tools).
/// The produce and fetch paths never decompress: batches are stored and served as the producer sent them.
/// </summary>
public static class RecordCompression
{
    public static ReadOnlyMemory<byte> Decompress(CompressionType type, ReadOnlyMemory<byte> body)
    {
        switch (type)
        {
            case CompressionType.None:
                return body;
            case CompressionType.Gzip:
            {
                using var input = new MemoryStream(body.ToArray(), writable: false);
                using var gz = new GZipStream(input, CompressionMode.Decompress);
                using var output = new MemoryStream();
                gz.CopyTo(output);
                return output.ToArray();
            }
            default:
                throw new NotSupportedException($"decoding {type} batches is not available in this build");
        }
    }

    public static bool CanDecompress(CompressionType type) => type is CompressionType.None or CompressionType.Gzip;
}
