#!/usr/bin/env bash
# Benchmark: the cost of `clw-diag record` sampling 100 processes at 1 Hz (a parent with 100
# children, recorded with --children, smaps_rollup included), side by side with
# `pidstat -r -p PIDS 1` (Debian sysstat) sampling the same processes for the same time.
# CPU is user+system time of each tool over its run (getrusage of the child, microseconds,
# through python3's os.wait4), as a share of one core; memory is peak RSS (GNU time's %M).
# Target of issue 15: at most 1 % of one core and 16 MiB.
#
# usage: benches/record.sh [-n RUNS] [SECONDS] [BINARY...]
#   BINARY: clw-diag builds to compare (default: this tree's, built with cargo --release).
#   Every run starts 100 new `sleep` children and runs pidstat and every BINARY at the same
#   time on them (the order in which they start alternates between runs), so an A/B
#   comparison sees the same machine; with RUNS > 1 the medians are printed at the end.
#   e.g. benches/record.sh -n 9 60 /tmp/clw-old target/release/clw-diag
set -euo pipefail
cd "$(dirname "$0")/.."
runs=1
if [ "${1:-}" = "-n" ]; then runs=$2; shift 2; fi
secs=${1:-60}
shift || true
for tool in pidstat python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y sysstat python3 time)" >&2; exit 2; }
done
bins=("$@")
if [ ${#bins[@]} -eq 0 ]; then
  cargo build --release --quiet
  bins=("$PWD/target/release/clw-diag")
fi
tmp=$(mktemp -d)
parent=
cleanup() {
  if [ -n "$parent" ]; then pkill -P "$parent" sleep || true; kill "$parent" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
# timed OUT CMD...: run CMD under GNU time, write "cpu_seconds peak_rss_kib exit_code" to OUT:
# CPU from getrusage of the child in microseconds (python3's os.wait4; GNU time prints only
# hundredths, and its own start, about a millisecond, is counted in), peak RSS from GNU time's
# %M (the tool's ru_maxrss; a python parent would count its own image, ~10 MiB, in it).
timed() {
  python3 -c '
import os, sys
out = sys.argv[1]
pid = os.fork()
if pid == 0:
    os.execv("/usr/bin/time", ["time", "-f", "%M", "-o", out + ".rss"] + sys.argv[2:])
_, status, ru = os.wait4(pid, 0)
rss = open(out + ".rss").read().split()[-1]
with open(out, "w") as f:
    f.write(f"{ru.ru_utime + ru.ru_stime:.6f} {rss} {os.waitstatus_to_exitcode(status)}\n")
' "$@"
}
echo "$runs run(s) of $secs s at 1 Hz; $(nproc) CPUs, $(uname -r), $(pidstat -V 2>&1 | head -1)"
names=(pidstat)
for b in "${bins[@]}"; do names+=("$b"); done
for run in $(seq "$runs"); do
  bash -c 'for i in $(seq 100); do sleep 100000 & done; wait' &
  parent=$!
  sleep 1
  pids=$(pgrep -P "$parent" | tr '\n' ',' | sed 's/,$//')
  jobs=()
  start_pidstat() {
    timed "$tmp/0.$run" pidstat -r -p "$parent,$pids" 1 "$secs" > /dev/null &
    jobs+=($!)
  }
  start_bins() {
    local i=1
    for b in "${bins[@]}"; do
      timed "$tmp/$i.$run" "$b" -q record --pid "$parent" --children -i 1s -d "${secs}s" -o "$tmp/trace.$i.$run.json" &
      jobs+=($!)
      i=$((i + 1))
    done
  }
  if [ $((run % 2)) -eq 1 ]; then start_pidstat; start_bins; else start_bins; start_pidstat; fi
  wait "${jobs[@]}"
  pkill -P "$parent" sleep || true
  wait "$parent" 2>/dev/null || true
  parent=
  echo "run $run: targets: a parent and 100 children"
  # A run in which a tool failed (the recorder raises its own oom_score_adj, so an OOM on a
  # busy machine kills it first) is shown and left out of the medians.
  failed=
  for i in "${!names[@]}"; do
    read -r _ _ rc < "$tmp/$i.$run"
    [ "$rc" = 0 ] || failed="$failed ${names[$i]} exited with $rc;"
  done
  if [ -n "$failed" ]; then
    echo "  left out:$failed"
    for i in "${!names[@]}"; do mv "$tmp/$i.$run" "$tmp/failed.$i.$run"; done
    continue
  fi
  for i in "${!names[@]}"; do
    read -r cpu rss rc < "$tmp/$i.$run"
    python3 -c "c,m,s=$cpu,$rss,$secs; print(f'  {\"${names[$i]}\":44s} CPU {c:.3f} s = {100*c/s:.3f} % of one core, peak RSS {m/1024:.1f} MiB')"
    if [ "$i" -gt 0 ]; then
      t="$tmp/trace.$i.$run.json"
      echo "    samples: $(grep -c '"t":' "$t") lines; last sample pids=$(grep '"pids"' "$t" | tail -1 | sed 's/.*"pids":\([0-9]*\).*/\1/')"
    fi
  done
done
if [ "$runs" -gt 1 ]; then
  echo "medians over $runs runs (CPU % of one core, peak RSS MiB; min-max; CPU ratio to pidstat per run):"
  python3 - "$tmp" "$secs" "$runs" "${names[@]}" <<'PY'
import statistics, sys
tmp, secs, runs, names = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
def row(i, r):
    c, m, _ = open(f"{tmp}/{i}.{r}").read().split()
    return 100 * float(c) / secs, int(m) / 1024
import os
done = [r for r in range(1, runs + 1) if os.path.exists(f"{tmp}/0.{r}")]
if not done:
    sys.exit("no complete run")
print(f"  ({len(done)} complete run(s))")
data = [[row(i, r) for r in done] for i in range(len(names))]
med = statistics.median
for i, name in enumerate(names):
    cpu = [c for c, _ in data[i]]
    rss = [m for _, m in data[i]]
    ratio = [c / p for (c, _), (p, _) in zip(data[i], data[0]) if p > 0]
    print(f"  {name:44s} CPU {med(cpu):.3f} % ({min(cpu):.3f}-{max(cpu):.3f}), "
          f"RSS {med(rss):.1f} MiB ({min(rss):.1f}-{max(rss):.1f}), "
          f"{med(ratio):.2f}x pidstat ({min(ratio):.2f}-{max(ratio):.2f})")
PY
fi
