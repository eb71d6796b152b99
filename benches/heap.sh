#!/usr/bin/env bash
# Benchmark: the cost of `clw-diag leaks PID` to the traced program, beside bcc's memleak on the
# same machine. The target is a malloc-heavy loop (N malloc(32..95)/free pairs, -O2 with frame
# pointers, as ../shared/notes/heap-profiling.md measured it) that waits, before its loop, until
# the tool's first probe is active (the int3 byte at its malloc, read through /proc/PID/mem),
# and prints the process CPU time per pair (CLOCK_PROCESS_CPUTIME_ID: the uprobe traps are
# charged to it). Runs: alone, `leaks --sample-bytes 1` (exact), `leaks` with the default 512 KiB
# sampling (fp and cfi stacks), and `memleak-bpfcc -p PID` when it runs here (it needs kernel
# headers under /lib/modules/$(uname -r)/build). Also the attach time: from starting the tool to
# its first probe active. Medians of RUNS runs.
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
trap 'pkill -P $$ 2>/dev/null || true; rm -rf "$dir"' EXIT
cat > "$dir/pairs.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
static double now(clockid_t c) { struct timespec t; clock_gettime(c, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {
  long n = atol(argv[1]);
  while (access(argv[2], F_OK) != 0) usleep(10000);
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
libc=/lib/x86_64-linux-gnu/libc.so.6
off=$(nm -D "$libc" | awk '$3 == "malloc@@GLIBC_2.2.5" {print $1}')

# One run: starts the target, the tool (PID replaced by the target's), waits for its first
# probe (prints the attach time, ms, on fd 3), lets the target go, stops the tool after it.
# Prints the target's ns per pair.
one() {
  rm -f "$dir/go"
  "$dir/pairs" "$n" "$dir/go" > "$dir/out" &
  local p=$!
  if [ $# -gt 0 ]; then
    python3 - "$p" "$off" "$dir/go" "$@" 3>&3 <<'PY'
import os, signal, subprocess, sys, time
pid, off, go = int(sys.argv[1]), int(sys.argv[2], 16), sys.argv[3]
cmd = [a.replace("PID", str(pid)) for a in sys.argv[4:]]
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
while time.monotonic() - t0 < 60 and os.pread(mem, 1, addr) != b"\xcc":
    time.sleep(0.001)
os.write(3, f"{(time.monotonic() - t0) * 1000:.0f}\n".encode())
time.sleep(0.5)  # the rest of its probes
open(go, "w").close()
while os.path.exists(f"/proc/{pid}/stat") and open(f"/proc/{pid}/stat").read().split(") ")[-1][0] != "Z":
    time.sleep(0.01)
tool.send_signal(signal.SIGINT)
try:
    tool.wait(timeout=60)
except subprocess.TimeoutExpired:
    tool.kill()
PY
  else
    touch "$dir/go"
  fi
  wait $p || true
  cat "$dir/out"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# row NAME TOOL...: the median ns/pair and attach ms over RUNS runs.
row() {
  local name=$1; shift
  : > "$dir/attach"
  local v
  v=$(for _ in $(seq "$runs"); do one "$@" 3>> "$dir/attach"; done | median)
  local a
  a=$(median < "$dir/attach")
  printf '%-42s %9s ns/pair   attach %s ms\n' "$name" "$v" "${a:--}" >&2
  echo "$v"
}

echo "target: $n malloc/free pairs, median of $runs runs, process CPU ns per pair" >&2
base=$(row "alone")
exact=$(row "clw-diag leaks --sample-bytes 1 (fp)" "$bin" -q leaks PID --sample-bytes 1 --unwind fp)
sampled=$(row "clw-diag leaks (512 KiB sampling, fp)" "$bin" -q leaks PID --unwind fp)
cfi=$(row "clw-diag leaks (512 KiB sampling, cfi)" "$bin" -q leaks PID --unwind cfi)
ml=
if command -v memleak-bpfcc >/dev/null && [ -e "/lib/modules/$(uname -r)/build" ]; then
  ml=$(row "bcc memleak-bpfcc -p PID" memleak-bpfcc -p PID 600 1)
else
  echo "bcc memleak: not run (memleak-bpfcc or /lib/modules/$(uname -r)/build missing)" >&2
fi
python3 - "$base" "$exact" "$sampled" "$cfi" "$ml" <<'PY'
import sys
b, e, s, c, m = (float(x) if x else None for x in sys.argv[1:])
print(f"added cost per pair: exact {e-b:.0f} ns, sampled fp {s-b:.0f} ns, sampled cfi {c-b:.0f} ns")
if m:
    print(f"memleak added {m-b:.0f} ns per pair; per pair with the tool, clw-diag / memleak: "
          f"exact {e/m:.2f}x, sampled {s/m:.2f}x, sampled cfi {c/m:.2f}x")
PY
