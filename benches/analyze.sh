#!/usr/bin/env bash
# Benchmark: `clw-diag analyze memory-trace` on a 1,000,000-sample trace (our JSON Lines
# format: a leak with GC sawtooth and noise, 1 s interval, 11.6 days), with GNU time for wall
# time and peak RSS. Target of issue 4: at most 1 s.
#
# usage: benches/analyze.sh [SAMPLES] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
runs=${2:-5}
command -v hyperfine >/dev/null || { echo "missing hyperfine (apt-get install -y hyperfine)" >&2; exit 2; }
cargo build --release --quiet
bin=$PWD/target/release/clw-diag
trace=/tmp/clw-analyze-bench-$n.json
if [ ! -s "$trace" ]; then
  python3 - "$trace" "$n" <<'PY'
import json, math, random, sys
out, n = sys.argv[1], int(sys.argv[2])
r = random.Random(7)
with open(out, "w") as f:
    f.write(json.dumps({"clw_trace": 1, "target": {"kind": "process", "pid": 4242}, "interval_s": 1.0,
                        "limit_bytes": 8 << 30, "metrics": ["rss_bytes", "anon_bytes"]}) + "\n")
    noise = 0.0
    for i in range(n):
        noise = 0.9 * noise + r.gauss(0, 2 << 20) * 0.44
        anon = 300 * 2**20 + 200 * i + (i % 120) * 400_000 + noise
        f.write('{"t":%d,"rss_bytes":%d,"anon_bytes":%d,"pid":4242}\n' % (i, anon + (40 << 20), anon))
PY
fi
echo "input: $trace, $(wc -l < "$trace") lines, $(stat -c %s "$trace") bytes"
hyperfine --warmup 1 --runs "$runs" -N "$bin analyze memory-trace $trace --json"
/usr/bin/time -f "wall %e s, peak RSS %M KiB" "$bin" analyze memory-trace "$trace" > /dev/null
"$bin" analyze memory-trace "$trace" | head -3
