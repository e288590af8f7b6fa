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

PORT, SUFFIX, SSL_PORT, MTLS_PORT, CERTS, CLIENT = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
CA, OTHER_CA = os.path.join(CERTS, "ca.pem"), os.path.join(CERTS, "other-ca.pem")
CERT, KEY = os.path.join(CERTS, "client.pem"), os.path.join(CERTS, "client.key")
checks = 0


def fail(msg):
    print(f"FAIL tls_test ({CLIENT}): {msg}")
    sys.exit(1)


def ok(cond, msg):
    global checks
    if not cond:
        fail(msg)
    checks += 1


if CLIENT == "kafka-python":
    try:
        from kafka import KafkaProducer, KafkaConsumer, KafkaAdminClient
        from kafka.errors import NoBrokersAvailable, KafkaError
    except ImportError as e:
        fail(f"kafka-python is not importable ({e})")

    def settings(port, ca=CA, cert=None, protocol="SSL"):
        s = {"bootstrap_servers": f"localhost:{port}", "security_protocol": protocol, "request_timeout_ms": 6000,
             "api_version_auto_timeout_ms": 3000, "reconnect_backoff_max_ms": 200}
        if protocol == "SSL":
            s.update(ssl_cafile=ca, ssl_check_hostname=True)
            if cert:
                s.update(ssl_certfile=cert, ssl_keyfile=KEY)
        return s

    def roundtrip(port, topic, value, **kw):
        p = KafkaProducer(max_block_ms=5000, **settings(port, **kw))
        p.send(topic, value).get(15)
        p.close()
        c = KafkaConsumer(topic, auto_offset_reset="earliest", consumer_timeout_ms=5000, **settings(port, **kw))
        got = [m.value for m in c]
        c.close()
        return got

    def brokers_seen(port, **kw):
        a = KafkaAdminClient(**settings(port, **kw))
        ports = sorted(b["port"] for b in a.describe_cluster()["brokers"])
        a.close()
        return ports

    def refused(port, **kw):
        try:
            p = KafkaProducer(max_block_ms=5000, **settings(port, **kw))
            p.send(f"refused-{SUFFIX}", b"x").get(5)
            p.close()
            return False
        except (NoBrokersAvailable, KafkaError, OSError):
            return True
else:
    try:
        from confluent_kafka import Producer, Consumer, libversion
        from confluent_kafka.admin import AdminClient
    except ImportError as e:
        fail(f"confluent-kafka is not importable ({e})")

    def settings(port, ca=CA, cert=None, protocol="SSL"):
        s = {"bootstrap.servers": f"localhost:{port}", "security.protocol": protocol.lower(), "socket.timeout.ms": 5000}
        if protocol == "SSL":
            s.update({"ssl.ca.location": ca, "ssl.endpoint.identification.algorithm": "https"})
            if cert:
                s.update({"ssl.certificate.location": cert, "ssl.key.location": KEY})
        return s

    def roundtrip(port, topic, value, **kw):
        p = Producer({**settings(port, **kw), "message.timeout.ms": 15000})
        errors = []
        p.produce(topic, value, on_delivery=lambda err, m: err and errors.append(err))
        p.flush(20)
        if errors:
            fail(f"produce over {port}: {errors[0]}")
        c = Consumer({**settings(port, **kw), "group.id": f"tls-{SUFFIX}-{port}", "auto.offset.reset": "earliest"})
        c.subscribe([topic])
        got, deadline = [], time.time() + 20
        while time.time() < deadline and not got:
            m = c.poll(0.5)
            if m is not None and not m.error():
                got.append(m.value())
        c.close()
        return got

    def brokers_seen(port, **kw):
        md = AdminClient(settings(port, **kw)).list_topics(timeout=10)
        return sorted(b.port for b in md.brokers.values())

    def refused(port, **kw):
        p = Producer({**settings(port, **kw), "message.timeout.ms": 4000})
        errors = []
        p.produce(f"refused-{SUFFIX}", b"x", on_delivery=lambda err, m: errors.append(err))
        p.flush(8)
        return len(errors) == 1 and errors[0] is not None

start = time.time()
# a. b.
ok(roundtrip(SSL_PORT, f"tls-{SUFFIX}", b"over-tls") == [b"over-tls"], "a record produced over SSL was not read back over SSL")
ok(brokers_seen(SSL_PORT) == [int(SSL_PORT)], f"Metadata over SSL named {brokers_seen(SSL_PORT)}, not the SSL port {SSL_PORT}")
ok(brokers_seen(PORT, protocol="PLAINTEXT") == [int(PORT)], "Metadata over PLAINTEXT did not name the plaintext port")
# c. d.
ok(roundtrip(MTLS_PORT, f"mtls-{SUFFIX}", b"with-cert", cert=CERT) == [b"with-cert"], "a client with a certificate was not served on the client-auth listener")
ok(refused(MTLS_PORT), "a client without a certificate was served on a listener with ssl.client.auth=required")
# e. f.
ok(refused(SSL_PORT, ca=OTHER_CA), "a client that trusts another CA connected (the broker's certificate should be refused)")
ok(refused(SSL_PORT, protocol="PLAINTEXT"), "a PLAINTEXT client was served on the SSL port")
ok(roundtrip(SSL_PORT, f"tls-after-{SUFFIX}", b"still-serving") == [b"still-serving"], "the SSL listener stopped serving after refused clients")
version = "kafka-python 2.0.2" if CLIENT == "kafka-python" else f"librdkafka {libversion()[0]}"
print(f"PASS tls_test ({version}): {checks} checks: ssl round trip, metadata per listener, client certificate required, wrong CA, plaintext on TLS in {time.time() - start:.1f}s")
