#!/usr/bin/python3
"""Failover time for the load tool's --failover mode: a librdkafka producer (acks=all, idempotent) keeps producing
to a partition with three replicas led by broker 1; broker 1 is stopped; the figure is the time from the stop to the
first acknowledgement of a record produced after it (necessarily by the new leader). Repeated RUNS times, broker 1
started again and made leader between runs.

Usage: LD_LIBRARY_PATH=<librdkafka 2.16> /usr/bin/python3 failover.py ours BOOTSTRAP ADMIN_URL RUNS
       LD_LIBRARY_PATH=<librdkafka 2.16> /usr/bin/python3 failover.py mock RUNS

ours: KafkaCompat with --brokers 3, driven through its admin HTTP API (the broker elects the new leader itself).
mock: librdkafka's mock cluster with 3 brokers, created in this process on the same librdkafka; as the mock elects
no leader, the stop is rd_kafka_mock_partition_set_leader(2) followed at once by rd_kafka_mock_broker_set_down(1),
its leader controls, in the order of a controlled shutdown. ours: the broker's own stop (a controlled shutdown: the
leaders move, it answers NOT_LEADER_OR_FOLLOWER for its grace, then closes). In both the stop runs in a thread
beside the producer. Prints one line per run ("failover_ms N") and nothing else on stdout.
"""
import ctypes
import json
import os
import sys
import threading
import time
import urllib.request
from confluent_kafka import Producer

mode = sys.argv[1]
TOPIC = "failover-bench"
lib = ctypes.CDLL("librdkafka.so.1")
vp = ctypes.c_void_p

if mode == "ours":
    bootstrap, admin_url, runs = sys.argv[2], sys.argv[3], int(sys.argv[4])

    def admin(method, path, body=None):
        req = urllib.request.Request(admin_url + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            if e.code == 409:  # already so (ELECTION_NOT_NEEDED and the like)
                return None
            raise

    def prepare():
        admin("POST", "/v1/brokers/1/start")
        admin("POST", f"/v1/partitions/{TOPIC}/0/replicas", {"replicas": [1, 2, 3]})
        admin("POST", f"/v1/partitions/{TOPIC}/0/leader", {"broker": 1})

    def stop():
        admin("POST", "/v1/brokers/1/stop")
else:
    runs = int(sys.argv[2])
    for name, res, args in [
        ("rd_kafka_conf_new", vp, []),
        ("rd_kafka_conf_set", ctypes.c_int, [vp, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]),
        ("rd_kafka_new", vp, [ctypes.c_int, vp, ctypes.c_char_p, ctypes.c_size_t]),
        ("rd_kafka_mock_cluster_new", vp, [vp, ctypes.c_int]),
        ("rd_kafka_mock_cluster_bootstraps", ctypes.c_char_p, [vp]),
        ("rd_kafka_mock_topic_create", ctypes.c_int, [vp, ctypes.c_char_p, ctypes.c_int, ctypes.c_int]),
        ("rd_kafka_mock_partition_set_leader", ctypes.c_int, [vp, ctypes.c_char_p, ctypes.c_int32, ctypes.c_int32]),
        ("rd_kafka_mock_broker_set_down", ctypes.c_int, [vp, ctypes.c_int32]),
        ("rd_kafka_mock_broker_set_up", ctypes.c_int, [vp, ctypes.c_int32]),
    ]:
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    err = ctypes.create_string_buffer(512)
    conf = lib.rd_kafka_conf_new()
    lib.rd_kafka_conf_set(conf, b"log_level", b"0", err, 512)
    handle = lib.rd_kafka_new(0, conf, err, 512)
    mc = lib.rd_kafka_mock_cluster_new(handle, 3)
    lib.rd_kafka_mock_topic_create(mc, TOPIC.encode(), 1, 3)
    bootstrap = lib.rd_kafka_mock_cluster_bootstraps(mc).decode()

    def prepare():
        lib.rd_kafka_mock_broker_set_up(mc, 1)
        lib.rd_kafka_mock_partition_set_leader(mc, TOPIC.encode(), 0, 1)

    def stop():
        # as a controlled shutdown (and as ours stops a broker): leadership moves first, then the broker goes down
        lib.rd_kafka_mock_partition_set_leader(mc, TOPIC.encode(), 0, 2)
        lib.rd_kafka_mock_broker_set_down(mc, 1)

acks = []  # (produced at, acknowledged at)
lock = threading.Lock()
p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 0,
              "reconnect.backoff.ms": 10, "reconnect.backoff.max.ms": 100, "retry.backoff.ms": 10, "retry.backoff.max.ms": 100,
              "topic.metadata.refresh.interval.ms": 60000, "log_level": 0,
              # FAILOVER_DEBUG=1: librdkafka's own account of the failover on stderr
              **({"log_level": 7, "debug": "metadata,eos,topic,broker"} if os.environ.get("FAILOVER_DEBUG") else {})})
for run in range(runs):
    prepare()
    time.sleep(1.0)
    with lock:
        acks.clear()
    stop_at = None
    first = None
    deadline = time.time() + 60
    i = 0
    while time.time() < deadline and first is None:
        sent = time.monotonic()
        p.produce(TOPIC, value=b"x", partition=0, on_delivery=lambda e, m, sent=sent: e is None and acks.append((sent, time.monotonic())))
        p.poll(0)
        i += 1
        if i == 200:
            # the stop runs beside the producer, which goes on producing (ours answers the HTTP call once the broker
            # has closed, after its controlled-shutdown grace)
            stop_at = time.monotonic()
            stopper = threading.Thread(target=stop)
            stopper.start()
        if stop_at is not None:
            with lock:
                after = [a for s, a in acks if s > stop_at]
            if after:
                first = min(after)
        time.sleep(0.001)
    stopper.join()
    stopped = time.monotonic()
    p.flush(30)
    if first is None:
        sys.exit(f"run {run}: no acknowledgement within 60 s of the stop")
    print(f"failover_ms {(first - stop_at) * 1000:.1f}", flush=True)
    print(f"run {run}: the stop call returned after {(stopped - stop_at) * 1000:.1f} ms", file=sys.stderr, flush=True)
