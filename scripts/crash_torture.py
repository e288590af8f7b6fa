#!/usr/bin/python3
"""Crash torture: kill -9 the broker during acks=all produce with fsync on, restart, and check that every
acknowledged record is still there, readable and intact.

Usage: /usr/bin/python3 scripts/crash_torture.py [CYCLES] [--mode plain|idempotent|transactional] [--dll PATH]
       [--data-dir DIR] [--seed N]

Each cycle starts `kafkacompat serve --fsync-every-write` on a fixed data directory, produces with
confluent-kafka (librdkafka, acks=all) to a 3-partition topic, sends SIGKILL to the broker at a random moment,
and starts the next cycle on the same directory. At the end every acknowledged value must be consumed back
(librdkafka checks each batch's CRC). Run 100+ cycles by hand; CI runs a few. Exits non-zero on any loss.

Modes:
  plain          a producer without idempotence or retries: nothing acknowledged may be lost.
  idempotent     enable.idempotence with retries: nothing acknowledged lost, and no record stored twice.
  transactional  a transactional producer (the same transactional.id every cycle) commits or aborts
                 transactions of a few records, each also committing a consumer group's offset with
                 send_offsets_to_transaction. A read_committed consumer must see every committed transaction,
                 none of the aborted ones, and each transaction whole or not at all (one cut by the kill is
                 aborted by the next instance's init_transactions or by its timeout); the group's committed
                 offset must be that of the last committed transaction or a later one.
"""
import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

try:
    from confluent_kafka import Consumer, Producer, TopicPartition, KafkaError
    from confluent_kafka.admin import AdminClient, NewTopic
except ImportError as e:
    print(f"FAIL crash_torture: confluent-kafka is not importable ({e}); apt-get install python3-confluent-kafka")
    sys.exit(2)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOPIC = "torture"
PARTITIONS = 3


def start_broker(dll, data_dir):
    proc = subprocess.Popen(["dotnet", dll, "serve", "--port", "0", "--data-dir", data_dir, "--fsync-every-write",
                             "--set", "transaction.abort.timed.out.transaction.cleanup.interval.ms=500",
                             "--set", "group.initial.rebalance.delay.ms=0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    if not line.startswith("listening on "):
        proc.kill()
        raise RuntimeError(f"broker did not start: {line!r}")
    return proc, line.split()[-1]


def read_back(bootstrap, group, isolation):
    """Every value of the topic from the start, as a consumer with `isolation` reads it (CRCs checked); reading
    takes as long as it takes (100 cycles write ~30M records) and gives up only on a 30 s stall.
    Returns (values in order, partitions read to the end, consumer errors)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                  "enable.partition.eof": True, "check.crcs": True, "isolation.level": isolation})
    c.assign([TopicPartition(TOPIC, i, 0) for i in range(PARTITIONS)])
    values, eof, errors = [], set(), []
    last_progress = time.monotonic()
    while len(eof) < PARTITIONS and time.monotonic() - last_progress < 30:
        m = c.poll(1)
        if m is None:
            continue
        last_progress = time.monotonic()
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                eof.add(m.partition())
            else:
                errors.append(str(m.error()))
            continue
        values.append(m.value().decode())
    c.close()
    return values, eof, errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cycles", nargs="?", type=int, default=10)
    ap.add_argument("--dll", default=os.path.join(ROOT, "src", "KafkaCompat", "bin", "Release", "net10.0", "kafkacompat.dll"))
    ap.add_argument("--data-dir")
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--mode", choices=["plain", "idempotent", "transactional"], default="plain")
    args = ap.parse_args()
    if args.mode == "transactional":
        return transactional(args)
    rng = random.Random(args.seed)
    if not os.path.exists(args.dll):
        print(f"FAIL crash_torture: {args.dll} not found (dotnet build -c Release src/KafkaCompat)")
        return 2
    data_dir = args.data_dir or tempfile.mkdtemp(prefix="kc-torture-")
    acked = set()
    failed_deliveries = 0
    t0 = time.monotonic()
    try:
        for cycle in range(args.cycles):
            proc, bootstrap = start_broker(args.dll, data_dir)
            try:
                if cycle == 0:
                    admin = AdminClient({"bootstrap.servers": bootstrap})  # keep it alive until the result is in
                    admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)])[TOPIC].result(timeout=15)
                lock = threading.Lock()

                def on_delivery(err, msg):
                    nonlocal failed_deliveries
                    with lock:
                        if err is None:
                            acked.add(msg.value().decode())
                        else:
                            failed_deliveries += 1

                idempotent = args.mode == "idempotent"
                p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 2, "log_level": 2,
                              "message.timeout.ms": 3000, "enable.idempotence": idempotent,
                              **({} if idempotent else {"retries": 0}),
                              "compression.type": rng.choice(["none", "gzip", "lz4", "zstd", "snappy"])})
                kill_at = time.monotonic() + rng.uniform(0.3, 1.5)
                n = 0
                while time.monotonic() < kill_at:
                    try:
                        p.produce(TOPIC, value=f"c{cycle}-{n}".encode(), key=str(n % 7).encode(), on_delivery=on_delivery)
                        n += 1
                    except BufferError:
                        pass
                    p.poll(0)
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                p.flush(5)  # what was not acknowledged before the kill fails now
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        # verify
        proc, bootstrap = start_broker(args.dll, data_dir)
        try:
            values, eof, errors = read_back(bootstrap, "torture-check", "read_uncommitted")
            seen = set(values)
            duplicates = len(values) - len(seen)
        finally:
            proc.kill()
            proc.wait()
        lost = acked - seen
        secs = time.monotonic() - t0
        if errors or lost or len(eof) < PARTITIONS or duplicates:
            print(f"FAIL crash_torture ({args.mode}): {len(lost)} of {len(acked)} acknowledged records lost (e.g. {sorted(lost)[:5]}), "
                  f"{duplicates} stored twice, consumer errors {errors[:3]}, partitions read to the end {len(eof)}/{PARTITIONS}; "
                  f"seed {args.seed}, data {data_dir}")
            return 1
        print(f"PASS crash_torture ({args.mode}): {args.cycles} kill -9 cycles with fsync on, {len(acked)} acknowledged records all present "
              f"({failed_deliveries} unacknowledged at the kills), {len(seen)} records read back, none twice; seed {args.seed}, {secs:.1f}s")
        return 0
    finally:
        if not args.data_dir:
            shutil.rmtree(data_dir, ignore_errors=True)


def txn_child(bootstrap, report, first, seed):
    """The producing side of the transactional mode, in its own process: transactions until the broker goes,
    each step appended to `report` (flushed) before and after it happens."""
    rng = random.Random(seed)
    out = open(report, "a", buffering=1)
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": "torture-txn", "linger.ms": 2, "log_level": 1,
                  "transaction.timeout.ms": 4000, "message.timeout.ms": 3000,
                  "compression.type": rng.choice(["none", "gzip", "lz4", "zstd", "snappy"])})
    # the previous instance's transaction, if the kill cut one, is aborted here
    p.init_transactions(30)
    meta = Consumer({"bootstrap.servers": bootstrap, "group.id": "torture-txn-group"}).consumer_group_metadata()
    number = first
    while True:
        values = [f"t{number}-{i}" for i in range(rng.randint(1, 6))]
        out.write(f"attempt {number} {' '.join(values)}\n")
        p.begin_transaction()
        for i, v in enumerate(values):
            p.produce(TOPIC, value=v.encode(), partition=(number + i) % PARTITIONS)
        p.send_offsets_to_transaction([TopicPartition("torture-in", 0, number + 1)], meta, 5)
        if rng.random() < 0.25:
            p.abort_transaction(5)
            out.write(f"abort {number}\n")
        else:
            p.commit_transaction(5)
            out.write(f"commit {number}\n")
        number += 1


def transactional(args):
    """The transactional mode (see the module doc)."""
    rng = random.Random(args.seed)
    data_dir = args.data_dir or tempfile.mkdtemp(prefix="kc-torture-txn-")
    txn_id, group, src = "torture-txn", "torture-txn-group", "torture-in"
    committed, aborted, attempted = {}, set(), {}   # txn number -> values
    last_committed = -1
    t0 = time.monotonic()
    try:
        for cycle in range(args.cycles):
            proc, bootstrap = start_broker(args.dll, data_dir)
            try:
                if cycle == 0:
                    admin = AdminClient({"bootstrap.servers": bootstrap})
                    fs = admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1), NewTopic(src, 1, 1)])
                    for f in fs.values():
                        f.result(timeout=15)
                # the transactions run in a child process, which reports each step in a file as it goes: a client
                # call that does not come back once the broker is gone cannot hold up the run, the child is killed
                report = os.path.join(data_dir, f"cycle-{cycle}.txt")
                child = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--txn-child", bootstrap, report,
                                          str(len(attempted)), str(rng.randrange(1 << 30))], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(rng.uniform(1.0, 2.5))
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                try:
                    child.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
                for line in open(report).read().splitlines():
                    kind, number, *values = line.split(" ")
                    number = int(number)
                    if kind == "attempt":
                        attempted[number] = values
                    elif kind == "commit":
                        committed[number] = attempted[number]
                        last_committed = max(last_committed, number)
                    elif kind == "abort":
                        aborted.add(number)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        # verify: a new instance first (it aborts a cut transaction), then read_committed
        proc, bootstrap = start_broker(args.dll, data_dir)
        try:
            Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id}).init_transactions(30)
            seen, eof, errors = read_back(bootstrap, "torture-txn-check", "read_committed")
            g = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
            group_offset = g.committed([TopicPartition(src, 0)], 10)[0].offset
            g.close()
        finally:
            proc.kill()
            proc.wait()
        secs = time.monotonic() - t0
        seen_set = set(seen)
        problems = []
        if len(seen) != len(seen_set):
            problems.append(f"{len(seen) - len(seen_set)} records read twice")
        lost = [n for n, vs in committed.items() if not all(v in seen_set for v in vs)]
        if lost:
            problems.append(f"committed transactions missing records: {lost[:5]}")
        leaked = [n for n in aborted if any(v in seen_set for v in attempted[n])]
        if leaked:
            problems.append(f"aborted transactions visible: {leaked[:5]}")
        partial = [n for n, vs in attempted.items() if 0 < sum(v in seen_set for v in vs) < len(vs)]
        if partial:
            problems.append(f"transactions seen in part: {partial[:5]}")
        if group_offset < last_committed + 1:
            problems.append(f"group offset {group_offset} is behind the last committed transaction {last_committed}")
        if errors or len(eof) < PARTITIONS:
            problems.append(f"consumer errors {errors[:3]}, partitions read to the end {len(eof)}/{PARTITIONS}")
        if problems:
            print(f"FAIL crash_torture (transactional): {'; '.join(problems)}; seed {args.seed}, data {data_dir}")
            return 1
        in_doubt = len(attempted) - len(committed) - len(aborted)
        print(f"PASS crash_torture (transactional): {args.cycles} kill -9 cycles, {len(committed)} committed transactions all "
              f"whole, {len(aborted)} aborted ones invisible, {in_doubt} cut by a kill whole or absent, group offset "
              f"{group_offset}; {len(seen)} records read back; seed {args.seed}, {secs:.1f}s")
        return 0
    finally:
        if not args.data_dir:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--txn-child":
        try:
            txn_child(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
        except Exception:  # noqa: BLE001 - the kill ends the child wherever it is
            pass
        sys.exit(0)
    sys.exit(main())
