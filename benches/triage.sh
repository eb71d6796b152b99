#!/usr/bin/env bash
# Benchmark: `clw-diag triage` on a log of SIZE MiB (default 1024) of noise of one MIX with real
# OOM reports spliced in (benches/gen_triage_log.py), against ripgrep and grep counting the same
# five alternatives; and peak RSS of triage reading the log as a file and from stdin.
#
# usage: benches/triage.sh [SIZE_MIB] [RUNS] [MIX]
#   MIX: synthetic (default), real, exit-heavy, kernel-heavy (see benches/gen_triage_log.py)
#   BIN=path  measures that binary instead of building target/release/clw-diag
#   TRIAGE_LOG=path  uses that log instead of /tmp/clw-triage-bench-SIZE-MIX.log
#   OLD=path  also measures that binary (an earlier build) in the same hyperfine run
#   BUSY=1  keeps one CPU busy (a shell busy loop) while measuring: a machine shared with other
#           work, where triage's second thread gains little and CPU time decides
# needs: hyperfine, ripgrep, GNU grep, GNU time, python3
#   apt-get install -y hyperfine ripgrep time
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1024}
runs=${2:-5}
mix=${3:-synthetic}
for tool in hyperfine rg grep python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y hyperfine ripgrep time)" >&2; exit 2; }
done
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  bin=$PWD/target/release/clw-diag
else
  bin=$BIN
fi
log=${TRIAGE_LOG:-/tmp/clw-triage-bench-$size-$mix.log}
[ -s "$log" ] || python3 benches/gen_triage_log.py "$log" "$size" "$mix"
echo "input: $log (mix $mix), $(stat -c %s "$log") bytes, $(wc -l < "$log") lines"
echo "binary: $bin"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "machine: $(nproc) CPUs, $(uname -r), $(rg --version | head -1), $(grep --version | head -1), $(hyperfine --version)"
pat=(-e 'Killed process' -e 'invoked oom-killer' -e 'OOMKilled' -e 'exit code 137' -e 'oom-kill:')
rg_cmd="rg -c -e 'Killed process' -e 'invoked oom-killer' -e 'OOMKilled' -e 'exit code 137' -e 'oom-kill:' $log"
json=/tmp/clw-triage-bench-$mix.json
# Warm the page cache so every tool reads from memory.
cat "$log" > /dev/null
echo "page cache: $(grep FileHugePages /proc/meminfo | tr -s ' ') (logs in large folios map with fewer faults)"
if [ -n "${BUSY:-}" ]; then
  sh -c 'while :; do :; done' &
  busy=$!
  trap 'kill $busy 2>/dev/null || true' EXIT
  echo "busy: one CPU kept busy by pid $busy"
fi
# --output=pipe: GNU grep stops at the first match when its output is /dev/null.
old=()
[ -n "${OLD:-}" ] && old=(-n "old triage" "$OLD triage $log --json")
hyperfine --output=pipe --warmup 1 --runs "$runs" --export-json "$json" \
  -n "clw-diag triage" "$bin triage $log --json" "${old[@]}" \
  -n "rg -c" "$rg_cmd" \
  -n "grep -cE" "grep -cE 'Killed process|invoked oom-killer|OOMKilled|exit code 137|oom-kill:' $log"
python3 - "$json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
rg = r["rg -c"]["median"]
print("\nmedian wall time, ratio to rg -c:")
for name, x in r.items():
    print(f"  {name:18s} {x['median']:7.3f} s  {x['median']/rg:5.2f}x   (user {x['user']:.3f} s, system {x['system']:.3f} s)")
PY
echo
count='import json,sys; j=json.load(sys.stdin); print(j["summary"]["events"], j["summary"]["by_kind"])'
echo "events found: $("$bin" triage "$log" --json | python3 -c "$count")"
[ -n "${OLD:-}" ] && echo "events found by the old binary: $("$OLD" triage "$log" --json | python3 -c "$count")"
echo "rg -c: $(rg -c "${pat[@]}" "$log")   grep -cE: $(grep -cE 'Killed process|invoked oom-killer|OOMKilled|exit code 137|oom-kill:' "$log")"
echo "peak RSS of clw-diag triage LOG (GNU time %M): $(/usr/bin/time -f %M "$bin" triage "$log" --json 2>&1 >/dev/null | tail -1) KiB"
echo "peak RSS of clw-diag triage - < LOG (GNU time %M): $(/usr/bin/time -f %M "$bin" triage - --json < "$log" 2>&1 >/dev/null | tail -1) KiB"
