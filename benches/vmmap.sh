#!/usr/bin/env bash
# Benchmark: `clw-diag vmmap --mappings PID` on a process holding N mappings (default 20,000),
# side by side with `pmap -X PID` (what users run today) and `cat /proc/PID/smaps` (the
# kernel's own cost of producing the text: the floor). Also peak RSS of each.
#
# usage: benches/vmmap.sh [MAPPINGS] [RUNS]
# needs: hyperfine, gcc, pmap (procps), GNU time at /usr/bin/time
#   apt-get install -y hyperfine procps time gcc
set -euo pipefail
cd "$(dirname "$0")/.."
maps=${1:-20000}
runs=${2:-40}
for tool in hyperfine gcc pmap /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y hyperfine procps time gcc)" >&2; exit 2; }
done
cargo build --release --quiet
bin=target/release/clw-diag
tmp=$(mktemp -d)
trap 'kill $holder 2>/dev/null; rm -rf "$tmp"' EXIT
gcc -O2 -pthread -o "$tmp/mapper" tests/helpers/mapper.c
# The helper maps MAPPINGS one-page regions with alternating protections (so the kernel cannot
# merge them), touches them, prints "ready PID" and waits for stdin to close.
mkfifo "$tmp/in"
"$tmp/mapper" 0 0 - 0 0 "$maps" < "$tmp/in" > "$tmp/out" &
holder=$!
exec 3> "$tmp/in"
for _ in $(seq 100); do grep -q ready "$tmp/out" 2>/dev/null && break; sleep 0.05; done
pid=$holder
echo "target: pid $pid with $(wc -l < /proc/$pid/maps) mappings, smaps is $(wc -c < /proc/$pid/smaps) bytes"
echo "machine: $(nproc) CPUs, $(uname -r), $(pmap -V 2>&1 | head -1), $(hyperfine --version)"
hyperfine -N --warmup 5 --runs "$runs" --export-json "$tmp/h.json" \
  -n "cat smaps" "cat /proc/$pid/smaps" \
  -n "clw-diag vmmap --mappings" "$bin vmmap --mappings $pid" \
  -n "clw-diag vmmap" "$bin vmmap $pid" \
  -n "pmap -X" "pmap -X $pid"
python3 - "$tmp/h.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
base = r["cat smaps"]["median"]
print("\nmedian wall time, ratio to cat /proc/PID/smaps:")
for name, x in r.items():
    print(f"  {name:28s} {x['median']*1000:8.1f} ms  {x['median']/base:5.2f}x")
print(f"  pmap -X / clw-diag vmmap --mappings: {r['pmap -X']['median']/r['clw-diag vmmap --mappings']['median']:.1f}x")
PY
echo
echo "peak RSS (GNU time %M, KiB):"
for c in "$bin vmmap --mappings $pid" "pmap -X $pid" "cat /proc/$pid/smaps"; do
  printf '  %-40s %s\n' "${c%% $pid}" "$(/usr/bin/time -f %M $c 2>&1 >/dev/null | tail -1)"
done
