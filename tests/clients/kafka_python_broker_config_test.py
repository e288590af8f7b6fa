#!/usr/bin/python3
"""Dynamic broker configs and Kafka 3.x-era topic configs through kafka-python's KafkaAdminClient (Debian
python3-kafka 2.0.2), the one stock client here that can name the cluster-wide default broker resource ("").

Usage: /usr/bin/python3 tests/clients/kafka_python_broker_config_test.py PORT [TOPIC_SUFFIX]

The broker must have node id 1 and no dynamic configs yet; the script removes the ones it sets.

1. create_topics with message.format.version (removed in Kafka 4.0) succeeds; the setting is not kept, the topic works.
2. alter_configs on broker "" sets a cluster-wide default, on broker "1" a per-broker value; describe_configs of
   broker 1 shows the per-broker value first with both synonyms in Kafka's order, and a topic without overrides
   follows (DYNAMIC_BROKER_CONFIG, then DYNAMIC_DEFAULT_BROKER_CONFIG once the per-broker value is removed).
3. Keys a running Kafka broker cannot change are refused with INVALID_REQUEST.
Every check is an assertion; the script prints one summary line and exits non-zero on failure.
"""
import signal
import sys
import time
import traceback
import uuid

try:
    import kafka
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
    from kafka.errors import InvalidRequestError
except ImportError as e:  # never skip: a missing library is a failure
    print(f"FAIL kafka_python_broker_config_test: kafka-python is not importable ({e}); "
          "install it with `apt-get install python3-kafka` and run with /usr/bin/python3")
    sys.exit(2)

if len(sys.argv) < 2:
    print("usage: kafka_python_broker_config_test.py PORT [TOPIC_SUFFIX]")
    sys.exit(2)

PORT = int(sys.argv[1])
SUFFIX = sys.argv[2] if len(sys.argv) > 2 else uuid.uuid4().hex[:8]
BOOTSTRAP = f"localhost:{PORT}"
DYNAMIC_BROKER, DYNAMIC_DEFAULT, DEFAULT = 2, 3, 5

checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        raise AssertionError(what)


def entries(admin, restype, name):
    """name -> (name, value, read_only, source, sensitive, synonyms[(name, value, source)])"""
    res = admin.describe_configs([ConfigResource(restype, name)], include_synonyms=True)
    resource = res[0].resources[0]
    check(resource[0] == 0, f"describe_configs {name}: {resource[:2]}")
    return {e[0]: e for e in resource[4]}


def alter_broker(admin, name, configs):
    """AlterConfigs on a broker resource; returns the error code."""
    resp = admin.alter_configs([ConfigResource(ConfigResourceType.BROKER, name, configs=configs)])
    return resp.resources[0][0]


def main():
    done = []
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP, client_id="kp-broker-cfg", request_timeout_ms=10000)
    legacy, plain = f"kpb-legacy-{SUFFIX}", f"kpb-plain-{SUFFIX}"
    try:
        # 1. a topic created the Kafka 3.x way
        admin.create_topics([NewTopic(name=legacy, num_partitions=1, replication_factor=1,
                                      topic_configs={"message.format.version": "2.8-IV1", "retention.ms": "86400000"}),
                             NewTopic(name=plain, num_partitions=1, replication_factor=1)], timeout_ms=10000)
        topic = entries(admin, ConfigResourceType.TOPIC, legacy)
        check(topic["retention.ms"][1] == "86400000" and topic["retention.ms"][3] == 1, f"retention.ms {topic['retention.ms']}")
        check("message.format.version" not in topic, f"message.format.version kept: {topic.get('message.format.version')}")
        producer = KafkaProducer(bootstrap_servers=BOOTSTRAP)
        sent = producer.send(legacy, value=b"still works", partition=0).get(timeout=10)
        producer.close()
        consumer = KafkaConsumer(bootstrap_servers=BOOTSTRAP, enable_auto_commit=False, consumer_timeout_ms=10000)
        try:
            consumer.assign([TopicPartition(legacy, 0)])
            consumer.seek_to_beginning()
            got = []
            for m in consumer:  # the one record, or nothing after consumer_timeout_ms
                got.append(m.value)
                break
        finally:
            consumer.close()
        check(sent.offset == 0 and got == [b"still works"], f"topic with message.format.version: sent {sent}, read {got}")
        done.append("create_topics(message.format.version)->produce+consume")

        # 2. a cluster-wide default and a per-broker value
        check(alter_broker(admin, "", {"log.retention.ms": "7200000"}) == 0, "alter_configs broker ''")
        check(alter_broker(admin, "1", {"log.retention.ms": "3600000"}) == 0, "alter_configs broker '1'")
        broker = entries(admin, ConfigResourceType.BROKER, "1")
        retention = broker["log.retention.ms"]
        check(retention[1] == "3600000" and retention[3] == DYNAMIC_BROKER and not retention[2], f"broker log.retention.ms {retention}")
        check([tuple(s) for s in retention[5]] == [("log.retention.ms", "3600000", DYNAMIC_BROKER),
                                                   ("log.retention.ms", "7200000", DYNAMIC_DEFAULT),
                                                   ("log.retention.hours", "168", DEFAULT)], f"synonyms {retention[5]}")
        follows = entries(admin, ConfigResourceType.TOPIC, plain)["retention.ms"]
        check(follows[1] == "3600000" and follows[3] == DYNAMIC_BROKER, f"topic retention.ms {follows}")
        check(alter_broker(admin, "1", {}) == 0, "alter_configs broker '1' (none)")
        follows = entries(admin, ConfigResourceType.TOPIC, plain)["retention.ms"]
        check(follows[1] == "7200000" and follows[3] == DYNAMIC_DEFAULT, f"topic retention.ms after the per-broker value went {follows}")
        done.append("alter_configs(broker '' and '1')->describe_configs sources and synonyms")

        # 3. what a running Kafka broker cannot change
        for name, configs in (("", {"num.partitions": "3"}), ("1", {"log.retention.hours": "1"}), ("", {"log.segment.bytes": "10"})):
            code = alter_broker(admin, name, configs)
            check(code == InvalidRequestError.errno, f"alter_configs broker {name!r} {configs}: error {code}")
        check(alter_broker(admin, "", {}) == 0, "alter_configs broker '' (none)")
        follows = entries(admin, ConfigResourceType.TOPIC, plain)["retention.ms"]
        check(follows[1] == "604800000" and follows[3] == DEFAULT, f"topic retention.ms at the end {follows}")
        done.append("INVALID_REQUEST x3")

        admin.delete_topics([legacy, plain], timeout_ms=10000)
    finally:
        admin.close()
    return done


if __name__ == "__main__":
    t0 = time.monotonic()

    def _timeout(*_):
        raise TimeoutError("kafka_python_broker_config_test took longer than 90 s (a request hung?)")

    signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(90)
    try:
        done = main()
    except Exception as e:  # noqa: BLE001 - any failure fails the script
        traceback.print_exc()
        print(f"FAIL kafka_python_broker_config_test (kafka-python {kafka.__version__}): {type(e).__name__}: {e}")
        sys.exit(1)
    print(f"PASS kafka_python_broker_config_test (kafka-python {kafka.__version__}): {checks} checks, "
          f"{', '.join(done)} in {time.monotonic() - t0:.1f}s")
