using System.Globalization;
using System.Text;
using KafkaCompat.Broker;
using KafkaCompat.Protocol;

namespace KafkaCompat.Server.Admin;

/// <summary>
/// The broker's metrics in Prometheus' text exposition format (version 0.0.4), served at <c>/metrics</c> of the admin
/// HTTP port: request counters and latency histograms by API (kept by <see cref="BrokerMetrics"/> on the request path),
/// and gauges read at scrape time from the cluster, the logs and the groups. Names follow Prometheus' conventions:
/// the kafkacompat_ prefix, base units (seconds, bytes), _total on counters.
/// </summary>
public static class PrometheusMetrics
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static string Render(KafkaCluster cluster)
    {
        var broker = cluster.Broker;
        var m = broker.Metrics;
        var sb = new StringBuilder(4096);

        Header(sb, "kafkacompat_requests_total", "counter", "Requests served, by API and version.");
        foreach (var (api, version, n) in m.Requests())
            sb.Append("kafkacompat_requests_total{api=\"").Append(api).Append("\",version=\"").Append(version).Append("\"} ").Append(n).Append('\n');

        Header(sb, "kafkacompat_request_duration_seconds", "histogram", "Time from a request's frame to its answer written, by API.");
        foreach (var api in m.ApisSeen())
        {
            var (cumulative, sum) = m.Latency(api);
            for (int b = 0; b < cumulative.Length; b++)
            {
                string le = b < BrokerMetrics.LatencyBuckets.Length ? Num(BrokerMetrics.LatencyBuckets[b]) : "+Inf";
                sb.Append("kafkacompat_request_duration_seconds_bucket{api=\"").Append(api).Append("\",le=\"").Append(le).Append("\"} ").Append(cumulative[b]).Append('\n');
            }
            sb.Append("kafkacompat_request_duration_seconds_sum{api=\"").Append(api).Append("\"} ").Append(Num(sum)).Append('\n');
            sb.Append("kafkacompat_request_duration_seconds_count{api=\"").Append(api).Append("\"} ").Append(cumulative[^1]).Append('\n');
        }

        Header(sb, "kafkacompat_network_received_bytes_total", "counter", "Bytes of requests received (with their size prefixes).");
        sb.Append("kafkacompat_network_received_bytes_total ").Append(m.BytesIn).Append('\n');
        Header(sb, "kafkacompat_network_sent_bytes_total", "counter", "Bytes of responses sent (with their size prefixes).");
        sb.Append("kafkacompat_network_sent_bytes_total ").Append(m.BytesOut).Append('\n');

        Header(sb, "kafkacompat_errors_total", "counter", "Error codes answered, by API and Kafka's error name (per partition where the response has one per partition).");
        foreach (var (api, error, n) in m.ErrorCounts())
            sb.Append("kafkacompat_errors_total{api=\"").Append(api).Append("\",error=\"").Append(error.KafkaName()).Append("\"} ").Append(n).Append('\n');

        Header(sb, "kafkacompat_connections", "gauge", "Open client connections, by broker.");
        foreach (var node in broker.Cluster.Nodes)
            sb.Append("kafkacompat_connections{broker=\"").Append(node.Id).Append("\"} ").Append(cluster.Server(node.Id)?.ConnectionCount ?? 0).Append('\n');

        var topics = broker.Logs.Topics.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        Header(sb, "kafkacompat_partitions", "gauge", "Partitions of all topics.");
        sb.Append("kafkacompat_partitions ").Append(topics.Sum(t => t.Partitions.Length)).Append('\n');
        Header(sb, "kafkacompat_log_size_bytes", "gauge", "Bytes of a partition's log on disk.");
        foreach (var t in topics)
            for (int p = 0; p < t.Partitions.Length; p++)
                Partition(sb, "kafkacompat_log_size_bytes", t.Name, p).Append(t.Partitions[p].SizeInBytes).Append('\n');
        Header(sb, "kafkacompat_log_start_offset", "gauge", "A partition's first offset.");
        foreach (var t in topics)
            for (int p = 0; p < t.Partitions.Length; p++)
                Partition(sb, "kafkacompat_log_start_offset", t.Name, p).Append(t.Partitions[p].LogStartOffset).Append('\n');
        Header(sb, "kafkacompat_log_end_offset", "gauge", "A partition's high watermark: the offset of its next record.");
        foreach (var t in topics)
            for (int p = 0; p < t.Partitions.Length; p++)
                Partition(sb, "kafkacompat_log_end_offset", t.Name, p).Append(t.Partitions[p].HighWatermark).Append('\n');

        Header(sb, "kafkacompat_consumer_group_committed_offset", "gauge", "The offset a group has committed on a partition.");
        var lags = new StringBuilder();
        var (_, groups) = broker.Groups.List([], []);
        foreach (var g in groups)
            foreach (var o in broker.GroupOffsets(g.GroupId))
            {
                Group(sb, "kafkacompat_consumer_group_committed_offset", g.GroupId, o.Topic, o.Partition).Append(o.Committed).Append('\n');
                if (o.HighWatermark is { } hw)
                    Group(lags, "kafkacompat_consumer_group_lag", g.GroupId, o.Topic, o.Partition).Append(Math.Max(0, hw - o.Committed)).Append('\n');
            }
        Header(sb, "kafkacompat_consumer_group_lag", "gauge", "Records between a group's committed offset and the partition's high watermark.");
        sb.Append(lags);
        Header(sb, "kafkacompat_consumer_group_rebalances_total", "counter", "Rebalances: classic groups preparing one, consumer-protocol groups moving to a new epoch.");
        sb.Append("kafkacompat_consumer_group_rebalances_total ").Append(broker.Groups.Rebalances).Append('\n');
        return sb.ToString();
    }

    private static void Header(StringBuilder sb, string name, string type, string help) =>
        sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append("\n# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    private static StringBuilder Partition(StringBuilder sb, string name, string topic, int partition) =>
        sb.Append(name).Append("{topic=\"").Append(Escape(topic)).Append("\",partition=\"").Append(partition).Append("\"} ");

    private static StringBuilder Group(StringBuilder sb, string name, string group, string topic, int partition) =>
        sb.Append(name).Append("{group=\"").Append(Escape(group)).Append("\",topic=\"").Append(Escape(topic)).Append("\",partition=\"").Append(partition).Append("\"} ");

    /// <summary>A label value as the text format wants it: backslash, double quote and line feed escaped.</summary>
    public static string Escape(string value) => value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");

    private static string Num(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
