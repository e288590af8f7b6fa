#!/usr/bin/python3
"""Regenerates the request-frame fixtures in tests/KafkaCompat.Protocol.Tests/Fixtures/.

Usage: /usr/bin/python3 tests/tools/capture_fixtures.py [--dll PATH] [--out DIR] [--only LABEL,...]

Needs the built broker (src/KafkaCompat/bin/Release/net10.0/kafkacompat.dll), Debian's python3-kafka
and python3-confluent-kafka, and kafkajs (npm install --prefix tests/clients).

How: one broker bound on 127.0.0.2:P advertising 127.0.0.1, and tests/tools/capture_proxy.py on
127.0.0.1:P forwarding to it. Metadata therefore names the proxy, so every connection a client
opens after bootstrap also goes through the proxy. For each client label the proxy is restarted
with that label, the client runs a few small steps, and the proxy keeps the first frame per
(api key, version) as <label>-<ApiKeyName>-v<version>-1.bin. The old files of a label are removed
before it is captured again. Record timestamps (and so the bytes of Produce frames) differ between
runs.
"""
import argparse
import glob
import json
import os
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_DLL = os.path.join(ROOT, "src", "KafkaCompat", "bin", "Release", "net10.0", "kafkacompat.dll")
DEFAULT_OUT = os.path.join(ROOT, "tests", "KafkaCompat.Protocol.Tests", "Fixtures")
NODE_MODULES = os.path.join(ROOT, "tests", "clients", "node_modules")


def free_port():
    """A port free on both 127.0.0.1 (proxy) and 127.0.0.2 (broker)."""
    for _ in range(50):
        a = socket.socket()
        a.bind(("127.0.0.1", 0))
        port = a.getsockname()[1]
        b = socket.socket()
        try:
            b.bind(("127.0.0.2", port))
            return port
        except OSError:
            continue
        finally:
            a.close()
            b.close()
    raise RuntimeError("no free port on 127.0.0.1 and 127.0.0.2")


def start(cmd, ready_prefix, what, log_path):
    log = open(log_path, "w")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith(ready_prefix):
            return proc
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError(f"{what} did not start (see {log_path})")


def stop(proc):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ---------------------------------------------------------------- kafka-python (python3-kafka 2.0.2)

def kafka_python_steps(bootstrap, topic):
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import NewTopic
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="fixture-admin")
    admin.create_topics([NewTopic(name=topic, num_partitions=3, replication_factor=1)], timeout_ms=10000)
    producer = KafkaProducer(bootstrap_servers=bootstrap, client_id="fixture-producer",
                             value_serializer=lambda v: json.dumps(v).encode("utf-8"), linger_ms=20)
    for i in range(3):
        producer.send(topic, value={"n": i}, key=f"k{i}".encode(), partition=0,
                      headers=[("h", f"v{i}".encode())] if i != 1 else [])
    producer.flush(10)
    producer.close(5)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="fixture-consumer", group_id=None,
                             enable_auto_commit=False, consumer_timeout_ms=3000)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    got = []
    for m in consumer:
        got.append(m)
        if len(got) == 3:
            break
    assert len(got) == 3, got
    consumer.offsets_for_times({tp: 0})
    consumer.close()
    admin.delete_topics([topic], timeout_ms=10000)
    admin.close()


def kafka_python_codec(bootstrap, topic, codec):
    from kafka import KafkaProducer
    producer = KafkaProducer(bootstrap_servers=bootstrap, client_id="fixture-producer",
                             compression_type=codec, linger_ms=20)
    for i in range(3):
        producer.send(topic, value=f"{codec} record {i} ".encode() * 4, key=f"k{i}".encode(), partition=0)
    producer.flush(10)
    producer.close(5)


# ------------------------------------------ librdkafka (python3-confluent-kafka 1.7.0, librdkafka 2.0.2)

def librdkafka_steps(bootstrap, topic):
    from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)]).values():
        f.result(10)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 100})
    producer.list_topics(topic, timeout=10)  # know the partition first, so the 3 records share one batch
    for i in range(3):
        producer.produce(topic, value=json.dumps({"n": i}).encode(), key=f"k{i}".encode(), partition=0,
                         headers=[("h", f"v{i}".encode())] if i != 1 else None)
    assert producer.flush(10) == 0
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "fixture-unused", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    got = []
    deadline = time.monotonic() + 10
    while len(got) < 3 and time.monotonic() < deadline:
        got += [m for m in consumer.consume(3 - len(got), 0.5) if not m.error()]
    assert len(got) == 3, got
    consumer.offsets_for_times([TopicPartition(topic, 0, 0)], timeout=10)
    consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10, cached=False)
    consumer.close()
    for f in admin.delete_topics([topic]).values():
        f.result(10)


def librdkafka_codec(bootstrap, topic, codec):
    from confluent_kafka import Producer
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 100, "compression.type": codec})
    producer.list_topics(topic, timeout=10)
    for i in range(3):
        # repetitive enough that librdkafka really compresses (it sends a batch uncompressed
        # when compressing does not make it smaller)
        producer.produce(topic, value=f"{codec} record {i} ".encode() * 8, key=f"k{i}".encode(), partition=0)
    assert producer.flush(10) == 0


# -------------------------------------------------------------------------------- kafkajs 2.2.4

KAFKAJS_SCRIPT = r"""
const { Kafka, logLevel, CompressionTypes } = require('kafkajs')
const [bootstrap, topic, mode] = process.argv.slice(1)
const kafka = new Kafka({ clientId: 'fixture-kafkajs', brokers: [bootstrap], logLevel: logLevel.NOTHING,
  retry: { retries: 2, initialRetryTime: 100 } })
;(async () => {
  const admin = kafka.admin()
  const producer = kafka.producer()
  await admin.connect()
  await producer.connect()
  if (mode === 'gzip') {
    await producer.send({ topic, compression: CompressionTypes.GZIP, partition: 0,
      messages: [0, 1, 2].map(i => ({ key: `k${i}`, value: `gzip record ${i} `.repeat(4), partition: 0 })) })
  } else {
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], timeout: 10000 })
    await admin.fetchTopicMetadata({ topics: [topic] })
    await producer.send({ topic, messages: [0, 1, 2].map(i => ({ key: `k${i}`, value: JSON.stringify({ n: i }),
      partition: 0, headers: i === 1 ? undefined : { h: `v${i}` } })) })
    await admin.fetchTopicOffsets(topic)
    await admin.fetchTopicOffsetsByTimestamp(topic, 0)
    await admin.deleteTopics({ topics: [topic], timeout: 10000 })
  }
  await producer.disconnect()
  await admin.disconnect()
})().catch(e => { console.error(e); process.exit(1) })
"""


def kafkajs_run(bootstrap, topic, mode):
    env = dict(os.environ, NODE_PATH=NODE_MODULES, KAFKAJS_NO_PARTITIONER_WARNING="1")
    subprocess.run(["node", "-e", KAFKAJS_SCRIPT, bootstrap, topic, mode], check=True, env=env, timeout=60)


# ------------------------------------------------------------------------------------------ main

RUNS = [
    # label, apis kept (None = all), function(bootstrap, topic)
    ("kafka-python", None, kafka_python_steps),
    ("kafka-python.gzip", "Produce", lambda b, t: kafka_python_codec(b, t, "gzip")),
    ("kafka-python.snappy", "Produce", lambda b, t: kafka_python_codec(b, t, "snappy")),
    ("kafka-python.lz4", "Produce", lambda b, t: kafka_python_codec(b, t, "lz4")),
    ("kafka-python.zstd", "Produce", lambda b, t: kafka_python_codec(b, t, "zstd")),
    ("librdkafka", None, librdkafka_steps),
    ("librdkafka.gzip", "Produce", lambda b, t: librdkafka_codec(b, t, "gzip")),
    ("librdkafka.snappy", "Produce", lambda b, t: librdkafka_codec(b, t, "snappy")),
    ("librdkafka.zstd", "Produce", lambda b, t: librdkafka_codec(b, t, "zstd")),
    ("kafkajs", None, lambda b, t: kafkajs_run(b, t, "main")),
    ("kafkajs.gzip", "Produce", lambda b, t: kafkajs_run(b, t, "gzip")),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dll", default=DEFAULT_DLL)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--only", help="comma-separated labels to capture (default: all)")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else None
    work = subprocess.run(["mktemp", "-d"], capture_output=True, text=True, check=True).stdout.strip()
    port = free_port()
    broker = start(["dotnet", args.dll, "serve", "--host", "127.0.0.2", "--port", str(port),
                    "--advertised-host", "127.0.0.1", "--data-dir", os.path.join(work, "data")],
                   "listening on", "broker", os.path.join(work, "broker.log"))
    bootstrap = f"127.0.0.1:{port}"
    try:
        for label, apis, fn in RUNS:
            if only and label not in only:
                continue
            for old in glob.glob(os.path.join(args.out, f"{glob.escape(label)}-*.bin")):
                os.remove(old)
            cmd = [sys.executable, os.path.join(HERE, "capture_proxy.py"), "--listen", bootstrap,
                   "--target", f"127.0.0.2:{port}", "--out", args.out, "--client", label, "--log"]
            if apis:
                cmd += ["--apis", apis]
            proxy = start(cmd, "proxy listening", f"proxy for {label}", os.path.join(work, f"proxy-{label}.log"))
            try:
                fn(bootstrap, "fixture-" + label.replace(".", "-"))
                time.sleep(0.3)  # let the proxy write the last frames
            finally:
                stop(proxy)
            files = sorted(os.path.basename(p) for p in glob.glob(os.path.join(args.out, f"{glob.escape(label)}-*.bin")))
            print(f"{label}: {' '.join(files)}")
    finally:
        stop(broker)
    print(f"logs in {work}")


if __name__ == "__main__":
    main()
