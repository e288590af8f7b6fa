// DescribeLogDirs (key 35): versions 0-4. The broker's one log directory (--data-dir) with the size of each
// partition's segments; a null topic list means every topic, an empty one none. Offset lag is 0 and no partition
// is a "future" replica being moved between directories. v3 adds a top-level error code; v4 the directory's total
// and usable bytes, from the file system that holds it.
using KafkaCompat.Broker.Security;
using KafkaCompat.Protocol;
using KafkaCompat.Protocol.Messages;

namespace KafkaCompat.Broker.Apis;

public sealed class DescribeLogDirsHandler : ApiHandler<DescribeLogDirsRequest, DescribeLogDirsResponse>
{
    protected override ValueTask<DescribeLogDirsResponse?> Handle(RequestContext ctx, DescribeLogDirsRequest req)
    {
        var broker = ctx.Broker;
        string dir = Path.GetFullPath(broker.Config.DataDir);
        var result = new DescribeLogDirsResponse.DescribeLogDirsResult { LogDir = dir };
        try
        {
            var drive = new DriveInfo(dir);
            result.TotalBytes = drive.TotalSize;
            result.UsableBytes = drive.AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            // unknown sizes stay -1
        }
        var wanted = req.Topics?.ToDictionary(t => t.Topic, t => t.Partitions.ToHashSet(), StringComparer.Ordinal);
        foreach (var t in broker.Logs.Topics.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            HashSet<int>? parts = null;
            if (wanted != null && !wanted.TryGetValue(t.Name, out parts)) continue;
            var topic = new DescribeLogDirsResponse.DescribeLogDirsTopic { Name = t.Name };
            var logs = t.Partitions;
            for (int p = 0; p < logs.Length; p++)
            {
                if (parts != null && !parts.Contains(p)) continue;
                long size;
                try
                {
                    size = logs[p].SizeInBytes;
                }
                catch (ObjectDisposedException)
                {
                    continue; // deleted while being described
                }
                topic.Partitions.Add(new DescribeLogDirsResponse.DescribeLogDirsPartition { PartitionIndex = p, PartitionSize = size, OffsetLag = 0, IsFutureKey = false });
            }
            if (topic.Partitions.Count > 0) result.Topics.Add(topic);
        }
        return new(new DescribeLogDirsResponse { Results = [result] });
    }

    protected override IEnumerable<Requirement> Requires(DescribeLogDirsRequest request, short version) => [Requirement.Cluster(AclOperation.Describe)];
}
