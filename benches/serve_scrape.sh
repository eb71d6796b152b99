#!/usr/bin/env bash
# Benchmark: the cost of one scrape of `clw-diag serve` (/metrics, top 20 processes) on a host
# with PROCS extra processes, beside Debian's prometheus-node-exporter (the exporter a node
# already runs; it exposes host memory, not per-cgroup or per-process memory, so this compares
# the price of a scrape, not the content). Reports hyperfine's time per scrape (curl included
# for both) and each server's peak RSS after the scrapes. With CLW_DIAG_BEFORE=path/to/clw-diag
# an older build is scraped too, side by side (an A/B of a change to the server).
#
# usage: benches/serve_scrape.sh [PROCS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
procs=${1:-1000}
runs=${2:-50}
for t in hyperfine curl prometheus-node-exporter; do
  command -v $t >/dev/null || { echo "missing $t (apt-get install -y hyperfine curl prometheus-node-exporter)" >&2; exit 2; }
done
cargo build --release --quiet
bin=$PWD/target/release/clw-diag
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq "$procs"); do sleep 600 & pids+=($!); done
port1=$((20000 + RANDOM % 10000)); port2=$((port1 + 1))
"$bin" serve --listen 127.0.0.1:$port1 & pids+=($!); serve=$!
prometheus-node-exporter --web.listen-address=127.0.0.1:$port2 >/dev/null 2>&1 & pids+=($!); ne=$!
ports="$port1 $port2"
before=()
if [ -n "${CLW_DIAG_BEFORE:-}" ]; then
  port3=$((port1 + 2))
  "$CLW_DIAG_BEFORE" serve --listen 127.0.0.1:$port3 & pids+=($!); old=$!
  ports="$ports $port3"
  before=("curl -s -o /dev/null http://127.0.0.1:$port3/metrics")
fi
for p in $ports; do
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$p/metrics" >/dev/null && break; sleep 0.1; done
done
echo "processes on the host: $(ls -d /proc/[0-9]* | wc -l); cgroups with a limit: $(curl -s http://127.0.0.1:$port1/metrics | grep -c '^clw_cgroup_memory_limit_bytes{')"
echo "exposition size: clw-diag $(curl -s http://127.0.0.1:$port1/metrics | wc -c) bytes, node-exporter $(curl -s http://127.0.0.1:$port2/metrics | wc -c) bytes"
hyperfine -N --warmup 3 --runs "$runs" \
  "curl -s -o /dev/null http://127.0.0.1:$port1/metrics" \
  "curl -s -o /dev/null http://127.0.0.1:$port2/metrics" \
  "${before[@]}"
echo "peak RSS: clw-diag serve $(grep VmHWM /proc/$serve/status | awk '{print $2}') kB, node-exporter $(grep VmHWM /proc/$ne/status | awk '{print $2}') kB${old:+, before $(grep VmHWM /proc/$old/status | awk '{print $2}') kB}"
