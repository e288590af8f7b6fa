using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using KafkaCompat.Records;

namespace KafkaCompat.Client;

/// <summary>A topic's partitions and their leaders, from Metadata.</summary>
public sealed record TopicLayout(string Name, Guid Id, IReadOnlyDictionary<int, int> Leaders)
{
    public int PartitionCount => Leaders.Count;

    public static async Task<TopicLayout> LoadAsync(KafkaClient client, string topic, bool allowAutoCreate, CancellationToken ct)
    {
        for (int attempt = 0; ; attempt++)
        {
            var md = await client.MetadataAsync([topic], ct, allowAutoCreate).ConfigureAwait(false);
            var t = md.Topics.Single();
            var error = (ErrorCode)t.ErrorCode;
            // a topic being auto-created answers LEADER_NOT_AVAILABLE for a moment
            if (error is ErrorCode.LeaderNotAvailable && attempt < 20)
            {
                await Task.Delay(100, ct).ConfigureAwait(false);
                continue;
            }
            if (error != ErrorCode.None) throw new KafkaErrorException(error, $"topic '{topic}'");
            return new TopicLayout(topic, t.TopicId, t.Partitions.ToDictionary(p => p.PartitionIndex, p => p.LeaderId));
        }
    }
}

/// <summary>Produce, ListOffsets and Fetch on top of <see cref="KafkaClient"/>.</summary>
public static class TopicIo
{
    /// <summary>The Java client's default partitioner for keyed records: murmur2 of the key, made positive, modulo
    /// the partition count; kafka-python and kafkajs place keys the same way.</summary>
    public static int PartitionForKey(ReadOnlySpan<byte> key, int partitions) => (int)((uint)(Murmur2(key) & 0x7fffffff) % (uint)partitions);

    public static int Murmur2(ReadOnlySpan<byte> data)
    {
        const uint m = 0x5bd1e995;
        const int r = 24;
        int length = data.Length;
        uint h = 0x9747b28c ^ (uint)length;
        int length4 = length / 4;
        for (int i = 0; i < length4; i++)
        {
            int i4 = i * 4;
            uint k = data[i4] | ((uint)data[i4 + 1] << 8) | ((uint)data[i4 + 2] << 16) | ((uint)data[i4 + 3] << 24);
            k *= m;
            k ^= k >> r;
            k *= m;
            h *= m;
            h ^= k;
        }
        int tail = length & ~3;
        switch (length % 4)
        {
            case 3:
                h ^= (uint)data[tail + 2] << 16;
                goto case 2;
            case 2:
                h ^= (uint)data[tail + 1] << 8;
                goto case 1;
            case 1:
                h ^= data[tail];
                h *= m;
                break;
        }
        h ^= h >> 13;
        h *= m;
        h ^= h >> 15;
        return (int)h;
    }

    /// <summary>Sends one batch to a partition's leader; returns its base offset (-1 with acks=0).</summary>
    public static async Task<long> ProduceAsync(KafkaClient client, TopicLayout topic, int partition, byte[] batch, short acks, CancellationToken ct)
    {
        var conn = await client.NodeAsync(topic.Leaders[partition], ct).ConfigureAwait(false);
        var req = new ProduceRequest
        {
            Acks = acks, TimeoutMs = 30_000,
            TopicData = [new() { Name = topic.Name, PartitionData = [new() { Index = partition, Records = batch }] }],
        };
        if (acks == 0)
        {
            await conn.SendWithoutResponseAsync(req, ct).ConfigureAwait(false);
            return -1;
        }
        var resp = await conn.SendAsync<ProduceRequest, ProduceResponse>(req, ct: ct).ConfigureAwait(false);
        var pr = resp.Responses.Single().PartitionResponses.Single();
        if (pr.ErrorCode != 0) throw new KafkaErrorException((ErrorCode)pr.ErrorCode, pr.ErrorMessage ?? $"producing to {topic.Name}-{partition}");
        return pr.BaseOffset;
    }

    public const long Latest = -1, Earliest = -2;

    /// <summary>ListOffsets for the given partitions at <paramref name="timestamp"/> (Latest, Earliest or a time in ms);
    /// -1 for a time after the last record.</summary>
    public static async Task<Dictionary<int, long>> OffsetsAsync(KafkaClient client, TopicLayout topic, IEnumerable<int> partitions, long timestamp, CancellationToken ct,
        bool readCommitted = false)
    {
        var result = new Dictionary<int, long>();
        foreach (var byLeader in partitions.GroupBy(p => topic.Leaders[p]))
        {
            var conn = await client.NodeAsync(byLeader.Key, ct).ConfigureAwait(false);
            var resp = await conn.SendAsync<ListOffsetsRequest, ListOffsetsResponse>(new ListOffsetsRequest
            {
                ReplicaId = -1,
                IsolationLevel = (sbyte)(readCommitted ? 1 : 0),
                Topics = [new() { Name = topic.Name, Partitions = byLeader.Select(p => new ListOffsetsRequest.ListOffsetsPartition { PartitionIndex = p, Timestamp = timestamp }).ToList() }],
            }, ct: ct).ConfigureAwait(false);
            foreach (var p in resp.Topics.SelectMany(t => t.Partitions))
            {
                if (p.ErrorCode != 0) throw new KafkaErrorException((ErrorCode)p.ErrorCode, $"offsets of {topic.Name}-{p.PartitionIndex}");
                result[p.PartitionIndex] = p.OldStyleOffsets.Count > 0 ? p.OldStyleOffsets[0] : p.Offset;
            }
        }
        return result;
    }

    /// <summary>Per partition, the first offset whose record is at or after <paramref name="timestampMs"/>, or the end
    /// offset where every record is older (as Kafka's tools place a consumer by time).</summary>
    public static async Task<Dictionary<int, long>> OffsetsAtTimeAsync(KafkaClient client, TopicLayout topic, IReadOnlyList<int> partitions, long timestampMs, CancellationToken ct)
    {
        var found = await OffsetsAsync(client, topic, partitions, timestampMs, ct).ConfigureAwait(false);
        if (found.Values.All(o => o >= 0)) return found;
        var ends = await OffsetsAsync(client, topic, partitions, Latest, ct).ConfigureAwait(false);
        return partitions.ToDictionary(p => p, p => found[p] >= 0 ? found[p] : ends[p]);
    }

    /// <summary>What one round of fetches returned: records at or after each position (in offset order per partition),
    /// the offset after the last complete batch seen per partition (control batches and records before the position
    /// included, so a reader always moves on), and the partitions whose position is outside the log.</summary>
    public sealed record FetchResult(List<(int Partition, Record Record)> Records, Dictionary<int, long> Next, HashSet<int> OutOfRange);

    /// <summary>One Fetch per leader for the given positions.</summary>
    public static async Task<FetchResult> FetchAsync(KafkaClient client, TopicLayout topic, IReadOnlyDictionary<int, long> positions, int maxWaitMs, CancellationToken ct)
    {
        var result = new FetchResult(new(), new(), new());
        foreach (var byLeader in positions.Keys.GroupBy(p => topic.Leaders[p]))
        {
            var conn = await client.NodeAsync(byLeader.Key, ct).ConfigureAwait(false);
            var resp = await conn.SendAsync<FetchRequest, FetchResponse>(new FetchRequest
            {
                ReplicaId = -1, MaxWaitMs = maxWaitMs, MinBytes = 1, MaxBytes = 8 << 20, SessionEpoch = -1,
                Topics = [new()
                {
                    Topic = topic.Name, TopicId = topic.Id,
                    Partitions = byLeader.Select(p => new FetchRequest.FetchPartition { Partition = p, FetchOffset = positions[p], PartitionMaxBytes = 1 << 20 }).ToList(),
                }],
            }, ct: ct).ConfigureAwait(false);
            if (resp.ErrorCode != 0) throw new KafkaErrorException((ErrorCode)resp.ErrorCode, $"fetching {topic.Name}");
            foreach (var pd in resp.Responses.SelectMany(t => t.Partitions))
            {
                if (pd.ErrorCode == ErrorCode.OffsetOutOfRange)
                {
                    result.OutOfRange.Add(pd.PartitionIndex);
                    continue;
                }
                if (pd.ErrorCode != 0) throw new KafkaErrorException((ErrorCode)pd.ErrorCode, $"fetching {topic.Name}-{pd.PartitionIndex} at offset {positions[pd.PartitionIndex]}");
                var data = pd.Records ?? ReadOnlyMemory<byte>.Empty;
                long from = positions[pd.PartitionIndex], next = from;
                for (int pos = 0; pos + RecordBatch.HeaderSize <= data.Length;)
                {
                    var span = data.Span[pos..];
                    int size = RecordBatch.TotalSize(span);
                    if (size <= RecordBatch.HeaderSize || pos + size > data.Length) break; // a partial batch at the end of the answer
                    var batch = data.Slice(pos, size);
                    pos += size;
                    next = Math.Max(next, RecordBatch.LastOffset(batch.Span) + 1);
                    if (RecordBatch.IsControl(batch.Span) || RecordBatch.LastOffset(batch.Span) < from) continue;
                    foreach (var rec in RecordReader.ReadBatch(batch))
                        if (rec.Offset >= from) result.Records.Add((pd.PartitionIndex, rec));
                }
                result.Next[pd.PartitionIndex] = next;
            }
        }
        return result;
    }
}
