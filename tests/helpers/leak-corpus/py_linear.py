#!/usr/bin/env python3
# py_linear — expected label: leak.
# A request handler that appends every request's 256 KiB payload to a module-level list and never
# drops it: anon memory grows linearly at LC_RATE_KIB KiB/s (default 2560, about 2.5 MiB/s) until
# LC_CAP_MIB MiB (default 400) are retained, then stays flat. A textbook linear leak.
# Env: LC_RATE_KIB, LC_CAP_MIB, LC_DURATION_S (seconds, 0 = until killed; default 0).
import os, sys, time

rate = int(os.environ.get("LC_RATE_KIB", "2560")) * 1024
cap = int(os.environ.get("LC_CAP_MIB", "400")) << 20
duration = float(os.environ.get("LC_DURATION_S", "0"))
chunk = 256 * 1024
period = chunk / rate
kept = []
start = time.monotonic()
n = 0
while duration <= 0 or time.monotonic() - start < duration:
    if len(kept) * chunk < cap:
        kept.append(bytearray(b"\x5a") * chunk)  # touched, so it is resident
    n += 1
    delay = start + n * period - time.monotonic()
    if delay > 0:
        time.sleep(delay)
