#!/usr/bin/env bash
# Benchmark: the cost of `clw-diag record` sampling 100 processes at 1 Hz (a parent with 100
# children, recorded with --children, smaps_rollup included), side by side with
# `pidstat -r -p PIDS 1` (Debian sysstat) sampling the same processes for the same time.
# CPU is user+system time from GNU time over the run, as a share of one core; memory is peak RSS.
# Target of issue 4: at most 1 % of one core and 16 MiB.
#
# usage: benches/record.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
for tool in pidstat /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y sysstat time)" >&2; exit 2; }
done
cargo build --release --quiet
bin=$PWD/target/release/clw-diag
tmp=$(mktemp -d)
bash -c 'for i in $(seq 100); do sleep 100000 & done; wait' &
parent=$!
trap 'pkill -P $parent sleep; kill $parent 2>/dev/null; rm -rf "$tmp"' EXIT
sleep 1
pids=$(pgrep -P "$parent" | tr '\n' ',' | sed 's/,$//')
echo "targets: parent $parent and $(pgrep -P "$parent" | wc -l) children; $secs s at 1 Hz; $(nproc) CPUs, $(uname -r), $(pidstat -V 2>&1 | head -1)"
/usr/bin/time -f "%U %S %M" -o "$tmp/clw.time" "$bin" -q record --pid "$parent" --children -i 1s -d "${secs}s" -o "$tmp/trace.json" &
/usr/bin/time -f "%U %S %M" -o "$tmp/pidstat.time" pidstat -r -p "$parent,$pids" 1 "$secs" > /dev/null &
wait %2 %3 2>/dev/null || wait
report() {
  read -r u s m < "$1"
  python3 -c "u,s,m,secs=$u,$s,$m,$secs; print(f'  {\"$2\":28s} CPU {u+s:.2f} s = {100*(u+s)/secs:.2f} % of one core, peak RSS {m/1024:.1f} MiB')"
}
report "$tmp/clw.time" "clw-diag record --children"
report "$tmp/pidstat.time" "pidstat -r"
echo "  samples: $(grep -c '"t":' "$tmp/trace.json") lines; last sample pids=$(grep '"pids"' "$tmp/trace.json" | tail -1 | sed 's/.*"pids":\([0-9]*\).*/\1/')"
grep recorder_stats "$tmp/trace.json"
