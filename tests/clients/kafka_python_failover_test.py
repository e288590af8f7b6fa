#!/usr/bin/python3
"""kafka-python (Debian python3-kafka 2.0.2) against a three-broker KafkaCompat cluster while brokers fail.

Usage: /usr/bin/python3 tests/clients/kafka_python_failover_test.py PORT SUFFIX BOOTSTRAP ADMIN_URL

A producer (acks=all, retries; kafka-python 2.0.2 has no idempotence) keeps producing numbered records to a
topic with replication factor 3 and min.insync.replicas 2, and a KafkaConsumer in a group keeps consuming, while
through the admin HTTP API: the broker leading partition 0 is stopped and started; the group's coordinator is
stopped and started; NOT_LEADER_OR_FOLLOWER and REQUEST_TIMED_OUT are injected for Produce and
COORDINATOR_NOT_AVAILABLE for Heartbeat and OffsetCommit (retried); TOPIC_AUTHORIZATION_FAILED for Produce
reaches the application. Every acknowledged record must be consumed by the group. Prints one summary line;
exits non-zero on any failure.
"""
import sys
import time

from cluster_failover import Cluster, Progress, run_clients
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAuthorizationFailedError

port, suffix, bootstrap, admin_url = sys.argv[1:5]
servers = bootstrap.split(",")


cluster = Cluster(admin_url)


topic = f"failover-kp-{suffix}"
group = f"failover-kp-{suffix}"
ka = KafkaAdminClient(bootstrap_servers=servers)
ka.create_topics([NewTopic(topic, num_partitions=3, replication_factor=3, topic_configs={"min.insync.replicas": "2"})])
ka.close()

progress = Progress()
acked, consumed, failed, lock = progress.acked, progress.consumed, progress.failed, progress.lock


def produce():
    p = KafkaProducer(bootstrap_servers=servers, acks="all", retries=20, retry_backoff_ms=100, linger_ms=5,
                      reconnect_backoff_ms=50, reconnect_backoff_max_ms=500, request_timeout_ms=10000, metadata_max_age_ms=2000)
    i = 0
    while not progress.stop.is_set():
        v = f"v{i}"
        fut = p.send(topic, key=str(i % 12).encode(), value=v.encode())

        def ok(_md, v=v):
            with lock:
                acked.add(v)

        def bad(e, v=v):
            with lock:
                failed.append(f"{v}: {e!r}")
        fut.add_callback(ok)
        fut.add_errback(bad)
        i += 1
        time.sleep(0.003)
    p.flush(60)
    p.close(30)
    progress.flushed.set()


def consume():
    c = KafkaConsumer(topic, bootstrap_servers=servers, group_id=group, auto_offset_reset="earliest",
                      session_timeout_ms=6000, heartbeat_interval_ms=500, auto_commit_interval_ms=200,
                      reconnect_backoff_ms=50, reconnect_backoff_max_ms=500, metadata_max_age_ms=2000, request_timeout_ms=10000)
    while not progress.consumer_may_stop():
        try:
            for records in c.poll(timeout_ms=200).values():
                for r in records:
                    consumed.add(r.value.decode())
        except Exception as e:  # noqa: BLE001 - recorded, the loop goes on as an application would
            progress.consumer_errors.append(repr(e))
            time.sleep(0.2)
    c.close()


victim, coordinator = run_clients(cluster, progress, topic, 150, produce, consume)

cluster.call("POST", "/v1/faults", {"kind": "error", "api": "Produce", "error": "TOPIC_AUTHORIZATION_FAILED", "count": 1})
p2 = KafkaProducer(bootstrap_servers=servers, acks="all", retries=3)
try:
    p2.send(topic, value=b"fatal").get(timeout=15)
    sys.exit("FAIL: the injected TOPIC_AUTHORIZATION_FAILED was not reported")
except TopicAuthorizationFailedError:
    pass
finally:
    p2.close(5)
    cluster.call("DELETE", "/v1/faults")
print(f"PASS kafka_python_failover_test: {len(acked)} acknowledged, all consumed; broker {victim} and coordinator {coordinator} "
      f"stopped and started; retriable faults retried, the fatal one reported")
