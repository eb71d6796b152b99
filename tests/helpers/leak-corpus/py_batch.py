#!/usr/bin/env python3
# py_batch — expected label: no-leak.
# A periodic batch job: every LC_PERIOD_S seconds (default 10) it loads 150 MiB of records (1 MiB
# buffers), works on them for ~2 s, drops them and sleeps. Large buffers are mmap'd by the
# allocator and returned on free, so the floor between batches stays at the interpreter's size.
# Env: LC_PERIOD_S, LC_BATCH_MIB (default 150), LC_DURATION_S (0 = until killed).
import os, time

period = float(os.environ.get("LC_PERIOD_S", "10"))
mib = int(os.environ.get("LC_BATCH_MIB", "150"))
duration = float(os.environ.get("LC_DURATION_S", "0"))
start = time.monotonic()
k = 0
while duration <= 0 or time.monotonic() - start < duration:
    t0 = start + k * period
    batch = [bytearray(b"\x07") * (1 << 20) for _ in range(mib)]
    end = time.monotonic() + 2.0
    while time.monotonic() < end:
        s = 0
        for b in batch[::8]:
            s += b[12345]
        time.sleep(0.1)
    del batch
    k += 1
    delay = start + k * period - time.monotonic()
    if delay > 0:
        time.sleep(delay)
