#!/usr/bin/env bash
# Benchmark: `clw-diag symbolize --text` on 40,000 glibc backtrace_symbols frames of libc
# (half `+OFF`, half `__libc_start_main+OFF`), beside binutils `addr2line -f -i -C` given the
# same 40,000 module offsets (what one does by hand; it cannot read the frame lines itself).
# Every module is loaded once (build-ID debug file, symbol table, PT_LOAD segments) and reused.
#
# usage: benches/symbolize_text.sh [FRAMES/2] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20000}
runs=${2:-5}
command -v hyperfine >/dev/null || { echo "missing hyperfine (apt-get install -y hyperfine)" >&2; exit 2; }
cargo build --release --quiet
bin=$PWD/target/release/clw-diag
libc=$(ldd /bin/true | awk '/libc.so/{print $3}')
start=$(nm -D --defined-only "$libc" | awk '$3 ~ /^__libc_start_main@@/{print $1}')
frames=/tmp/clw-symbolize-bench-$n.txt
offsets=/tmp/clw-symbolize-bench-$n.offsets
python3 - "$frames" "$offsets" "$n" "$libc" "$start" <<'PY'
import random, sys
frames, offsets, n, libc, start = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5], 16)
r = random.Random(7)
with open(frames, "w") as f, open(offsets, "w") as o:
    for i in range(n):
        a, b = r.randint(0x10, 0x80), r.randint(0x20000, 0x150000)
        f.write("%s(__libc_start_main+0x%x)[0x7f00%08x]\n" % (libc, a, i))
        f.write("%s(+0x%x)[0x7f00%08x]\n" % (libc, b, i))
        o.write("%x\n%x\n" % (start + a - 1, b - 1))
PY
echo "input: $frames, $(wc -l < "$frames") frames of $libc"
hyperfine --warmup 1 --runs "$runs" \
  "$bin symbolize --text $frames" \
  "addr2line -f -i -C -e $libc < $offsets"
for c in "$bin symbolize --text $frames" "addr2line -f -i -C -e $libc"; do
  /usr/bin/time -f "$c: peak RSS %M KiB" sh -c "$c < $offsets > /dev/null"
done
