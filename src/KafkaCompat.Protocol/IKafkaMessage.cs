namespace KafkaCompat.Protocol;

/// <summary>A generated message body (request, response or header) that can write itself at a version.</summary>
public interface IKafkaMessage
{
    void Write(KafkaWriter writer, short version);
    /// <summary>Calls <paramref name="visitor"/> with each error code the message carries that is not NONE.</summary>
    void VisitErrors(IErrorVisitor visitor);
}

/// <summary>Static members every generated message has.</summary>
public interface IKafkaMessage<TSelf> : IKafkaMessage where TSelf : IKafkaMessage<TSelf>
{
    static abstract TSelf Read(ref KafkaReader reader, short version);
    /// <summary>Reads into <paramref name="reuse"/> (a message read before, whose lists are read into again) or, when
    /// it is null, into a new message.</summary>
    static abstract TSelf ReadInto(ref KafkaReader reader, short version, TSelf? reuse);
    static abstract short LowestVersion { get; }
    static abstract short HighestVersion { get; }
    static abstract bool IsFlexible(short version);
}

/// <summary>A request body: knows its API key.</summary>
public interface IKafkaRequest<TSelf> : IKafkaMessage<TSelf> where TSelf : IKafkaRequest<TSelf>
{
    static abstract ApiKey ApiKey { get; }
}

/// <summary>A response body: knows its API key.</summary>
public interface IKafkaResponse<TSelf> : IKafkaMessage<TSelf> where TSelf : IKafkaResponse<TSelf>
{
    static abstract ApiKey ApiKey { get; }
}
