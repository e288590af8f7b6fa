using System.Globalization;
using System.Text.RegularExpressions;
using KafkaCompat.Broker;
using KafkaCompat.Protocol;
using KafkaCompat.Testing;
using Xunit;

namespace KafkaCompat.Server.Tests;

/// <summary>
/// Prometheus metrics at /metrics of the admin HTTP port, scraped after clients worked against the broker (the
/// kafkacompat CLI producing, and consuming in a group) and parsed as Prometheus parses the text format: every line
/// a comment or a sample, every sample of a declared metric, histograms cumulative and ending in +Inf.
/// </summary>
public sealed partial class MetricsTests : IAsyncLifetime
{
    private EmbeddedBroker _b = null!;
    private string _url = "";

    public async Task InitializeAsync()
    {
        _b = EmbeddedBroker.Start(settings: new Dictionary<string, string> { ["group.initial.rebalance.delay.ms"] = "0" });
        _url = (await _b.StartAdminAsync()).Url;
    }

    public async Task DisposeAsync() => await _b.DisposeAsync();

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>\S+)$""")]
    private static partial Regex Sample();

    [GeneratedRegex("""(?<k>[a-zA-Z_][a-zA-Z0-9_]*)="(?<v>(?:[^"\\]|\\.)*)",?""")]
    private static partial Regex Label();

    private sealed record Metric(string Name, Dictionary<string, string> Labels, double Value);

    /// <summary>Parses the text exposition format strictly; fails on anything Prometheus would refuse.</summary>
    private static (List<Metric> Samples, Dictionary<string, string> Types) Parse(string text)
    {
        var samples = new List<Metric>();
        var types = new Dictionary<string, string>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0) continue;
            if (line.StartsWith("# HELP ", StringComparison.Ordinal)) continue;
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                Assert.True(parts.Length == 4 && parts[3] is "counter" or "gauge" or "histogram", line);
                Assert.True(types.TryAdd(parts[2], parts[3]), $"declared twice: {parts[2]}");
                continue;
            }
            var m = Sample().Match(line);
            Assert.True(m.Success, $"not a sample: {line}");
            var labels = new Dictionary<string, string>();
            foreach (Match l in Label().Matches(m.Groups["labels"].Value)) labels.Add(l.Groups["k"].Value, l.Groups["v"].Value);
            string name = m.Groups["name"].Value;
            string family = Regex.Replace(name, "_(bucket|sum|count)$", "");
            Assert.True(types.ContainsKey(name) || types.GetValueOrDefault(family) == "histogram", $"no TYPE for {name}");
            Assert.StartsWith("kafkacompat_", name);
            if (types.GetValueOrDefault(name) == "counter") Assert.EndsWith("_total", name);
            samples.Add(new Metric(name, labels, m.Groups["value"].Value == "+Inf" ? double.PositiveInfinity : double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture)));
        }
        return (samples, types);
    }

    private static double One(List<Metric> samples, string name, params (string K, string V)[] labels) =>
        samples.Single(s => s.Name == name && labels.All(l => s.Labels.GetValueOrDefault(l.K) == l.V)).Value;

    [Fact]
    public async Task ScrapedMetricsShowRequestsErrorsLogsAndGroupLag()
    {
        Assert.Equal(ErrorCode.None, _b.Broker.CreateTopic("metered", 1, 1, new(), validateOnly: false).Error);
        // a produce answered with an injected error (the CLI reports it and writes nothing), then ten records
        _b.Broker.Faults.Add(new FaultSpec(FaultKind.Error, ApiKey.Produce, Error: ErrorCode.NotLeaderOrFollower, Count: 1));
        var refused = await CliRunner.RunAsync(_b, "x\n", "produce", "metered");
        Assert.Contains("NOT_LEADER_OR_FOLLOWER", refused.Err);
        var produced = await CliRunner.RunAsync(_b, string.Concat(Enumerable.Range(0, 10).Select(i => $"v{i}\n")), "produce", "metered");
        Assert.True(produced.Exit == 0, produced.Err);
        var consumed = await CliRunner.RunAsync(_b, null, "consume", "metered", "--group", "meters", "--from-beginning", "--count", "4");
        Assert.True(consumed.Exit == 0, consumed.Err);

        using var http = new HttpClient();
        var response = await http.GetAsync(_url + "/metrics");
        Assert.Equal("text/plain", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("0.0.4", response.Content.Headers.ContentType.Parameters.Single(p => p.Name == "version").Value);
        var (samples, types) = Parse(await response.Content.ReadAsStringAsync());

        Assert.True(samples.Where(s => s.Name == "kafkacompat_requests_total" && s.Labels["api"] == "Produce").Sum(s => s.Value) >= 2);
        Assert.Contains(samples, s => s.Name == "kafkacompat_requests_total" && s.Labels["api"] == "JoinGroup");
        Assert.Equal(1, One(samples, "kafkacompat_errors_total", ("api", "Produce"), ("error", "NOT_LEADER_OR_FOLLOWER")));
        Assert.True(One(samples, "kafkacompat_network_received_bytes_total") > 10 * 2);
        Assert.True(One(samples, "kafkacompat_network_sent_bytes_total") > 0);

        // the produce latency histogram: cumulative, ending in +Inf with the count, which is the requests served
        Assert.Equal("histogram", types["kafkacompat_request_duration_seconds"]);
        var buckets = samples.Where(s => s.Name == "kafkacompat_request_duration_seconds_bucket" && s.Labels["api"] == "Produce").ToList();
        Assert.Equal("+Inf", buckets[^1].Labels["le"]);
        for (int i = 1; i < buckets.Count; i++) Assert.True(buckets[i].Value >= buckets[i - 1].Value);
        double count = One(samples, "kafkacompat_request_duration_seconds_count", ("api", "Produce"));
        Assert.Equal(buckets[^1].Value, count);
        Assert.Equal(samples.Where(s => s.Name == "kafkacompat_requests_total" && s.Labels["api"] == "Produce").Sum(s => s.Value), count);
        Assert.True(One(samples, "kafkacompat_request_duration_seconds_sum", ("api", "Produce")) > 0);

        Assert.Equal(10, One(samples, "kafkacompat_log_end_offset", ("topic", "metered"), ("partition", "0")));
        Assert.Equal(0, One(samples, "kafkacompat_log_start_offset", ("topic", "metered"), ("partition", "0")));
        Assert.True(One(samples, "kafkacompat_log_size_bytes", ("topic", "metered"), ("partition", "0")) > 10 * 2);
        Assert.True(One(samples, "kafkacompat_partitions") >= 1);
        Assert.Equal(4, One(samples, "kafkacompat_consumer_group_committed_offset", ("group", "meters"), ("topic", "metered"), ("partition", "0")));
        Assert.Equal(6, One(samples, "kafkacompat_consumer_group_lag", ("group", "meters"), ("topic", "metered"), ("partition", "0")));
        Assert.True(One(samples, "kafkacompat_consumer_group_rebalances_total") >= 1);

        // a connection open now shows; the lag drops as the group reads the rest
        using var raw = new RawClient(_b.Port);
        var more = await CliRunner.RunAsync(_b, null, "consume", "metered", "--group", "meters");
        Assert.True(more.Exit == 0, more.Err);
        (samples, _) = Parse(await http.GetStringAsync(_url + "/metrics"));
        Assert.True(One(samples, "kafkacompat_connections", ("broker", "1")) >= 1);
        Assert.Equal(0, One(samples, "kafkacompat_consumer_group_lag", ("group", "meters"), ("topic", "metered"), ("partition", "0")));
    }

    [Fact]
    public void LabelValuesAreEscapedAsTheTextFormatWants() =>
        Assert.Equal("a\\\\b\\\"c\\nd", KafkaCompat.Server.Admin.PrometheusMetrics.Escape("a\\b\"c\nd"));
}
