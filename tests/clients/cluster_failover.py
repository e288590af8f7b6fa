"""What the Python failover scripts share: the admin HTTP API of a KafkaCompat cluster, and the scenario they run
while their producer and consumer threads keep going (the leader's broker stopped and started, the coordinator's
broker stopped and started, retriable errors injected), with the checks between the steps.

The script gives: the admin URL, its producer and consumer loops (which record into a Progress) and how many
records to wait for after each step.
"""
import json
import sys
import threading
import time
import urllib.request

# errors a client retries: injected for the next N requests of these APIs (REQUEST_TIMED_OUT is answered after the
# write, as it means in Kafka)
RETRIABLE_FAULTS = [("Produce", "NOT_LEADER_OR_FOLLOWER", 3), ("Produce", "REQUEST_TIMED_OUT", 2),
                    ("Heartbeat", "COORDINATOR_NOT_AVAILABLE", 2), ("OffsetCommit", "COORDINATOR_NOT_AVAILABLE", 2)]


class Cluster:
    def __init__(self, admin_url):
        self.url = admin_url

    def call(self, method, path, body=None):
        req = urllib.request.Request(self.url + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def leader_of(self, topic, partition):
        for t in self.call("GET", "/v1/cluster")["topics"]:
            if t["name"] == topic:
                return t["partitions"][partition]["leader"]
        raise AssertionError(f"no topic {topic}")


class Progress:
    """The acknowledged and consumed records of the running producer and consumer threads, their errors, and the
    events between them: `stop` ends the producer, which sets `flushed` once every record has its report."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked, self.consumed, self.failed, self.consumer_errors = set(), set(), [], []
        self.stop, self.flushed = threading.Event(), threading.Event()
        self._flushed_seen = None

    def consumer_may_stop(self):
        """For the consumer loop: true once the producer has flushed and everything acknowledged was consumed, or 60 s
        after the flush (the check after the scenario then names what is missing)."""
        if not self.flushed.is_set():
            return False
        with self.lock:
            if self.acked <= self.consumed:
                return True
        self._flushed_seen = self._flushed_seen or time.time()
        return time.time() - self._flushed_seen > 60

    def wait_acked(self, more, what, timeout=60):
        with self.lock:
            target = len(self.acked) + more
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if len(self.acked) >= target:
                    return
            time.sleep(0.05)
        sys.exit(f"FAIL: {what}: {len(self.acked)} acknowledged, wanted {target}; errors {self.failed[:5]}")

    def wait_consumed(self, what, timeout=60):
        with self.lock:
            target = set(self.acked)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if target <= self.consumed:
                return
            time.sleep(0.05)
        sys.exit(f"FAIL: {what}: the group stopped consuming ({len(target - self.consumed)} acknowledged not consumed); "
                 f"{self.consumer_errors[-3:]}")


def run_scenario(cluster, progress, topic, step):
    """Stops and starts the leader of partition 0's broker, then the group coordinator's broker (the leader of
    __consumer_offsets-0), then injects the retriable faults; after each step waits for `step` more acknowledged
    records and for the group to have consumed everything acknowledged. Returns (leader broker, coordinator broker)."""
    progress.wait_acked(step, "before any failure")
    progress.wait_consumed("before any failure")
    victim = cluster.leader_of(topic, 0)
    cluster.call("POST", f"/v1/brokers/{victim}/stop")
    new_leader = cluster.leader_of(topic, 0)
    if new_leader in (victim, -1):
        sys.exit(f"FAIL: broker {victim} stopped, partition 0 led by {new_leader}")
    progress.wait_acked(step, f"broker {victim} (leader of partition 0) stopped")
    progress.wait_consumed(f"broker {victim} stopped")
    cluster.call("POST", f"/v1/brokers/{victim}/start")
    progress.wait_acked(step, f"broker {victim} started again")

    coordinator = cluster.leader_of("__consumer_offsets", 0)
    cluster.call("POST", f"/v1/brokers/{coordinator}/stop")
    progress.wait_acked(step, f"coordinator broker {coordinator} stopped")
    progress.wait_consumed(f"coordinator broker {coordinator} stopped")
    cluster.call("POST", f"/v1/brokers/{coordinator}/start")
    cluster.call("POST", "/v1/elect-leaders")

    for api, error, count in RETRIABLE_FAULTS:
        cluster.call("POST", "/v1/faults", {"kind": "error", "api": api, "error": error, "count": count})
    progress.wait_acked(step, "retriable errors injected")
    progress.wait_consumed("retriable errors injected")
    cluster.call("DELETE", "/v1/faults")
    return victim, coordinator


def run_clients(cluster, progress, topic, step, produce, consume):
    """Runs the producer and consumer loops in threads through `run_scenario`, stops them, and fails on any delivery
    error or acknowledged record the group never consumed. Returns (leader broker, coordinator broker)."""
    threads = [threading.Thread(target=produce), threading.Thread(target=consume)]
    for t in threads:
        t.start()
    try:
        brokers = run_scenario(cluster, progress, topic, step)
    finally:
        progress.stop.set()
        for t in threads:
            t.join(120)
    if progress.failed:
        sys.exit(f"FAIL: delivery errors: {progress.failed[:5]}")
    missing = progress.acked - progress.consumed
    if missing:
        sys.exit(f"FAIL: {len(missing)} acknowledged record(s) never consumed, e.g. {sorted(missing)[:5]}")
    return brokers
