namespace KafkaCompat.Protocol;

/// <summary>A refusal with a Kafka error code: thrown below the handlers (storage, coordinators) and answered
/// as that code with the message, for the partition or request it concerns.</summary>
public class KafkaException(ErrorCode error, string message) : Exception(message)
{
    public ErrorCode Error { get; } = error;
}
