#!/usr/bin/python3
"""Rebalance time of a consumer group, for the load tool's --kip848 mode (not a test).

Usage: /usr/bin/python3 group_join.py BOOTSTRAP PROTOCOL MEMBERS RUNS TOPIC PARTITIONS QUIET_SECONDS
  PROTOCOL  classic (JoinGroup/SyncGroup, roundrobin assignor: every member gets a partition) or consumer (KIP-848, the broker's assignor)

Runs on confluent-kafka-python with whatever librdkafka LD_LIBRARY_PATH gives it (2.12+ for "consumer"). The
members subscribe to TOPIC, which must exist with PARTITIONS partitions (at least MEMBERS, so that every member
gets one under any assignor). Per run, with a fresh group: MEMBERS-1 members join and settle, then the last one
subscribes. Settled: the 12 partitions are owned once each and no member's assignment changed for QUIET_SECONDS
(longer than the broker's heartbeat interval, or a member that has not heard of the change yet would be missed).
Measured: from just before the last member's subscribe to the last assignment callback before the group settled
again. A run where no assignment changed (the mock's per-topic range may give the last member nothing and move
nothing) is counted as "unchanged", not timed. Every member is polled from one thread, so callbacks are seen as soon as librdkafka serves them. Prints one
JSON line: {"ms": [...], "unchanged": N, "errors": [...]}.
"""
import json
import sys
import time

from confluent_kafka import Consumer

bootstrap, protocol, members, runs, topic = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
TOTAL, quiet = int(sys.argv[6]), float(sys.argv[7])
topics = [topic]


class Member:
    def __init__(self, group, name):
        self.owned = set()
        self.last_change = 0.0
        conf = {"bootstrap.servers": bootstrap, "group.id": group, "client.id": name, "enable.auto.commit": False,
                "auto.offset.reset": "latest", "log_level": 3}
        if protocol == "consumer":
            conf["group.protocol"] = "consumer"
        else:
            conf.update({"session.timeout.ms": 10000, "heartbeat.interval.ms": 100, "partition.assignment.strategy": "roundrobin"})
        self.c = Consumer(conf)

    def on_assign(self, c, parts):
        self.owned |= {(p.topic, p.partition) for p in parts}
        self.last_change = time.perf_counter()

    def on_revoke(self, c, parts):
        if protocol == "consumer":
            self.owned -= {(p.topic, p.partition) for p in parts}
        else:
            self.owned.clear()  # eager: everything is revoked
        self.last_change = time.perf_counter()

    def subscribe(self):
        self.c.subscribe(topics, on_assign=self.on_assign, on_revoke=self.on_revoke, on_lost=self.on_revoke)


def covered(ms):
    owned = [tp for m in ms for tp in m.owned]
    return len(owned) == TOTAL and len(set(owned)) == TOTAL


def pump(ms, seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for m in ms:
            m.c.poll(0)
        time.sleep(0.0005)


def settle(ms, timeout, since):
    """Polls until the partitions are covered once each and nothing changed for `quiet` seconds after `since`."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        pump(ms, 0.01)
        if covered(ms) and time.perf_counter() - max(since, max(m.last_change for m in ms)) >= quiet:
            return True
    return False


results, errors, unchanged = [], [], 0
for run in range(runs):
    group = f"join-{protocol}-{run}-{time.time_ns()}"
    ms = [Member(group, f"m{i}") for i in range(members - 1)]
    try:
        for m in ms:
            m.subscribe()
        if not settle(ms, 60, time.perf_counter()):
            errors.append(f"run {run}: the first {members - 1} members did not settle in 60 s")
            continue
        last = Member(group, f"m{members - 1}")
        ms.append(last)
        t0 = time.perf_counter()
        last.subscribe()
        if not settle(ms, 60 + quiet, t0):
            errors.append(f"run {run}: the group did not settle with {members} members in 60 s")
            continue
        changed = max(m.last_change for m in ms)
        if changed < t0:
            unchanged += 1  # the assignor gave the last member nothing and moved nothing (the mock's per-topic range)
        else:
            results.append((changed - t0) * 1000)
    finally:
        for m in ms:
            m.c.close()
print(json.dumps({"ms": results, "unchanged": unchanged, "errors": errors}))
