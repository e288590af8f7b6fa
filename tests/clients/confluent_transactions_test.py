#!/usr/bin/env python3
"""Transactions with confluent-kafka-python against KafkaCompat.

Usage: confluent_transactions_test.py PORT SUFFIX [LIBRDKAFKA_VERSION]

Checks, each an assertion:
  1. a committed transaction is visible to read_committed and read_uncommitted consumers;
  2. an aborted one is visible only to read_uncommitted;
  3. records of an open transaction are held back from read_committed until it commits (the LSO);
  4. consume-transform-produce: input records are read in a group, transformed into an output topic and the
     group's offsets are sent with send_offsets_to_transaction; after commit the group's committed offsets and
     the output are there, after an abort neither is;
  5. a second producer with the same transactional.id fences the first one (its next operation fails fatally).
With a third argument, the librdkafka this script runs on must be that version.
"""
import sys
import time
from confluent_kafka import Producer, Consumer, TopicPartition, KafkaException, libversion
from confluent_kafka.admin import AdminClient, NewTopic

port, suffix = sys.argv[1], sys.argv[2]
expect = sys.argv[3] if len(sys.argv) > 3 else None
bootstrap = f"127.0.0.1:{port}"
print("librdkafka", libversion()[0])
if expect and libversion()[0] != expect:
    sys.exit(f"FAIL: librdkafka {libversion()[0]} is loaded, expected {expect}")
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        sys.exit(f"FAIL: {what}")


topic, src, out = f"txn-{suffix}", f"txn-in-{suffix}", f"txn-out-{suffix}"
admin = AdminClient({"bootstrap.servers": bootstrap})
for f in admin.create_topics([NewTopic(t, num_partitions=2, replication_factor=1) for t in (topic, src, out)]).values():
    f.result(10)


def producer(txn_id):
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id, "transaction.timeout.ms": 30000})
    p.init_transactions(15)
    return p


def read_all(t, isolation, expect_at_least=0, seconds=10):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{suffix}-{time.time()}", "enable.auto.commit": False,
                  "isolation.level": isolation, "enable.partition.eof": True})
    c.assign([TopicPartition(t, p, 0) for p in range(2)])
    got, eof = [], set()
    deadline = time.time() + seconds
    while time.time() < deadline and (len(eof) < 2 or len(got) < expect_at_least):
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error():
            if m.error().code() == -191:
                eof.add(m.partition())
            continue
        got.append(m.value().decode())
    c.close()
    return sorted(got)


p = producer(f"tx-{suffix}")
p.begin_transaction()
for i in range(10):
    p.produce(topic, value=f"c{i}".encode(), partition=i % 2)
p.commit_transaction(15)
p.begin_transaction()
for i in range(10):
    p.produce(topic, value=f"a{i}".encode(), partition=i % 2)
p.flush(10)
p.abort_transaction(15)
committed = [f"c{i}" for i in range(10)]
check(read_all(topic, "read_committed", 10) == sorted(committed), "read_committed sees the committed transaction only")
check(read_all(topic, "read_uncommitted", 20) == sorted(committed + [f"a{i}" for i in range(10)]), "read_uncommitted sees both")

# an open transaction holds read_committed back
p.begin_transaction()
p.produce(topic, value=b"open", partition=0)
p.flush(10)
check("open" not in read_all(topic, "read_committed", 10, seconds=3), "an open transaction is not read_committed")
check("open" in read_all(topic, "read_uncommitted", 21), "an open transaction is read_uncommitted")
p.commit_transaction(15)
check("open" in read_all(topic, "read_committed", 11), "committed now")

# consume-transform-produce
feeder = Producer({"bootstrap.servers": bootstrap})
for i in range(6):
    feeder.produce(src, value=f"in{i}".encode(), partition=i % 2)
feeder.flush(10)
group = f"ctp-{suffix}"
c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False, "auto.offset.reset": "earliest",
              "isolation.level": "read_committed"})
c.subscribe([src])
inputs = []
deadline = time.time() + 20
while len(inputs) < 6 and time.time() < deadline:
    m = c.poll(0.5)
    if m is not None and not m.error():
        inputs.append(m)
check(len(inputs) == 6, f"consumed {len(inputs)} input records")


def transform(abort):
    p.begin_transaction()
    for m in inputs:
        p.produce(out, value=m.value().upper() + (b"-aborted" if abort else b""), partition=m.partition())
    offsets = [TopicPartition(src, q, max(m.offset() for m in inputs if m.partition() == q) + 1) for q in range(2)]
    p.send_offsets_to_transaction(offsets, c.consumer_group_metadata(), 15)
    if abort:
        p.abort_transaction(15)
    else:
        p.commit_transaction(15)


transform(abort=True)
committed_offsets = c.committed([TopicPartition(src, 0), TopicPartition(src, 1)], 10)
check(all(tp.offset < 0 for tp in committed_offsets), f"aborted offsets are not committed: {committed_offsets}")
transform(abort=False)
committed_offsets = c.committed([TopicPartition(src, 0), TopicPartition(src, 1)], 10)
check(sorted(tp.offset for tp in committed_offsets) == [3, 3], f"committed offsets: {committed_offsets}")
check(read_all(out, "read_committed", 6) == sorted(f"IN{i}" for i in range(6)), "the transformed output is committed once")
c.close()

# fencing: a new instance with the same transactional.id
p2 = producer(f"tx-{suffix}")
fenced = False
try:
    p.begin_transaction()
    p.produce(topic, value=b"zombie", partition=0)
    p.commit_transaction(10)
except KafkaException as e:
    fenced = e.args[0].fatal() or "fenced" in str(e).lower()
check(fenced, "the old producer is fenced")
p2.begin_transaction()
p2.produce(topic, value=b"new", partition=1)
p2.commit_transaction(15)
check("zombie" not in read_all(topic, "read_committed", 12) and "new" in read_all(topic, "read_committed", 12), "only the new instance's record is committed")
print(f"PASS confluent transactions: {checks} checks")
