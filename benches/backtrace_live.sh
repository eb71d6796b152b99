#!/usr/bin/env bash
# Benchmark: `clw-diag backtrace --pid PID` beside `eu-stack -s -i -p PID` (elfutils: source
# lines and inline frames, the same information) and `gdb -p PID -batch -ex 'thread apply all
# bt'`, on one live C program (-O2 -g) with THREADS threads each parked DEPTH calls deep in a
# recursion (pause()), the main thread spinning (SPIN=0: parked in pause() too). libc frames are named from libc6-dbg by all
# three. Prints the frames each printed (a fast tool that drops frames shows), then the median
# and longest time clw-diag held a thread (paused_us), one at a time and with --consistent,
# over RUNS runs. The target is checked to be running (no thread stopped) at the end.
#
# usage: [SPIN=0] benches/backtrace_live.sh [THREADS] [DEPTH] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-16}
depth=${2:-40}
runs=${3:-20}
spin=${SPIN:-1}
for t in hyperfine eu-stack gdb gcc python3; do
  command -v $t >/dev/null || { echo "missing $t (apt-get install -y hyperfine elfutils gdb gcc)" >&2; exit 2; }
done
cargo build --release --quiet
bin=$PWD/target/release/clw-diag
dir=$(mktemp -d /tmp/clw-bt-live.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
cat > "$dir/deep.c" <<'C'
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static pthread_barrier_t bar;
static int depth;
volatile unsigned long sink;
__attribute__((noinline, noclone)) int down(volatile int n) {
  if (n == 0) { pthread_barrier_wait(&bar); for (;;) pause(); }
  int r = down(n - 1);
  __asm__ volatile("" ::: "memory");
  return r + n;
}
static void *worker(void *a) { (void)a; down(depth); return 0; }
int main(int argc, char **argv) {
  int t = atoi(argv[1]);
  depth = atoi(argv[2]);
  pthread_barrier_init(&bar, 0, t + 1);
  for (int i = 0; i < t; i++) { pthread_t th; pthread_create(&th, 0, worker, 0); }
  pthread_barrier_wait(&bar);
  printf("ready\n");
  fflush(stdout);
  if (atoi(argv[3])) for (;;) sink++;
  for (;;) pause();
}
C
gcc -g -O2 -pthread -o "$dir/deep" "$dir/deep.c"
"$dir/deep" "$threads" "$depth" "$spin" > "$dir/out" &
pid=$!
for _ in $(seq 100); do grep -q ready "$dir/out" && break; sleep 0.05; done
sleep 0.2
echo "target: pid $pid, $((threads + 1)) threads ($threads parked $depth calls deep, main $([ "$spin" = 1 ] && echo spinning || echo parked))"
echo "frames printed: clw-diag $("$bin" backtrace --pid "$pid" --json -q | python3 -c 'import json,sys; print(sum(len(t["frames"]) for t in json.load(sys.stdin)["threads"]))')," \
  "eu-stack $(eu-stack -s -i -p "$pid" 2>/dev/null | grep -c '^#')," \
  "gdb $(gdb -batch -nx -ex 'set debuginfod enabled off' -ex 'set backtrace past-main on' -ex 'thread apply all bt' -p "$pid" 2>/dev/null | grep -c '^#')"
hyperfine --warmup 2 --runs "$runs" -N \
  "$bin backtrace --pid $pid" \
  "$bin backtrace --pid $pid --consistent" \
  "eu-stack -s -i -p $pid" \
  "gdb -batch -nx -ex 'set debuginfod enabled off' -ex 'set backtrace past-main on' -ex 'thread apply all bt' -p $pid"
for mode in "" "--consistent"; do
  for _ in $(seq "$runs"); do "$bin" backtrace --pid "$pid" $mode --json -q; done |
    python3 -c '
import json, sys, statistics
dec = json.JSONDecoder(); text = sys.stdin.read(); i = 0; p = []
while i < len(text):
    while i < len(text) and text[i].isspace(): i += 1
    if i >= len(text): break
    v, i = dec.raw_decode(text, i)
    p += [t["paused_us"] for t in v["threads"]]
print("clw-diag %-13s pause per thread over %d thread attaches: median %d us, p95 %d us, max %d us"
      % (sys.argv[1] or "(each-thread)", len(p), statistics.median(p), sorted(p)[int(len(p) * 0.95)], max(p)))
' "$mode"
done
states=$(cat /proc/"$pid"/task/*/stat | awk '{print $3}' | sort | uniq -c | tr '\n' ' ')
echo "target thread states afterwards: $states(t/T would be a stopped thread)"
for c in "$bin backtrace --pid $pid" "eu-stack -s -i -p $pid" \
  "gdb -batch -nx -ex 'set debuginfod enabled off' -ex 'thread apply all bt' -p $pid"; do
  /usr/bin/time -f "%M KiB peak RSS: ${c%% *}" sh -c "$c > /dev/null 2>&1" 2>&1 | tail -1
done
