#!/usr/bin/env python3
"""A small TCP proxy for the Kafka protocol that records client->broker request frames.

Every request frame a client sends is forwarded unchanged to the broker; the frame itself (without
its 4-byte size prefix) is also written to OUT_DIR as `<client>-<ApiKeyName>-v<version>-<n>.bin`,
keeping only the first `--keep` frames (default 1) per (api key, api version). Responses are
forwarded untouched (they are only parsed for --log).

Usage:
  python3 tests/tools/capture_proxy.py --listen 127.0.0.1:0 --target 127.0.0.1:9092 \
      --out DIR --client NAME [--apis Produce,Fetch] [--keep 1] [--log]

It prints `proxy listening on HOST:PORT` on stdout once ready and runs until SIGINT/SIGTERM.

Keeping all traffic on the proxy: a broker advertises its own host:port in Metadata, so clients
connect to that address after bootstrap. Bind the broker on another loopback address with the
*same* port as the proxy and advertise the proxy's address, e.g.
  proxy:  --listen 127.0.0.1:P --target 127.0.0.2:P
  broker: serve --host 127.0.0.2 --port P --advertised-host 127.0.0.1
Then Metadata names 127.0.0.1:P, which is the proxy. tests/tools/capture_fixtures.py does this.
"""
import argparse
import os
import signal
import socket
import struct
import sys
import threading

API_NAMES = {
    0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 4: "LeaderAndIsr", 5: "StopReplica",
    6: "UpdateMetadata", 7: "ControlledShutdown", 8: "OffsetCommit", 9: "OffsetFetch",
    10: "FindCoordinator", 11: "JoinGroup", 12: "Heartbeat", 13: "LeaveGroup", 14: "SyncGroup",
    15: "DescribeGroups", 16: "ListGroups", 17: "SaslHandshake", 18: "ApiVersions",
    19: "CreateTopics", 20: "DeleteTopics", 21: "DeleteRecords", 22: "InitProducerId",
    23: "OffsetForLeaderEpoch", 24: "AddPartitionsToTxn", 25: "AddOffsetsToTxn", 26: "EndTxn",
    27: "WriteTxnMarkers", 28: "TxnOffsetCommit", 29: "DescribeAcls", 30: "CreateAcls",
    31: "DeleteAcls", 32: "DescribeConfigs", 33: "AlterConfigs", 34: "AlterReplicaLogDirs",
    35: "DescribeLogDirs", 36: "SaslAuthenticate", 37: "CreatePartitions",
    38: "CreateDelegationToken", 39: "RenewDelegationToken", 40: "ExpireDelegationToken",
    41: "DescribeDelegationToken", 42: "DeleteGroups", 43: "ElectLeaders",
    44: "IncrementalAlterConfigs", 45: "AlterPartitionReassignments",
    46: "ListPartitionReassignments", 47: "OffsetDelete", 48: "DescribeClientQuotas",
    49: "AlterClientQuotas", 50: "DescribeUserScramCredentials", 51: "AlterUserScramCredentials",
    55: "DescribeQuorum", 57: "UpdateFeatures", 60: "DescribeCluster", 61: "DescribeProducers",
    64: "UnregisterBroker", 65: "DescribeTransactions", 66: "ListTransactions",
    68: "ConsumerGroupHeartbeat", 69: "ConsumerGroupDescribe", 71: "GetTelemetrySubscriptions",
    72: "PushTelemetry", 74: "ListConfigResources", 75: "DescribeTopicPartitions",
}


def api_name(key):
    return API_NAMES.get(key, f"ApiKey{key}")


def recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


class Capture:
    def __init__(self, out_dir, client, keep, apis, log):
        self.out_dir = out_dir
        self.client = client
        self.keep = keep
        self.apis = apis  # None = every api
        self.log = log
        self.counts = {}
        self.lock = threading.Lock()
        os.makedirs(out_dir, exist_ok=True)

    def request(self, conn_id, frame):
        if len(frame) < 8:
            self.say(f"conn {conn_id}: short request frame of {len(frame)} bytes")
            return
        key, version, corr = struct.unpack(">hhi", frame[:8])
        name = api_name(key)
        saved = ""
        if self.apis is None or name in self.apis:
            with self.lock:
                n = self.counts.get((key, version), 0) + 1
                self.counts[(key, version)] = n
            if n <= self.keep:
                path = os.path.join(self.out_dir, f"{self.client}-{name}-v{version}-{n}.bin")
                with open(path, "wb") as f:
                    f.write(frame)
                saved = f" -> {os.path.basename(path)}"
        if self.log:
            self.say(f"conn {conn_id}: request {name} v{version} corr={corr} {len(frame)} bytes{saved}")

    def response(self, conn_id, frame):
        if self.log:
            corr = struct.unpack(">i", frame[:4])[0] if len(frame) >= 4 else None
            self.say(f"conn {conn_id}: response corr={corr} {len(frame)} bytes")

    def say(self, text):
        print(f"capture_proxy[{self.client}]: {text}", file=sys.stderr, flush=True)


def pump_frames(src, dst, on_frame):
    """Copy size-prefixed frames from src to dst, calling on_frame(payload) for each."""
    try:
        while True:
            head = recv_exact(src, 4)
            if head is None:
                break
            (size,) = struct.unpack(">i", head)
            if size < 0:
                break
            body = recv_exact(src, size)
            if body is None:
                break
            on_frame(body)
            dst.sendall(head + body)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(args):
    host, port = args.listen.rsplit(":", 1)
    thost, tport = args.target.rsplit(":", 1)
    apis = set(a.strip() for a in args.apis.split(",")) if args.apis else None
    cap = Capture(args.out, args.client, args.keep, apis, args.log)
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((host, int(port)))
    lsock.listen(64)
    print(f"proxy listening on {host}:{lsock.getsockname()[1]}", flush=True)

    def stop(*_):
        lsock.close()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    conn_id = 0
    while True:
        try:
            csock, _ = lsock.accept()
        except OSError:
            break
        conn_id += 1
        try:
            bsock = socket.create_connection((thost, int(tport)), timeout=5)
            bsock.settimeout(None)
        except OSError as e:
            cap.say(f"conn {conn_id}: cannot reach broker {args.target}: {e}")
            csock.close()
            continue
        for s in (csock, bsock):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        cid = conn_id
        threading.Thread(target=pump_frames, args=(csock, bsock, lambda f, c=cid: cap.request(c, f)), daemon=True).start()
        threading.Thread(target=pump_frames, args=(bsock, csock, lambda f, c=cid: cap.response(c, f)), daemon=True).start()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT to listen on (port 0 picks a free one)")
    p.add_argument("--target", required=True, help="HOST:PORT of the broker")
    p.add_argument("--out", required=True, help="directory for the captured frames")
    p.add_argument("--client", required=True, help="client label used as the file name prefix")
    p.add_argument("--keep", type=int, default=1, help="frames kept per (api key, version); default 1")
    p.add_argument("--apis", help="comma-separated api names to capture (default: all), e.g. Produce,Fetch")
    p.add_argument("--log", action="store_true", help="log every request/response frame to stderr")
    serve(p.parse_args())


if __name__ == "__main__":
    main()
