#!/usr/bin/python3
"""librdkafka's in-memory mock cluster with topics created up front, for the load tool's --kip848 mode.

Usage: LD_LIBRARY_PATH=<dir with librdkafka.so.1> /usr/bin/python3 mock_cluster.py HEARTBEAT_MS TOPIC:PARTITIONS...

The same mock as ../shared/tools/rdkafka-mock (rd_kafka_mock_cluster_new on a producer handle), started through
ctypes so that it can also create topics with a chosen partition count (its auto-creation gives 4, and its
CreateTopics never answers) and set the consumer-protocol heartbeat interval it hands out. Prints the bootstrap
list as its first line, then serves until stdin closes or a signal ends it.
"""
import ctypes
import signal
import sys

lib = ctypes.CDLL("librdkafka.so.1")
vp = ctypes.c_void_p
for name, res, args in [
    ("rd_kafka_version_str", ctypes.c_char_p, []),
    ("rd_kafka_conf_new", vp, []),
    ("rd_kafka_conf_set", ctypes.c_int, [vp, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]),
    ("rd_kafka_new", vp, [ctypes.c_int, vp, ctypes.c_char_p, ctypes.c_size_t]),
    ("rd_kafka_mock_cluster_new", vp, [vp, ctypes.c_int]),
    ("rd_kafka_mock_cluster_bootstraps", ctypes.c_char_p, [vp]),
    ("rd_kafka_mock_topic_create", ctypes.c_int, [vp, ctypes.c_char_p, ctypes.c_int, ctypes.c_int]),
    ("rd_kafka_mock_set_group_consumer_heartbeat_interval_ms", None, [vp, ctypes.c_int]),
]:
    fn = getattr(lib, name)
    fn.restype, fn.argtypes = res, args

err = ctypes.create_string_buffer(512)
conf = lib.rd_kafka_conf_new()
lib.rd_kafka_conf_set(conf, b"log_level", b"3", err, 512)
rk = lib.rd_kafka_new(0, conf, err, 512)
if not rk:
    sys.exit(f"rd_kafka_new: {err.value.decode()}")
mc = lib.rd_kafka_mock_cluster_new(rk, 1)
if not mc:
    sys.exit("mock cluster failed")
lib.rd_kafka_mock_set_group_consumer_heartbeat_interval_ms(mc, int(sys.argv[1]))
for spec in sys.argv[2:]:
    topic, partitions = spec.rsplit(":", 1)
    if lib.rd_kafka_mock_topic_create(mc, topic.encode(), int(partitions), 1) != 0:
        sys.exit(f"could not create {topic}")
print(lib.rd_kafka_mock_cluster_bootstraps(mc).decode(), flush=True)
print(f"librdkafka {lib.rd_kafka_version_str().decode()}", file=sys.stderr, flush=True)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
try:
    sys.stdin.read()  # until stdin closes
    signal.pause()
except (KeyboardInterrupt, SystemExit):
    pass
