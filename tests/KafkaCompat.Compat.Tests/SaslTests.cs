using KafkaCompat.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace KafkaCompat.Compat.Tests;

/// <summary>
/// SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and OAUTHBEARER with unsecured JWTs) with stock clients (tests/clients/sasl_test.py, kafkajs_sasl_test.js): kafka-python 2.0.2 (handshake v0
/// and raw token frames), confluent-kafka-python on librdkafka 2.0.2 (handshake v1, SaslAuthenticate v0) and kafkajs
/// 2.2.4 (SaslAuthenticate v1), over SASL_PLAINTEXT and SASL_SSL listeners: the right credentials are served, a wrong
/// password, an unknown user and a client without SASL are refused, and the broker serves everyone else.
/// </summary>
public sealed class SaslTests(ITestOutputHelper output) : SecureListenersTest(output, sasl: true)
{
    [Theory]
    [InlineData("PLAIN")]
    [InlineData("SCRAM-SHA-256")]
    [InlineData("SCRAM-SHA-512")]
    [InlineData("OAUTHBEARER")]
    public Task KafkaPython(string mechanism) => RunScript("/usr/bin/python3", "sasl_test.py", null, "kafka-python", mechanism);

    [Theory]
    [InlineData("PLAIN")]
    [InlineData("SCRAM-SHA-256")]
    [InlineData("SCRAM-SHA-512")]
    [InlineData("OAUTHBEARER")]
    public Task ConfluentKafkaPython(string mechanism) => RunScript("/usr/bin/python3", "sasl_test.py", null, "confluent", mechanism);

    [Theory]
    [InlineData("PLAIN")]
    [InlineData("SCRAM-SHA-256")]
    [InlineData("SCRAM-SHA-512")]
    [InlineData("OAUTHBEARER")]
    public Task KafkaJs(string mechanism) => RunScript("node", "kafkajs_sasl_test.js", null, mechanism);
}
