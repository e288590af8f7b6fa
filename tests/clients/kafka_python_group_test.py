#!/usr/bin/python3
"""Consumer groups on a running KafkaCompat broker with kafka-python (Debian python3-kafka 2.0.2).

Usage: /usr/bin/python3 tests/clients/kafka_python_group_test.py PORT [SUFFIX]
       (internal) kafka_python_group_test.py --worker PORT GROUP TOPIC OUTFILE [range|roundrobin]

The consumers are separate processes (this script started again in worker mode): each is a
subscribed KafkaConsumer that writes what it receives, its assignments and its commits as JSON
lines to its own file, and commits synchronously after each processed batch, so "processed and
committed" is exact. The main process produces, kills/stops/starts workers and asserts:
  a. three workers on a 3-partition topic own one partition each (their own reports, and
     KafkaAdminClient.describe_consumer_groups: Stable, 3 members, one partition each)
  b. every record reaches exactly the owner of its partition
  c. after SIGKILL of the group leader the two survivors wait out its session timeout, one of
     them becomes leader, they take its partition over and receive every later record
  d. after SIGTERM (clean close) of the workers, a new worker resumes from the committed offsets:
     no committed record is delivered twice in the group, none is missing
  e. a second group (auto_offset_reset=earliest) receives every record of the topic
  f. list_consumer_groups / describe_consumer_groups / list_consumer_group_offsets agree with
     what was consumed (committed offset = last processed + 1 on every partition)
  g. range (default) and roundrobin assignors: 2 workers on a 4-partition topic
The broker must run with group.initial.rebalance.delay.ms=0 and group.min.session.timeout.ms<=3000.
Prints one summary line; exits non-zero on any failure.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import uuid

try:
    import kafka
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import NewTopic
    from kafka.consumer.subscription_state import ConsumerRebalanceListener
    from kafka.coordinator.assignors.range import RangePartitionAssignor
    from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
    from kafka.structs import OffsetAndMetadata
except ImportError as e:  # never skip: a missing library is a failure
    print(f"FAIL kafka_python_group_test: kafka-python is not importable ({e}); "
          "install it with `apt-get install python3-kafka` and run with /usr/bin/python3")
    sys.exit(2)

SESSION_TIMEOUT_MS = 3000
HEARTBEAT_MS = 300
MAX_POLL_INTERVAL_MS = 10000  # also the rebalance timeout kafka-python sends in JoinGroup


# ---------------------------------------------------------------------------------------- worker

def worker_main(argv):
    port, group, topic, outfile = int(argv[0]), argv[1], argv[2], argv[3]
    strategy = argv[4] if len(argv) > 4 else "range"
    assignor = {"range": RangePartitionAssignor, "roundrobin": RoundRobinPartitionAssignor}[strategy]
    out = open(outfile, "a", buffering=1)

    def emit(**ev):
        ev["t"] = time.time()
        out.write(json.dumps(ev) + "\n")
        out.flush()

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            emit(ev="revoke", parts=sorted(tp.partition for tp in revoked))

        def on_partitions_assigned(self, assigned):
            # _is_leader: set by kafka-python when this member computed the assignment (private, but stable in 2.0.2)
            emit(ev="assign", parts=sorted(tp.partition for tp in assigned),
                 leader=bool(getattr(consumer._coordinator, "_is_leader", False)))

    consumer = KafkaConsumer(
        bootstrap_servers=f"localhost:{port}",
        group_id=group,
        client_id=f"kp-worker-{os.getpid()}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=SESSION_TIMEOUT_MS,
        heartbeat_interval_ms=HEARTBEAT_MS,
        max_poll_interval_ms=MAX_POLL_INTERVAL_MS,
        fetch_max_wait_ms=100,
        retry_backoff_ms=100,
        partition_assignment_strategy=[assignor],
        metadata_max_age_ms=5000,
    )
    consumer.subscribe([topic], listener=Listener())
    emit(ev="started", pid=os.getpid())
    while not stop:
        batches = consumer.poll(timeout_ms=100)
        if not batches:
            continue
        offsets = {}
        for tp, msgs in batches.items():
            for m in msgs:
                emit(ev="msg", p=tp.partition, o=m.offset, v=m.value.decode())
            offsets[tp] = OffsetAndMetadata(msgs[-1].offset + 1, None)
        try:
            consumer.commit(offsets)  # synchronous
            emit(ev="commit", offsets={str(tp.partition): om.offset for tp, om in offsets.items()})
        except Exception as e:  # noqa: BLE001 - recorded; the main process decides whether it matters
            emit(ev="commit_failed", err=f"{type(e).__name__}: {e}",
                 offsets={str(tp.partition): om.offset for tp, om in offsets.items()})
    consumer.close(autocommit=False)  # everything processed is committed already; sends LeaveGroup
    emit(ev="closed")
    out.close()


# ---------------------------------------------------------------------------------------- main

checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        raise AssertionError(what)


class Worker:
    def __init__(self, name, port, group, topic, tmpdir, strategy="range"):
        self.name = name
        self.group = group
        self.path = os.path.join(tmpdir, f"{name}.jsonl")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", str(port), group, topic, self.path, strategy],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmpdir, f"{name}.stderr"), "w"))

    def events(self):
        try:
            with open(self.path) as f:
                lines = f.readlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in lines if line.endswith("\n")]

    def assignment(self):
        """The latest assignment; None while revoked (inside a rebalance) or before the first one."""
        cur = None
        for ev in self.events():
            if ev["ev"] == "assign":
                cur = tuple(ev["parts"])
            elif ev["ev"] == "revoke":
                cur = None
        return cur

    def is_leader(self):
        asg = [e for e in self.events() if e["ev"] == "assign"]
        return bool(asg and asg[-1].get("leader"))

    def msgs(self):
        return [(e["p"], e["o"], e["v"]) for e in self.events() if e["ev"] == "msg"]

    def committed_msgs(self):
        """Records this worker processed and whose offsets it committed successfully."""
        out, pending = [], []
        for e in self.events():
            if e["ev"] == "msg":
                pending.append((e["p"], e["o"], e["v"]))
            elif e["ev"] == "commit":
                out.extend(pending)
                pending = []
            elif e["ev"] == "commit_failed":
                pending = []
        return out

    def commit_failures(self):
        return [e for e in self.events() if e["ev"] == "commit_failed"]

    def stderr(self):
        try:
            with open(self.path.replace(".jsonl", ".stderr")) as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def alive(self):
        return self.proc.poll() is None

    def kill(self):
        if self.alive():
            self.proc.kill()
        self.proc.wait(timeout=10)


def wait_until(cond, timeout, what, interval=0.1):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def describe(admin, group):
    d = admin.describe_consumer_groups([group])
    check(len(d) == 1 and d[0].group == group and d[0].error_code == 0, f"describe_consumer_groups({group}) = {d}")
    return d[0]


def member_partitions(m):
    a = m.member_assignment
    if not a:
        return ()
    return tuple(sorted(p for _t, ps in a.assignment for p in ps))


def wait_stable_split(admin, group, workers, expected_parts, per_member, timeout, what):
    """Wait until the workers' own reports and DescribeGroups agree on a stable, disjoint, covering assignment."""
    def ok():
        asg = [w.assignment() for w in workers]
        if any(a is None or len(a) not in per_member for a in asg):
            return None
        if sorted(p for a in asg for p in a) != sorted(expected_parts):
            return None
        d = admin.describe_consumer_groups([group])[0]
        if d.state != "Stable" or len(d.members) != len(workers):
            return None
        described = sorted(member_partitions(m) for m in d.members)
        if described != sorted(asg):
            return None
        return asg, d
    asg, d = wait_until(ok, timeout, f"{what}: a stable assignment of {expected_parts} over {len(workers)} workers "
                        f"(now {[w.assignment() for w in workers]})", interval=0.2)
    check(all(w.alive() for w in workers), f"{what}: a worker died: {[w.stderr() for w in workers if not w.alive()]}")
    flat = [p for a in asg for p in a]
    check(len(flat) == len(set(flat)) and sorted(flat) == sorted(expected_parts),
          f"{what}: worker assignments {asg} are not a disjoint cover of {expected_parts}")
    check(d.state == "Stable" and d.protocol_type == "consumer", f"{what}: describe state/type {d.state}/{d.protocol_type}")
    check(len(d.members) == len(workers), f"{what}: described {len(d.members)} members, expected {len(workers)}")
    check(all(len(member_partitions(m)) in per_member for m in d.members),
          f"{what}: described assignments {[member_partitions(m) for m in d.members]}")
    return asg, d


def produce(producer, topic, tag, n, nparts):
    """n records, record i to partition i % nparts; returns [(partition, offset, value)]."""
    futs = [(producer.send(topic, key=f"{tag}-k{i}".encode(), value=f"{tag}-{i}".encode(), partition=i % nparts),
             f"{tag}-{i}") for i in range(n)]
    producer.flush(timeout=10)
    out = []
    for f, v in futs:
        md = f.get(timeout=10)
        out.append((md.partition, md.offset, v))
    return out


def main(port, suffix):
    bootstrap = f"localhost:{port}"
    topic = f"kpg-{suffix}"
    topic4 = f"kpg4-{suffix}"
    group = f"kpg-main-{suffix}"
    group_fan = f"kpg-fanout-{suffix}"
    done = []
    tmpdir = tempfile.mkdtemp(prefix="kpg-")
    workers = []

    def start(name, grp, tpc, strategy="range"):
        w = Worker(name, port, grp, tpc, tmpdir, strategy)
        workers.append(w)
        return w

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="kpg-admin", request_timeout_ms=10000)
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all", request_timeout_ms=10000, max_block_ms=10000)
    try:
        resp = admin.create_topics([NewTopic(topic, 3, 1), NewTopic(topic4, 4, 1)], timeout_ms=10000)
        check(sorted((t[0], t[1]) for t in resp.topic_errors) == sorted([(topic, 0), (topic4, 0)]),
              f"create_topics: {resp.topic_errors}")

        # --- a. three worker processes, one partition each ---
        w1, w2, w3 = (start(f"w{i}", group, topic) for i in (1, 2, 3))
        asg, d = wait_stable_split(admin, group, [w1, w2, w3], [0, 1, 2], {1}, 30,
                                   "3 workers (is the broker's group.min.session.timeout.ms <= 3000?)")
        check(d.protocol == "range", f"protocol {d.protocol}, expected range")
        check(all(m.member_metadata.subscription == [topic] for m in d.members),
              f"member subscriptions {[m.member_metadata for m in d.members]}")
        done.append("3-way split")

        # the fan-out group runs alongside, from the beginning
        fan = start("fan", group_fan, topic)

        # --- b. every record goes to the owner of its partition ---
        produced = produce(producer, topic, "b", 30, 3)
        owner = {w1.assignment()[0]: w1, w2.assignment()[0]: w2, w3.assignment()[0]: w3}
        wait_until(lambda: sum(len(w.msgs()) for w in (w1, w2, w3)) >= 30, 20, "the 30 records of phase b")
        for p, o, v in produced:
            holders = [w.name for w in (w1, w2, w3) if (p, o, v) in w.msgs()]
            check(holders == [owner[p].name], f"record {v} (partition {p}) received by {holders}, owner {owner[p].name}")
        check(sum(len(w.msgs()) for w in (w1, w2, w3)) == 30, "phase b: extra records received")
        # committed after processing
        wait_until(lambda: all(len(w.committed_msgs()) == len(w.msgs()) for w in (w1, w2, w3)), 10, "commits of phase b")
        done.append("owner-delivery")

        # --- c. SIGKILL the group leader: the survivors elect a new one and take its partition over ---
        leaders = [w for w in (w1, w2, w3) if w.is_leader()]
        check(len(leaders) == 1, f"{len(leaders)} workers computed the last assignment (expected one leader)")
        victim = leaders[0]
        survivors = [w for w in (w1, w2, w3) if w is not victim]
        dead_part = victim.assignment()[0]
        victim.kill()
        t_kill = time.monotonic()
        produced_c = produce(producer, topic, "c", 30, 3)
        asg, d = wait_stable_split(admin, group, survivors, [0, 1, 2], {1, 2}, 20, "after SIGKILL")
        takeover = time.monotonic() - t_kill
        # Kafka keeps a dead member until its session times out (a closed connection is not a leave)
        check(takeover >= (SESSION_TIMEOUT_MS - 2 * HEARTBEAT_MS) / 1000 - 0.5,
              f"the killed member was replaced after {takeover:.1f}s, before its {SESSION_TIMEOUT_MS} ms session timeout")
        check(any(dead_part in a for a in asg) and sorted(len(a) for a in asg) == [1, 2],
              f"dead partition {dead_part} not taken over: {asg}")
        wait_until(lambda: all(r in survivors[0].msgs() + survivors[1].msgs() for r in produced_c), 20,
                   "the survivors to receive every phase-c record")
        for r in produced_c:
            holders = [w.name for w in survivors if r in w.msgs()]
            check(len(holders) == 1, f"record {r} received by {holders}")
        check(victim.events()[-1]["ev"] != "closed", "the killed worker closed cleanly?")
        check(sum(w.is_leader() for w in survivors) == 1, "no survivor became the new leader")
        done.append(f"SIGKILL-leader-takeover({takeover:.1f}s)")

        # --- d. clean stop (SIGTERM) and resume from the committed offsets ---
        first, last = survivors
        first.proc.send_signal(signal.SIGTERM)
        check(first.proc.wait(timeout=20) == 0, f"{first.name} exit code {first.proc.returncode}: {first.stderr()}")
        check(first.events()[-1]["ev"] == "closed", f"{first.name} did not close cleanly")
        # the last one alone owns everything (the other left with LeaveGroup: no session timeout to wait for)
        t_leave = time.monotonic()
        wait_stable_split(admin, group, [last], [0, 1, 2], {3}, 10, f"after {first.name} left")
        leave_rebalance = time.monotonic() - t_leave
        produced_d1 = produce(producer, topic, "d1", 12, 3)
        wait_until(lambda: all(r in last.msgs() for r in produced_d1), 15, f"{last.name} to receive the phase-d1 records")
        wait_until(lambda: len(last.committed_msgs()) == len(last.msgs()), 10, f"{last.name}'s commits")
        last.proc.send_signal(signal.SIGTERM)
        check(last.proc.wait(timeout=20) == 0, f"{last.name} exit code {last.proc.returncode}: {last.stderr()}")
        check(describe(admin, group).state == "Empty", "the group is not Empty after every member left")
        produced_d2 = produce(producer, topic, "d2", 15, 3)
        w4 = start("w4", group, topic)
        wait_until(lambda: all(r in w4.msgs() for r in produced_d2), 20, "w4 to receive the phase-d2 records")
        time.sleep(0.5)  # anything re-delivered from before would have come first
        check(sorted(w4.msgs()) == sorted(produced_d2),
              f"w4 received {len(w4.msgs())} records, expected exactly the {len(produced_d2)} new ones: "
              f"extra {sorted(set(w4.msgs()) - set(produced_d2))[:5]}")
        wait_until(lambda: len(w4.committed_msgs()) == len(w4.msgs()), 10, "w4's commits")
        # over the whole run: every record received by the group, none committed and re-read
        group_workers = [w1, w2, w3, w4]
        all_produced = produced + produced_c + produced_d1 + produced_d2
        received = [r for w in group_workers for r in w.msgs()]
        committed = [r for w in group_workers for r in w.committed_msgs()]
        check(set(received) == set(all_produced), f"group missed {sorted(set(all_produced) - set(received))[:5]}")
        redelivered = [r for r in set(committed) if received.count(r) > 1]
        check(not redelivered, f"committed records delivered again: {sorted(redelivered)[:5]}")
        check(len(received) == len(all_produced), f"{len(received) - len(all_produced)} records delivered twice "
              f"(commit failures: {[w.commit_failures() for w in group_workers]})")
        done.append(f"SIGTERM+resume(leave rebalance {leave_rebalance:.1f}s)")

        # --- e. the fan-out group gets every record ---
        wait_until(lambda: set(fan.msgs()) >= set(all_produced), 20, "the fan-out group to receive every record")
        check(sorted(fan.msgs()) == sorted(all_produced), "fan-out group received duplicates or foreign records")
        wait_until(lambda: len(fan.committed_msgs()) == len(fan.msgs()), 10, "fan-out commits")
        done.append("fan-out")

        # --- f. admin views ---
        listed = admin.list_consumer_groups()
        check((group, "consumer") in listed and (group_fan, "consumer") in listed, f"list_consumer_groups = {listed}")
        d = describe(admin, group)
        check(d.state == "Stable" and len(d.members) == 1, f"{group}: state {d.state}, {len(d.members)} members")
        check(member_partitions(d.members[0]) == (0, 1, 2), f"{group}: w4's assignment {member_partitions(d.members[0])}")
        check(d.members[0].client_id.startswith("kp-worker-"), f"client id {d.members[0].client_id}")
        d = describe(admin, group_fan)
        check(d.state == "Stable" and len(d.members) == 1, f"{group_fan}: state {d.state}, {len(d.members)} members")
        expected_committed = {}
        for p, o, _v in all_produced:
            expected_committed[p] = max(expected_committed.get(p, 0), o + 1)
        for grp in (group, group_fan):
            offs = admin.list_consumer_group_offsets(grp)
            got = {tp.partition: om.offset for tp, om in offs.items() if tp.topic == topic}
            check(got == expected_committed, f"{grp}: committed offsets {got}, expected {expected_committed}")
        # explicit partitions, one of them never committed by anybody (other topic)
        offs = admin.list_consumer_group_offsets(group, partitions=[TopicPartition(topic, 1), TopicPartition(topic4, 0)])
        check(offs[TopicPartition(topic, 1)].offset == expected_committed[1] and offs[TopicPartition(topic4, 0)].offset == -1,
              f"list_consumer_group_offsets(partitions=...) = {offs}")
        done.append("admin-views")

        # --- g. range vs roundrobin on 4 partitions, 2 members each ---
        for strategy, expect in (("range", [(0, 1), (2, 3)]), ("roundrobin", [(0, 2), (1, 3)])):
            g = f"kpg-{strategy}-{suffix}"
            pair = [start(f"{strategy}{i}", g, topic4, strategy) for i in (1, 2)]
            asg, d = wait_stable_split(admin, g, pair, [0, 1, 2, 3], {2}, 20, strategy)
            check(sorted(asg) == expect, f"{strategy}: assignments {sorted(asg)}, expected {expect}")
            check(d.protocol == strategy, f"{strategy}: the group chose protocol {d.protocol}")
            for w in pair:
                w.proc.send_signal(signal.SIGTERM)
            for w in pair:
                check(w.proc.wait(timeout=20) == 0, f"{w.name} exit code {w.proc.returncode}")
        done.append("range+roundrobin")

        # --- stop the rest, delete the empty groups ---
        for w in (w4, fan):
            w.proc.send_signal(signal.SIGTERM)
        for w in (w4, fan):
            check(w.proc.wait(timeout=20) == 0, f"{w.name} exit code {w.proc.returncode}")
        res = dict(admin.delete_consumer_groups([group, group_fan]))
        check(res == {group: kafka.errors.NoError, group_fan: kafka.errors.NoError}, f"delete_consumer_groups = {res}")
        left = [g for g, _ in admin.list_consumer_groups()]
        check(group not in left and group_fan not in left, f"deleted groups still listed: {left}")
        done.append("delete_consumer_groups")
        shutil.rmtree(tmpdir, ignore_errors=True)  # kept for inspection when the script fails
    except AssertionError:
        for w in workers:
            err = w.stderr().strip()
            if err:
                print(f"--- {w.name} stderr:\n{err}", file=sys.stderr)
        print(f"worker event files are in {tmpdir}", file=sys.stderr)
        raise
    finally:
        for w in workers:
            w.kill()
        producer.close(timeout=5)
        admin.close()
    return done


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker_main(sys.argv[2:])
        sys.exit(0)
    if len(sys.argv) < 2:
        print("usage: kafka_python_group_test.py PORT [SUFFIX]")
        sys.exit(2)
    PORT = int(sys.argv[1])
    SUFFIX = sys.argv[2] if len(sys.argv) > 2 else uuid.uuid4().hex[:8]
    t0 = time.monotonic()

    def _timeout(*_):
        raise TimeoutError("kafka_python_group_test took longer than 120 s (a request hung?)")

    signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(120)
    try:
        done = main(PORT, SUFFIX)
    except Exception as e:  # noqa: BLE001 - any failure fails the script
        traceback.print_exc()
        print(f"FAIL kafka_python_group_test (kafka-python {kafka.__version__}): {type(e).__name__}: {e}")
        sys.exit(1)
    print(f"PASS kafka_python_group_test (kafka-python {kafka.__version__}): {checks} checks, "
          f"{', '.join(done)} in {time.monotonic() - t0:.1f}s")
