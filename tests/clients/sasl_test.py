#!/usr/bin/python3
"""SASL/PLAIN with a stock Python client: kafka-python 2.0.2 (SaslHandshake v0, then raw token frames) or
confluent-kafka-python (librdkafka: SaslHandshake v1 and SaslAuthenticate).

Usage: /usr/bin/python3 tests/clients/sasl_test.py PORT SUFFIX SASL_PORT SASL_SSL_PORT CERT_DIR kafka-python|confluent
  PORT the PLAINTEXT listener; SASL_PORT a SASL_PLAINTEXT one and SASL_SSL_PORT a SASL_SSL one, both with PLAIN and
  the users alice/alice-secret and bob/bob-secret; CERT_DIR holds ca.pem.
Checks:
  a. alice over SASL_PLAINTEXT and bob over SASL_SSL: produce and consume back;
  b. a wrong password, an unknown user: refused (no connection);
  c. a client without SASL on the SASL port: refused;
  d. afterwards the listeners still serve alice.
Prints one summary line; exits non-zero on any failure.
"""
import os
import sys
import time

PORT, SUFFIX, SASL_PORT, SASL_SSL_PORT, CERTS, CLIENT = sys.argv[1:7]
CA = os.path.join(CERTS, "ca.pem")
checks = 0


def fail(msg):
    print(f"FAIL sasl_test ({CLIENT}): {msg}")
    sys.exit(1)


def ok(cond, msg):
    global checks
    if not cond:
        fail(msg)
    checks += 1


if CLIENT == "kafka-python":
    try:
        from kafka import KafkaProducer, KafkaConsumer
        from kafka.errors import NoBrokersAvailable, KafkaError
    except ImportError as e:
        fail(f"kafka-python is not importable ({e})")

    def settings(port, user, password, protocol):
        s = {"bootstrap_servers": f"localhost:{port}", "security_protocol": protocol, "request_timeout_ms": 6000,
             "api_version_auto_timeout_ms": 3000, "reconnect_backoff_max_ms": 200}
        if protocol.startswith("SASL"):
            s.update(sasl_mechanism="PLAIN", sasl_plain_username=user, sasl_plain_password=password)
        if protocol.endswith("SSL"):
            s.update(ssl_cafile=CA)
        return s

    def roundtrip(port, user, password, protocol, topic, value):
        p = KafkaProducer(max_block_ms=5000, **settings(port, user, password, protocol))
        p.send(topic, value).get(15)
        p.close()
        c = KafkaConsumer(topic, auto_offset_reset="earliest", consumer_timeout_ms=5000, **settings(port, user, password, protocol))
        got = [m.value for m in c]
        c.close()
        return got

    def refused(port, user, password, protocol):
        try:
            p = KafkaProducer(max_block_ms=5000, **settings(port, user, password, protocol))
            p.send(f"refused-{SUFFIX}", b"x").get(5)
            p.close()
            return False
        except (NoBrokersAvailable, KafkaError, OSError):
            return True
else:
    try:
        from confluent_kafka import Producer, Consumer, libversion
    except ImportError as e:
        fail(f"confluent-kafka is not importable ({e})")

    def settings(port, user, password, protocol):
        s = {"bootstrap.servers": f"localhost:{port}", "security.protocol": protocol.lower(), "socket.timeout.ms": 5000}
        if protocol.startswith("SASL"):
            s.update({"sasl.mechanisms": "PLAIN", "sasl.username": user, "sasl.password": password})
        if protocol.endswith("SSL"):
            s.update({"ssl.ca.location": CA})
        return s

    def roundtrip(port, user, password, protocol, topic, value):
        p = Producer({**settings(port, user, password, protocol), "message.timeout.ms": 15000})
        errors = []
        p.produce(topic, value, on_delivery=lambda err, m: err and errors.append(err))
        p.flush(20)
        if errors:
            fail(f"produce as {user} over {protocol}: {errors[0]}")
        c = Consumer({**settings(port, user, password, protocol), "group.id": f"sasl-{SUFFIX}-{topic}", "auto.offset.reset": "earliest"})
        c.subscribe([topic])
        got, deadline = [], time.time() + 20
        while time.time() < deadline and not got:
            m = c.poll(0.5)
            if m is not None and not m.error():
                got.append(m.value())
        c.close()
        return got

    def refused(port, user, password, protocol):
        p = Producer({**settings(port, user, password, protocol), "message.timeout.ms": 4000})
        errors = []
        p.produce(f"refused-{SUFFIX}", b"x", on_delivery=lambda err, m: errors.append(err))
        p.flush(8)
        return len(errors) == 1 and errors[0] is not None

start = time.time()
ok(roundtrip(SASL_PORT, "alice", "alice-secret", "SASL_PLAINTEXT", f"sasl-{SUFFIX}", b"as-alice") == [b"as-alice"],
   "alice's record over SASL_PLAINTEXT was not read back")
ok(roundtrip(SASL_SSL_PORT, "bob", "bob-secret", "SASL_SSL", f"sasl-ssl-{SUFFIX}", b"as-bob") == [b"as-bob"],
   "bob's record over SASL_SSL was not read back")
ok(refused(SASL_PORT, "alice", "wrong-password", "SASL_PLAINTEXT"), "a wrong password was accepted")
ok(refused(SASL_PORT, "mallory", "alice-secret", "SASL_PLAINTEXT"), "an unknown user was accepted")
ok(refused(SASL_PORT, None, None, "PLAINTEXT"), "a client without SASL was served on the SASL port")
ok(roundtrip(SASL_PORT, "alice", "alice-secret", "SASL_PLAINTEXT", f"sasl-after-{SUFFIX}", b"still") == [b"still"],
   "the SASL listener stopped serving after refused clients")
version = "kafka-python 2.0.2" if CLIENT == "kafka-python" else f"librdkafka {libversion()[0]}"
print(f"PASS sasl_test ({version}): {checks} checks: PLAIN over SASL_PLAINTEXT and SASL_SSL, wrong password, unknown user, no SASL in {time.time() - start:.1f}s")
