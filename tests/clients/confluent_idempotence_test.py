#!/usr/bin/env python3
"""An idempotent confluent-kafka-python producer (enable.idempotence) against KafkaCompat.

Usage: confluent_idempotence_test.py PORT SUFFIX [LIBRDKAFKA_VERSION]

The test that runs this arms the broker to drop some Produce responses (the connection closes after the
records were appended), so the producer retries batches the broker already has. Every record must be
delivered without error and read back exactly once, in order per partition. With a third argument, the
librdkafka this script runs on must be that version.
"""
import sys
import time
from confluent_kafka import Producer, Consumer, TopicPartition, libversion
from confluent_kafka.admin import AdminClient, NewTopic

port, suffix = sys.argv[1], sys.argv[2]
expect = sys.argv[3] if len(sys.argv) > 3 else None
bootstrap = f"127.0.0.1:{port}"
print("librdkafka", libversion()[0])
if expect and libversion()[0] != expect:
    sys.exit(f"FAIL: librdkafka {libversion()[0]} is loaded, expected {expect}")

topic = f"idem-py-{suffix}"
admin = AdminClient({"bootstrap.servers": bootstrap})
for f in admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)]).values():
    f.result(10)

N = 600
p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 2,
              "batch.num.messages": 25, "retry.backoff.ms": 50})
delivered, errors = [], []

def on_delivery(err, msg):
    (errors if err else delivered).append(err or (msg.partition(), msg.offset(), msg.value()))

for i in range(N):
    p.produce(topic, key=str(i % 3).encode(), value=str(i).encode(), partition=i % 3, on_delivery=on_delivery)
    if i % 50 == 0:
        p.poll(0)
        time.sleep(0.01)  # spread the records over many produce requests
left = p.flush(60)
if left or errors:
    sys.exit(f"FAIL: {left} undelivered, errors: {errors[:5]}")
if len(delivered) != N:
    sys.exit(f"FAIL: {len(delivered)} delivery reports for {N} records")

c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"idem-{suffix}", "enable.auto.commit": False,
              "enable.partition.eof": True})
c.assign([TopicPartition(topic, q, 0) for q in range(3)])
seen = {0: [], 1: [], 2: []}
eof = set()
deadline = time.time() + 30
while len(eof) < 3 and time.time() < deadline:
    m = c.poll(0.5)
    if m is None:
        continue
    if m.error():
        if m.error().code() == -191:  # _PARTITION_EOF
            eof.add(m.partition())
            continue
        sys.exit(f"FAIL: consume error {m.error()}")
    seen[m.partition()].append(int(m.value()))
c.close()
for q in range(3):
    want = [i for i in range(N) if i % 3 == q]
    if seen[q] != want:
        dup = len(seen[q]) - len(set(seen[q]))
        sys.exit(f"FAIL: partition {q} holds {len(seen[q])} records ({dup} duplicates), expected {len(want)} in order")
# the delivery reports name the offsets the records were stored at, retried or not
by_value = {int(v): (part, off) for part, off, v in delivered}
for q in range(3):
    for off, v in enumerate(seen[q]):
        if by_value[v] != (q, off):
            sys.exit(f"FAIL: record {v} reported at {by_value[v]}, stored at {(q, off)}")
print(f"PASS confluent idempotence: {N} records exactly once")
