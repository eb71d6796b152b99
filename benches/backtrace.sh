#!/usr/bin/env bash
# Benchmark: `clw-diag backtrace CORE` beside `eu-stack -s -i --core CORE -e EXE` (elfutils: the
# same information, source lines and inline frames) and `gdb -batch -ex 'thread apply all bt'`,
# on a real core of a C program (-O2 -g) with THREADS threads each parked DEPTH calls deep in a
# recursion, while the main thread segfaults. libc frames are symbolized from libc6-dbg by all
# three. Also prints the number of frames each printed, so a fast tool that drops frames shows.
#
# usage: benches/backtrace.sh [THREADS] [DEPTH] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-16}
depth=${2:-40}
runs=${3:-10}
for t in hyperfine eu-stack gdb gcc; do
  command -v $t >/dev/null || { echo "missing $t (apt-get install -y hyperfine elfutils gdb gcc)" >&2; exit 2; }
done
case $(cat /proc/sys/kernel/core_pattern) in '|'*) echo "core_pattern pipes to a helper; need a plain file name" >&2; exit 2;; esac
cargo build --release --quiet
bin=$PWD/target/release/clw-diag
dir=$(mktemp -d /tmp/clw-bt-bench.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/deep.c" <<'C'
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
static pthread_barrier_t bar;
static int depth;
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
  usleep(20000);
  *(volatile int *)0xdeadbeef = 0;
  return 0;
}
C
gcc -g -O2 -pthread -o "$dir/deep" "$dir/deep.c"
(cd "$dir" && ulimit -c unlimited && ./deep "$threads" "$depth" 2>/dev/null) || true
core=$dir/core
[ -f "$core" ] || { echo "no core written in $dir" >&2; exit 2; }
echo "core: $(du -h "$core" | cut -f1), $((threads + 1)) threads, $depth-deep recursion each"
echo "frames printed: clw-diag $("$bin" backtrace "$core" --exe "$dir/deep" --json -q | python3 -c 'import json,sys; print(sum(len(t["frames"]) for t in json.load(sys.stdin)["threads"]))')," \
  "eu-stack $(eu-stack -s -i --core "$core" -e "$dir/deep" 2>/dev/null | grep -c '^#')," \
  "gdb $(gdb -batch -nx -ex 'set debuginfod enabled off' -ex 'set backtrace past-main on' -ex 'thread apply all bt' "$dir/deep" "$core" 2>/dev/null | grep -c '^#')"
hyperfine --warmup 2 --runs "$runs" -N \
  "$bin backtrace $core --exe $dir/deep" \
  "eu-stack -s -i --core $core -e $dir/deep" \
  "gdb -batch -nx -ex 'set debuginfod enabled off' -ex 'set backtrace past-main on' -ex 'thread apply all bt' $dir/deep $core"
for c in "$bin backtrace $core --exe $dir/deep" "eu-stack -s -i --core $core -e $dir/deep" \
  "gdb -batch -nx -ex 'set debuginfod enabled off' -ex 'thread apply all bt' $dir/deep $core"; do
  /usr/bin/time -f "%M KiB peak RSS: ${c%% *}" sh -c "$c > /dev/null 2>&1" 2>&1 | tail -1
done
