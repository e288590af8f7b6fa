using KafkaCompat.TestSupport;
using Xunit.Abstractions;

namespace KafkaCompat.Compat.Tests;

/// <summary>The cluster scenarios of <see cref="ClusterScenarioTests"/> with Confluent.Kafka 1.9.3 on Debian's
/// librdkafka 2.0.2, which does not validate positions with OffsetForLeaderEpoch (KIP-320 came in 2.1).</summary>
public sealed class ClusterFailoverTests(ITestOutputHelper output) : ClusterScenarioTests(output, "2.0.2", validatesPositions: false);
