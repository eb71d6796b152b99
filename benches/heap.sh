#!/usr/bin/env bash
# Benchmark: the cost of `clw-diag leaks PID` to the traced program, beside bcc's memleak on the
# same machine. The target is a malloc-heavy loop (N malloc(32..95)/free pairs, -O2 with frame
# pointers, as the heap-profiling note measured it); it waits 3 s before its loop so that the
# tool attaches first, and prints the process CPU time per pair (CLOCK_PROCESS_CPUTIME_ID: the
# uprobe traps are charged to it). Runs: alone, `leaks --sample-bytes 1` (exact), `leaks` with
# the default 512 KiB sampling (fp and cfi), and `memleak-bpfcc -p PID` when it runs here (it
# needs kernel headers under /lib/modules/$(uname -r)/build: ../shared/notes/heap-profiling.md).
# Then the attach time: from starting the tool to the first probe active (the int3 byte at the
# target's malloc), median of RUNS.
#
# usage: benches/heap.sh [N] [RUNS]      (root: BPF)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000000}
runs=${2:-3}
for t in gcc python3 nm; do
  command -v $t >/dev/null || { echo "missing $t" >&2; exit 2; }
done
cargo build --release --quiet
bin=$PWD/target/release/clw-diag
dir=$(mktemp -d /tmp/clw-heap-bench.XXXXXX)
trap 'jobs -p | xargs -r kill 2>/dev/null; rm -rf "$dir"' EXIT
cat > "$dir/pairs.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
static double now(clockid_t c) { struct timespec t; clock_gettime(c, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {
  long n = atol(argv[1]);
  sleep(atoi(argv[2]));
  double c0 = now(CLOCK_PROCESS_CPUTIME_ID);
  for (long i = 0; i < n; i++) {
    char *p = malloc(32 + (i & 63));
    p[0] = 1;
    __asm__ volatile("" : : "r"(p) : "memory");
    free(p);
  }
  printf("%.1f\n", (now(CLOCK_PROCESS_CPUTIME_ID) - c0) * 1e9 / n);
  return 0;
}
C
gcc -O2 -g -fno-builtin -fno-omit-frame-pointer -o "$dir/pairs" "$dir/pairs.c"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# One run: the target's ns per pair with TOOL... attached (PID in the arguments is replaced).
one() {
  "$dir/pairs" "$n" 3 > "$dir/out" &
  local p=$!
  local args=("${@//PID/$p}")
  if [ ${#args[@]} -gt 0 ]; then
    "${args[@]}" > "$dir/tool.out" 2> "$dir/tool.err" &
    local t=$!
  fi
  wait $p
  if [ ${#args[@]} -gt 0 ]; then
    kill -INT $t 2>/dev/null || true
    wait $t 2>/dev/null || true
  fi
  cat "$dir/out"
}

row() {
  local name=$1; shift
  local v
  v=$(for _ in $(seq "$runs"); do one "$@"; done | median)
  printf '%-44s %10s ns/pair\n' "$name" "$v"
  echo "$v"
}

echo "target: $n malloc/free pairs, median of $runs runs, process CPU ns per pair"
base=$(row "alone" | tee /dev/stderr | tail -1)
exact=$(row "clw-diag leaks --sample-bytes 1 (fp)" "$bin" -q leaks PID --sample-bytes 1 --unwind fp | tee /dev/stderr | tail -1)
sampled=$(row "clw-diag leaks (512 KiB sampling, fp)" "$bin" -q leaks PID --unwind fp | tee /dev/stderr | tail -1)
cfi=$(row "clw-diag leaks (512 KiB sampling, cfi)" "$bin" -q leaks PID --unwind cfi | tee /dev/stderr | tail -1)
ml=
if command -v memleak-bpfcc >/dev/null && [ -e "/lib/modules/$(uname -r)/build" ]; then
  ml=$(row "bcc memleak-bpfcc -p PID" memleak-bpfcc -p PID 600 1 | tee /dev/stderr | tail -1)
else
  echo "bcc memleak: not run (memleak-bpfcc or /lib/modules/$(uname -r)/build missing)" >&2
fi
python3 - "$base" "$exact" "$sampled" "$cfi" "$ml" <<'PY'
import sys
b, e, s, c, m = (float(x) if x else None for x in sys.argv[1:])
print(f"added cost per pair: exact {e-b:.0f} ns, sampled fp {s-b:.0f} ns, sampled cfi {c-b:.0f} ns")
if m:
    print(f"memleak added {m-b:.0f} ns per pair; clw-diag / memleak: exact {(e-b)/(m-b):.2f}x, sampled {(s-b)/(m-b):.2f}x, sampled cfi {(c-b)/(m-b):.2f}x")
PY

# Attach time: tool start to the first int3 at the target's malloc.
libc=/lib/x86_64-linux-gnu/libc.so.6
off=$(nm -D "$libc" | awk '$3 == "malloc@@GLIBC_2.2.5" {print $1}')
attach() {
  "$dir/pairs" 1 600 > /dev/null &
  local p=$!
  sleep 0.2
  python3 - "$p" "$off" "$@" <<'PY'
import os, re, subprocess, sys, time
pid, off = int(sys.argv[1]), int(sys.argv[2], 16)
cmd = [a.replace("PID", str(pid)) for a in sys.argv[3:]]
addr = None
for l in open(f"/proc/{pid}/maps"):
    f = l.split()
    if len(f) >= 6 and f[5].endswith("libc.so.6"):
        s, e = (int(x, 16) for x in f[0].split("-"))
        mo = int(f[2], 16)
        if mo <= off < mo + (e - s):
            addr = s + off - mo
t0 = time.monotonic()
tool = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
mem = os.open(f"/proc/{pid}/mem", os.O_RDONLY)
while time.monotonic() - t0 < 30:
    if os.pread(mem, 1, addr) == b"\xcc":
        break
    time.sleep(0.001)
print(f"{(time.monotonic() - t0) * 1000:.0f}")
tool.send_signal(2)
tool.wait()
PY
  kill $p
}
a=$(for _ in $(seq "$runs"); do attach "$bin" -q leaks PID; done | median)
echo "attach, tool start to the first probe active: clw-diag $a ms"
if [ -n "$ml" ]; then
  m=$(for _ in $(seq "$runs"); do attach memleak-bpfcc -p PID; done | median)
  echo "attach, tool start to the first probe active: memleak $m ms"
fi
