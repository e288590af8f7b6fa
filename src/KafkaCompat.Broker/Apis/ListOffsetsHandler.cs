// ListOffsets (key 2): versions 0-11. -1 latest, -2 earliest, -3 max timestamp (v7+), -4 earliest local (v8+),
// -5 latest tiered (v9+) and -6 earliest pending upload (v11+): without tiered storage Kafka answers offset -1,
// timestamp -1 and leader epoch -1 for those two. v10 adds a timeout for remote-storage lookups, which a log
// without remote storage never waits for. Otherwise the first offset whose timestamp is at or after the one
// given (offset -1 when there is none).
// v0 answers with old_style_offsets. isolation_level 1 (read_committed, v2+) answers the last stable offset for
// "latest" and finds nothing by timestamp at or past it, as Kafka does.
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;
using KafkaCompat.Records;
using KafkaCompat.Storage;

namespace KafkaCompat.Broker.Apis;

public sealed class ListOffsetsHandler : ApiHandler<ListOffsetsRequest, ListOffsetsResponse>
{
    public const long Latest = -1, Earliest = -2, MaxTimestamp = -3, EarliestLocal = -4, LatestTiered = -5, EarliestPendingUpload = -6;

    /// <summary>The first version that may ask for a special timestamp (Kafka's table); below it the partition gets
    /// UNSUPPORTED_VERSION.</summary>
    private static short MinVersionFor(long timestamp) => timestamp switch
    {
        MaxTimestamp => 7,
        EarliestLocal => 8,
        LatestTiered => 9,
        EarliestPendingUpload => 11,
        _ => 0,
    };

    protected override ValueTask<ListOffsetsResponse?> Handle(RequestContext ctx, ListOffsetsRequest req)
    {
        var resp = new ListOffsetsResponse();
        foreach (var t in req.Topics)
        {
            var tr = new ListOffsetsResponse.ListOffsetsTopicResponse { Name = t.Name };
            resp.Topics.Add(tr);
            var topic = ctx.Broker.Logs.Get(t.Name);
            bool denied = !ctx.Authorize(AclOperation.Describe, AclResourceType.Topic, t.Name);
            foreach (var p in t.Partitions)
            {
                var pr = new ListOffsetsResponse.ListOffsetsPartitionResponse { PartitionIndex = p.PartitionIndex };
                tr.Partitions.Add(pr);
                if (denied)
                {
                    pr.ErrorCode = ErrorCode.TopicAuthorizationFailed;
                    pr.Timestamp = -1;
                    pr.Offset = -1;
                    continue;
                }
                if (topic is null || p.PartitionIndex < 0 || p.PartitionIndex >= topic.Partitions.Length)
                {
                    pr.ErrorCode = ErrorCode.UnknownTopicOrPartition;
                    continue;
                }
                // v4+ carries the client's current leader epoch
                if (Leadership.Check(ctx, topic, p.PartitionIndex, ctx.ApiVersion >= 4 ? p.CurrentLeaderEpoch : -1) is var lead and not ErrorCode.None)
                {
                    pr.ErrorCode = lead;
                    continue;
                }
                if (p.Timestamp < EarliestPendingUpload || ctx.ApiVersion < MinVersionFor(p.Timestamp))
                {
                    pr.ErrorCode = ErrorCode.UnsupportedVersion;
                    continue;
                }
                if (p.Timestamp is LatestTiered or EarliestPendingUpload)
                {
                    // no tiered storage: nothing in remote storage, nothing pending upload
                    pr.Offset = -1;
                    pr.Timestamp = -1;
                    pr.LeaderEpoch = -1;
                    continue;
                }
                var (offset, ts) = Lookup(topic.Partitions[p.PartitionIndex], p.Timestamp, readCommitted: ctx.ApiVersion >= 2 && req.IsolationLevel == 1);
                if (ctx.ApiVersion == 0)
                {
                    pr.OldStyleOffsets = offset >= 0 ? [offset] : [];
                    continue;
                }
                pr.Offset = offset;
                pr.Timestamp = ts;
                // the epoch the offset was written in; for the log end offset, the current epoch (as Kafka answers)
                var log = topic.Partitions[p.PartitionIndex];
                pr.LeaderEpoch = offset < 0 ? -1 : offset >= log.LogEndOffset ? log.LeaderEpoch : log.EpochOf(offset);
            }
        }
        return new(resp);
    }

    /// <summary>(offset, timestamp) for a ListOffsets target; (-1, -1) when no record matches.</summary>
    public static (long Offset, long Timestamp) Lookup(PartitionLog log, long target, bool readCommitted = false)
    {
        long lastFetchable = readCommitted ? log.LastStableOffset : log.HighWatermark;
        var found = target switch
        {
            Latest => (lastFetchable, -1L),
            Earliest or EarliestLocal => (log.LogStartOffset, -1L),
            MaxTimestamp => FindMaxTimestamp(log),
            _ => FindByTimestamp(log, target),
        };
        return target is not (Latest or Earliest or EarliestLocal) && found.Item1 >= lastFetchable ? (-1, -1) : found;
    }

    private static (long, long) FindByTimestamp(PartitionLog log, long target)
    {
        if (log.FindBatchByTimestamp(target) is not { } at) return (-1, -1);
        // the segment's maps are read under its read gate: a deletion racing this lookup waits, or ends it here
        if (!at.Segment.TryEnterRead()) throw new ObjectDisposedException($"{log.Topic}-{log.Partition}");
        (long, long) hit;
        try
        {
            var header = at.Segment.Span(at.Position, RecordBatch.HeaderSize);
            hit = FirstAtOrAfter(at.Segment.Span(at.Position, RecordBatch.TotalSize(header)), target);
        }
        finally
        {
            at.Segment.ExitRead();
        }
        // a batch whose records contradict its header timestamp: fall back to looking at every batch
        return hit.Item1 >= 0 ? hit : ScanByTimestamp(log, target);
    }

    private static (long, long) ScanByTimestamp(PartitionLog log, long target)
    {
        (long, long) found = (-1, -1);
        log.ScanBatches((seg, pos) =>
        {
            var header = seg.Span(pos, RecordBatch.HeaderSize);
            if (RecordBatch.MaxTimestamp(header) < target) return true;
            var batch = seg.Span(pos, RecordBatch.TotalSize(header));
            found = FirstAtOrAfter(batch, target);
            return found.Item1 < 0;
        });
        return found;
    }

    /// <summary>The first record of the batch with timestamp &gt;= target. A codec this process cannot decode (no
    /// system liblz4/libzstd) or an undecodable payload falls back to the batch's first offset and base timestamp.</summary>
    private static (long, long) FirstAtOrAfter(ReadOnlySpan<byte> batch, long target)
    {
        if (RecordBatch.TimestampType(batch) == TimestampType.LogAppendTime)
            return (RecordBatch.BaseOffset(batch), RecordBatch.MaxTimestamp(batch));
        if (TryReadRecords(batch) is not { } records)
            return (RecordBatch.BaseOffset(batch), Math.Max(RecordBatch.BaseTimestamp(batch), target));
        foreach (var r in records)
            if (r.Timestamp >= target) return (r.Offset, r.Timestamp);
        return (-1, -1);
    }

    /// <summary>The batch's records, or null when they cannot be decoded here: a codec without its system library,
    /// or a producer's payload its codec cannot read (the CRC only covers the bytes).</summary>
    private static List<Record>? TryReadRecords(ReadOnlySpan<byte> batch)
    {
        if (!RecordCompression.CanDecompress(RecordBatch.Compression(batch))) return null;
        try
        {
            return RecordReader.ReadBatch(batch.ToArray());
        }
        catch (Exception e) when (e is InvalidDataException or ProtocolException)
        {
            return null;
        }
    }

    private static (long, long) FindMaxTimestamp(PartitionLog log)
    {
        long bestTs = -1;
        int bestPos = -1;
        LogSegment? bestSeg = null;
        log.ScanBatches((seg, pos) =>
        {
            long ts = RecordBatch.MaxTimestamp(seg.Span(pos, RecordBatch.HeaderSize));
            if (ts > bestTs || bestSeg is null) { bestTs = ts; bestSeg = seg; bestPos = pos; }
            return true;
        });
        if (bestSeg is null) return (-1, -1);
        if (!bestSeg.TryEnterRead()) throw new ObjectDisposedException($"{log.Topic}-{log.Partition}");
        try
        {
            var header = bestSeg.Span(bestPos, RecordBatch.HeaderSize);
            var batch = bestSeg.Span(bestPos, RecordBatch.TotalSize(header));
            // undecodable records: answer with the batch's last offset
            if (RecordBatch.TimestampType(batch) == TimestampType.CreateTime && TryReadRecords(batch) is { } records)
                foreach (var r in records)
                    if (r.Timestamp == bestTs) return (r.Offset, r.Timestamp);
            return (RecordBatch.LastOffset(batch), bestTs);
        }
        finally
        {
            bestSeg.ExitRead();
        }
    }

    protected override ListOffsetsResponse? ErrorResponse(ListOffsetsRequest request, ErrorCode error) => new()
    {
        Topics = request.Topics.Select(t => new ListOffsetsResponse.ListOffsetsTopicResponse
        {
            Name = t.Name,
            Partitions = t.Partitions.Select(p => new ListOffsetsResponse.ListOffsetsPartitionResponse { PartitionIndex = p.PartitionIndex, ErrorCode = error, Offset = -1, Timestamp = -1 }).ToList(),
        }).ToList(),
    };

    protected override IEnumerable<Requirement> Requires(ListOffsetsRequest request, short version) => Nothing;
}
