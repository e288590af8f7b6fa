#!/usr/bin/python3
"""Decodes the captured request frames in tests/KafkaCompat.Protocol.Tests/Fixtures/ and prints one
Markdown table row per file: file, client, API, version, header, and what the request asked.

Usage: /usr/bin/python3 tests/tools/describe_fixtures.py [DIR]

An independent, deliberately small decoder (only the API versions that were captured), used to
write and check the fixtures' README. It also verifies each record batch's CRC-32C (needs Debian's
python3-kafka for its pure-Python CRC-32C) and decompresses compressed batches to count records.
"""
import glob
import gzip
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DIR = os.path.join(os.path.dirname(HERE), "KafkaCompat.Protocol.Tests", "Fixtures")

try:
    from kafka.record._crc32c import crc as crc32c
except ImportError:  # pragma: no cover
    crc32c = None

# The client versions the committed fixtures were captured with (update when re-capturing with others)
CLIENT_VERSIONS = {
    "kafka-python": "kafka-python 2.0.2 (Debian python3-kafka)",
    "librdkafka": "librdkafka 2.0.2 via confluent-kafka-python 1.7.0 (Debian)",
    "kafkajs": "kafkajs 2.2.4",
    "librdkafka216": "librdkafka 2.16.0 (librdkafka.redist, centos8 build) via confluent-kafka-python 1.7.0 (Debian)",
    "platformatic": "@platformatic/kafka 1.35.0 (npm)",
    "platformatic2": "@platformatic/kafka 2.12.1 (npm) on Node 22.23.5",
    "kafka-ts": "kafka-ts 1.5.0 (npm)",
}
CODECS = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}
# (api key, first flexible version)
FLEXIBLE_FROM = {0: 9, 1: 12, 2: 6, 3: 9, 8: 8, 9: 6, 10: 3, 11: 6, 12: 4, 13: 4, 14: 4, 15: 5, 16: 3,
                 18: 3, 19: 5, 20: 4, 22: 2, 24: 3, 25: 3, 26: 3, 28: 3, 42: 2,
                 68: 0, 69: 0, 23: 4, 35: 2, 60: 0, 74: 0, 75: 0, 43: 2, 45: 0, 46: 0}


class R:
    def __init__(self, data):
        self.d = data
        self.p = 0

    def take(self, n):
        if self.p + n > len(self.d):
            raise ValueError(f"read past the end at {self.p} (+{n} of {len(self.d)})")
        v = self.d[self.p:self.p + n]
        self.p += n
        return v

    def i8(self): return struct.unpack(">b", self.take(1))[0]
    def i16(self): return struct.unpack(">h", self.take(2))[0]
    def i32(self): return struct.unpack(">i", self.take(4))[0]
    def u32(self): return struct.unpack(">I", self.take(4))[0]
    def i64(self): return struct.unpack(">q", self.take(8))[0]

    def uvarint(self):
        shift = value = 0
        while True:
            b = self.take(1)[0]
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7

    def varint(self):
        v = self.uvarint()
        return (v >> 1) ^ -(v & 1)

    def string(self):
        n = self.i16()
        return None if n < 0 else self.take(n).decode()

    def compact_string(self):
        n = self.uvarint() - 1
        return None if n < 0 else self.take(n).decode()

    def array(self, item):
        n = self.i32()
        return None if n < 0 else [item() for _ in range(n)]

    def compact_array(self, item):
        n = self.uvarint() - 1
        return None if n < 0 else [item() for _ in range(n)]

    def bytes_(self):
        n = self.i32()
        return None if n < 0 else self.take(n)

    def compact_bytes(self):
        n = self.uvarint() - 1
        return None if n < 0 else self.take(n)

    def tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())

    def done(self):
        if self.p != len(self.d):
            raise ValueError(f"{len(self.d) - self.p} unread bytes")


def records_of(raw):
    """Describe a Produce partition's record set (one or more v2 batches)."""
    r = R(raw)
    out = []
    while r.p < len(raw):
        base_offset, length = r.i64(), r.i32()
        batch = R(r.take(length))
        batch.i32()  # partition leader epoch
        magic = batch.i8()
        if magic != 2:
            out.append(f"magic {magic} batch")
            continue
        crc = batch.u32()
        crc_ok = crc32c is None or crc32c(batch.d[batch.p:]) == crc
        attrs = batch.i16()
        batch.i32()  # last offset delta
        base_ts = batch.i64()
        batch.i64()  # max timestamp
        pid, _epoch, _seq = batch.i64(), batch.i16(), batch.i32()
        count = batch.i32()
        body = batch.d[batch.p:]
        codec = CODECS.get(attrs & 7, f"codec{attrs & 7}")
        plain = decompress(codec, body)
        keys, nheaders = [], 0
        if plain is not None:
            rr = R(plain)
            for _ in range(count):
                rec = R(rr.take(rr.varint()))
                rec.i8()
                rec.varint()
                rec.varint()
                klen = rec.varint()
                keys.append(None if klen < 0 else rec.take(klen).decode(errors="replace"))
                vlen = rec.varint()
                if vlen >= 0:
                    rec.take(vlen)
                hc = rec.varint()
                nheaders += hc
                for _ in range(hc):
                    rec.take(rec.varint())
                    hv = rec.varint()
                    if hv >= 0:
                        rec.take(hv)
                rec.done()
            rr.done()
        desc = f"{count} record(s), {codec}, keys {keys if plain is not None else '?'}"
        if nheaders:
            desc += f", {nheaders} header(s)"
        if pid != -1:
            desc += f", producerId {pid}"
        desc += ", CRC ok" if crc_ok else ", CRC MISMATCH"
        out.append(desc)
    return "; ".join(out)


def decompress(codec, body):
    try:
        if codec == "none":
            return body
        if codec == "gzip":
            return gzip.decompress(body)
        if codec == "snappy":
            from kafka.codec import snappy_decode
            return snappy_decode(body)
        if codec == "lz4":
            from kafka.codec import lz4_decode
            return lz4_decode(body)
        if codec == "zstd":
            from kafka.codec import zstd_decode
            return zstd_decode(body)
    except Exception:  # noqa: BLE001 - a description, not a validator
        return None
    return None


def subscription(meta):
    """The consumer protocol's Subscription (JoinGroup protocol metadata)."""
    m = R(meta)
    v = m.i16()
    topics = m.array(m.string)
    user = m.bytes_()
    s = f"subscription v{v} {topics}"
    if v >= 1 and m.p < len(m.d):
        owned = m.array(lambda: (m.string(), m.array(m.i32)))
        if owned:
            s += f" owned {owned}"
    if user:
        s += f" +{len(user)}B user_data"
    return s


def assignment(data):
    """The consumer protocol's Assignment (SyncGroup assignment bytes)."""
    if not data:
        return "empty"
    a = R(data)
    v = a.i16()
    parts = a.array(lambda: (a.string(), a.array(a.i32)))
    return f"v{v} " + ", ".join(f"{t} {ps}" for t, ps in parts)


def short(member_id):
    """Member ids are '<client_id>-<uuid>': show the uuid as <uuid>."""
    return repr(re.sub(r"-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", "-<uuid>", member_id))


def describe_group(key, ver, r, flexible):
    s = r.compact_string if flexible else r.string
    arr = (lambda item: r.compact_array(item)) if flexible else (lambda item: r.array(item))

    if key == 10 and not flexible:  # FindCoordinator v0-2
        k = r.string()
        return f"key {k!r}" + (f", key_type={r.i8()}" if ver >= 1 else "")
    b_ = r.compact_bytes if flexible else r.bytes_

    def tagged(item):
        def read():
            v = item()
            if flexible:
                r.tags()
            return v
        return read
    if key == 11:  # JoinGroup v0-9 (v6+ flexible, v8+ a reason)
        group, session = s(), r.i32()
        rebalance = r.i32() if ver >= 1 else None
        member = s()
        inst = s() if ver >= 5 else None
        ptype = s()
        protos = arr(tagged(lambda: (s(), b_())))
        reason = s() if ver >= 8 else None
        if flexible:
            r.tags()
        out = f"group {group!r}, session_timeout_ms={session}"
        if rebalance is not None:
            out += f", rebalance_timeout_ms={rebalance}"
        out += f", member_id={short(member)}"
        if ver >= 5:
            out += f", group_instance_id={inst!r}"
        out += f", protocol_type={ptype!r}, protocols " + "; ".join(f"{n} ({subscription(m)})" for n, m in protos)
        return out + (f", reason={reason!r}" if ver >= 8 else "")
    if key == 14:  # SyncGroup v0-5 (v4+ flexible, v5+ the protocol type and name)
        group, gen, member = s(), r.i32(), s()
        inst = s() if ver >= 3 else None
        ptype, pname = (s(), s()) if ver >= 5 else (None, None)
        assigns = arr(tagged(lambda: (s(), b_())))
        if flexible:
            r.tags()
        out = f"group {group!r}, generation {gen}, member_id={short(member)}"
        if ver >= 3:
            out += f", group_instance_id={inst!r}"
        if ver >= 5:
            out += f", protocol_type={ptype!r}, protocol_name={pname!r}"
        return out + ", assignments [" + "; ".join(f"{short(m)}: {assignment(a)}" for m, a in assigns) + "]"
    if key == 12:  # Heartbeat v0-4 (v4+ flexible)
        group, gen, member = s(), r.i32(), s()
        out = f"group {group!r}, generation {gen}, member_id={short(member)}"
        if ver >= 3:
            out += f", group_instance_id={s()!r}"
        if flexible:
            r.tags()
        return out
    if key == 13:  # LeaveGroup v0-5 (v4+ flexible, v5+ a reason per member)
        group = s()
        if ver < 3:
            return f"group {group!r}, member_id={short(r.string())}"
        members = arr(tagged(lambda: (s(), s(), s() if ver >= 5 else None)))
        if flexible:
            r.tags()
        return f"group {group!r}, members " + ", ".join(
            f"{short(m)} (instance {i!r}" + (f", reason {why!r})" if ver >= 5 else ")") for m, i, why in members)
    if key == 8:  # OffsetCommit v2-9 (v8+ flexible; v9+ the generation is the member epoch of a consumer group)
        group, gen, member = s(), r.i32(), s()
        inst = s() if ver >= 7 else None
        retention = r.i64() if 2 <= ver <= 4 else None

        def part():
            p, off = r.i32(), r.i64()
            epoch = r.i32() if ver >= 6 else None
            meta = s()
            if flexible:
                r.tags()
            return f"p{p}@{off}" + (f" epoch {epoch}" if epoch is not None else "") + (f" {meta!r}" if meta else "")

        def topic():
            name = (r.take(16).hex()[:8] + "..") if ver >= 10 else s()  # v10+ names topics by id
            parts = arr(part)
            if flexible:
                r.tags()
            return name, parts
        topics = arr(topic)
        if flexible:
            r.tags()
        out = f"group {group!r}, {'generation_or_member_epoch' if ver >= 9 else 'generation'} {gen}, member_id={short(member)}"
        if ver >= 7:
            out += f", group_instance_id={inst!r}"
        if retention is not None:
            out += f", retention_time_ms={retention}"
        return out + ", " + "; ".join(f"{t}: {', '.join(ps)}" for t, ps in topics)
    if key == 9 and ver >= 8:  # OffsetFetch v8+: several groups; v9+ with the member id and epoch (consumer groups)
        def group_entry():
            gid = s()
            member, epoch = (s(), r.i32()) if ver >= 9 else (None, None)

            def topic():
                name = (r.take(16).hex()[:8] + "..") if ver >= 10 else s()  # v10+ names topics by id
                parts = arr(r.i32)
                r.tags()
                return f"{name} {parts}"
            topics = arr(topic)
            r.tags()
            out = f"group {gid!r}"
            if ver >= 9:
                out += f", member_id={short(member) if member else member!r}, member_epoch={epoch}"
            return out + ", " + ("all topics" if topics is None else "; ".join(topics))
        groups = arr(group_entry)
        stable = bool(r.i8())
        r.tags()
        return "; ".join(groups) + f", require_stable={stable}"
    if key == 9:  # OffsetFetch v1-7
        group = s()

        def topic():
            name, parts = s(), arr(r.i32)
            if flexible:
                r.tags()
            return f"{name} {parts}"
        topics = arr(topic)
        out = f"group {group!r}, " + ("all topics" if topics is None else "; ".join(topics))
        if ver >= 7:
            out += f", require_stable={bool(r.i8())}"
        if flexible:
            r.tags()
        return out
    if key == 15:  # DescribeGroups v0-6 (v5+ flexible)
        groups = arr(s)
        out = f"groups {groups}"
        if ver >= 3:
            out += f", include_authorized_operations={bool(r.i8())}"
        if flexible:
            r.tags()
        return out
    if key == 16:  # ListGroups v0-5
        out = "empty body"
        if ver >= 4:
            out = f"states_filter={r.compact_array(r.compact_string)}"
        if ver >= 5:
            out += f", types_filter={r.compact_array(r.compact_string)}"
        if flexible:
            r.tags()
            if r.d[r.p:] == b"\x00":
                # librdkafka < 2.0.3 writes the request's (empty) tagged fields twice for ListGroups v3+
                # (fixed by confluentinc/librdkafka#4207)
                r.take(1)
                out += "; then 1 extra trailing byte 0x00 (librdkafka < 2.0.3 writes the tagged fields twice)"
        return out
    if key == 68:  # ConsumerGroupHeartbeat v0-1 (KIP-848)
        group, member, epoch = s(), s(), r.i32()
        inst, rack, rebalance = s(), s(), r.i32()
        topics = arr(s)
        regex = s() if ver >= 1 else None
        assignor = s()

        def owned():
            tid = r.take(16).hex()
            parts = arr(r.i32)
            r.tags()
            return f"{tid[:8]}..: {parts}"
        parts = arr(owned)
        r.tags()
        out = f"group {group!r}, member_id={short(member)}, member_epoch={epoch}, instance_id={inst!r}, rack_id={rack!r}, " \
              f"rebalance_timeout_ms={rebalance}, subscribed_topic_names={topics}"
        if ver >= 1:
            out += f", subscribed_topic_regex={regex!r}"
        return out + f", server_assignor={assignor!r}, topic_partitions=" + ("null" if parts is None else f"[{'; '.join(parts)}]")
    if key == 35:  # DescribeLogDirs v0-4 (v2+ flexible)
        s_, arr_ = (r.compact_string, r.compact_array) if flexible else (r.string, r.array)

        def topic():
            name, parts = s_(), arr_(r.i32)
            if flexible:
                r.tags()
            return f"{name} {parts}"
        topics = arr_(topic)
        if flexible:
            r.tags()
        return "all topics" if topics is None else "; ".join(topics)
    if key == 69:  # ConsumerGroupDescribe v0-1 (KIP-848)
        groups = arr(s)
        include = bool(r.i8())
        r.tags()
        return f"groups {groups}, include_authorized_operations={include}"
    if key == 74:  # ListConfigResources v0-1 (v1 adds the resource types)
        types = arr(r.i8) if ver >= 1 else None
        r.tags()
        return "client metrics" if types is None else f"resource_types={types}"
    if key == 23 and flexible:  # OffsetForLeaderEpoch v4
        replica = r.i32()

        def part():
            p, current, epoch = r.i32(), r.i32(), r.i32()
            r.tags()
            return f"p{p} current_leader_epoch={current} leader_epoch={epoch}"

        def topic():
            name, parts = s(), arr(part)
            r.tags()
            return f"{name}: " + ", ".join(parts)
        topics = arr(topic)
        r.tags()
        return f"replica_id={replica}, " + "; ".join(topics)
    if key == 75:  # DescribeTopicPartitions v0: topics, a partition limit and a nullable cursor
        def topic():
            name = s()
            r.tags()
            return name
        topics = arr(topic)
        limit = r.i32()
        cursor = None
        if r.i8() >= 0:
            cursor = (s(), r.i32())
            r.tags()
        r.tags()
        return f"topics {topics}, response_partition_limit={limit}, cursor=" + ("null" if cursor is None else f"{cursor[0]}-{cursor[1]}")
    if key == 60:  # DescribeCluster v0-2 (flexible from v0)
        include = bool(r.i8())
        out = f"include_cluster_authorized_operations={include}"
        if ver >= 1:
            out += f", endpoint_type={r.i8()}"
        if ver >= 2:
            out += f", include_fenced_brokers={bool(r.i8())}"
        r.tags()
        return out
    if key == 42:  # DeleteGroups v0-1
        return f"delete {r.array(r.string)}"
    if key == 47:  # OffsetDelete v0
        group = r.string()
        topics = r.array(lambda: (r.string(), r.array(r.i32)))
        return f"group {group!r}, " + "; ".join(f"{t}: {ps}" for t, ps in topics)
    return None


RESOURCE_TYPES = {2: "topic", 4: "broker", 8: "broker logger"}


def describe_flexible(key, ver, r):
    """The flexible versions of Fetch, ListOffsets, Metadata, FindCoordinator, CreateTopics and DeleteTopics."""
    cs, arr = r.compact_string, r.compact_array

    def uuid():
        return r.take(16).hex()[:8] + ".."
    if key == 3:  # Metadata v9+
        def topic():
            tid = uuid() if ver >= 10 else None
            name = cs()
            r.tags()
            return name if name is not None else f"id {tid}"
        topics = arr(topic)
        out = "all topics" if topics is None else ("no topics" if topics == [] else f"topics {topics}")
        out += f", allow_auto_topic_creation={bool(r.i8())}"
        if 8 <= ver <= 10:
            r.i8()
        r.i8()  # include_topic_authorized_operations
        r.tags()
        return out
    if key == 10:  # FindCoordinator v4+
        key_type = r.i8()
        keys = arr(cs)
        r.tags()
        return f"keys {keys}, key_type={key_type}"
    if key == 19:  # CreateTopics v5+
        def topic():
            name, parts, rf = cs(), r.i32(), r.i16()
            assign = arr(lambda: (r.i32(), arr(r.i32), r.tags())) or []
            configs = arr(lambda: (cs(), cs(), r.tags())) or []
            r.tags()
            return f"{name} ({parts} partitions, replication {rf}" + (f", {len(assign)} assignments" if assign else "") + \
                (f", configs {dict((k, v) for k, v, _ in configs)}" if configs else "") + ")"
        topics = arr(topic)
        timeout, validate = r.i32(), bool(r.i8())
        r.tags()
        return f"create {', '.join(topics)}, timeout_ms={timeout}, validate_only={validate}"
    if key == 20:  # DeleteTopics v4+
        if ver >= 6:
            def topic():
                name, tid = cs(), uuid()
                r.tags()
                return name if name is not None else f"id {tid}"
            topics = arr(topic)
        else:
            topics = arr(cs)
        timeout = r.i32()
        r.tags()
        return f"delete {topics}, timeout_ms={timeout}"
    if key == 2:  # ListOffsets v6+
        replica, iso = r.i32(), r.i8()

        def part():
            p, _, ts = r.i32(), r.i32(), r.i64()
            r.tags()
            return f"p{p}@" + {-1: "latest", -2: "earliest", -3: "max timestamp", -4: "earliest local",
                                -5: "latest tiered", -6: "earliest pending upload"}.get(ts, f"ts {ts}")

        def topic():
            name, parts = cs(), arr(part)
            r.tags()
            return f"{name}: {', '.join(parts)}"
        topics = arr(topic)
        out = "; ".join(topics) + f", replica_id={replica}, isolation_level={iso}"
        if ver >= 10:
            out += f", timeout_ms={r.i32()}"
        r.tags()
        return out
    if key == 1:  # Fetch v12+
        replica = r.i32() if ver < 15 else None
        max_wait, min_bytes, max_bytes, iso, session, epoch = r.i32(), r.i32(), r.i32(), r.i8(), r.i32(), r.i32()

        def part():
            p, _, off, _, _, mx = r.i32(), r.i32(), r.i64(), r.i32(), r.i64(), r.i32()
            tags = r.uvarint()
            names = []
            for _ in range(tags):
                tag, size = r.uvarint(), r.uvarint()
                r.take(size)
                names.append({0: "replica_directory_id", 1: "high_watermark"}.get(tag, f"tag {tag}"))
            return f"p{p}@{off} (max {mx})" + (f" [{', '.join(names)}]" if names else "")

        def topic():
            name = uuid() if ver >= 13 else cs()
            parts = arr(part)
            r.tags()
            return f"{name}: {', '.join(parts)}"
        topics = arr(topic)
        forgotten = arr(lambda: ((uuid() if ver >= 13 else cs()), arr(r.i32), r.tags()))
        rack = cs()
        r.tags()  # v15+: replica_state is a tagged field here
        return "; ".join(topics) + f", max_wait_ms={max_wait}, min_bytes={min_bytes}, max_bytes={max_bytes}, isolation_level={iso}, " \
            f"session_id={session}, epoch={epoch}" + (f", forgotten {len(forgotten)}" if forgotten else "") + f", rack_id={rack!r}" + \
            (f", replica_id={replica}" if replica is not None else "")
    return None


def describe(key, ver, r, flexible=False):
    group = describe_group(key, ver, r, flexible)
    if group is not None:
        return group
    if key == 18:  # ApiVersions
        if ver >= 3:
            name, version = r.compact_string(), r.compact_string()
            r.tags()
            return f"client_software_name={name!r}, client_software_version={version!r}"
        return "empty body"
    if flexible and key in (1, 2, 3, 10, 19, 20):
        return describe_flexible(key, ver, r)
    if key == 3:  # Metadata
        topics = r.array(r.string)
        s = "all topics" if topics is None else ("no topics" if topics == [] else f"topics {topics}")
        if ver >= 4:
            s += f", allow_auto_topic_creation={bool(r.i8())}"
        return s
    if key == 19:  # CreateTopics v0-4
        def topic():
            name, parts, rf = r.string(), r.i32(), r.i16()
            assign = r.array(lambda: (r.i32(), r.array(r.i32))) or []
            configs = r.array(lambda: (r.string(), r.string())) or []
            return f"{name} ({parts} partitions, replication {rf}" + (f", {len(assign)} assignments" if assign else "") + \
                (f", configs {dict(configs)}" if configs else "") + ")"
        topics = r.array(topic)
        timeout = r.i32()
        s = f"create {', '.join(topics)}, timeout_ms={timeout}"
        if ver >= 1:
            s += f", validate_only={bool(r.i8())}"
        return s
    if key == 20:  # DeleteTopics v0-3
        return f"delete {r.array(r.string)}, timeout_ms={r.i32()}"
    if key == 2:  # ListOffsets v1-5
        replica = r.i32()
        iso = r.i8() if ver >= 2 else None

        def part():
            p = r.i32()
            if ver >= 4:
                r.i32()
            ts = r.i64()
            return f"p{p}@" + {-1: "latest", -2: "earliest"}.get(ts, f"ts {ts}")
        topics = r.array(lambda: (r.string(), r.array(part)))
        s = "; ".join(f"{t}: {', '.join(ps)}" for t, ps in topics) + f", replica_id={replica}"
        if iso is not None:
            s += f", isolation_level={iso}"
        return s
    if key == 1:  # Fetch v4-11
        replica, max_wait, min_bytes, max_bytes, iso = r.i32(), r.i32(), r.i32(), r.i32(), r.i8()
        session = ""
        if ver >= 7:
            session = f", session_id={r.i32()}, epoch={r.i32()}"

        def part():
            p = r.i32()
            if ver >= 9:
                r.i32()
            off = r.i64()
            if ver >= 5:
                r.i64()
            mx = r.i32()
            return f"p{p}@{off} (max {mx})"
        topics = r.array(lambda: (r.string(), r.array(part)))
        extra = ""
        if ver >= 7:
            forgotten = r.array(lambda: (r.string(), r.array(r.i32)))
            extra += f", forgotten {forgotten}" if forgotten else ""
        if ver >= 11:
            extra += f", rack_id={r.string()!r}"
        parts = "; ".join(f"{t}: {', '.join(ps)}" for t, ps in topics)
        return f"{parts}, max_wait_ms={max_wait}, min_bytes={min_bytes}, max_bytes={max_bytes}, " \
               f"isolation_level={iso}{session}{extra}, replica_id={replica}"
    if key == 32:  # DescribeConfigs v0-3
        def resource():
            rtype, name, keys = r.i8(), r.string(), r.array(r.string)
            return f"{RESOURCE_TYPES.get(rtype, rtype)} {name!r}" + (f" keys {keys}" if keys is not None else " (all keys)")
        res = r.array(resource)
        s = "describe " + "; ".join(res)
        if ver >= 1:
            s += f", include_synonyms={bool(r.i8())}"
        if ver >= 3:
            s += f", include_documentation={bool(r.i8())}"
        return s
    if key == 33:  # AlterConfigs v0-1
        def resource():
            rtype, name = r.i8(), r.string()
            configs = r.array(lambda: (r.string(), r.string()))
            return f"{RESOURCE_TYPES.get(rtype, rtype)} {name!r}: {dict(configs)}"
        res = r.array(resource)
        return "set " + "; ".join(res) + f", validate_only={bool(r.i8())}"
    if key == 37:  # CreatePartitions v0-1
        def topic():
            name, count = r.string(), r.i32()
            assign = r.array(lambda: r.array(r.i32))
            return f"{name} to {count} partitions" + (f", assignments {assign}" if assign is not None else "")
        topics = r.array(topic)
        timeout, validate = r.i32(), bool(r.i8())
        return "grow " + "; ".join(topics) + f", timeout_ms={timeout}, validate_only={validate}"
    if key == 24 and ver < 3:  # AddPartitionsToTxn v0-2
        txn, pid, epoch = r.string(), r.i64(), r.i16()
        topics = r.array(lambda: (r.string(), r.array(r.i32)))
        return f"transactional_id={txn!r}, producer_id={pid}, epoch={epoch}, " + "; ".join(f"{t} {ps}" for t, ps in topics)
    if key == 25 and ver < 3:  # AddOffsetsToTxn v0-2
        return f"transactional_id={r.string()!r}, producer_id={r.i64()}, epoch={r.i16()}, group_id={r.string()!r}"
    if key == 26 and ver < 3:  # EndTxn v0-2
        return f"transactional_id={r.string()!r}, producer_id={r.i64()}, epoch={r.i16()}, committed={bool(r.i8())}"
    if key == 28 and ver < 3 or key == 28 and ver == 3 and not flexible:  # TxnOffsetCommit v0-2
        txn, group, pid, epoch = r.string(), r.string(), r.i64(), r.i16()
        s = f"transactional_id={txn!r}, group_id={group!r}, producer_id={pid}, epoch={epoch}"

        def part():
            p, off = r.i32(), r.i64()
            epoch_ = r.i32() if ver >= 2 else None
            meta = r.string()
            return f"p{p}@{off}" + (f" (leader epoch {epoch_})" if epoch_ is not None else "") + (f" {meta!r}" if meta else "")
        topics = r.array(lambda: (r.string(), r.array(part)))
        return s + ", " + "; ".join(f"{t} {', '.join(ps)}" for t, ps in topics)
    if key == 28 and ver >= 3:  # TxnOffsetCommit v3+ (flexible)
        txn, group, pid, epoch = r.compact_string(), r.compact_string(), r.i64(), r.i16()
        gen, member, instance = r.i32(), r.compact_string(), r.compact_string()
        s = f"transactional_id={txn!r}, group_id={group!r}, producer_id={pid}, epoch={epoch}, generation={gen}, member={short(member)!r}, instance={instance!r}"

        def part():
            p, off, epoch_, meta = r.i32(), r.i64(), r.i32(), r.compact_string()
            r.tags()
            return f"p{p}@{off}" + (f" {meta!r}" if meta else "")

        def topic():
            name = r.compact_string()
            parts = r.compact_array(part)
            r.tags()
            return name, parts
        topics = r.compact_array(topic)
        r.tags()
        return s + ", " + "; ".join(f"{t} {', '.join(ps)}" for t, ps in topics)
    if key == 22:  # InitProducerId
        txn = r.compact_string() if flexible else r.string()
        s = f"transactional_id={txn!r}, transaction_timeout_ms={r.i32()}"
        if ver >= 3:
            s += f", producer_id={r.i64()}, producer_epoch={r.i16()}"
        if flexible:
            r.tags()
        return s
    if key == 0:  # Produce v3-13 (v9+ flexible, v13+ topics by id)
        txn = r.compact_string() if flexible else r.string()
        acks, timeout = r.i16(), r.i32()

        def part():
            p = r.i32()
            n = (r.uvarint() - 1) if flexible else r.i32()
            s = f"p{p}: " + (records_of(r.take(n)) if n >= 0 else "null records")
            if flexible:
                r.tags()
            return s

        def topic():
            name = (r.take(16).hex()[:8] + "..") if ver >= 13 else r.compact_string() if flexible else r.string()
            parts = r.compact_array(part) if flexible else r.array(part)
            if flexible:
                r.tags()
            return name, parts
        topics = r.compact_array(topic) if flexible else r.array(topic)
        if flexible:
            r.tags()
        s = "; ".join(f"{t} {', '.join(ps)}" for t, ps in topics)
        return f"acks={acks}, timeout_ms={timeout}" + (f", transactional_id={txn!r}" if txn else "") + f", {s}"
    if key == 43:  # ElectLeaders
        election = r.i8() if ver >= 1 else 0
        st, ar = (r.compact_string, r.compact_array) if flexible else (r.string, r.array)

        def topic():
            name, parts = st(), ar(r.i32)
            if flexible:
                r.tags()
            return f"{name} {parts}"
        topics = ar(topic)
        timeout = r.i32()
        if flexible:
            r.tags()
        return f"{'preferred' if election == 0 else 'unclean'} election of " + \
            ("every partition" if topics is None else "; ".join(topics)) + f", timeout_ms={timeout}"
    if key == 45:  # AlterPartitionReassignments (flexible from v0)
        timeout = r.i32()
        allow_rf = bool(r.i8()) if ver >= 1 else True

        def part():
            p, replicas = r.i32(), r.compact_array(r.i32)
            r.tags()
            return f"p{p} -> " + ("cancel" if replicas is None else str(replicas))

        def topic():
            name, parts = r.compact_string(), r.compact_array(part)
            r.tags()
            return f"{name}: {', '.join(parts)}"
        topics = r.compact_array(topic)
        r.tags()
        return "; ".join(topics) + f", timeout_ms={timeout}" + (f", allow_replication_factor_change={allow_rf}" if ver >= 1 else "")
    if key == 46:  # ListPartitionReassignments (flexible from v0)
        timeout = r.i32()

        def topic():
            name, parts = r.compact_string(), r.compact_array(r.i32)
            r.tags()
            return f"{name} {parts}"
        topics = r.compact_array(topic)
        r.tags()
        return ("every reassignment" if topics is None else "; ".join(topics)) + f", timeout_ms={timeout}"
    raise ValueError(f"no decoder for api {key} v{ver}")


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_DIR
    bad = 0
    print("| file | client | API | v | header | what the request asks |")
    print("| --- | --- | --- | --- | --- | --- |")
    for path in sorted(glob.glob(os.path.join(folder, "*.bin"))):
        name = os.path.basename(path)
        two_part = next((c for c in ("kafka-python", "kafka-ts") if name.startswith(c)), None)
        client = name.split("-")[0] if two_part is None else name[:name.index("-", len(two_part))]
        data = open(path, "rb").read()
        r = R(data)
        key, ver, corr = r.i16(), r.i16(), r.i32()
        client_id = r.string()
        flexible = ver >= FLEXIBLE_FROM.get(key, 1 << 15)
        if flexible:
            r.tags()
        try:
            what = describe(key, ver, r, flexible)
            r.done()
        except Exception as e:  # noqa: BLE001
            what = f"DECODE ERROR: {e}"
            bad += 1
        api = name[len(client) + 1:].rsplit("-v", 1)[0]
        header = f"v{2 if flexible else 1}, corr {corr}, client_id {client_id!r}"
        version = CLIENT_VERSIONS.get(client.split(".")[0], "?")
        print(f"| `{name}` | {version} | {api} ({key}) | {ver} | {header} | {what} |")
    if bad:
        print(f"{bad} file(s) failed to decode", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
