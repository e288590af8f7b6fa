#!/usr/bin/python3
"""A full disk as confluent-kafka-python (Debian python3-confluent-kafka, librdkafka underneath) sees it. The broker must keep its data on a small
filesystem; ProcessDiskFullTests mounts one (tmpfs) and runs this script twice around freeing space.

Usage: /usr/bin/python3 tests/clients/confluent_disk_full_test.py PORT SUFFIX fill|resume

fill:   acks=all produce (no retries, so the broker's error reaches the delivery report) of 60 KB records until the broker answers KAFKA_STORAGE_ERROR; every
        acknowledged record then reads back intact, in order, and nothing unacknowledged is there.
resume: (after space was freed) produce succeeds again, at the next offset, and the partition reads back with no
        gap in its offsets.
Every check is an assertion; the script prints one summary line and exits non-zero on failure.
"""
import hashlib
import signal
import sys
import time
import traceback

try:
    import confluent_kafka
    from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic
except ImportError as e:  # never skip: a missing library is a failure
    print(f"FAIL confluent_disk_full_test: confluent-kafka is not importable ({e}); "
          "install it with `apt-get install python3-confluent-kafka` and run with /usr/bin/python3")
    sys.exit(2)

if len(sys.argv) < 4 or sys.argv[3] not in ("fill", "resume"):
    print("usage: confluent_disk_full_test.py PORT SUFFIX fill|resume")
    sys.exit(2)

PORT, SUFFIX, PHASE = int(sys.argv[1]), sys.argv[2], sys.argv[3]
BOOTSTRAP = f"127.0.0.1:{PORT}"
TOPIC = f"diskfull-{SUFFIX}"
VERSIONS = f"confluent-kafka {confluent_kafka.version()[0]}, librdkafka {confluent_kafka.libversion()[0]}"

checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        raise AssertionError(what)


def value(n):
    """60 KB that say which record they are, with a digest to catch damage."""
    body = (f"record {n} " * 6000)[:60000].encode()
    return hashlib.sha256(body).hexdigest().encode() + b":" + body


def read_all():
    """Every record of partition 0, and the high watermark."""
    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": f"diskfull-{SUFFIX}", "enable.auto.commit": False,
                         "enable.partition.eof": True, "fetch.wait.max.ms": 100})
    try:
        _, end = consumer.get_watermark_offsets(TopicPartition(TOPIC, 0), timeout=10, cached=False)
        consumer.assign([TopicPartition(TOPIC, 0, 0)])
        got = []
        deadline = time.monotonic() + 20
        while len(got) < end and time.monotonic() < deadline:
            m = consumer.poll(0.5)
            if m is None or (m.error() and m.error().code() == KafkaError._PARTITION_EOF):
                continue
            check(not m.error(), f"consumer error {m.error()}")
            got.append(m)
        return got, end
    finally:
        consumer.close()


def check_intact(records):
    for i, m in enumerate(records):
        check(m.offset() == i, f"offset gap: record {i} has offset {m.offset()}")
        digest, body = m.value().split(b":", 1)
        check(hashlib.sha256(body).hexdigest().encode() == digest, f"record at offset {m.offset()} is damaged")


def produce_one(p, payload):
    """One acks=all produce; returns (error, offset) from its delivery report."""
    report = []
    p.produce(TOPIC, value=payload, partition=0, on_delivery=lambda err, msg: report.append((err, msg.offset())))
    p.flush(15)
    check(len(report) == 1, "no delivery report within 15 s")
    return report[0]


def producer():
    # no retries: librdkafka treats KAFKA_STORAGE_ERROR as retriable and would otherwise retry until its timeout
    return Producer({"bootstrap.servers": BOOTSTRAP, "acks": "all", "message.send.max.retries": 0, "linger.ms": 0,
                     "message.timeout.ms": 10000})


def fill():
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    for f in admin.create_topics([NewTopic(TOPIC, num_partitions=1, replication_factor=1)]).values():
        f.result(10)
    p = producer()
    acked, refused = [], None
    for n in range(2000):
        err, offset = produce_one(p, value(n))
        if err is not None:
            refused = err
            break
        acked.append((offset, n))
    check(refused is not None and refused.code() == KafkaError.KAFKA_STORAGE_ERROR,
          f"after {len(acked)} records of 60 KB: {refused!r}, expected KAFKA_STORAGE_ERROR")
    check(len(acked) >= 20, f"only {len(acked)} records fitted before the disk was full")
    check([o for o, _ in acked] == list(range(len(acked))), "acknowledged offsets are not 0..n-1")
    records, end = read_all()
    check(end == len(acked), f"high watermark {end} after {len(acked)} acknowledged records")
    check(len(records) == len(acked), f"read back {len(records)} of {len(acked)} acknowledged records")
    check_intact(records)
    check([m.value() for m in records] == [value(n) for _, n in acked], "read-back values differ from what was acknowledged")
    return [f"fill: {len(acked)} x 60 KB acknowledged, then {refused.name()}; all read back intact"]


def resume():
    _, end_before = read_all()
    err, offset = produce_one(producer(), value(10_000))
    check(err is None, f"the first write after space came back failed: {err!r}")
    check(offset == end_before, f"the first write after space came back got offset {offset}, expected {end_before}")
    records, end = read_all()
    check(end == end_before + 1 and len(records) == end, f"{len(records)} records, high watermark {end}")
    check_intact(records)
    return [f"resume: written at offset {offset}, {end} records with no gap"]


if __name__ == "__main__":
    t0 = time.monotonic()

    def _timeout(*_):
        raise TimeoutError("confluent_disk_full_test took longer than 120 s (a request hung?)")

    signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(120)
    try:
        done = fill() if PHASE == "fill" else resume()
    except Exception as e:  # noqa: BLE001 - any failure fails the script
        traceback.print_exc()
        print(f"FAIL confluent_disk_full_test {PHASE} ({VERSIONS}): {type(e).__name__}: {e}")
        sys.exit(1)
    print(f"PASS confluent_disk_full_test ({VERSIONS}): {checks} checks, "
          f"{', '.join(done)} in {time.monotonic() - t0:.1f}s")
