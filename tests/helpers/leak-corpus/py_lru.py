#!/usr/bin/env python3
# py_lru — expected label: no-leak.
# An LRU cache (OrderedDict) of 64 KiB values bounded at LC_ENTRIES entries (default 1200, ~75 MiB):
# it fills in the first ~6 s (200 inserts/s), then every miss evicts the least recently used entry,
# so the resident set stays flat at the bound. Keys are drawn from a space 4x the bound, so misses
# (insert + evict) continue for the whole run.
# Env: LC_ENTRIES, LC_DURATION_S (0 = until killed).
import os, random, time
from collections import OrderedDict

bound = int(os.environ.get("LC_ENTRIES", "1200"))
duration = float(os.environ.get("LC_DURATION_S", "0"))
cache = OrderedDict()
rng = random.Random(15)
start = time.monotonic()
n = 0
tick = 0.005
while duration <= 0 or time.monotonic() - start < duration:
    key = rng.randrange(bound * 4)
    if key in cache:
        cache.move_to_end(key)
    else:
        cache[key] = bytearray(b"\x33") * 65536
        if len(cache) > bound:
            cache.popitem(last=False)
    n += 1
    delay = start + n * tick - time.monotonic()
    if delay > 0:
        time.sleep(delay)
