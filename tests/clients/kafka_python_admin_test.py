#!/usr/bin/python3
"""kafka-python's KafkaAdminClient (Debian python3-kafka 2.0.2) and the kafkacompat command line, cross-checked:
what one does, the other sees.

Usage: KAFKACOMPAT_DLL=src/KafkaCompat/bin/Release/net10.0/kafkacompat.dll \\
       /usr/bin/python3 tests/clients/kafka_python_admin_test.py PORT [TOPIC_SUFFIX]

1. KafkaAdminClient creates a topic with a config; `kafkacompat topic describe -o json` shows its partitions
   and the override.
2. `kafkacompat topic create` and `topic alter-config`; describe_configs shows the values with their sources.
3. alter_configs, then `kafkacompat topic describe` shows the new override.
4. create_partitions, then `kafkacompat topic describe` shows the partitions; `kafkacompat topic add-partitions`,
   then kafka-python's metadata shows them.
5. A consumer group committed by kafka-python is listed and described (with lag) by `kafkacompat group`, and
   `kafkacompat group reset-offsets --execute` is what kafka-python reads back; delete_topics is seen by the CLI.
6. Invalid input: unknown topic, bad partition count, bad config value give the Kafka error name in both.
Every check is an assertion; the script prints one summary line and exits non-zero on failure.
"""
import json
import os
import signal
import subprocess
import sys
import time
import traceback
import uuid

try:
    import kafka
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic
    from kafka.errors import InvalidConfigurationError, InvalidPartitionsError, UnknownTopicOrPartitionError
    from kafka.structs import OffsetAndMetadata
except ImportError as e:  # never skip: a missing library is a failure
    print(f"FAIL kafka_python_admin_test: kafka-python is not importable ({e}); "
          "install it with `apt-get install python3-kafka` and run with /usr/bin/python3")
    sys.exit(2)

if len(sys.argv) < 2:
    print("usage: kafka_python_admin_test.py PORT [TOPIC_SUFFIX]")
    sys.exit(2)

PORT = int(sys.argv[1])
SUFFIX = sys.argv[2] if len(sys.argv) > 2 else uuid.uuid4().hex[:8]
BOOTSTRAP = f"localhost:{PORT}"
HERE = os.path.dirname(os.path.abspath(__file__))
DLL = os.environ.get("KAFKACOMPAT_DLL") or os.path.join(HERE, "..", "..", "src", "KafkaCompat", "bin", "Release", "net10.0", "kafkacompat.dll")

checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        raise AssertionError(what)


def cli(*args, expect=0, stdin=None):
    """Runs kafkacompat; returns stdout (parsed when -o json) and checks the exit code."""
    r = subprocess.run(["dotnet", DLL, *args, "--bootstrap-server", BOOTSTRAP], input=stdin, capture_output=True, text=True, timeout=60)
    check(r.returncode == expect, f"kafkacompat {' '.join(args)}: exit {r.returncode}, expected {expect}; stderr {r.stderr}")
    if "-o" in args and expect == 0:
        return json.loads(r.stdout)
    return r.stdout if expect == 0 else r.stderr


def described(topic):
    return cli("topic", "describe", topic, "-o", "json")[0]


def main():
    done = []
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP, client_id="kp-admin-x", request_timeout_ms=10000)
    a, b = f"kpa-a-{SUFFIX}", f"kpa-b-{SUFFIX}"
    try:
        # 1. kafka-python creates, the CLI sees
        admin.create_topics([NewTopic(name=a, num_partitions=2, replication_factor=1, topic_configs={"retention.ms": "7200000"})], timeout_ms=10000)
        d = described(a)
        check(len(d["partitions"]) == 2 and d["configs"] == {"retention.ms": "7200000"}, f"CLI view of {a}: {d}")
        done.append("create_topics->cli describe")

        # 2. the CLI creates and alters, kafka-python sees values and sources
        cli("topic", "create", b, "--partitions", "1", "--config", "cleanup.policy=compact")
        cli("topic", "alter-config", b, "--set", "segment.ms=600000", "--set", "cleanup.policy=compact,delete")
        res = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, b)], include_synonyms=True)
        entries = {e[0]: e for e in res[0].resources[0][4]}  # (name, value, read_only, source, sensitive, synonyms)
        check(entries["segment.ms"][1] == "600000" and entries["segment.ms"][3] == 1, f"segment.ms {entries['segment.ms']}")
        check(entries["cleanup.policy"][1] == "compact,delete", f"cleanup.policy {entries['cleanup.policy']}")
        check(entries["retention.ms"][3] == 5, f"retention.ms source {entries['retention.ms']}")
        done.append("cli create+alter-config->describe_configs")

        # 3. kafka-python alters (AlterConfigs replaces the override set), the CLI sees
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, a, configs={"retention.ms": "3600000", "max.message.bytes": "2000000"})])
        d = described(a)
        check(d["configs"] == {"max.message.bytes": "2000000", "retention.ms": "3600000"}, f"CLI view after alter_configs: {d['configs']}")
        done.append("alter_configs->cli describe")

        # 4. partitions both ways
        admin.create_partitions({a: NewPartitions(total_count=4)}, timeout_ms=10000)
        check(len(described(a)["partitions"]) == 4, "CLI does not see 4 partitions")
        cli("topic", "add-partitions", a, "--partitions", "6")
        consumer = KafkaConsumer(bootstrap_servers=BOOTSTRAP, client_id="kp-admin-x-meta")
        try:
            check(consumer.partitions_for_topic(a) == set(range(6)), f"kafka-python sees {consumer.partitions_for_topic(a)}")
        finally:
            consumer.close()
        done.append("create_partitions<->cli add-partitions")

        # 5. a group committed by kafka-python, seen and reset by the CLI
        producer = KafkaProducer(bootstrap_servers=BOOTSTRAP)
        for i in range(10):
            producer.send(a, value=str(i).encode(), partition=0)
        producer.flush(10)
        producer.close()
        group = f"kpa-group-{SUFFIX}"
        committer = KafkaConsumer(bootstrap_servers=BOOTSTRAP, group_id=group, enable_auto_commit=False)
        try:
            committer.commit({TopicPartition(a, 0): OffsetAndMetadata(4, "")})
        finally:
            committer.close()
        listed = {g["group"]: g for g in cli("group", "list", "-o", "json")}
        check(group in listed and listed[group]["state"] == "Empty", f"CLI group list: {listed.get(group)}")
        view = cli("group", "describe", group, "-o", "json")
        p0 = [p for p in view["partitions"] if p["topic"] == a and p["partition"] == 0]
        check(p0 and p0[0]["currentOffset"] == 4 and p0[0]["lag"] == 6, f"CLI group describe: {view}")
        cli("group", "reset-offsets", group, "--topic", a, "--to-offset", "7", "--execute")
        offsets = admin.list_consumer_group_offsets(group)
        check(offsets[TopicPartition(a, 0)].offset == 7, f"kafka-python reads {offsets}")
        done.append("commit->cli group describe(lag 6)->cli reset->list_consumer_group_offsets")

        # 6. invalid input: the Kafka error in both
        err = cli("topic", "describe", f"kpa-missing-{SUFFIX}", expect=1)
        check(err.startswith("ERROR UNKNOWN_TOPIC_OR_PARTITION"), err)
        shrunk = None
        try:
            admin.create_partitions({a: NewPartitions(total_count=2)}, timeout_ms=10000)
        except InvalidPartitionsError as e:
            shrunk = e
        check(shrunk is not None, "kafka-python: shrinking to 2 partitions did not raise InvalidPartitionsError")
        err = cli("topic", "add-partitions", a, "--partitions", "2", expect=1)
        check(err.startswith("ERROR INVALID_PARTITIONS"), err)
        resp = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, a, configs={"retention.ms": "soon"})])
        check(resp.resources[0][0] == InvalidConfigurationError.errno, f"alter_configs bad value: {resp.resources[0]}")
        err = cli("topic", "alter-config", a, "--set", "retention.ms=soon", expect=1)
        check(err.startswith("ERROR INVALID_CONFIG"), err)
        done.append("errors(UNKNOWN_TOPIC_OR_PARTITION, INVALID_PARTITIONS, INVALID_CONFIG)")

        admin.delete_topics([a, b], timeout_ms=10000)
        left = {t["topic"] for t in cli("topic", "list", "-o", "json")}
        check(a not in left and b not in left, f"CLI still lists {left & {a, b}}")
        err = cli("topic", "delete", a, expect=1)
        check(err.startswith("ERROR UNKNOWN_TOPIC_OR_PARTITION"), err)
        done.append("delete_topics->cli list")
    finally:
        admin.close()
    return done


if __name__ == "__main__":
    t0 = time.monotonic()

    def _timeout(*_):
        raise TimeoutError("kafka_python_admin_test took longer than 120 s (a request hung?)")

    signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(120)
    try:
        done = main()
    except Exception as e:  # noqa: BLE001 - any failure fails the script
        traceback.print_exc()
        print(f"FAIL kafka_python_admin_test (kafka-python {kafka.__version__}): {type(e).__name__}: {e}")
        sys.exit(1)
    print(f"PASS kafka_python_admin_test (kafka-python {kafka.__version__}): {checks} checks, "
          f"{', '.join(done)} in {time.monotonic() - t0:.1f}s")
