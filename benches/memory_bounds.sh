#!/usr/bin/env bash
# Benchmark (issue 13, "bounded memory and time on any input"): peak RSS, exit code and wall
# time of every file-reading command on /dev/zero, on a FIFO with no writer, on an endless pipe,
# and on its largest realistic input. Each run is under `timeout` and inside a 1 GiB v1 memory
# cgroup (so a regression is OOM-killed there, exit 137, not on the host); peak RSS is GNU
# time's %M (ru_maxrss of the command, whose parents -- time, timeout, sh -- are small).
# Not run by CI; figures go to BENCHMARKS.md, "Memory bounds (issue 13)".
#
# usage: sudo benches/memory_bounds.sh [TIMEOUT_S]     (default 30 s per run)
# needs: root (the cgroup), GNU time (apt-get install -y time), python3, gcc, gdb (gcore)
set -euo pipefail
cd "$(dirname "$0")/.."
limit=${1:-30}
[ "$(id -u)" = 0 ] || { echo "run as root (a memory cgroup per run)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "missing GNU time (apt-get install -y time)" >&2; exit 2; }
cargo build --release --quiet
bin=$PWD/target/release/clw-diag
w=/tmp/clw-membounds
mkdir -p "$w"
cg=/sys/fs/cgroup/memory/clw-membounds-$$
mkdir "$cg"
echo $((1 << 30)) > "$cg/memory.limit_in_bytes"
cleanup() {
  [ -n "${sleeper:-}" ] && kill "$sleeper" 2>/dev/null || true
  rmdir "$cg" 2>/dev/null || true
}
trap cleanup EXIT

# One run: NAME, STDIN (a file, or - for none), then the clw-diag arguments. Prints a row.
run() {
  local name=$1 input=$2; shift 2
  local t=$w/time.txt
  local in=/dev/null
  [ "$input" != - ] && in=$input
  set +e
  /usr/bin/time -o "$t" -f "%e %M %x" timeout -s KILL "$limit" \
    sh -c 'echo $$ > "$1"; shift; exec "$@"' sh "$cg/cgroup.procs" "$bin" "$@" \
    < "$in" > "$w/out.txt" 2> "$w/err.txt"
  set -e
  read -r wall peak code < <(grep -v '^Command' "$t" | tail -1)
  local sig
  sig=$(sed -n 's/^Command terminated by signal \([0-9]*\)/\1/p' "$t")
  [ -n "$sig" ] && code="killed by signal $sig"
  local msg
  msg=$( (grep -v '^Command' "$w/err.txt" || true) | tail -1 | sed -E 's/^(.{0,110}).*/\1/')
  printf '| %s | %s | %s s | %s | %s |\n' "$name" "$code" "$wall" "$((peak / 1024)) MiB" "${msg:-}"
}

# A run whose standard input is an endless pipe of NAME's bytes (zeros or noise).
run_pipe() {
  local name=$1 src=$2; shift 2
  local fifo=$w/pipe
  rm -f "$fifo"; mkfifo "$fifo"
  head -c 100G "$src" > "$fifo" 2>/dev/null &
  local writer=$!
  run "$name" "$fifo" "$@"
  kill "$writer" 2>/dev/null || true
  wait "$writer" 2>/dev/null || true
}

# ---- inputs -------------------------------------------------------------------------------
rm -f "$w/fifo"; mkfifo "$w/fifo"
echo '#0 0x0000000000401136 in ?? ()' > "$w/small.log"
log=$w/triage-1g.log
[ -s "$log" ] || python3 benches/gen_triage_log.py "$log" 1024
trace=$w/trace-1m.json            # 1,000,000 samples at 1 s (11.6 days): a leak with GC sawtooth
[ -s "$trace" ] || python3 - "$trace" 1000000 <<'PY'
import random, sys
out, n = sys.argv[1], int(sys.argv[2])
r = random.Random(7)
with open(out, "w") as f:
    f.write('{"clw_trace":1,"target":{"kind":"process","pid":4242},"interval_s":1.0,"limit_bytes":%d,"metrics":["rss_bytes","anon_bytes"]}\n' % (8 << 30))
    noise = 0.0
    for i in range(n):
        noise = 0.9 * noise + r.gauss(0, 2 << 20) * 0.44
        anon = 300 * 2**20 + 200 * i + (i % 120) * 400_000 + noise
        f.write('{"t":%d,"rss_bytes":%d,"anon_bytes":%d,"pid":4242}\n' % (i, anon + (40 << 20), anon))
PY
prom=$w/prometheus-7d.json        # 2,000 containers x 7 days at 5 min (2,016 points each)
[ -s "$prom" ] || python3 - "$prom" <<'PY'
import json, random, sys
r = random.Random(3)
res = []
for c in range(2000):
    base = r.randint(50, 2000) << 20
    vals = [[1700000000 + 300 * j, str(base + r.randint(0, 64 << 20))] for j in range(2016)]
    res.append({"metric": {"__name__": "container_memory_working_set_bytes", "namespace": "ns%d" % (c % 20),
                           "pod": "app-%d-7f9c4d" % c, "container": "app"}, "values": vals})
json.dump({"status": "success", "data": {"resultType": "matrix", "result": res}}, open(sys.argv[1], "w"))
PY
llvm=$(ls /usr/lib/x86_64-linux-gnu/libLLVM-*.so.1 2>/dev/null | head -1)
big=${llvm:-$bin}
addrs=$w/addrs.txt                 # 100,000 function addresses of the big library
nm -D --defined-only "$big" | awk '$2 ~ /[Tt]/ {print $1}' | head -100000 > "$addrs"
frames=$w/frames.txt               # 40,000 glibc backtrace_symbols frames of libc
libc=$(ldd /bin/true | awk '/libc.so/{print $3}')
python3 - "$frames" "$libc" <<'PY'
import random, sys
r = random.Random(7)
with open(sys.argv[1], "w") as f:
    for i in range(20000):
        f.write("%s(+0x%x)[0x7f00%08x]\n" % (sys.argv[2], r.randint(0x20000, 0x150000), i))
        f.write("#%d 0x00007f00%08x in ?? ()\n" % (i % 30, 0x28000 + r.randint(0, 0x100000)))
PY
maps=$w/maps.txt                   # 200,000 mappings of libc
python3 - "$maps" "$libc" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(200000):
        a = 0x7f0000000000 + i * 0x2000
        f.write("%x-%x r-xp %08x 08:01 1234 %s\n" % (a, a + 0x1000, 0x28000, sys.argv[2]))
PY
sleep 300 & sleeper=$!
gcore -o "$w/core" "$sleeper" > /dev/null 2>&1 || true
core=$w/core.$sleeper
tree=$w/proc-root                  # a --proc-root copy of this host's /proc/meminfo and one process
rm -rf "$tree"; mkdir -p "$tree/$sleeper"
cp /proc/meminfo /proc/stat /proc/uptime "$tree/" 2>/dev/null || true
for f in stat status statm cmdline maps smaps smaps_rollup oom_score oom_score_adj cgroup; do
  cat "/proc/$sleeper/$f" > "$tree/$sleeper/$f" 2>/dev/null || true
done
zero_tree=$w/proc-root-zero        # the same tree with smaps and status symlinked to /dev/zero
rm -rf "$zero_tree"; cp -r "$tree" "$zero_tree"
ln -sf /dev/zero "$zero_tree/$sleeper/smaps"; ln -sf /dev/zero "$zero_tree/$sleeper/status"
ln -sf /dev/zero "$zero_tree/$sleeper/smaps_rollup"

echo "# clw-diag $($bin --version | awk '{print $2}') on $(uname -r), $(nproc) CPUs; 1 GiB cgroup, ${limit} s timeout"
echo "# big binary: $big ($(stat -L -c %s "$big") bytes); log $(stat -c %s "$log") bytes; trace $(stat -c %s "$trace") bytes; prometheus $(stat -c %s "$prom") bytes"
echo
echo "| run | exit | wall | peak RSS | last line of stderr |"
echo "|---|---|---|---|---|"
echo "| **/dev/zero** | | | | |"
run "triage /dev/zero" - triage /dev/zero
run "analyze memory-trace /dev/zero" - analyze memory-trace /dev/zero
run "recommend /dev/zero" - recommend /dev/zero
run "symbolize --text /dev/zero" - symbolize --text /dev/zero
run "symbolize --text - < /dev/zero" /dev/zero symbolize --text -
run "symbolize --text x --maps /dev/zero" - symbolize --text "$w/small.log" --maps /dev/zero
run "symbolize -e BIN < /dev/zero" /dev/zero symbolize -e "$big"
run "backtrace /dev/zero" - backtrace /dev/zero
run "vmmap (smaps -> /dev/zero)" - --proc-root "$zero_tree" vmmap "$sleeper"
run "sample --pid (status -> /dev/zero)" - --proc-root "$zero_tree" sample --pid "$sleeper"
echo "| **endless pipe** | | | | |"
run_pipe "cat /dev/zero \| triage -" /dev/zero triage -
run_pipe "cat /dev/urandom \| triage -" /dev/urandom triage -
run_pipe "cat /dev/zero \| symbolize -e BIN" /dev/zero symbolize -e "$big"
run_pipe "cat /dev/zero \| symbolize --text -" /dev/zero symbolize --text -
echo "| **FIFO, no writer** | | | | |"
run "triage FIFO" - triage "$w/fifo"
run "analyze memory-trace FIFO" - analyze memory-trace "$w/fifo"
run "recommend FIFO" - recommend "$w/fifo"
run "symbolize --text FIFO" - symbolize --text "$w/fifo"
run "symbolize --text x --maps FIFO" - symbolize --text "$w/small.log" --maps "$w/fifo"
run "symbolize -e FIFO 0x1000" - symbolize -e "$w/fifo" 0x1000
run "backtrace FIFO" - backtrace "$w/fifo"
echo "| **largest realistic input** | | | | |"
run "triage 1 GiB log" - triage "$log"
run "analyze memory-trace 1M samples" - analyze memory-trace "$trace"
run "recommend 1M samples" - recommend "$trace"
run "analyze memory-trace Prometheus 2,000 x 2,016" - analyze memory-trace "$prom"
run "recommend Prometheus 2,000 x 2,016" - recommend "$prom"
run "symbolize -e $(basename "$big") (100,000 addresses)" "$addrs" symbolize -f -i -C -e "$big"
run "symbolize --text (40,000 frames) --maps (200,000)" - symbolize --text "$frames" --maps "$maps"
[ -s "$core" ] && run "backtrace core of sleep" - backtrace "$core"
run "vmmap --proc-root copy" - --proc-root "$tree" vmmap "$sleeper"
run "sample --proc-root copy" - --proc-root "$tree" sample --pid "$sleeper"
