using KafkaCompat.Protocol;
using KafkaCompat.Records;
using KafkaCompat.Storage;

namespace KafkaCompat.Broker;

/// <summary>The one mapping from what the layers below the handlers throw to the Kafka error a client gets, with the
/// message to send along. Handlers catch per partition and ask here; anything left escapes to the handler base,
/// which answers the whole request with the same mapping.</summary>
public static class ErrorMapping
{
    /// <summary>The error for <paramref name="e"/>, or null when it is not one the broker expects (a bug: UNKNOWN_SERVER_ERROR).</summary>
    public static (ErrorCode Error, string Message)? From(Exception e) => e switch
    {
        KafkaException k => (k.Error, k.Message),
        InvalidBatchException b => (b.Error is BatchError.BadCrc or BatchError.BadLength or BatchError.Truncated or BatchError.TooShort
            ? ErrorCode.CorruptMessage : ErrorCode.InvalidRecord, b.Message),
        RecordTooLargeException r => (ErrorCode.MessageTooLarge, r.Message),
        OffsetOutOfRangeException o => (ErrorCode.OffsetOutOfRange, o.Message),
        // a partition closed by a concurrent topic deletion
        ObjectDisposedException => (ErrorCode.UnknownTopicOrPartition, "The partition was deleted."),
        // StorageException (no space, a failed write) or a file that could not be created
        IOException io => (ErrorCode.KafkaStorageError, io.Message),
        _ => null,
    };
}
