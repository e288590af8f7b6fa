#!/usr/bin/python3
"""The consumer group protocol of KIP-848 (group.protocol=consumer) with confluent-kafka-python, one process per
member so a member can be killed.

Usage: /usr/bin/python3 tests/clients/confluent_consumer_protocol_test.py PORT SUFFIX [EXPECTED_LIBRDKAFKA]
       (member mode, started by the test itself: ... --member PORT GROUP NAME SUBSCRIPTION)

Needs librdkafka 2.12 or newer underneath (the test command gives Debian's confluent-kafka-python librdkafka 2.16
through LD_LIBRARY_PATH). The broker runs with group.consumer.session.timeout.ms=6000. Checks:
  a. three member processes share a 6-partition topic: two partitions each, every record consumed once;
  b. one member is killed with SIGKILL (no leave): once its session times out the other two own all six partitions;
  c. a member is added: three members with two partitions each again, no partition ever reported by two members;
  d. a member subscribed with a regular expression picks up a topic created later that matches it.
Prints one summary line; exits non-zero on any failure.
"""
import os
import select
import signal
import subprocess
import sys
import time

try:
    from confluent_kafka import Consumer, Producer, TopicPartition, libversion
    from confluent_kafka.admin import AdminClient, NewTopic
except ImportError as e:  # never skip: a missing library is a failure
    print(f"FAIL confluent_consumer_protocol_test: confluent-kafka is not importable ({e})")
    sys.exit(2)


def member_main(port, group, name, subscription):
    """A member: prints OWNED <partitions> after every change and VALUE <value> per record, until killed or stdin closes."""
    owned = set()

    def show():
        print("OWNED " + ",".join(f"{t}:{p}" for t, p in sorted(owned)), flush=True)

    def on_assign(c, parts):
        for tp in parts:
            owned.add((tp.topic, tp.partition))
        show()

    def on_revoke(c, parts):
        for tp in parts:
            owned.discard((tp.topic, tp.partition))
        show()

    c = Consumer({
        "bootstrap.servers": f"127.0.0.1:{port}",
        "group.id": group,
        "group.protocol": "consumer",
        "client.id": name,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": True,
        "auto.commit.interval.ms": 200,
        "topic.metadata.refresh.interval.ms": 1000,
    })
    c.subscribe([subscription], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_revoke)
    print(f"STARTED {name} librdkafka {libversion()[0]}", flush=True)
    while True:
        if select.select([sys.stdin], [], [], 0)[0] and not sys.stdin.readline():
            break
        m = c.poll(0.1)
        if m is not None and not m.error():
            print("VALUE " + m.value().decode(), flush=True)
    c.close()


class Member:
    def __init__(self, port, group, name, subscription):
        self.name = name
        self.proc = subprocess.Popen([sys.executable, __file__, "--member", str(port), group, name, subscription],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
        self.owned = set()
        self.values = []
        os.set_blocking(self.proc.stdout.fileno(), False)
        self._buf = ""

    def pump(self):
        try:
            chunk = self.proc.stdout.read()
        except (BlockingIOError, TypeError):
            chunk = None
        if not chunk:
            return
        self._buf += chunk
        *lines, self._buf = self._buf.split("\n")
        for line in lines:
            if line.startswith("OWNED "):
                rest = line[6:]
                self.owned = set(x for x in rest.split(",") if x)
            elif line.startswith("VALUE "):
                self.values.append(line[6:])

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except Exception:
                self.proc.kill()


def wait_for(members, cond, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        for m in members:
            m.pump()
        if cond():
            return
        time.sleep(0.05)
    state = "; ".join(f"{m.name}={sorted(m.owned)}" for m in members)
    raise AssertionError(f"{what} (after {seconds} s): {state}")


def main():
    port, suffix = sys.argv[1], sys.argv[2]
    expect = sys.argv[3] if len(sys.argv) > 3 else None
    if expect and libversion()[0] != expect:
        sys.exit(f"FAIL confluent_consumer_protocol_test: librdkafka {libversion()[0]} is loaded, expected {expect}")
    bootstrap = f"127.0.0.1:{port}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topic, group = f"cp-share-{suffix}", f"cp-group-{suffix}"
    for f in admin.create_topics([NewTopic(topic, 6, 1), NewTopic(f"cp-rx-{suffix}-a", 2, 1)]).values():
        f.result(30)
    p = Producer({"bootstrap.servers": bootstrap})
    for part in range(6):
        for i in range(10):
            p.produce(topic, value=f"v-{part}-{i}".encode(), partition=part)
    p.flush(30)

    members = [Member(port, group, f"m{i}", topic) for i in range(1, 4)]
    everyone = list(members)
    rx = None
    try:
        # a. three members, two partitions each, 60 records once
        wait_for(members, lambda: all(len(m.owned) == 2 for m in members) and sum(len(m.values) for m in members) >= 60,
                 60, "three members did not settle on two partitions each")
        values = [v for m in members for v in m.values]
        assert len(values) == 60 and len(set(values)) == 60, f"records consumed {len(values)} times, {len(set(values))} distinct"
        # b. kill one: after its session timeout the other two own everything
        killed = members.pop(0)
        killed.kill()
        wait_for(members, lambda: sorted(len(m.owned) for m in members) == [3, 3]
                 and len(members[0].owned | members[1].owned) == 6, 40, "the killed member's partitions were not taken over")
        # c. add a member
        added = Member(port, group, "m4", topic)
        members.append(added)
        everyone.append(added)

        def settled():
            owned = [x for m in members for x in m.owned]
            return all(len(m.owned) == 2 for m in members) and len(set(owned)) == 6

        wait_for(members, settled, 60, "the added member did not get two partitions")
        # d. a regex subscription picks up a topic created after it subscribed
        rx = Member(port, f"cp-rx-group-{suffix}", "rx", f"^cp-rx-{suffix}-.*")
        everyone.append(rx)
        wait_for([rx], lambda: len(rx.owned) == 2, 60, "the pattern's first topic was not assigned")
        for f in admin.create_topics([NewTopic(f"cp-rx-{suffix}-b", 3, 1)]).values():
            f.result(30)
        wait_for([rx], lambda: len(rx.owned) == 5, 60, "the new topic matching the pattern was not assigned")
        assert all(x.startswith(f"cp-rx-{suffix}-") for x in rx.owned), f"pattern assigned {sorted(rx.owned)}"
    finally:
        for m in everyone:
            m.stop()
    print(f"PASS confluent_consumer_protocol_test (librdkafka {libversion()[0]}): shared, killed, added, regex")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--member":
        member_main(*sys.argv[2:6])
    else:
        try:
            main()
        except AssertionError as e:
            print(f"FAIL confluent_consumer_protocol_test: {e}")
            sys.exit(1)
