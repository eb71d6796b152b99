#!/usr/bin/env python3
"""A long-lived parent holding PARENT_MIB of memory and one child that grows, both in the memory
cgroup directory CGROUP_DIR (the parent moves itself there before allocating; the child is
forked after and inherits the cgroup and the parent's oom_score_adj).

The child is a new program (fork, then exec of this script in child mode, as a worker would be
started: it shares none of the parent's memory), raises its own oom_score_adj to CHILD_ADJ
first when it is not "inherit", holds 40 MiB,
creates READY_FILE, waits for GO_FILE, then grows by 4 MiB every 5 ms until the kernel kills
somebody. Used by tests/oom_rank.rs to check oom-rank's predicted victim against the kernel's.

usage: oom_family.py CGROUP_DIR PARENT_MIB CHILD_ADJ READY_FILE GO_FILE
"""
import os
import sys
import time


def child(child_adj, ready, go):
    if child_adj != "inherit":
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(child_adj)
    chunks = [b"x" * (4 << 20) for _ in range(10)]
    open(ready, "w").close()
    while not os.path.exists(go):
        time.sleep(0.01)
    while True:
        chunks.append(b"x" * (4 << 20))
        time.sleep(0.005)


if sys.argv[1] == "--child":
    child(*sys.argv[2:5])
    sys.exit(0)
cg, parent_mib, child_adj, ready, go = sys.argv[1:6]
with open(os.path.join(cg, "cgroup.procs"), "w") as f:
    f.write(str(os.getpid()))
held = bytearray(b"\x01") * (int(parent_mib) << 20)  # every page written
if os.fork() == 0:
    os.execv(sys.executable, [sys.executable, __file__, "--child", child_adj, ready, go])
while True:
    time.sleep(1)
