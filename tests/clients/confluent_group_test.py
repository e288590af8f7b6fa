#!/usr/bin/python3
"""Consumer groups on a running KafkaCompat broker with confluent-kafka (Debian python3-confluent-kafka,
librdkafka underneath).

Usage: /usr/bin/python3 tests/clients/confluent_group_test.py PORT [SUFFIX]

Several Consumer objects in one process, driven by one poll loop (librdkafka joins, syncs and
heartbeats in its own threads; rebalance callbacks and messages are served from poll()). Checks:
  a. partition.assignment.strategy=range and =cooperative-sticky: 3 consumers on a 3-partition
     topic get one partition each and consume every record exactly once (synchronous commit after
     each record). Cooperative-sticky: a 4th consumer joins, then an owner leaves; the on_assign /
     on_revoke callbacks are incremental, the assignments stay a disjoint cover of the partitions,
     and a consumer that keeps its partition is never revoked of it.
  b. static membership (group.instance.id), for each of three members in turn (so the leader is
     covered): a closed static member sends no LeaveGroup and the group stays Stable with it;
     restarted with the same instance id within session.timeout.ms it gets its partition back with
     no rebalance (same generation id in every consumer, no callbacks on the others) and resumes
     after its committed offset. A second consumer with the same
     instance id fences the live one: librdkafka raises a fatal error (FENCED_INSTANCE_ID).
  c. commit(asynchronous=False) / committed(), resume in a new consumer, auto-commit on close,
     auto.offset.reset earliest / latest / error (_AUTO_OFFSET_RESET) for a group without offsets.
Prints one summary line; exits non-zero on any failure.
"""
import logging
import signal
import struct
import sys
import time
import traceback
import uuid

try:
    import confluent_kafka
    from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic
except ImportError as e:  # never skip: a missing library is a failure
    print(f"FAIL confluent_group_test: confluent-kafka is not importable ({e}); "
          "install it with `apt-get install python3-confluent-kafka` and run with /usr/bin/python3")
    sys.exit(2)

if len(sys.argv) < 2:
    print("usage: confluent_group_test.py PORT [SUFFIX]")
    sys.exit(2)

PORT = int(sys.argv[1])
SUFFIX = sys.argv[2] if len(sys.argv) > 2 else uuid.uuid4().hex[:8]
BOOTSTRAP = f"127.0.0.1:{PORT}"
VERSIONS = f"confluent-kafka {confluent_kafka.version()[0]}, librdkafka {confluent_kafka.libversion()[0]}"
OFFSET_INVALID = confluent_kafka.OFFSET_INVALID

checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        raise AssertionError(what)


class _Quiet(logging.Handler):
    """Keeps librdkafka's log lines (e.g. the FATAL line of a fenced consumer) off stderr."""

    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


class Member:
    """One group consumer plus what its callbacks saw. Records: (partition, offset, value)."""

    def __init__(self, name, group, topics, strategy="range", instance=None, commit_each=True, **extra):
        self.name = name
        self.events = []  # ("assign"|"revoke", [partitions]) in callback order
        self.errors = []  # KafkaError from poll() and error_cb
        self.records = []
        self.commit_each = commit_each
        self.closed = False
        logger = logging.getLogger(f"rdkafka-{name}-{uuid.uuid4().hex[:6]}")
        logger.propagate = False
        self.log = _Quiet()
        logger.addHandler(self.log)
        conf = {
            "bootstrap.servers": BOOTSTRAP,
            "group.id": group,
            "client.id": f"cfg-{name}",
            "partition.assignment.strategy": strategy,
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 300,
            "max.poll.interval.ms": 10000,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": 50,
            "topic.metadata.refresh.interval.ms": 2000,
            "error_cb": self.errors.append,
            "logger": logger,
        }
        if instance is not None:
            conf["group.instance.id"] = instance
        conf.update(extra)
        self.c = Consumer(conf)
        self.owned = set()  # maintained from the callbacks alone
        self.c.subscribe(topics, on_assign=self._on_assign, on_revoke=self._on_revoke)

    def _on_assign(self, _c, parts):
        ps = sorted(p.partition for p in parts)
        self.events.append(("assign", ps))
        self.owned |= set(ps)

    def _on_revoke(self, _c, parts):
        ps = sorted(p.partition for p in parts)
        self.events.append(("revoke", ps))
        self.owned -= set(ps)

    def poll(self, timeout=0.02):
        if self.closed:
            return
        m = self.c.poll(timeout)
        if m is None:
            return
        if m.error():
            if m.error().code() != KafkaError._PARTITION_EOF:
                self.errors.append(m.error())
            return
        self.records.append((m.partition(), m.offset(), m.value().decode()))
        if self.commit_each:
            self.c.commit(message=m, asynchronous=False)

    def assignment(self):
        return sorted(tp.partition for tp in self.c.assignment())

    def generation(self):
        """The generation id from librdkafka's serialized consumer group metadata ("CGMDv2:" + int32 + ...)."""
        raw = self.c.consumer_group_metadata()
        check(isinstance(raw, bytes) and raw.startswith(b"CGMDv2:"), f"unexpected consumer_group_metadata {raw!r}")
        return struct.unpack("=i", raw[7:11])[0]

    def close(self):
        if not self.closed:
            self.closed = True
            self.c.close()


def pump(members, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for m in members:
            m.poll()


def wait_for(members, cond, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for m in members:
            m.poll()
        if cond():
            return
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; assignments "
                         f"{ {m.name: m.assignment() for m in members if not m.closed} }, errors "
                         f"{ {m.name: [str(e) for e in m.errors] for m in members if m.errors} }")


def split_ok(members, nparts, sizes):
    asg = [m.assignment() for m in members]
    flat = [p for a in asg for p in a]
    return sorted(flat) == list(range(nparts)) and all(len(a) in sizes for a in asg) and \
        all(sorted(m.owned) == m.assignment() for m in members)


def wait_split(members, nparts, sizes, timeout, what, settle=0.8):
    """Wait for a disjoint cover, then keep polling a little to make sure it holds."""
    wait_for(members, lambda: split_ok(members, nparts, sizes), timeout, what)
    pump(members, settle)
    check(split_ok(members, nparts, sizes), f"{what}: assignment changed again: {[m.assignment() for m in members]}")
    return [m.assignment() for m in members]


def produce(topic, tag, n, nparts, start_partition=0):
    p = Producer({"bootstrap.servers": BOOTSTRAP, "linger.ms": 5, "message.timeout.ms": 10000})
    reports = []

    def dr(err, msg):
        reports.append((err, msg.partition(), msg.offset(), msg.value().decode()))

    for i in range(n):
        p.produce(topic, value=f"{tag}-{i}".encode(), key=f"{tag}-{i}".encode(),
                  partition=(start_partition + i) % nparts, on_delivery=dr)
    check(p.flush(10) == 0, f"{tag}: flush left messages undelivered")
    check(len(reports) == n and all(r[0] is None for r in reports), f"{tag}: delivery reports {reports[:3]}")
    return [(r[1], r[2], r[3]) for r in reports]


def create_topics(admin, specs):
    futs = admin.create_topics([NewTopic(t, num_partitions=n, replication_factor=1) for t, n in specs],
                               operation_timeout=10, request_timeout=10)
    for t, f in futs.items():
        f.result(timeout=10)


def group_info(admin, group):
    gs = admin.list_groups(group, timeout=10)
    check(len(gs) == 1 and gs[0].id == group, f"list_groups({group}) = {gs}")
    return gs[0]


def check_exactly_once(members, produced, what):
    got = [r for m in members for r in m.records]
    check(len(got) == len(set(got)), f"{what}: duplicates {[r for r in set(got) if got.count(r) > 1][:5]}")
    check(set(got) == set(produced), f"{what}: missing {sorted(set(produced) - set(got))[:5]}, "
                                     f"foreign {sorted(set(got) - set(produced))[:5]}")


def owner_check(members, records, what):
    for m in members:
        own = set(m.assignment())
        check(all(r[0] in own for r in m.records if r in records),
              f"{what}: {m.name} received records of partitions it does not own")


# --------------------------------------------------------------------------------- a. strategies

def part_a(admin, done):
    for strategy in ("range", "cooperative-sticky"):
        short = "coop" if strategy.startswith("coop") else "range"
        topic, group = f"cfg-{short}-{SUFFIX}", f"cfg-{short}-{SUFFIX}"
        create_topics(admin, [(topic, 3)])
        ms = [Member(f"{short}{i}", group, [topic], strategy) for i in (1, 2, 3)]
        try:
            asg = wait_split(ms, 3, {1}, 20, f"{strategy}: 3 consumers")
            info = group_info(admin, group)
            check(info.state == "Stable" and info.protocol == strategy and info.protocol_type == "consumer",
                  f"{strategy}: list_groups state/protocol {info.state}/{info.protocol}/{info.protocol_type}")
            check(len(info.members) == 3, f"{strategy}: {len(info.members)} members listed")
            gens = {m.generation() for m in ms}
            check(len(gens) == 1, f"{strategy}: consumers disagree on the generation: {gens}")
            produced = produce(topic, f"{short}-a", 30, 3)
            wait_for(ms, lambda: sum(len(m.records) for m in ms) >= 30, 15, f"{strategy}: 30 records")
            pump(ms, 0.3)
            check_exactly_once(ms, produced, strategy)
            owner_check(ms, produced, strategy)
            check(all(len(m.records) == 10 for m in ms), f"{strategy}: per-consumer counts {[len(m.records) for m in ms]}")
            if strategy == "range":
                # eager protocol: every callback carries the whole assignment
                for m in ms:
                    check(m.events[-1] == ("assign", m.assignment()), f"range: {m.name} last callback {m.events[-1]}")
                done.append(f"range{asg}")
                continue

            # ---- cooperative-sticky: a 4th member joins (3 partitions: it stays idle, nobody moves)
            before = {m.name: m.assignment() for m in ms}
            marks = {m.name: len(m.events) for m in ms}
            m4 = Member(f"{short}4", group, [topic], strategy)
            ms.append(m4)
            wait_for(ms, lambda: any(e[0] == "assign" for e in m4.events), 20, "coop: the 4th member's first assignment")
            asg = wait_split(ms, 3, {0, 1}, 20, "coop: 4 consumers")
            check(m4.assignment() == [], f"coop: the new member took {m4.assignment()} from a sticky assignment")
            for m in ms[:3]:
                check(m.assignment() == before[m.name], f"coop: {m.name} moved from {before[m.name]} to {m.assignment()}")
                revoked = [e for e in m.events[marks[m.name]:] if e[0] == "revoke" and e[1]]
                check(not revoked, f"coop: {m.name} was revoked {revoked} when a member joined")
                # incremental callbacks: nothing (or an empty increment), never the full set again
                added = [e for e in m.events[marks[m.name]:] if e[0] == "assign" and e[1]]
                check(not added, f"coop: {m.name} got assign callbacks {added} though its assignment did not change")
            info = group_info(admin, group)
            check(info.state == "Stable" and len(info.members) == 4, f"coop: list_groups {info.state}, {len(info.members)} members")

            # ---- an owner leaves (close sends LeaveGroup): only its partition moves, to the idle member
            leaver = ms[0]
            lost = leaver.assignment()
            marks = {m.name: len(m.events) for m in ms}
            leaver.close()
            check(leaver.events[-1] == ("revoke", lost), f"coop: the leaver's last callback {leaver.events[-1]}")
            rest = ms[1:]
            asg = wait_split(rest, 3, {1}, 20, "coop: after a member left")
            check(m4.assignment() == lost, f"coop: the idle member got {m4.assignment()}, expected the leaver's {lost}")
            check(m4.events[marks[m4.name]:] == [("assign", lost)] or
                  [e for e in m4.events[marks[m4.name]:] if e[1]] == [("assign", lost)],
                  f"coop: the idle member's callbacks {m4.events[marks[m4.name]:]}, expected an incremental assign of {lost}")
            for m in ms[1:3]:
                check(m.assignment() == before[m.name], f"coop: {m.name} moved from {before[m.name]} to {m.assignment()}")
                check(not [e for e in m.events[marks[m.name]:] if e[1]],
                      f"coop: {m.name} (kept its partition) saw callbacks {m.events[marks[m.name]:]}")

            # ---- records after the changes: still exactly once, the moved partition resumes after the commit
            produced2 = produce(topic, f"{short}-b", 15, 3)
            wait_for(rest, lambda: sum(len(m.records) for m in ms) >= 45, 15, "coop: the second batch")
            pump(rest, 0.3)
            check_exactly_once(ms, produced + produced2, "coop after rebalances")
            owner_check(rest, produced2, "coop after rebalances")
            info = group_info(admin, group)
            check(info.state == "Stable" and len(info.members) == 3, f"coop: list_groups {info.state}, {len(info.members)} members")
            done.append("cooperative-sticky(join,leave)")
        finally:
            for m in ms:
                m.close()


# --------------------------------------------------------------------------------- b. static membership

def part_b(admin, done):
    topic, group = f"cfg-static-{SUFFIX}", f"cfg-static-{SUFFIX}"
    create_topics(admin, [(topic, 3)])
    ms = [Member(f"s{i}", group, [topic], "range", instance=f"inst-{i}") for i in (1, 2, 3)]
    extra = []
    try:
        wait_split(ms, 3, {1}, 20, "static: 3 members")
        produced = produce(topic, "st-a", 9, 3)
        wait_for(ms, lambda: sum(len(m.records) for m in ms) >= 9, 15, "static: first records")
        gen = ms[0].generation()
        check(all(m.generation() == gen for m in ms), f"static: generations {[m.generation() for m in ms]}")
        info = group_info(admin, group)
        ids_before = sorted(m.id for m in info.members)
        check(info.state == "Stable" and len(ids_before) == 3, f"static: list_groups {info.state} {ids_before}")

        # restart every member in turn (so the leader's restart is covered whichever member leads):
        # close it (a static member sends no LeaveGroup), produce, start it again with the same
        # group.instance.id well within session.timeout.ms: same partition, no rebalance
        live = list(ms)
        all_produced = list(produced)
        for idx in (1, 0, 2):
            old = live[idx]
            part = old.assignment()
            others = [m for m in live if m is not old]
            marks = {m.name: len(m.events) for m in others}
            info = group_info(admin, group)
            ids_before = sorted(m.id for m in info.members)
            old.close()
            pump(others, 1.0)
            info = group_info(admin, group)
            check(info.state == "Stable" and sorted(m.id for m in info.members) == ids_before,
                  f"static: after closing {old.name} the group is {info.state} with {len(info.members)} members "
                  "(a LeaveGroup was sent?)")
            gap = produce(topic, f"st-gap{idx}", 6, 3)  # two of them land on the closed member's partition
            all_produced += gap
            new = Member(f"s{idx + 1}-restarted", group, [topic], "range", instance=f"inst-{idx + 1}")
            extra.append(new)
            live[idx] = new
            wait_for(live, lambda: new.assignment() != [], 10, f"static: {new.name}'s assignment")
            wait_for(live, lambda: sum(len(m.records) for m in ms + extra) >= len(all_produced), 10,
                     f"static: the records produced while {old.name} was away")
            pump(live, 0.5)
            check(new.assignment() == part, f"static: {new.name} got {new.assignment()}, expected {part}")
            check(new.events == [("assign", part)], f"static: {new.name}'s callbacks {new.events}")
            check(new.generation() == gen, f"static: {new.name} is in generation {new.generation()}, expected {gen} (a rebalance?)")
            for m in others:
                check(m.generation() == gen, f"static: {m.name} moved to generation {m.generation()}")
                check(m.events[marks[m.name]:] == [], f"static: {m.name} saw callbacks {m.events[marks[m.name]:]} (a rebalance)")
            info = group_info(admin, group)
            ids_after = sorted(m.id for m in info.members)
            check(info.state == "Stable" and len(ids_after) == 3 and len(set(ids_after) & set(ids_before)) == 2,
                  f"static: member ids before {ids_before}, after {ids_after}")
            check_exactly_once(ms + extra, all_produced, f"static: restart of {old.name}")
            check(sorted(new.records) == sorted(r for r in gap if r[0] in part),
                  f"static: {new.name} read {new.records}, expected its partition's part of {gap}")
        check(not any(m.errors for m in live), f"static: errors {[str(e) for m in live for e in m.errors]}")
        done.append("static-restarts-no-rebalance(x3)")

        # a duplicate instance id fences the live holder
        dup = Member("s3-duplicate", group, [topic], "range", instance="inst-3")
        extra.append(dup)
        s3 = live[2]
        part3 = s3.assignment()
        live = live + [dup]
        # librdkafka turns FENCED_INSTANCE_ID into a fatal consumer error; poll() reports it as _FATAL
        wait_for(live, lambda: any(e.code() == KafkaError._FATAL for e in s3.errors), 10, "static: the fenced member's fatal error")
        fatal = [e for e in s3.errors if e.code() == KafkaError._FATAL]
        check(fatal[0].code() == KafkaError._FATAL and "fenced" in fatal[0].str().lower(),
              f"static: the fenced member's error {fatal[0]}")
        try:
            s3.c.commit(offsets=[TopicPartition(topic, part3[0], 0)], asynchronous=False)
            raise AssertionError("static: a fenced consumer could still commit")
        except KafkaException as e:
            check(e.args[0].code() == KafkaError._FATAL, f"static: commit after fencing gave {e}")
        live = [m for m in live if m is not s3]
        wait_for(live, lambda: dup.assignment() == part3, 10, "static: the duplicate to own the fenced member's partition")
        check(dup.generation() == gen, f"static: the duplicate joined generation {dup.generation()}, expected {gen}")
        check(not any(m.errors for m in live), f"static: errors on the other members {[str(e) for m in live for e in m.errors]}")
        s3.close()
        done.append("static-fencing(_FATAL/FENCED_INSTANCE_ID)")
    finally:
        for m in ms + extra:
            try:
                m.close()
            except KafkaException:
                pass  # a fenced consumer's close may report the fatal error again


# --------------------------------------------------------------------------------- c. offsets

def part_c(admin, done):
    topic, group = f"cfg-offsets-{SUFFIX}", f"cfg-offsets-{SUFFIX}"
    create_topics(admin, [(topic, 2)])
    produced = produce(topic, "off", 20, 2)  # 10 per partition
    tp0, tp1 = TopicPartition(topic, 0), TopicPartition(topic, 1)

    c1 = Member("o1", group, [topic], commit_each=False)
    try:
        wait_for([c1], lambda: len(c1.records) >= 20, 15, "offsets: the first consumer's records")
        check_exactly_once([c1], produced, "offsets: first consumer")
        c1.c.commit(asynchronous=False)  # the current positions: 10 and 10
        got = {tp.partition: tp.offset for tp in c1.c.committed([tp0, tp1], timeout=10)}
        check(got == {0: 10, 1: 10}, f"offsets: committed() after commit() = {got}")
        c1.c.commit(offsets=[TopicPartition(topic, 0, 4), TopicPartition(topic, 1, 7)], asynchronous=False)
        got = {tp.partition: tp.offset for tp in c1.c.committed([tp0, tp1], timeout=10)}
        check(got == {0: 4, 1: 7}, f"offsets: committed() after an explicit commit = {got}")
    finally:
        c1.close()

    # a new consumer in the group resumes from the committed offsets
    c2 = Member("o2", group, [topic], commit_each=False)
    try:
        wait_for([c2], lambda: len(c2.records) >= 9, 15, "offsets: the resumed consumer's records")
        pump([c2], 0.3)
        expect = [r for r in produced if (r[0] == 0 and r[1] >= 4) or (r[0] == 1 and r[1] >= 7)]
        check(sorted(c2.records) == sorted(expect), f"offsets: resumed consumer read {sorted(c2.records)}")
    finally:
        c2.close()

    # auto commit: close() commits what was consumed
    gauto = f"cfg-autocommit-{SUFFIX}"
    c3 = Member("o3", gauto, [topic], commit_each=False, **{"enable.auto.commit": True, "auto.commit.interval.ms": 200})
    try:
        wait_for([c3], lambda: len(c3.records) >= 20, 15, "auto commit: records")
    finally:
        c3.close()
    probe = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": gauto})
    try:
        got = {tp.partition: tp.offset for tp in probe.committed([tp0, tp1], timeout=10)}
        check(got == {0: 10, 1: 10}, f"auto commit: committed {got}")
        got = probe.committed([TopicPartition(topic, 0)], timeout=10)
        nothing = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": f"cfg-never-{SUFFIX}"})
        none = nothing.committed([tp0], timeout=10)
        nothing.close()
        check(none[0].offset == OFFSET_INVALID and none[0].error is None, f"committed() of a group without offsets: {none}")
    finally:
        probe.close()
    done.append("commit/committed/resume/auto-commit")

    # auto.offset.reset for groups without committed offsets
    ce = Member("reset-earliest", f"cfg-earliest-{SUFFIX}", [topic], commit_each=False)
    cl = Member("reset-latest", f"cfg-latest-{SUFFIX}", [topic], commit_each=False, **{"auto.offset.reset": "latest"})
    cx = Member("reset-error", f"cfg-error-{SUFFIX}", [topic], commit_each=False, **{"auto.offset.reset": "error"})
    trio = [ce, cl, cx]
    try:
        wait_for(trio, lambda: all(len(m.assignment()) == 2 for m in trio), 15, "reset: assignments")
        wait_for(trio, lambda: len(ce.records) >= 20 and len(cx.errors) >= 2, 15, "reset: earliest records and error reports")
        pump(trio, 1.0)  # the latest consumer has resolved its end offsets by now
        check(cl.records == [], f"reset latest: read old records {cl.records[:3]}")
        check(cx.records == [], f"reset error: read records {cx.records[:3]}")
        codes = {e.code() for e in cx.errors}
        check(codes == {KafkaError._AUTO_OFFSET_RESET}, f"reset error: errors {[str(e) for e in cx.errors]}")
        check(sorted(ce.records) == sorted(produced), "reset earliest: not every record from offset 0")
        later = produce(topic, "late", 4, 2)
        wait_for(trio, lambda: len(cl.records) >= 4, 10, "reset latest: the new records")
        pump(trio, 0.3)
        check(sorted(cl.records) == sorted(later), f"reset latest: read {sorted(cl.records)}, expected {sorted(later)}")
        check(all(not m.errors for m in (ce, cl)), f"reset: unexpected errors {[str(e) for e in ce.errors + cl.errors]}")
        done.append("auto.offset.reset(earliest,latest,error)")
    finally:
        for m in trio:
            m.close()


def main():
    done = []
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    part_a(admin, done)
    part_b(admin, done)
    part_c(admin, done)
    return done


if __name__ == "__main__":
    t0 = time.monotonic()

    def _timeout(*_):
        raise TimeoutError("confluent_group_test took longer than 120 s (a request hung?)")

    signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(120)
    try:
        done = main()
    except Exception as e:  # noqa: BLE001 - any failure fails the script
        traceback.print_exc()
        print(f"FAIL confluent_group_test ({VERSIONS}): {type(e).__name__}: {e}")
        sys.exit(1)
    print(f"PASS confluent_group_test ({VERSIONS}): {checks} checks, {', '.join(done)} in {time.monotonic() - t0:.1f}s")
