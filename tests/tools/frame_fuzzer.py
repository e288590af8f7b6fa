#!/usr/bin/env python3
"""Network fuzzer: mutated client request frames against a live KafkaCompat broker.

Usage: /usr/bin/python3 tests/tools/frame_fuzzer.py [--frames N] [--seed S] [--check-every K] [--dll PATH]

Starts the Release broker on a fresh data directory, then sends request frames taken from the captured client
frames in tests/KafkaCompat.Protocol.Tests/Fixtures, each mutated: bit flips, length and count fields overwritten
with boundary values, truncations, splices of two frames, and now and then a size prefix that lies. A few frames go
on each connection; answers are read and thrown away; a closed connection is replaced. Every K frames the broker
must still be running and serve a stock client (confluent-kafka produces a record and reads it back), and its
RSS, memory maps and file descriptors are sampled. Prints one PASS/FAIL line with the figures; exits non-zero on
a dead broker or a failed check.
"""
import argparse
import glob
import os
import random
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(ROOT, "tests", "KafkaCompat.Protocol.Tests", "Fixtures")
DEFAULT_DLL = os.path.join(ROOT, "src", "KafkaCompat", "bin", "Release", "net10.0", "kafkacompat.dll")
BOUNDARY = [0, 1, -1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, -0x80000000, 10_000, 10_001, 100_000]


def mutate(rng, frame, frames):
    b = bytearray(frame)
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(6)
        if kind == 0 and b:  # bit flips
            for _ in range(rng.randint(1, 8)):
                i = rng.randrange(len(b))
                b[i] ^= 1 << rng.randrange(8)
        elif kind == 1 and len(b) > 12:  # an int32 field (a length or a count) overwritten
            i = rng.randrange(8, len(b) - 4)
            b[i:i + 4] = struct.pack(">i", rng.choice(BOUNDARY) if rng.random() < 0.7 else rng.randint(-2**31, 2**31 - 1))
        elif kind == 2 and len(b) > 10:  # an int16 field overwritten
            i = rng.randrange(8, len(b) - 2)
            v = rng.choice(BOUNDARY)
            b[i:i + 2] = struct.pack(">h", max(-32768, min(32767, v)))
        elif kind == 3 and len(b) > 8:  # truncation
            del b[rng.randrange(8, len(b)):]
        elif kind == 4:  # splice with another frame
            other = rng.choice(frames)
            cut = rng.randrange(8, max(9, len(b)))
            b = b[:cut] + other[rng.randrange(0, len(other)):]
        elif kind == 5 and len(b) > 10:  # a varint-ish byte run (compact lengths, tag counts)
            i = rng.randrange(8, len(b) - 1)
            b[i] = rng.choice([0x00, 0x01, 0x7F, 0x80, 0xFF])
    return bytes(b)


def proc_figures(pid):
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
    with open(f"/proc/{pid}/maps") as f:
        maps = sum(1 for _ in f)
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return rss, maps, fds


def client_check(bootstrap, n):
    from confluent_kafka import Producer, Consumer, TopicPartition
    topic = f"fuzz-check-{n}"
    p = Producer({"bootstrap.servers": bootstrap, "message.timeout.ms": 10000})
    p.produce(topic, value=b"alive", partition=0)
    if p.flush(15) != 0:
        return False
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"fuzz-{n}", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    deadline = time.time() + 15
    ok = False
    while time.time() < deadline and not ok:
        m = c.poll(0.5)
        ok = m is not None and not m.error() and m.value() == b"alive"
    c.close()
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--check-every", type=int, default=5_000)
    ap.add_argument("--dll", default=DEFAULT_DLL)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    frames = [open(p, "rb").read() for p in sorted(glob.glob(os.path.join(FIXTURES, "*.bin")))]
    if not frames:
        print(f"FAIL frame_fuzzer: no fixtures in {FIXTURES}")
        return 2
    data = tempfile.mkdtemp(prefix="kc-fuzz-")
    log = open(os.path.join(data, "broker.log"), "w")
    broker = subprocess.Popen(["dotnet", args.dll, "serve", "--port", "0", "--data-dir", os.path.join(data, "data"),
                               "--set", "group.initial.rebalance.delay.ms=0"],
                              stdout=subprocess.PIPE, stderr=log, text=True)
    line = broker.stdout.readline()
    if not line.startswith("listening on "):
        print(f"FAIL frame_fuzzer: broker did not start: {line!r}")
        return 1
    bootstrap = line.split()[-1]
    host, port = bootstrap.rsplit(":", 1)
    peak = (0.0, 0, 0)
    sent = closed = 0
    t0 = time.monotonic()
    sock = None
    per_conn = 0
    try:
        while sent < args.frames:
            if broker.poll() is not None:
                print(f"FAIL frame_fuzzer: the broker exited with {broker.returncode} after {sent} frames; seed {args.seed}, data {data}")
                return 1
            if sock is None or per_conn >= rng.randint(1, 6):
                if sock:
                    sock.close()
                try:
                    sock = socket.create_connection((host, int(port)), timeout=2)
                except OSError as e:
                    time.sleep(0.5)
                    state = "exited with " + str(broker.poll()) if broker.poll() is not None else "running but refusing connections"
                    print(f"FAIL frame_fuzzer: cannot connect after {sent} frames ({e}); the broker is {state}; seed {args.seed}, log {data}/broker.log")
                    return 1
                sock.settimeout(0.05)
                per_conn = 0
            body = mutate(rng, rng.choice(frames), frames)
            size = len(body) if rng.random() > 0.03 else rng.choice([0, 1, len(body) + 1, 0x7FFFFFFF, -1 & 0xFFFFFFFF, len(body) * 2])
            try:
                sock.sendall(struct.pack(">I", size & 0xFFFFFFFF) + body)
                try:
                    if sock.recv(1 << 16) == b"":
                        raise ConnectionError()
                except socket.timeout:
                    pass
            except (ConnectionError, OSError):
                closed += 1
                sock.close()
                sock = None
            sent += 1
            per_conn += 1
            if sent % args.check_every == 0:
                fig = proc_figures(broker.pid)
                peak = tuple(max(a, b) for a, b in zip(peak, fig))
                if not client_check(bootstrap, sent):
                    print(f"FAIL frame_fuzzer: a stock client could not produce and consume after {sent} frames; seed {args.seed}, data {data}")
                    return 1
        fig = proc_figures(broker.pid)
        peak = tuple(max(a, b) for a, b in zip(peak, fig))
        print(f"PASS frame_fuzzer: {sent} mutated frames, broker alive, stock client checks every {args.check_every} passed; "
              f"{closed} connections closed by the broker; peak RSS {peak[0]:.0f} MiB, maps {peak[1]}, descriptors {peak[2]}; "
              f"seed {args.seed}, {time.monotonic() - t0:.0f}s")
        return 0
    finally:
        if sock:
            sock.close()
        broker.terminate()
        try:
            broker.wait(10)
        except subprocess.TimeoutExpired:
            broker.kill()


if __name__ == "__main__":
    sys.exit(main())
