#!/usr/bin/python3
"""Topic configs through confluent-kafka-python's AdminClient (Debian python3-confluent-kafka, librdkafka
underneath), and what they do to the log as stock clients see it.

Usage: /usr/bin/python3 tests/clients/confluent_config_test.py PORT [TOPIC_SUFFIX]

The broker must run with short background intervals, as ProcessConfigClientTests starts it:
log.retention.check.interval.ms=200, log.cleaner.backoff.ms=200, log.segment.delete.delay.ms=0.

1. describe_configs shows defaults, topic overrides and the broker's settings with their sources.
2. alter_configs sets retention.ms=1000 on a topic with small segments: the low watermark moves up,
   and a consumer that asks for offset 0 is reset to the earliest offset still there (auto.offset.reset).
3. alter_configs turns a delete topic into cleanup.policy=compact: a consumer from the beginning then sees
   the compacted view, one record per key at its original offset, tombstone included.
4. create_partitions grows a topic (the new partition takes writes); shrinking gets INVALID_PARTITIONS.
5. Bad values are refused with INVALID_CONFIG and change nothing.
Every check is an assertion; the script prints one summary line and exits non-zero on failure.
"""
import signal
import sys
import time
import traceback
import uuid

try:
    import confluent_kafka
    from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, NewPartitions, NewTopic
except ImportError as e:  # never skip: a missing library is a failure
    print(f"FAIL confluent_config_test: confluent-kafka is not importable ({e}); "
          "install it with `apt-get install python3-confluent-kafka` and run with /usr/bin/python3")
    sys.exit(2)

if len(sys.argv) < 2:
    print("usage: confluent_config_test.py PORT [TOPIC_SUFFIX]")
    sys.exit(2)

PORT = int(sys.argv[1])
SUFFIX = sys.argv[2] if len(sys.argv) > 2 else uuid.uuid4().hex[:8]
BOOTSTRAP = f"127.0.0.1:{PORT}"
VERSIONS = f"confluent-kafka {confluent_kafka.version()[0]}, librdkafka {confluent_kafka.libversion()[0]}"
SMALL_SEGMENTS = {"segment.bytes": "1024"}

checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        raise AssertionError(what)


def describe(admin, restype, name):
    futs = admin.describe_configs([ConfigResource(restype, name)], request_timeout=10)
    (fut,) = futs.values()
    return fut.result(timeout=10)


def alter(admin, topic, configs):
    futs = admin.alter_configs([ConfigResource("topic", topic, set_config=configs)], request_timeout=10)
    (fut,) = futs.values()
    fut.result(timeout=10)


def produce(records):
    """records: (topic, key, value); one batch per record, so small segments fill and roll. Returns the offsets."""
    producer = Producer({"bootstrap.servers": BOOTSTRAP, "linger.ms": 0, "acks": "all", "message.timeout.ms": 10000})
    offsets = []

    def on_delivery(err, msg):
        check(err is None, f"delivery failed: {err}")
        offsets.append(msg.offset())

    for topic, key, value in records:
        producer.produce(topic, key=key, value=value, partition=0, on_delivery=on_delivery)
        producer.flush(10)
    check(len(offsets) == len(records), f"{len(offsets)} of {len(records)} delivered")
    return offsets


def consumer():
    return Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": f"cfg-unused-{SUFFIX}", "enable.auto.commit": False,
                     "auto.offset.reset": "earliest", "fetch.wait.max.ms": 100, "enable.partition.eof": True})


def read_all(topic, start_offset):
    """Everything from start_offset to the end of partition 0, as (offset, key, value)."""
    c = consumer()
    try:
        c.assign([TopicPartition(topic, 0, start_offset)])
        got = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            msg = c.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    return got
                raise AssertionError(f"consumer error {msg.error()}")
            got.append((msg.offset(), msg.key(), msg.value()))
        raise AssertionError(f"no end of partition reached reading {topic}")
    finally:
        c.close()


def watermarks(topic):
    c = consumer()
    try:
        return c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10, cached=False)
    finally:
        c.close()


def main():
    done = []
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    retained, compacted = f"cfg-retention-{SUFFIX}", f"cfg-compact-{SUFFIX}"
    futs = admin.create_topics([NewTopic(t, num_partitions=1, replication_factor=1, config=SMALL_SEGMENTS)
                                for t in (retained, compacted)], operation_timeout=10)
    for f in futs.values():
        f.result(timeout=10)

    # --- describe_configs: defaults, topic overrides, broker settings ---
    cfg = describe(admin, "topic", retained)
    check(cfg["segment.bytes"].value == "1024" and cfg["segment.bytes"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value,
          f"segment.bytes {cfg['segment.bytes']}")
    check(cfg["retention.ms"].value == "604800000" and cfg["retention.ms"].is_default, f"retention.ms {cfg['retention.ms']}")
    check(cfg["cleanup.policy"].value == "delete", f"cleanup.policy {cfg['cleanup.policy']}")
    check(not any(e.is_read_only or e.is_sensitive for e in cfg.values()), "topic configs read-only or sensitive")
    broker = describe(admin, "broker", "1")
    interval = broker["log.retention.check.interval.ms"]
    check(interval.value == "200" and interval.source == ConfigSource.STATIC_BROKER_CONFIG.value, f"broker interval {interval}")
    check(broker["num.partitions"].source == ConfigSource.DEFAULT_CONFIG.value, f"num.partitions {broker['num.partitions']}")
    done.append("describe_configs(topic,broker)")

    # --- retention.ms through alter_configs ---
    offsets = produce([(retained, f"k{i}".encode(), b"r" * 200) for i in range(30)])
    check(offsets == list(range(30)), f"offsets {offsets}")
    low, high = watermarks(retained)
    check((low, high) == (0, 30), f"watermarks before retention ({low}, {high})")
    alter(admin, retained, {"retention.ms": "1000", **SMALL_SEGMENTS})
    cfg = describe(admin, "topic", retained)
    check(cfg["retention.ms"].value == "1000" and cfg["retention.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value,
          f"retention.ms after alter {cfg['retention.ms']}")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        low, high = watermarks(retained)
        if low == high:
            break
        time.sleep(0.2)
    check((low, high) == (30, 30), f"watermarks after retention.ms=1000: ({low}, {high})")
    # records produced after the change stay until they are a second old; offset 0 is gone, and the consumer
    # resets to the earliest offset still there (auto.offset.reset=earliest)
    alter(admin, retained, {"retention.ms": "600000", **SMALL_SEGMENTS})
    produce([(retained, b"late", b"still here")])
    got = read_all(retained, 0)
    check([(o, k, v) for o, k, v in got] == [(30, b"late", b"still here")], f"read from 0 after retention: {got}")
    done.append("alter_configs(retention.ms)->low watermark 30, reset to earliest")

    # --- cleanup.policy=compact through alter_configs ---
    records, latest = [], {}
    for rnd in range(6):
        for k in range(8):
            records.append((compacted, f"key{k}".encode(), f"key{k} round {rnd}".encode()))
    records.append((compacted, b"key3", None))  # tombstone
    records += [(compacted, b"filler", b"f" * 200)] * 12  # pushes the keyed records out of the active segment
    offsets = produce(records)
    for (_, key, value), off in zip(records, offsets):
        latest[key] = (off, value)
    before = read_all(compacted, 0)
    check(len(before) == len(records), f"{len(before)} records before compaction")
    alter(admin, compacted, {"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.01", **SMALL_SEGMENTS})
    check(describe(admin, "topic", compacted)["cleanup.policy"].value == "compact", "cleanup.policy after alter")
    deadline = time.monotonic() + 20
    while True:
        view = read_all(compacted, 0)
        keyed = [(o, k, v) for o, k, v in view if k != b"filler"]
        if len(keyed) == 8 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    expected = sorted((off, key, value) for key, (off, value) in latest.items() if key != b"filler")
    check(keyed == expected, f"compacted view {keyed}, expected {expected}")
    check(any(k == b"key3" and v is None for _, k, v in keyed), "tombstone for key3 missing")
    fillers = [o for o, k, _ in view if k == b"filler"]
    check(fillers and fillers[-1] == latest[b"filler"][0], f"latest filler missing: {fillers}")
    check(len(view) < len(before), f"compaction removed nothing ({len(view)} of {len(before)})")
    low, high = watermarks(compacted)
    check((low, high) == (0, len(records)), f"compaction moved the watermarks: ({low}, {high})")
    done.append(f"alter_configs(cleanup.policy=compact)->{len(before)} records seen as {len(view)}")

    # --- create_partitions: the topic grows, the new partition takes writes, shrinking is refused ---
    for f in admin.create_partitions([NewPartitions(retained, 3)], operation_timeout=10).values():
        f.result(timeout=10)
    md = admin.list_topics(retained, timeout=10)
    check(sorted(md.topics[retained].partitions) == [0, 1, 2], f"partitions after create_partitions: {md.topics[retained].partitions}")
    producer = Producer({"bootstrap.servers": BOOTSTRAP, "acks": "all"})
    delivered = []
    producer.produce(retained, value=b"new partition", partition=2, on_delivery=lambda err, msg: delivered.append((err, msg.partition(), msg.offset())))
    producer.flush(10)
    check(delivered == [(None, 2, 0)], f"produce to the new partition: {delivered}")
    try:
        for f in admin.create_partitions([NewPartitions(retained, 2)], operation_timeout=10).values():
            f.result(timeout=10)
        raise AssertionError("shrinking to 2 partitions succeeded")
    except KafkaException as e:
        check(e.args[0].code() == KafkaError.INVALID_PARTITIONS, f"create_partitions(2): {e}")
    done.append("create_partitions(1->3, shrink refused)")

    # --- invalid values: INVALID_CONFIG, nothing changes ---
    for bad in ({"retention.ms": "soon"}, {"cleanup.policy": "shred"}, {"no.such.config": "1"}):
        try:
            alter(admin, retained, bad)
            raise AssertionError(f"alter_configs {bad} succeeded")
        except KafkaException as e:
            check(e.args[0].code() == KafkaError.INVALID_CONFIG, f"alter_configs {bad}: {e}")
    check(describe(admin, "topic", retained)["retention.ms"].value == "600000", "a refused alter changed retention.ms")
    done.append("INVALID_CONFIG x3")

    for f in admin.delete_topics([retained, compacted], operation_timeout=10).values():
        f.result(timeout=10)
    return done


if __name__ == "__main__":
    t0 = time.monotonic()

    def _timeout(*_):
        raise TimeoutError("confluent_config_test took longer than 90 s (a request hung?)")

    signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(90)
    try:
        done = main()
    except Exception as e:  # noqa: BLE001 - any failure fails the script
        traceback.print_exc()
        print(f"FAIL confluent_config_test ({VERSIONS}): {type(e).__name__}: {e}")
        sys.exit(1)
    print(f"PASS confluent_config_test ({VERSIONS}): {checks} checks, {', '.join(done)} in {time.monotonic() - t0:.1f}s")
