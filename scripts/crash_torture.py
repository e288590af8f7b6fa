#!/usr/bin/python3
"""Crash torture: kill -9 the broker during acks=all produce with fsync on, restart, and check that every
acknowledged record is still there, readable and intact.

Usage: /usr/bin/python3 scripts/crash_torture.py [CYCLES] [--dll PATH] [--data-dir DIR] [--seed N]

Each cycle starts `kafkacompat serve --fsync-every-write` on a fixed data directory, produces with
confluent-kafka (librdkafka, acks=all) to a 3-partition topic, sends SIGKILL to the broker at a random moment,
and starts the next cycle on the same directory. At the end every acknowledged value must be consumed back
(librdkafka checks each batch's CRC). Run 100+ cycles by hand; CI runs a few. Exits non-zero on any loss.
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
    proc = subprocess.Popen(["dotnet", dll, "serve", "--port", "0", "--data-dir", data_dir, "--fsync-every-write"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    if not line.startswith("listening on "):
        proc.kill()
        raise RuntimeError(f"broker did not start: {line!r}")
    return proc, line.split()[-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cycles", nargs="?", type=int, default=10)
    ap.add_argument("--dll", default=os.path.join(ROOT, "src", "KafkaCompat", "bin", "Release", "net10.0", "kafkacompat.dll"))
    ap.add_argument("--data-dir")
    ap.add_argument("--seed", type=int, default=int(time.time()))
    args = ap.parse_args()
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

                p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 2, "log_level": 2,
                              "message.timeout.ms": 3000, "retries": 0, "enable.idempotence": False,
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
            c = Consumer({"bootstrap.servers": bootstrap, "group.id": "torture-check", "enable.auto.commit": False,
                          "enable.partition.eof": True, "check.crcs": True})
            c.assign([TopicPartition(TOPIC, i, 0) for i in range(PARTITIONS)])
            seen, eof, errors = set(), set(), []
            # reading back takes as long as it takes (100 cycles write ~30M records); give up only on a 30 s stall
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
                seen.add(m.value().decode())
            c.close()
        finally:
            proc.kill()
            proc.wait()
        lost = acked - seen
        secs = time.monotonic() - t0
        if errors or lost or len(eof) < PARTITIONS:
            print(f"FAIL crash_torture: {len(lost)} of {len(acked)} acknowledged records lost (e.g. {sorted(lost)[:5]}), "
                  f"consumer errors {errors[:3]}, partitions read to the end {len(eof)}/{PARTITIONS}; seed {args.seed}, data {data_dir}")
            return 1
        print(f"PASS crash_torture: {args.cycles} kill -9 cycles with fsync on, {len(acked)} acknowledged records all present "
              f"({failed_deliveries} unacknowledged at the kills), {len(seen)} records read back; seed {args.seed}, {secs:.1f}s")
        return 0
    finally:
        if not args.data_dir:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
