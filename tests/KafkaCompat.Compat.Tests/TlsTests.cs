using KafkaCompat.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace KafkaCompat.Compat.Tests;

/// <summary>
/// TLS listeners with stock clients (tests/clients/tls_test.py, kafkajs_tls_test.js): kafka-python 2.0.2,
/// confluent-kafka-python on Debian's librdkafka 2.0.2 and kafkajs 2.2.4, against one broker with three listeners:
/// PLAINTEXT, SSL (no client certificate) and MTLS (an SSL listener with ssl.client.auth=required). Each produces and
/// consumes over TLS with the CA and host name checked, sees the ports of the listener it came in on, is served with a
/// client certificate and refused without one, refuses a broker signed by a CA it does not trust, and is refused as a
/// plaintext client on the TLS port, with the broker serving TLS clients afterwards.
/// </summary>
public sealed class TlsTests(ITestOutputHelper output) : SecureListenersTest(output, sasl: false)
{
    [Fact]
    public Task KafkaPython() => RunScript("/usr/bin/python3", "tls_test.py", null, "kafka-python");

    [Fact]
    public Task ConfluentKafkaPython() => RunScript("/usr/bin/python3", "tls_test.py", null, "confluent");

    [Fact]
    public Task KafkaJs() => RunScript("node", "kafkajs_tls_test.js", null);
}
