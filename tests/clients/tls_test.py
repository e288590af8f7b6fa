#!/usr/bin/python3
"""TLS listeners with a stock Python client: kafka-python 2.0.2 or confluent-kafka-python (Debian's librdkafka 2.0.2).

Usage: /usr/bin/python3 tests/clients/tls_test.py PORT SUFFIX SSL_PORT MTLS_PORT CERT_DIR kafka-python|confluent
  PORT      the PLAINTEXT listener
  SSL_PORT  an SSL listener (ssl.client.auth=none)
  MTLS_PORT an SSL listener with ssl.client.auth=required
  CERT_DIR  ca.pem, client.pem, client.key (signed by the CA) and other-ca.pem (a CA the broker does not use)
Checks:
  a. over SSL: produce and consume back, the CA verified and the host name checked;
  b. Metadata over SSL names the SSL ports, over PLAINTEXT the plaintext port (the client reconnects to what it is told);
  c. with a client certificate on the client-auth listener: produce and consume;
  d. without a client certificate on that listener: no connection;
  e. a client that trusts another CA: no connection (the broker's certificate is refused);
  f. a PLAINTEXT client on the SSL port: no connection; afterwards the SSL listener still serves.
Prints one summary line; exits non-zero on any failure.
"""
import os
import sys
import time

from secure_clients import Checks, confluent_io, kafka_python_io

PORT, SUFFIX, SSL_PORT, MTLS_PORT, CERTS, CLIENT = sys.argv[1:7]
CA, OTHER_CA = os.path.join(CERTS, "ca.pem"), os.path.join(CERTS, "other-ca.pem")
CERT, KEY = os.path.join(CERTS, "client.pem"), os.path.join(CERTS, "client.key")
checks = Checks("tls_test", CLIENT)

if CLIENT == "kafka-python":
    from kafka import KafkaAdminClient

    def settings(port=SSL_PORT, ca=CA, cert=None, protocol="SSL"):
        s = {"bootstrap_servers": f"localhost:{port}", "security_protocol": protocol, "request_timeout_ms": 6000,
             "api_version_auto_timeout_ms": 3000, "reconnect_backoff_max_ms": 200}
        if protocol == "SSL":
            s.update(ssl_cafile=ca, ssl_check_hostname=True)
            if cert:
                s.update(ssl_certfile=cert, ssl_keyfile=KEY)
        return s

    def brokers_seen(**kw):
        a = KafkaAdminClient(**settings(**kw))
        ports = sorted(b["port"] for b in a.describe_cluster()["brokers"])
        a.close()
        return ports

    roundtrip, refused, version = kafka_python_io(checks, settings, SUFFIX)
else:
    from confluent_kafka.admin import AdminClient

    def settings(port=SSL_PORT, ca=CA, cert=None, protocol="SSL"):
        s = {"bootstrap.servers": f"localhost:{port}", "security.protocol": protocol.lower(), "socket.timeout.ms": 5000}
        if protocol == "SSL":
            s.update({"ssl.ca.location": ca, "ssl.endpoint.identification.algorithm": "https"})
            if cert:
                s.update({"ssl.certificate.location": cert, "ssl.key.location": KEY})
        return s

    def brokers_seen(**kw):
        md = AdminClient(settings(**kw)).list_topics(timeout=10)
        return sorted(b.port for b in md.brokers.values())

    roundtrip, refused, version = confluent_io(checks, settings, SUFFIX)

start = time.time()
ok = checks.ok
# a. b.
ok(roundtrip(f"tls-{SUFFIX}", b"over-tls") == [b"over-tls"], "a record produced over SSL was not read back over SSL")
ok(brokers_seen() == [int(SSL_PORT)], f"Metadata over SSL named {brokers_seen()}, not the SSL port {SSL_PORT}")
ok(brokers_seen(port=PORT, protocol="PLAINTEXT") == [int(PORT)], "Metadata over PLAINTEXT did not name the plaintext port")
# c. d.
ok(roundtrip(f"mtls-{SUFFIX}", b"with-cert", port=MTLS_PORT, cert=CERT) == [b"with-cert"], "a client with a certificate was not served on the client-auth listener")
ok(refused(port=MTLS_PORT), "a client without a certificate was served on a listener with ssl.client.auth=required")
# e. f.
ok(refused(ca=OTHER_CA), "a client that trusts another CA connected (the broker's certificate should be refused)")
ok(refused(protocol="PLAINTEXT"), "a PLAINTEXT client was served on the SSL port")
ok(roundtrip(f"tls-after-{SUFFIX}", b"still-serving") == [b"still-serving"], "the SSL listener stopped serving after refused clients")
print(f"PASS tls_test ({version}): {checks.count} checks: ssl round trip, metadata per listener, client certificate required, wrong CA, plaintext on TLS in {time.time() - start:.1f}s")
