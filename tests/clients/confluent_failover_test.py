#!/usr/bin/env python3
"""confluent-kafka-python (librdkafka) against a three-broker KafkaCompat cluster while brokers fail.

Usage: confluent_failover_test.py PORT SUFFIX BOOTSTRAP ADMIN_URL idempotent|plain [LIBRDKAFKA_VERSION]

A producer (acks=all, with or without enable.idempotence) keeps producing numbered records to a topic with
replication factor 3 and min.insync.replicas 2, and a consumer in a group keeps consuming, while through the
broker's admin HTTP API (ADMIN_URL):
  1. the broker leading partition 0 is stopped, then started again;
  2. the broker coordinating the group (the leader of __consumer_offsets-0) is stopped, then started again;
  3. retriable errors are injected: NOT_LEADER_OR_FOLLOWER and REQUEST_TIMED_OUT for Produce,
     COORDINATOR_NOT_AVAILABLE for Heartbeat and OffsetCommit;
  4. a fatal error is injected (TOPIC_AUTHORIZATION_FAILED for Produce) and must reach a second producer's
     delivery report.
Checks: every acknowledged record is consumed by the group; with idempotence, reading the topic from the start
finds each record once; the group is still consuming after each step. Prints one summary line; exits non-zero on
any failure.
"""
import sys
import time
from cluster_failover import Cluster, Progress, run_clients
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition, libversion
from confluent_kafka.admin import AdminClient, NewTopic

port, suffix, bootstrap, admin_url, mode = sys.argv[1:6]
expect = sys.argv[6] if len(sys.argv) > 6 else None
idempotent = mode == "idempotent"
print("librdkafka", libversion()[0], mode)
if expect and libversion()[0] != expect:
    sys.exit(f"FAIL: librdkafka {libversion()[0]} is loaded, expected {expect}")


cluster = Cluster(admin_url)


topic = f"failover-{mode}-{suffix}"
group = f"failover-{mode}-{suffix}"
fast = {"bootstrap.servers": bootstrap, "reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 500,
        "topic.metadata.refresh.interval.ms": 1000, "socket.connection.setup.timeout.ms": 3000}
a = AdminClient(dict(fast))
for f in a.create_topics([NewTopic(topic, num_partitions=3, replication_factor=3, config={"min.insync.replicas": "2"})]).values():
    f.result(15)

progress = Progress()
acked, consumed, failed, lock = progress.acked, progress.consumed, progress.failed, progress.lock


def produce():
    p = Producer(dict(fast, **{"acks": "all", "enable.idempotence": idempotent, "linger.ms": 5, "retry.backoff.ms": 50,
                               "message.timeout.ms": 60000}))

    def report(err, msg):
        with lock:
            if err:
                failed.append(str(err))
            else:
                acked.add(msg.value().decode())
    i = 0
    while not progress.stop.is_set():
        p.produce(topic, key=str(i % 12).encode(), value=f"v{i}".encode(), on_delivery=report)
        p.poll(0)
        i += 1
        time.sleep(0.002)
    left = p.flush(60)
    if left:
        failed.append(f"{left} undelivered at the end")
    progress.flushed.set()


def consume():
    c = Consumer(dict(fast, **{"group.id": group, "auto.offset.reset": "earliest", "session.timeout.ms": 6000,
                               "heartbeat.interval.ms": 500, "auto.commit.interval.ms": 200}))
    c.subscribe([topic])
    while not progress.consumer_may_stop():
        m = c.poll(0.2)
        if m is not None and not m.error():
            consumed.add(m.value().decode())
        elif m is not None and m.error().code() != KafkaError._PARTITION_EOF:
            progress.consumer_errors.append(str(m.error()))
    c.close()


victim, coordinator = run_clients(cluster, progress, topic, 200, produce, consume)

# 4. a fatal error reaches the application
cluster.call("POST", "/v1/faults", {"kind": "error", "api": "Produce", "error": "TOPIC_AUTHORIZATION_FAILED", "count": 1})
fatal = []
p2 = Producer(dict(fast, **{"acks": "all", "message.timeout.ms": 10000}))
p2.produce(topic, value=b"fatal", on_delivery=lambda err, msg: fatal.append(err))
p2.flush(15)
cluster.call("DELETE", "/v1/faults")
if not fatal or fatal[0] is None or fatal[0].code() != KafkaError.TOPIC_AUTHORIZATION_FAILED:
    sys.exit(f"FAIL: the injected TOPIC_AUTHORIZATION_FAILED was not reported: {fatal}")

# the log holds each acknowledged record (once, with idempotence)
counts = {}
reader = Consumer(dict(fast, **{"group.id": f"reader-{suffix}", "enable.auto.commit": False, "enable.partition.eof": True}))
reader.assign([TopicPartition(topic, q, 0) for q in range(3)])
eof, deadline = set(), time.time() + 60
while len(eof) < 3 and time.time() < deadline:
    m = reader.poll(0.5)
    if m is None:
        continue
    if m.error():
        if m.error().code() == KafkaError._PARTITION_EOF:
            eof.add(m.partition())
        continue
    v = m.value().decode()
    counts[v] = counts.get(v, 0) + 1
reader.close()
lost = [v for v in acked if v not in counts]
if lost:
    sys.exit(f"FAIL: {len(lost)} acknowledged record(s) not in the log, e.g. {lost[:5]}")
twice = [v for v, n in counts.items() if n > 1]
if idempotent and twice:
    sys.exit(f"FAIL: idempotent producer, yet {len(twice)} record(s) are in the log more than once, e.g. {twice[:5]}")
print(f"PASS confluent_failover_test ({mode}, librdkafka {libversion()[0]}): {len(acked)} acknowledged, all consumed; "
      f"{len(twice)} duplicate(s) in the log; broker {victim} and coordinator {coordinator} stopped and started; faults retried")
