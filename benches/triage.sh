#!/usr/bin/env bash
# Benchmark: `clw-diag triage` on a log of SIZE MiB (default 1024) of realistic noise with real
# OOM reports spliced in, against ripgrep and grep counting the same alternatives; and peak RSS
# of triage reading the log from stdin.
#
# usage: benches/triage.sh [SIZE_MIB] [RUNS]
# needs: hyperfine, ripgrep, GNU grep, GNU time, python3
#   apt-get install -y hyperfine ripgrep time
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1024}
runs=${2:-5}
for tool in hyperfine rg grep python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y hyperfine ripgrep time)" >&2; exit 2; }
done
cargo build --release --quiet
bin=$PWD/target/release/clw-diag
log=${TRIAGE_LOG:-/tmp/clw-triage-bench-$size.log}
[ -s "$log" ] || python3 benches/gen_triage_log.py "$log" "$size"
echo "input: $log, $(stat -c %s "$log") bytes, $(wc -l < "$log") lines"
echo "machine: $(nproc) CPUs, $(uname -r), $(rg --version | head -1), $(grep --version | head -1), $(hyperfine --version)"
pat=(-e 'Killed process' -e 'invoked oom-killer' -e 'OOMKilled' -e 'exit code 137' -e 'oom-kill:')
rg_cmd="rg -c -e 'Killed process' -e 'invoked oom-killer' -e 'OOMKilled' -e 'exit code 137' -e 'oom-kill:' $log"
# Warm the page cache so every tool reads from memory.
cat "$log" > /dev/null
# --output=pipe: GNU grep stops at the first match when its output is /dev/null.
hyperfine --output=pipe --warmup 1 --runs "$runs" --export-json /tmp/clw-triage-bench.json \
  -n "clw-diag triage" "$bin triage $log --json" \
  -n "rg -c" "$rg_cmd" \
  -n "grep -cE" "grep -cE 'Killed process|invoked oom-killer|OOMKilled|exit code 137|oom-kill:' $log"
python3 - <<'PY'
import json
r = {x["command"]: x for x in json.load(open("/tmp/clw-triage-bench.json"))["results"]}
rg = r["rg -c"]["median"]
print("\nmedian wall time, ratio to rg -c:")
for name, x in r.items():
    print(f"  {name:18s} {x['median']:7.3f} s  {x['median']/rg:5.2f}x")
PY
echo
echo "events found: $("$bin" triage "$log" --json | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["summary"]["events"], j["summary"]["by_kind"])')"
echo "rg -c: $(rg -c "${pat[@]}" "$log")   grep -cE: $(grep -cE 'Killed process|invoked oom-killer|OOMKilled|exit code 137|oom-kill:' "$log")"
echo "peak RSS of clw-diag triage - < log (GNU time %M): $(/usr/bin/time -f %M "$bin" triage - --json < "$log" 2>&1 >/dev/null | tail -1) KiB"
