#!/usr/bin/env bash
# Benchmark: `clw-diag symbolize -f -i -C` on 100,000 instruction addresses of the system libc
# (its DWARF from the libc6-dbg build-ID debug file), beside binutils `addr2line -f -i -C` and
# `llvm-symbolizer --inlining --output-style=GNU` (the same two lines per frame as addr2line,
# names demangled by default, inline frames innermost first). All three read the same address
# file on standard input and write to a pipe. The addresses are instruction starts from
# `objdump -d` of .text, a random sample (fixed seed) in random order, as backtraces come.
#
# Then agreement: each tool is run once more with the address printed before its frames (-a,
# --print-address), and every frame is reduced to (function, file base name, line); the counts
# of frames and of whole addresses (all frames) that agree with addr2line and with
# llvm-symbolizer are printed, with a few disagreements. Peak RSS from GNU time -v.
#
# Installs nothing; says what is missing.
#
# usage: benches/symbolize_libc.sh [ADDRESSES] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
runs=${2:-5}
libc=/lib/x86_64-linux-gnu/libc.so.6

missing=()
command -v hyperfine >/dev/null || missing+=("hyperfine (apt-get install -y hyperfine)")
command -v addr2line >/dev/null || missing+=("addr2line (apt-get install -y binutils)")
command -v objdump >/dev/null || missing+=("objdump (apt-get install -y binutils)")
command -v python3 >/dev/null || missing+=("python3 (apt-get install -y python3)")
[ -x /usr/bin/time ] || missing+=("GNU time for peak RSS (apt-get install -y time)")
llvm=$(command -v llvm-symbolizer || compgen -c llvm-symbolizer- | sort -V | tail -1 || true)
[ -n "$llvm" ] || missing+=("llvm-symbolizer (apt-get install -y llvm)")
[ -f "$libc" ] || missing+=("$libc (this script expects Debian/Ubuntu x86-64)")
if [ -f "$libc" ]; then
  id=$(readelf -n "$libc" | awk '/Build ID/{print $3}')
  dbg=/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug
  [ -f "$dbg" ] || missing+=("$dbg: libc's debug file (apt-get install -y libc6-dbg, same version as libc6)")
fi
if [ ${#missing[@]} -gt 0 ]; then
  printf 'missing: %s\n' "${missing[@]}" >&2
  exit 2
fi

cargo build --release --quiet
bin=$PWD/target/release/clw-diag
addrs=/tmp/clw-symbolize-libc-$n.addrs
objdump -d --no-show-raw-insn -j .text "$libc" |
  python3 -c '
import random, re, sys
n = int(sys.argv[1])
pcs = [m.group(1) for m in map(re.compile(r"^\s+([0-9a-f]+):\s").match, sys.stdin) if m]
r = random.Random(11)
pick = r.sample(pcs, n) if n <= len(pcs) else [r.choice(pcs) for _ in range(n)]
sys.stdout.write("".join("0x%s\n" % a for a in pick))
' "$n" > "$addrs"
echo "input: $addrs, $(wc -l < "$addrs") instruction addresses of $libc"
echo "debug file: $dbg"
echo "tools: $(addr2line --version | head -1); $("$llvm" --version | grep -m1 -i version | sed 's/^ *//'); $(hyperfine --version)"
echo

c_clw="$bin symbolize -e $libc -f -i -C"
c_a2l="addr2line -f -i -C -e $libc"
c_llvm="$llvm --inlining --output-style=GNU --obj=$libc"
json=$(mktemp /tmp/clw-symbolize-libc-XXXX.json)
out=$(mktemp -d /tmp/clw-symbolize-libc-XXXX)
trap 'rm -rf "$json" "$out"' EXIT
# Output to a pipe (cat > /dev/null), as a user's pipeline would read it.
hyperfine --warmup 1 --runs "$runs" --export-json "$json" \
  -n clw-diag "$c_clw < $addrs | cat > /dev/null" \
  -n addr2line "$c_a2l < $addrs | cat > /dev/null" \
  -n llvm-symbolizer "$c_llvm < $addrs | cat > /dev/null"

for name in clw-diag addr2line llvm-symbolizer; do
  case $name in
    clw-diag) c=$c_clw ;;
    addr2line) c=$c_a2l ;;
    llvm-symbolizer) c=$c_llvm ;;
  esac
  /usr/bin/time -v $c < "$addrs" 2> "$out/$name.time" > /dev/null
  echo "$name $(awk -F': ' '/Maximum resident set size/{print $2}' "$out/$name.time")" >> "$out/rss"
done
$c_clw -a < "$addrs" > "$out/clw"
$c_a2l -a < "$addrs" > "$out/a2l"
$c_llvm --print-address < "$addrs" > "$out/llvm"

python3 - "$json" "$out" <<'PY'
import json, os, re, sys
res, out = sys.argv[1], sys.argv[2]
med = {r["command"]: r["median"] for r in json.load(open(res))["results"]}
rss = dict(l.split() for l in open(os.path.join(out, "rss")))
best = min(med["addr2line"], med["llvm-symbolizer"])
print()
print("| command | median wall time | ratio to clw-diag | peak RSS |")
print("|---|---:|---:|---:|")
for k in ("clw-diag", "addr2line", "llvm-symbolizer"):
    print("| %s | %.3f s | %.2f× | %.1f MiB |" % (k, med[k], med[k] / med["clw-diag"], int(rss[k]) / 1024))
print("clw-diag is %.2f× faster than the faster of the other two (target: at least 2×)" % (best / med["clw-diag"]))

def frames(path):
    """address -> [(function, file base name, line)], in input order."""
    out, cur, lines = [], None, open(path).read().split("\n")
    i = 0
    while i < len(lines):
        l = lines[i]
        if re.fullmatch(r"0x[0-9a-f]+", l):
            cur = []
            out.append((int(l, 16), cur))
            i += 1
            continue
        if l == "":
            i += 1
            continue
        func, loc = l, lines[i + 1]
        loc = re.sub(r" \(discriminator \d+\)$", "", loc)
        f, _, line = loc.rpartition(":")
        cur.append((func, f.rsplit("/", 1)[-1], line))
        i += 2
    return out

clw, a2l, llvm = (frames(os.path.join(out, f)) for f in ("clw", "a2l", "llvm"))
assert [a for a, _ in clw] == [a for a, _ in a2l] == [a for a, _ in llvm], "address lists differ"
nframes = sum(len(f) for _, f in clw)
print("\nagreement on %d addresses, %d clw-diag frames (function, file base name, line):" % (len(clw), nframes))
for name, other in (("addr2line", a2l), ("llvm-symbolizer", llvm)):
    fr = sum(x == y for (_, a), (_, b) in zip(clw, other) for x, y in zip(a, b))
    whole = sum(a == b for (_, a), (_, b) in zip(clw, other))
    theirs = sum(len(b) for _, b in other)
    print("  with %-15s frames %d of %d (it has %d), addresses %d of %d" % (name, fr, nframes, theirs, whole, len(clw)))
    shown = 0
    for (addr, a), (_, b) in zip(clw, other):
        if a != b and shown < 4:
            shown += 1
            print("    0x%x: clw-diag %s" % (addr, " / ".join("%s %s:%s" % t for t in a)))
            print("    %s %s: %s" % (" " * len("0x%x" % addr), name, " / ".join("%s %s:%s" % t for t in b)))
both = sum(a == b == c for (_, a), (_, b), (_, c) in zip(clw, a2l, llvm))
ab = sum(b == c for (_, b), (_, c) in zip(a2l, llvm))
print("  addr2line and llvm-symbolizer agree with each other on %d addresses; all three on %d" % (ab, both))
PY
