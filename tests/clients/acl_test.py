#!/usr/bin/python3
"""ACLs as a stock Python client meets them: kafka-python 2.0.2 or confluent-kafka-python (librdkafka), as alice over
SASL/PLAIN on a broker with StandardAuthorizer.

Usage: /usr/bin/python3 tests/clients/acl_test.py PORT SUFFIX SASL_PORT kafka-python|confluent
  The test class has made, for alice: acl-ok-SUFFIX (READ, WRITE) with the group acl-group-SUFFIX (READ);
  acl-ro-SUFFIX (READ only); acl-deny-SUFFIX (ALL allowed, WRITE denied); and acl-hidden-SUFFIX with no ACL for her.
Checks:
  a. a record produced to acl-ok and consumed back in acl-group;
  b. producing to acl-ro (READ only) and to acl-deny (deny over allow): TOPIC_AUTHORIZATION_FAILED;
  c. consuming in a group without an ACL: GROUP_AUTHORIZATION_FAILED;
  d. the topics alice is shown: not acl-hidden;
  e. (confluent) a transactional producer with a transactional id alice has no ACL for: TRANSACTIONAL_ID_AUTHORIZATION_FAILED.
Prints one summary line; exits non-zero on any failure.
"""
import sys
import time

from secure_clients import Checks

PORT, SUFFIX, SASL_PORT, CLIENT = sys.argv[1:5]
checks = Checks("acl_test", CLIENT)
ok = checks.ok
OK, RO, DENY, HIDDEN, GROUP = (f"acl-{k}-{SUFFIX}" for k in ("ok", "ro", "deny", "hidden", "group"))
start = time.time()

if CLIENT == "kafka-python":
    try:
        from kafka import KafkaProducer, KafkaConsumer
        from kafka.errors import TopicAuthorizationFailedError, GroupAuthorizationFailedError, KafkaError
    except ImportError as e:
        checks.fail(f"kafka-python is not importable ({e})")
    common = {"bootstrap_servers": f"localhost:{SASL_PORT}", "security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN",
              "sasl_plain_username": "alice", "sasl_plain_password": "alice-secret", "request_timeout_ms": 6000,
              "api_version_auto_timeout_ms": 3000}

    def produce(topic):
        p = KafkaProducer(max_block_ms=5000, **common)
        try:
            p.send(topic, b"v").get(10)
            return None
        except KafkaError as e:
            return e
        finally:
            p.close()

    def consume(topic, group):
        c = KafkaConsumer(topic, group_id=group, auto_offset_reset="earliest", consumer_timeout_ms=8000, session_timeout_ms=6000,
                          heartbeat_interval_ms=2000, **{**common, "request_timeout_ms": 7000})
        try:
            return [m.value for m in c], None
        except KafkaError as e:
            return [], e
        finally:
            c.close()

    ok(produce(OK) is None, "producing to a topic alice may write failed")
    got, err = consume(OK, GROUP)
    ok(got == [b"v"] and err is None, f"alice's record was not read back in her group: {got} {err}")
    for topic in (RO, DENY):
        e = produce(topic)
        ok(isinstance(e, TopicAuthorizationFailedError), f"producing to {topic}: {e!r}")
    got, err = consume(OK, f"other-{SUFFIX}")
    ok(isinstance(err, GroupAuthorizationFailedError), f"a group without an ACL: {err!r}")
    c = KafkaConsumer(**common)
    topics = c.topics()
    c.close()
    ok(OK in topics and RO in topics and HIDDEN not in topics, f"the topics alice is shown: {sorted(topics)}")
    version = "kafka-python 2.0.2"
else:
    try:
        from confluent_kafka import Producer, Consumer, KafkaError, KafkaException, libversion
    except ImportError as e:
        checks.fail(f"confluent-kafka is not importable ({e})")
    common = {"bootstrap.servers": f"localhost:{SASL_PORT}", "security.protocol": "sasl_plaintext", "sasl.mechanisms": "PLAIN",
              "sasl.username": "alice", "sasl.password": "alice-secret"}

    def produce(topic):
        p = Producer({**common, "message.timeout.ms": 8000})
        errors = []
        p.produce(topic, b"v", on_delivery=lambda err, m: errors.append(err))
        p.flush(10)
        return errors[0] if errors else "no delivery report"

    def consume(topic, group):
        c = Consumer({**common, "group.id": group, "auto.offset.reset": "earliest"})
        c.subscribe([topic])
        got, err, deadline = [], None, time.time() + 15
        while time.time() < deadline and not got and err is None:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                err = m.error()
            else:
                got.append(m.value())
        c.close()
        return got, err

    ok(produce(OK) is None, "producing to a topic alice may write failed")
    got, err = consume(OK, GROUP)
    ok(got == [b"v"] and err is None, f"alice's record was not read back in her group: {got} {err}")
    for topic in (RO, DENY):
        e = produce(topic)
        ok(e is not None and e.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, f"producing to {topic}: {e}")
    got, err = consume(OK, f"other-{SUFFIX}")
    ok(err is not None and err.code() == KafkaError.GROUP_AUTHORIZATION_FAILED, f"a group without an ACL: {err}")
    c = Consumer({**common, "group.id": f"lister-{SUFFIX}"})
    topics = c.list_topics(timeout=10).topics
    c.close()
    ok(OK in topics and RO in topics and HIDDEN not in topics, f"the topics alice is shown: {sorted(topics)}")
    tx = Producer({**common, "transactional.id": f"acl-tx-{SUFFIX}"})
    try:
        tx.init_transactions(15)
        ok(False, "a transactional id without an ACL was initialised")
    except KafkaException as e:
        ok(e.args[0].code() == KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, f"a transactional id without an ACL: {e}")
    version = f"librdkafka {libversion()[0]}"

print(f"PASS acl_test ({version}): {checks.count} checks: allowed, READ-only, deny over allow, group, hidden topic, transactional id in {time.time() - start:.1f}s")
