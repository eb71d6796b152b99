#!/usr/bin/env python3
# py_slow — expected label: leak.
# A small leak under big churn: every 1.5 s cycle builds and drops a 48 MiB batch buffer and
# a few thousand small objects (GC and malloc churn), while 10 KiB per 100 ms (LC_RATE_KIB KiB/s,
# default 100) is appended to a never-cleared audit list. The floor rises ~100 KiB/s (6 MiB a
# minute over a ~10 MiB interpreter) beneath a ~48 MiB sawtooth. Capped at LC_CAP_MIB (default 400).
# Env: LC_RATE_KIB, LC_CAP_MIB, LC_DURATION_S (0 = until killed).
import os, time

rate = int(os.environ.get("LC_RATE_KIB", "100")) * 1024
cap = int(os.environ.get("LC_CAP_MIB", "400")) << 20
duration = float(os.environ.get("LC_DURATION_S", "0"))
tick = 0.1
piece = max(1, int(rate * tick))
audit = []
start = time.monotonic()
n = 0
batch = None
while duration <= 0 or time.monotonic() - start < duration:
    if n % 15 == 0:
        batch = bytearray(b"\x01") * (48 << 20)  # over the 32 MiB mmap cap: returned on free
        junk = [{"id": i, "name": "req-%d" % i} for i in range(5000)]
    elif n % 15 == 7:
        batch = None
        junk = None
    if len(audit) * piece < cap:
        audit.append(bytearray(b"\x02") * piece)
    n += 1
    delay = start + n * tick - time.monotonic()
    if delay > 0:
        time.sleep(delay)
