#!/usr/bin/python3
"""End-to-end check of a running KafkaCompat broker with kafka-python (Debian python3-kafka 2.0.2).

Usage: /usr/bin/python3 tests/clients/kafka_python_test.py PORT [TOPIC_SUFFIX]

Written the way the kafka-python tutorials use the library: a JSON value_serializer on the
producer, a value_deserializer on the consumer, assign() + seek_to_beginning()/seek() (no
consumer group: this broker has no group coordinator yet), KafkaAdminClient for topics.
Every check is an assertion; the script prints one summary line and exits non-zero on failure.
"""
import json
import signal
import sys
import time
import traceback
import uuid

try:
    import kafka
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import NewTopic
    from kafka import codec as kafka_codec
except ImportError as e:  # never skip: a missing library is a failure
    print(f"FAIL kafka_python_test: kafka-python is not importable ({e}); "
          "install it with `apt-get install python3-kafka` and run with /usr/bin/python3")
    sys.exit(2)

if len(sys.argv) < 2:
    print("usage: kafka_python_test.py PORT [TOPIC_SUFFIX]")
    sys.exit(2)

PORT = int(sys.argv[1])
SUFFIX = sys.argv[2] if len(sys.argv) > 2 else uuid.uuid4().hex[:8]
BOOTSTRAP = f"localhost:{PORT}"

checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        raise AssertionError(what)


def make_producer(**extra):
    return KafkaProducer(
        bootstrap_servers=BOOTSTRAP,
        value_serializer=lambda v: json.dumps(v).encode("utf-8"),
        request_timeout_ms=10000,
        max_block_ms=10000,
        retries=0,
        **extra,
    )


def make_consumer():
    return KafkaConsumer(
        bootstrap_servers=BOOTSTRAP,
        value_deserializer=lambda m: json.loads(m.decode("utf-8")),
        consumer_timeout_ms=3000,
        enable_auto_commit=False,
        group_id=None,
        auto_offset_reset="earliest",
        request_timeout_ms=11000,
        fetch_max_wait_ms=200,
    )


def read_n(consumer, n):
    """Iterate until n records arrived (consumer_timeout_ms ends the iteration if they never do)."""
    out = []
    for msg in consumer:
        out.append(msg)
        if len(out) >= n:
            break
    return out


def expected_records(tag, n):
    recs = []
    for i in range(n):
        value = {"tag": tag, "i": i, "text": f"record {i} of {tag}", "nested": {"even": i % 2 == 0, "list": [i, i * i]}}
        key = f"key-{i}".encode() if i % 3 else None  # every third record has a null key
        headers = [("h-index", str(i).encode()), ("h-tag", tag.encode())] if i % 2 == 0 else []
        if i == 4:
            headers.append(("h-empty", b""))
        recs.append((key, value, headers))
    return recs


def produce_and_verify(tag, topic, partition, n, ts0, compression=None):
    extra = {"linger_ms": 50}
    if compression:
        extra["compression_type"] = compression
    producer = make_producer(**extra)
    try:
        futures = []
        recs = expected_records(tag, n)
        for key, value, headers in recs:
            futures.append(producer.send(topic, value=value, key=key, headers=headers, partition=partition,
                                         timestamp_ms=ts0 + len(futures) * 1000))
        producer.flush(timeout=10)
        metas = [f.get(timeout=10) for f in futures]
    finally:
        producer.close(timeout=5)
    check(all(m.topic == topic and m.partition == partition for m in metas), f"{tag}: metadata topic/partition")
    offsets = [m.offset for m in metas]
    check(offsets == list(range(offsets[0], offsets[0] + n)), f"{tag}: offsets not contiguous: {offsets}")
    base = offsets[0]

    consumer = make_consumer()
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        got = read_n(consumer, base + n)
        check(len(got) == base + n, f"{tag}: read {len(got)} records after seek_to_beginning, expected {base + n}")
        mine = got[base:]
        for i, (msg, (key, value, headers)) in enumerate(zip(mine, recs)):
            check(msg.offset == base + i, f"{tag}: record {i} offset {msg.offset} != {base + i}")
            check(msg.key == key, f"{tag}: record {i} key {msg.key!r} != {key!r}")
            check(msg.value == value, f"{tag}: record {i} value {msg.value!r} != {value!r}")
            check(list(msg.headers) == headers, f"{tag}: record {i} headers {msg.headers!r} != {headers!r}")
            check(msg.timestamp == ts0 + i * 1000, f"{tag}: record {i} timestamp {msg.timestamp} != {ts0 + i * 1000}")
        # seek into the middle and read the tail again
        mid = base + n // 2
        consumer.seek(tp, mid)
        tail = read_n(consumer, base + n - mid)
        check([m.offset for m in tail] == list(range(mid, base + n)),
              f"{tag}: offsets after seek({mid}) were {[m.offset for m in tail]}")
        check([m.value for m in tail] == [r[1] for r in recs[n // 2:]], f"{tag}: values after seek({mid}) differ")
        check(consumer.position(tp) == base + n, f"{tag}: position {consumer.position(tp)} != {base + n}")
    finally:
        consumer.close()
    return base, metas


def main():
    topic = f"kp-main-{SUFFIX}"
    topic_auto = f"kp-auto-{SUFFIX}"
    done = []

    # --- admin: create a 3-partition topic ---
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP, client_id="kp-admin", request_timeout_ms=10000)
    try:
        resp = admin.create_topics([NewTopic(name=topic, num_partitions=3, replication_factor=1)], timeout_ms=10000)
        errs = [(t[0], t[1]) for t in resp.topic_errors]
        check(errs == [(topic, 0)], f"create_topics errors: {resp.topic_errors}")
        # creating it again must fail with TOPIC_ALREADY_EXISTS (36)
        try:
            resp2 = admin.create_topics([NewTopic(name=topic, num_partitions=3, replication_factor=1)], timeout_ms=10000)
            codes = [t[1] for t in resp2.topic_errors]
        except kafka.errors.TopicAlreadyExistsError:
            codes = [36]
        check(codes == [36], f"second create_topics gave error codes {codes}, expected [36]")
        check(topic in admin.list_topics(), "admin.list_topics() lacks the new topic")
        done.append("admin.create_topics")
    finally:
        admin.close()

    # --- metadata from a consumer ---
    consumer = make_consumer()
    try:
        check(topic in consumer.topics(), f"KafkaConsumer.topics() lacks {topic}")
        check(consumer.partitions_for_topic(topic) == {0, 1, 2},
              f"partitions_for_topic = {consumer.partitions_for_topic(topic)}")
        done.append("consumer.topics")
    finally:
        consumer.close()

    # --- plain produce/consume on partition 1 of the admin-created topic ---
    ts0 = int(time.time() * 1000) - 60_000
    base, _ = produce_and_verify("plain", topic, 1, 10, ts0)
    check(base == 0, f"first offset of a fresh partition was {base}")
    done.append("produce+consume")

    # --- offsets APIs (ListOffsets) ---
    consumer = make_consumer()
    try:
        tps = [TopicPartition(topic, p) for p in range(3)]
        consumer.assign(tps)
        check(consumer.beginning_offsets(tps) == {tp: 0 for tp in tps}, "beginning_offsets")
        end = consumer.end_offsets(tps)
        check(end == {tps[0]: 0, tps[1]: 10, tps[2]: 0}, f"end_offsets = {end}")
        far_future = int(time.time() * 1000) + 3600_000
        oft = consumer.offsets_for_times({tps[1]: 0})
        check(oft[tps[1]] is not None and oft[tps[1]].offset == 0, f"offsets_for_times(0) = {oft}")
        oft = consumer.offsets_for_times({tps[1]: ts0 + 4500})
        check(oft[tps[1]] is not None and oft[tps[1]].offset == 5 and oft[tps[1]].timestamp == ts0 + 5000,
              f"offsets_for_times(ts0+4500) = {oft}")
        oft = consumer.offsets_for_times({tps[1]: far_future})
        check(oft[tps[1]] is None, f"offsets_for_times(future) = {oft}")
        # an offset past the end: the broker answers OFFSET_OUT_OF_RANGE, the consumer resets to earliest
        consumer.assign([tps[1]])
        consumer.seek(tps[1], 1000)
        got = read_n(consumer, 10)
        check([m.offset for m in got] == list(range(10)), f"offsets after an out-of-range seek: {[m.offset for m in got]}")
        done.append("list_offsets")
    finally:
        consumer.close()

    # --- keyed records through the default partitioner go to a consistent partition ---
    producer = make_producer()
    try:
        futs = [producer.send(topic, value={"k": k, "n": n}, key=k.encode()) for n in range(3) for k in ("alpha", "beta", "gamma")]
        producer.flush(timeout=10)
        metas = [f.get(timeout=10) for f in futs]
    finally:
        producer.close(timeout=5)
    by_key = {}
    for f_meta, (n, k) in zip(metas, [(n, k) for n in range(3) for k in ("alpha", "beta", "gamma")]):
        by_key.setdefault(k, set()).add(f_meta.partition)
    check(all(len(p) == 1 for p in by_key.values()), f"same key went to several partitions: {by_key}")
    done.append("keyed-partitioner")

    # --- compressed batches, on an auto-created topic ---
    codecs = ["gzip", "lz4", "snappy"]
    if kafka_codec.has_zstd():
        codecs.append("zstd")  # kafka-python 2.0.2 supports zstd when python3-zstandard is present
    else:
        print("note: python3-zstandard is missing, so zstd is not tested with kafka-python", file=sys.stderr)
    expected_base = 0
    for c in codecs:
        base, _ = produce_and_verify(f"codec-{c}", topic_auto, 0, 7, ts0, compression=c)
        check(base == expected_base, f"{c}: first offset {base}, expected {expected_base}")
        expected_base += 7
        done.append(c)

    # --- delete both topics ---
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP, client_id="kp-admin2", request_timeout_ms=10000)
    try:
        resp = admin.delete_topics([topic, topic_auto], timeout_ms=10000)
        errs = sorted((t[0], t[1]) for t in resp.topic_error_codes)
        check(errs == sorted([(topic, 0), (topic_auto, 0)]), f"delete_topics errors: {resp.topic_error_codes}")
        left = set(admin.list_topics())
        check(topic not in left and topic_auto not in left, f"topics still listed after delete: {left}")
        done.append("admin.delete_topics")
    finally:
        admin.close()

    return done


if __name__ == "__main__":
    t0 = time.monotonic()

    def _timeout(*_):
        raise TimeoutError("kafka_python_test took longer than 60 s (a request hung?)")

    signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(60)  # hard guard: no step may hang the script
    try:
        done = main()
    except Exception as e:  # noqa: BLE001 - any failure fails the script
        traceback.print_exc()
        print(f"FAIL kafka_python_test (kafka-python {kafka.__version__}): {type(e).__name__}: {e}")
        sys.exit(1)
    print(f"PASS kafka_python_test (kafka-python {kafka.__version__}): {checks} checks, "
          f"{', '.join(done)} in {time.monotonic() - t0:.1f}s")
