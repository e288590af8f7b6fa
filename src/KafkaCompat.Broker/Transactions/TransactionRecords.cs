// Keys and values of the internal __transaction_state log in the layouts Apache Kafka uses, so the log reads the
// same way to Kafka's tools: key version 0 (transactional id), value version 1 (flexible: producer id and epoch,
// timeout, status, partitions, timestamps; tagged fields previous producer id (0), next producer id (1) and the
// client's transaction version (2)). Version 0 values are read too. A null value is a tombstone.
using KafkaCompat.Protocol;

namespace KafkaCompat.Broker.Transactions;

/// <summary>Kafka's transaction states, numbered as __transaction_state stores them.</summary>
public enum TxnState : sbyte
{
    Empty = 0, Ongoing = 1, PrepareCommit = 2, PrepareAbort = 3, CompleteCommit = 4, CompleteAbort = 5, Dead = 6, PrepareEpochFence = 7,
}

/// <summary>One transactional id's state, as written to the log (immutable: every change is a new value).</summary>
public sealed record TxnMetadata(
    string TransactionalId,
    long ProducerId,
    short ProducerEpoch,
    int TimeoutMs,
    TxnState State,
    IReadOnlyList<(string Topic, int Partition)> Partitions,
    long LastUpdateMs,
    long StartMs,
    long PreviousProducerId = -1,
    long NextProducerId = -1,
    short ClientTransactionVersion = 0)
{
    /// <summary>The epoch before the last InitProducerId bump (not persisted, as in Kafka): a retried InitProducerId
    /// with it is answered with the current epoch instead of being fenced.</summary>
    public short LastProducerEpoch { get; init; } = -1;
}

public static class TransactionRecords
{
    public static byte[] KeyBytes(string transactionalId)
    {
        using var w = new KafkaWriter();
        w.WriteInt16(0);
        w.WriteString(transactionalId, compact: false);
        return w.ToArray();
    }

    public static byte[] ValueBytes(TxnMetadata m)
    {
        using var w = new KafkaWriter();
        w.WriteInt16(1);
        w.WriteInt64(m.ProducerId);
        w.WriteInt16(m.ProducerEpoch);
        w.WriteInt32(m.TimeoutMs);
        w.WriteInt8((sbyte)m.State);
        // Kafka writes no partitions for an Empty transaction
        var byTopic = m.State == TxnState.Empty ? null
            : m.Partitions.GroupBy(p => p.Topic, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        if (byTopic is null) w.WriteArrayLength(-1, compact: true);
        else
        {
            w.WriteArrayLength(byTopic.Count, compact: true);
            foreach (var g in byTopic)
            {
                w.WriteString(g.Key, compact: true);
                var ids = g.Select(p => p.Partition).Order().ToList();
                w.WriteArrayLength(ids.Count, compact: true);
                foreach (var id in ids) w.WriteInt32(id);
                w.WriteUnsignedVarInt(0);
            }
        }
        w.WriteInt64(m.LastUpdateMs);
        w.WriteInt64(m.StartMs);
        var tags = new List<(int Tag, Action<KafkaWriter> Body)>();
        if (m.PreviousProducerId != -1) tags.Add((0, x => x.WriteInt64(m.PreviousProducerId)));
        if (m.NextProducerId != -1) tags.Add((1, x => x.WriteInt64(m.NextProducerId)));
        if (m.ClientTransactionVersion != 0) tags.Add((2, x => x.WriteInt16(m.ClientTransactionVersion)));
        w.WriteUnsignedVarInt((uint)tags.Count);
        foreach (var (tag, body) in tags) w.WriteTaggedField(tag, body);
        return w.ToArray();
    }

    /// <summary>The transactional id of a key, or null for a key of another kind (skipped, as Kafka skips unknown keys).</summary>
    public static string? ReadKey(ReadOnlyMemory<byte> key)
    {
        var r = new KafkaReader(key);
        return r.ReadInt16() == 0 ? r.ReadString(compact: false) : null;
    }

    public static TxnMetadata ReadValue(string transactionalId, ReadOnlyMemory<byte> value)
    {
        var r = new KafkaReader(value);
        short version = r.ReadInt16();
        if (version is < 0 or > 1) throw new FormatException($"transaction log value version {version} is unknown");
        bool flex = version >= 1;
        long pid = r.ReadInt64();
        short epoch = r.ReadInt16();
        int timeout = r.ReadInt32();
        var state = (TxnState)r.ReadInt8();
        var parts = new List<(string, int)>();
        int topics = r.ReadArrayLength(flex);
        for (int i = 0; i < topics; i++)
        {
            string topic = r.ReadString(flex);
            int n = r.ReadArrayLength(flex);
            for (int j = 0; j < n; j++) parts.Add((topic, r.ReadInt32()));
            if (flex) SkipTags(ref r);
        }
        long lastUpdate = r.ReadInt64();
        long start = r.ReadInt64();
        long prev = -1, next = -1;
        short tv = 0;
        if (flex)
        {
            int n = r.ReadTagCount();
            for (int i = 0; i < n; i++)
            {
                uint tag = r.ReadUnsignedVarInt();
                int size = (int)r.ReadUnsignedVarInt();
                switch (tag)
                {
                    case 0: prev = r.ReadInt64(); break;
                    case 1: next = r.ReadInt64(); break;
                    case 2: tv = r.ReadInt16(); break;
                    default: r.Skip(size); break;
                }
            }
        }
        if (state == TxnState.Empty) parts.Clear();
        return new TxnMetadata(transactionalId, pid, epoch, timeout, state, parts, lastUpdate, start, prev, next, tv);
    }

    private static void SkipTags(ref KafkaReader r)
    {
        int n = r.ReadTagCount();
        for (int i = 0; i < n; i++)
        {
            r.ReadUnsignedVarInt();
            r.Skip((int)r.ReadUnsignedVarInt());
        }
    }
}
