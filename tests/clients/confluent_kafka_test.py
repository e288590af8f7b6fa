#!/usr/bin/python3
"""End-to-end check of a running KafkaCompat broker with confluent-kafka (Debian python3-confluent-kafka,
librdkafka underneath).

Usage: /usr/bin/python3 tests/clients/confluent_kafka_test.py PORT [TOPIC_SUFFIX]

The consumer has a group.id (librdkafka requires one) but never joins a group: it uses assign()
with explicit offsets and enable.auto.commit=False, because this broker has no group coordinator yet.
Every check is an assertion; the script prints one summary line and exits non-zero on failure.
"""
import logging
import re
import signal
import sys
import time
import traceback
import uuid

try:
    import confluent_kafka
    from confluent_kafka import (OFFSET_BEGINNING, OFFSET_END, Consumer, KafkaError, KafkaException,
                                 Producer, TopicPartition)
    from confluent_kafka.admin import AdminClient, NewTopic
except ImportError as e:  # never skip: a missing library is a failure
    print(f"FAIL confluent_kafka_test: confluent-kafka is not importable ({e}); "
          "install it with `apt-get install python3-confluent-kafka` and run with /usr/bin/python3")
    sys.exit(2)

if len(sys.argv) < 2:
    print("usage: confluent_kafka_test.py PORT [TOPIC_SUFFIX]")
    sys.exit(2)

PORT = int(sys.argv[1])
SUFFIX = sys.argv[2] if len(sys.argv) > 2 else uuid.uuid4().hex[:8]
BOOTSTRAP = f"127.0.0.1:{PORT}"
VERSIONS = f"confluent-kafka {confluent_kafka.version()[0]}, librdkafka {confluent_kafka.libversion()[0]}"

checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        raise AssertionError(what)


def wait_futures(futs, what):
    for name, fut in futs.items():
        try:
            fut.result(timeout=10)
        except Exception as e:  # noqa: BLE001
            raise AssertionError(f"{what} {name} failed: {e}") from e


def make_consumer():
    return Consumer({
        "bootstrap.servers": BOOTSTRAP,
        "group.id": f"cfk-unused-{SUFFIX}",  # required by librdkafka; never used for subscribe/commit
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "fetch.wait.max.ms": 100,
        "socket.timeout.ms": 10000,
    })


def expected_records(tag, n, ts0):
    recs = []
    for i in range(n):
        # non-text bytes plus a repetitive tail, so that every codec really shrinks the batch
        value = f"{tag} value {i} ".encode() + bytes(range(i, i + 20)) + b"-padding" * 30
        key = f"{tag}-key-{i}".encode() if i % 4 else None  # every fourth key is null
        headers = [("hdr-i", str(i).encode()), ("hdr-tag", tag.encode())] if i % 2 else None
        recs.append((key, value, headers, ts0 + i * 1000))
    return recs


def consume_exact(consumer, n, what):
    got = []
    deadline = time.monotonic() + 10
    while len(got) < n and time.monotonic() < deadline:
        for msg in consumer.consume(num_messages=n - len(got), timeout=0.5):
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise AssertionError(f"{what}: consumer error {msg.error()}")
            got.append(msg)
    check(len(got) == n, f"{what}: got {len(got)} records, expected {n}")
    return got


class _LogCollector(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def produce(topic, partition, recs, conf_extra, log=None):
    conf = {"bootstrap.servers": BOOTSTRAP, "linger.ms": 20, "message.timeout.ms": 10000}
    conf.update(conf_extra)
    if log is not None:
        # librdkafka's debug log names the codec it used for each ProduceRequest batch
        logger = logging.getLogger(f"rdkafka-{topic}-{len(log)}")
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        handler = _LogCollector()
        logger.addHandler(handler)
        conf.update({"debug": "msg,feature", "logger": logger})
    producer = Producer(conf)
    reports = []

    def on_delivery(err, msg):
        reports.append((err, msg.topic(), msg.partition(), msg.offset(), msg.key()))

    for key, value, headers, ts in recs:
        kwargs = {"value": value, "key": key, "timestamp": ts, "on_delivery": on_delivery}
        if partition is not None:
            kwargs["partition"] = partition
        if headers is not None:
            kwargs["headers"] = headers
        producer.produce(topic, **kwargs)
    remaining = producer.flush(10)
    check(remaining == 0, f"flush left {remaining} messages undelivered")
    check(len(reports) == len(recs), f"{len(reports)} delivery reports for {len(recs)} messages")
    errs = [r[0] for r in reports if r[0] is not None]
    check(not errs, f"delivery errors: {errs}")
    if log is not None:
        producer.poll(0.2)  # serve the remaining log callbacks
        log.extend(handler.lines)
    return reports


def verify_partition(topic, partition, recs, base, tag):
    consumer = make_consumer()
    try:
        n = len(recs)
        consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
        got = consume_exact(consumer, base + n, f"{tag} from beginning")[base:]
        for i, (msg, (key, value, headers, ts)) in enumerate(zip(got, recs)):
            check(msg.topic() == topic and msg.partition() == partition, f"{tag} #{i}: topic/partition")
            check(msg.offset() == base + i, f"{tag} #{i}: offset {msg.offset()} != {base + i}")
            check(msg.key() == key, f"{tag} #{i}: key {msg.key()!r} != {key!r}")
            check(msg.value() == value, f"{tag} #{i}: value {msg.value()!r} != {value!r}")
            check(msg.headers() == headers, f"{tag} #{i}: headers {msg.headers()!r} != {headers!r}")
            check(msg.timestamp() == (confluent_kafka.TIMESTAMP_CREATE_TIME, ts),
                  f"{tag} #{i}: timestamp {msg.timestamp()} != (create, {ts})")
        # re-assign at an explicit offset in the middle
        mid = base + n // 2
        consumer.unassign()
        consumer.assign([TopicPartition(topic, partition, mid)])
        tail = consume_exact(consumer, base + n - mid, f"{tag} from offset {mid}")
        check([m.offset() for m in tail] == list(range(mid, base + n)), f"{tag}: offsets after assign({mid})")
        check([m.value() for m in tail] == [r[1] for r in recs[n // 2:]], f"{tag}: values after assign({mid})")
    finally:
        consumer.close()


def main():
    done = []
    topic = f"cfk-main-{SUFFIX}"
    topic_codec = f"cfk-codec-{SUFFIX}"
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})

    # --- AdminClient.create_topics ---
    futs = admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1),
                                NewTopic(topic_codec, num_partitions=1, replication_factor=1)],
                               operation_timeout=10, request_timeout=10)
    wait_futures(futs, "create_topics")
    try:
        admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)],
                            request_timeout=10)[topic].result(timeout=10)
        raise AssertionError("creating an existing topic succeeded")
    except KafkaException as e:
        check(e.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS, f"re-create gave {e}")
    md = admin.list_topics(timeout=10)
    check(topic in md.topics and topic_codec in md.topics, f"list_topics lacks new topics: {sorted(md.topics)}")
    check(sorted(md.topics[topic].partitions) == [0, 1, 2], f"partitions {sorted(md.topics[topic].partitions)}")
    check(md.topics[topic].error is None, f"topic metadata error {md.topics[topic].error}")
    check(len(md.brokers) == 1, f"brokers {md.brokers}")
    b = next(iter(md.brokers.values()))
    check(b.port == PORT, f"advertised port {b.port} != {PORT}")
    done.append("admin.create_topics+list_topics")

    # --- produce with keys/headers/timestamps to partition 2, read back ---
    ts0 = int(time.time() * 1000) - 100_000
    recs = expected_records("plain", 12, ts0)
    reports = produce(topic, 2, recs, {})
    check([r[3] for r in reports] == list(range(12)), f"delivery offsets {[r[3] for r in reports]}")
    check(all(r[2] == 2 for r in reports), "delivery partitions")
    verify_partition(topic, 2, recs, 0, "plain")
    done.append("produce+assign-consume")

    # --- watermarks and offsets_for_times (ListOffsets) ---
    consumer = make_consumer()
    try:
        for p, hi in ((0, 0), (1, 0), (2, 12)):
            wm = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)
            check(wm == (0, hi), f"watermarks of partition {p}: {wm} != (0, {hi})")
        queries = [(ts0 - 1, 0), (ts0, 0), (ts0 + 5000, 5), (ts0 + 4500, 5), (ts0 + 11000, 11), (ts0 + 11001, OFFSET_END)]
        for ts, want in queries:
            res = consumer.offsets_for_times([TopicPartition(topic, 2, ts)], timeout=10)
            check(res[0].error is None, f"offsets_for_times({ts}) error {res[0].error}")
            check(res[0].offset == want, f"offsets_for_times(ts0+{ts - ts0}) = {res[0].offset}, expected {want}")
        done.append("watermarks+offsets_for_times")
    finally:
        consumer.close()

    # --- keyed records through the default partitioner ---
    keyed = [(f"user-{i % 5}".encode(), f"v{i}".encode(), None, ts0 + i) for i in range(20)]
    reports = produce(topic, None, keyed, {})
    parts = {}
    for r in reports:
        parts.setdefault(r[4], set()).add(r[2])
    check(all(len(p) == 1 for p in parts.values()), f"a key went to several partitions: {parts}")
    done.append("keyed-partitioner")

    # --- all four compression codecs ---
    base = 0
    for codec in ("gzip", "snappy", "lz4", "zstd"):
        crecs = expected_records(f"codec-{codec}", 9, ts0 + 50_000)
        log = []
        reports = produce(topic_codec, 0, crecs, {"compression.type": codec}, log=log)
        used = sorted({m.group(1) for line in log
                       for m in [re.search(r"Produce MessageSet with \d+ message\(s\) \(.*, (\w+)\)$", line)] if m})
        # librdkafka enables LZ4 only when the broker advertises FindCoordinator; ours does, so lz4 must be real
        want = codec
        check(used == [want], f"{codec}: librdkafka sent batches with codec {used}, expected [{want}]")
        check([r[3] for r in reports] == list(range(base, base + 9)), f"{codec}: delivery offsets {[r[3] for r in reports]}")
        verify_partition(topic_codec, 0, crecs, base, f"codec-{codec}")
        base += 9
        done.append(codec)

    # --- error paths the broker must answer with the right codes ---
    def create_error(name, parts):
        try:
            admin.create_topics([NewTopic(name, num_partitions=parts, replication_factor=1)],
                                request_timeout=10)[name].result(timeout=10)
            return None
        except KafkaException as e:
            return e.args[0].code()
    code = create_error(f"cfk-zero-{SUFFIX}", 0)
    check(code == KafkaError.INVALID_PARTITIONS, f"create with 0 partitions gave {code}")
    code = create_error(f"cfk bad name {SUFFIX}!", 1)
    check(code == KafkaError.TOPIC_EXCEPTION, f"create with an illegal name gave {code}")
    try:
        admin.delete_topics([f"cfk-missing-{SUFFIX}"], request_timeout=10)[f"cfk-missing-{SUFFIX}"].result(timeout=10)
        code = None
    except KafkaException as e:
        code = e.args[0].code()
    check(code == KafkaError.UNKNOWN_TOPIC_OR_PART, f"delete of an unknown topic gave {code}")
    big = []
    producer = Producer({"bootstrap.servers": BOOTSTRAP, "message.max.bytes": 3_000_000, "message.timeout.ms": 10000})
    producer.produce(topic_codec, b"z" * 1_500_000, partition=0, on_delivery=lambda err, msg: big.append(err))
    producer.flush(10)
    check(len(big) == 1 and big[0] is not None and big[0].code() == KafkaError.MSG_SIZE_TOO_LARGE,
          f"1.5 MB record (over the default message.max.bytes) gave {big}")
    consumer = make_consumer()
    try:  # an offset past the end: OFFSET_OUT_OF_RANGE, then auto.offset.reset=earliest restarts at 0
        consumer.assign([TopicPartition(topic_codec, 0, 10_000)])
        got = consume_exact(consumer, 3, "after an out-of-range offset")
        check([m.offset() for m in got] == [0, 1, 2], f"offsets after an out-of-range reset: {[m.offset() for m in got]}")
    finally:
        consumer.close()
    done.append("error-codes")

    # --- AdminClient.delete_topics ---
    futs = admin.delete_topics([topic, topic_codec], operation_timeout=10, request_timeout=10)
    wait_futures(futs, "delete_topics")
    md = admin.list_topics(timeout=10)
    check(topic not in md.topics and topic_codec not in md.topics, "topics still listed after delete")
    done.append("admin.delete_topics")
    return done


if __name__ == "__main__":
    t0 = time.monotonic()

    def _timeout(*_):
        raise TimeoutError("confluent_kafka_test took longer than 60 s (a request hung?)")

    signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(60)
    try:
        done = main()
    except Exception as e:  # noqa: BLE001 - any failure fails the script
        traceback.print_exc()
        print(f"FAIL confluent_kafka_test ({VERSIONS}): {type(e).__name__}: {e}")
        sys.exit(1)
    print(f"PASS confluent_kafka_test ({VERSIONS}): {checks} checks, {', '.join(done)} in {time.monotonic() - t0:.1f}s")
