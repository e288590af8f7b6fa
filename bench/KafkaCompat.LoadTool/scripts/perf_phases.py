#!/usr/bin/env python3
"""Broker CPU per phase from a perf recording: perf_phases.py PERF_DATA [--symfs DIR]

Reads `perf report --no-children --sort sym` (self time per symbol, kernel and user) and sums the samples into the
phases of a request: network (socket syscalls, TCP, epoll), parse, CRC, append (page-cache write, filesystem),
index, response, fetch send (sendfile), runtime (GC, threads, scheduling) and other. Record with
    perf record -e cpu-clock -F 999 -g -p PID -o PERF_DATA -- sleep S
on a Native AOT build published with -p:StripSymbols=false, so that managed frames have names."""
import re
import subprocess
import sys

PHASES = [
    ("crc", r"Crc32|crc32"),
    ("parse", r"KafkaReader|\.Read\(|ReadFrom|ProduceRequest|FetchRequest|RequestHeader|StringCache|Validate|RecordBatch_"),
    ("append", r"copy_folio_from_iter|ext4_|generic_perform_write|filemap_|folio_|pwritev|MappedFile|PartitionLog|LogSegment|"
               r"block_write|__block_commit|balance_dirty|mark_buffer|jbd2|iomap|shmem_write|alloc_pages|clear_page|"
               r"ProducerState|get_page_from_freelist|rmqueue|__mem_cgroup|memcg"),
    ("index", r"OffsetIndex|TimeIndex|LeaderEpoch"),
    ("fetch send", r"sendfile|splice|SendPackets|FetchHandler|do_splice|page_cache_pipe|skb_splice"),
    ("response", r"KafkaWriter|\.Write\(|Response|ResponseHeader"),
    ("network", r"tcp_|_copy_to_iter|copy_to_user|skb|__sys_recv|__sys_send|sock_|inet_|ip_|__dev_|net_rx|loopback|"
                r"epoll|ep_poll|Socket|NetworkStream|Pipe|recv|send|__x64_sys_recvfrom|__x64_sys_sendto|netif|napi|"
                r"__netif|dst_|nf_hook|sk_|release_sock|lock_sock|__release_sock|do_softirq|__do_softirq|handle_softirqs"),
    ("runtime", r"futex|schedule|finish_task_switch|sched_|pick_next|__switch_to|GC|gc_|Gc|ThreadPool|Monitor|Thread|"
                r"Interlocked|RhpNew|RhpGc|Rhp|WKS::|SVR::|mprotect|madvise|syscall_exit|entry_SYSCALL|do_syscall|"
                r"_raw_spin|__pthread|pthread|Semaphore|Task|AsyncMethod|ValueTask|Awaiter|ExecutionContext|"
                r"irqentry|exc_page_fault|do_user_addr_fault|handle_mm_fault|__memcg_slab|kmem_cache|slab"),
]


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    cmd = ["perf", "report", "-i", sys.argv[1], "--no-children", "--sort", "sym", "--stdio", "-g", "none"]
    if "--symfs" in sys.argv:
        cmd += ["--symfs", sys.argv[sys.argv.index("--symfs") + 1]]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    totals = {name: 0.0 for name, _ in PHASES}
    totals["other"] = 0.0
    others = {}
    for line in out.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+\[[.k]\]\s+(.*)$", line)
        if not m:
            continue
        pct, sym = float(m.group(1)), m.group(2).strip()
        for name, pattern in PHASES:
            if re.search(pattern, sym):
                totals[name] += pct
                break
        else:
            totals["other"] += pct
            others[sym] = others.get(sym, 0) + pct
    print("| phase | share of the broker's samples |")
    print("|---|---:|")
    for name, pct in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"| {name} | {pct:.1f}% |")
    top = sorted(others.items(), key=lambda kv: -kv[1])[:8]
    if top:
        print("other, largest: " + "; ".join(f"{s[:60]} {p:.1f}%" for s, p in top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
