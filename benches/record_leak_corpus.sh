#!/usr/bin/env bash
# Record the real-program leak corpus (issue 15): every program of tests/helpers/leak-corpus/ run
# under `clw-diag record`, three times at each of two intervals, into tests/fixtures/leak-corpus/.
#
#   benches/record_leak_corpus.sh [PROGRAM...]     (default: all programs; needs root for the
#                                                   --memory-limit recordings)
#
# Native and Python programs: 250 ms for 60 s and 1 s for 120 s. Node and Java (managed runtimes
# with warm-up): 1 s and 2 s for 300 s. The third recording of the longer interval of a few
# programs runs under --memory-limit 1Gi, so its target is a limited memory cgroup.
# JOBS recordings run at once (default 8: the recordings are mostly idle, and with 4
# the 102 recordings (5 h of recording) would take 75 minutes of wall time; 8 take ~38).
# Each trace is checked to be whole (its last sample at the full duration, and the target did not
# exit before the end); a damaged one is recorded again once (RETRIES, default 1), and listed in
# tests/fixtures/leak-corpus/damaged.txt if it is still damaged.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/target/release/clw-diag
SRC=$ROOT/tests/helpers/leak-corpus
OUT=${OUT:-$ROOT/tests/fixtures/leak-corpus}
JOBS=${JOBS:-8}
RETRIES=${RETRIES:-1}
PY=${PY:-$(command -v python3)}
# A real interpreter, not a pyenv shim (a shim is a shell script that runs it as a child).
PY=$("$PY" -c 'import sys; print(sys.executable)')
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 2; }
mkdir -p "$OUT"
BUILD=$(mktemp -d /tmp/leak-corpus-build.XXXXXX)
export BIN SRC OUT BUILD PY RETRIES

# program  language  label  shape  (the table labels.json is made from)
PROGRAMS="
py_linear python leak linear
py_slow python leak slow-under-churn
c_linear c leak linear
c_step c leak step
rust_map_leak rust leak linear-map
node_sawtooth_leak node leak sawtooth-rising-floor
node_step_leak node leak step
java_g1_leak java leak g1-retained-list
c_churn c no-leak churn-flat
c_batch c no-leak periodic-batch
c_fragment c no-leak fragmentation-plateau
py_lru python no-leak bounded-cache
py_batch python no-leak periodic-batch
node_warmup node no-leak warmup-then-flat
node_gc_settle node no-leak gc-settle
java_warmup java no-leak warmup-then-flat
java_g1_settle java no-leak g1-settle
"
# The programs whose third recording at the longer interval runs in a limited memory cgroup.
CGROUP_RUNS=" py_linear c_linear c_batch py_lru node_sawtooth_leak java_g1_settle "

for c in "$SRC"/c_*.c; do gcc -O2 -Wall -o "$BUILD/$(basename "${c%.c}")" "$c"; done
rustc -O "$SRC/rust_map_leak.rs" -o "$BUILD/rust_map_leak"
javac -d "$BUILD" "$SRC"/java_*.java

want=" $* "
jobs_file=$BUILD/jobs
: > "$jobs_file"
# Longest recordings first, so the tail of the run is short.
while read -r prog lang label shape; do
  [ -n "$prog" ] || continue
  [ "$want" = "  " ] || [[ $want == *" $prog "* ]] || continue
  case $lang in
    node|java) runs="1s:300 2s:300" ;;
    *) runs="250ms:60 1s:120" ;;
  esac
  for r in $runs; do
    for n in 1 2 3; do
      limit=""
      if [ "$n" = 3 ] && [ "$r" = "${runs##* }" ] && [[ $CGROUP_RUNS == *" $prog "* ]]; then limit=1Gi; fi
      echo "${r#*:} $prog $lang ${r%:*} $n ${limit:--}" >> "$jobs_file"
    done
  done
done <<< "$PROGRAMS"
sort -rn -o "$jobs_file" "$jobs_file"

# Is a trace whole: its last sample at the full duration, and no event but the recorder's stats
# (an exit or an OOM kill of the target before the end)?
cat > "$BUILD/check.py" <<'PY'
import json, sys
path, dur = sys.argv[1], float(sys.argv[2])
lines = open(path).read().splitlines()
head = json.loads(lines[0])
samples = [json.loads(l) for l in lines[1:] if '"event"' not in l]
events = [json.loads(l) for l in lines[1:] if '"event"' in l]
iv = head["interval_s"]
last = samples[-1]["t"] if samples else 0
bad = [e["event"] for e in events if e["event"] not in ("recorder_stats",)]
ok = last >= dur - 2 * iv and not bad
print(f"{path}: {len(samples)} samples, last t {last:.2f} s, events {bad or 'none'}: {'whole' if ok else 'DAMAGED'}")
sys.exit(0 if ok else 1)
PY

record_one() {
  local dur=$1 prog=$2 lang=$3 iv=$4 n=$5 limit=$6
  local file=$OUT/$prog-$iv-$n.jsonl cmd
  case $lang in
    python) cmd=("$PY" "$SRC/$prog.py") ;;
    node) cmd=(node "$SRC/$prog.js") ;;
    java)
      case $prog in
        java_g1_leak) cmd=(java -XX:+UseG1GC -Xmx512m -cp "$BUILD" "$prog") ;;
        java_g1_settle) cmd=(java -XX:+UseG1GC -Xmx256m -cp "$BUILD" "$prog") ;;
        *) cmd=(java -Xmx256m -cp "$BUILD" "$prog") ;;
      esac ;;
    *) cmd=("$BUILD/$prog") ;;
  esac
  local lim=()
  [ "$limit" = - ] || lim=(--memory-limit "$limit")
  local try=0
  while :; do
    "$BIN" record -q -i "$iv" -d "${dur}s" "${lim[@]}" -o "$file" -- "${cmd[@]}" \
      > "$BUILD/$prog-$iv-$n.log" 2>&1 || true
    if "$PY" "$BUILD/check.py" "$file" "$dur"
    then break; fi
    try=$((try + 1))
    if [ "$try" -gt "$RETRIES" ]; then echo "$(basename "$file")" >> "$OUT/damaged.txt"; break; fi
    echo "re-recording $(basename "$file")"
  done
}
export -f record_one
xargs -P "$JOBS" -L1 bash -c 'record_one "$@"' _ < "$jobs_file"

# labels.json: trace file -> label, program, language, shape, interval, target kind.
"$PY" - "$OUT" "$PROGRAMS" <<'PY'
import json, os, sys
out, table = sys.argv[1], sys.argv[2]
progs = {}
for line in table.strip().splitlines():
    p, lang, label, shape = line.split()
    progs[p] = {"label": label, "program": p, "language": lang, "shape": shape}
labels = {}
for f in sorted(os.listdir(out)):
    if not f.endswith(".jsonl"):
        continue
    prog = f.rsplit("-", 2)[0]
    if prog not in progs:
        continue
    head = json.loads(open(os.path.join(out, f)).readline())
    t = head["target"]
    labels[f] = dict(progs[prog], interval_s=head["interval_s"],
                     target=t["kind"] + (" in a limited cgroup" if t.get("memory_limit_bytes") else ""))
json.dump(labels, open(os.path.join(out, "labels.json"), "w"), indent=1, sort_keys=True)
print(f"{len(labels)} traces labelled in {out}/labels.json")
PY
rm -rf "$BUILD"
