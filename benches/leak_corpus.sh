#!/usr/bin/env bash
# Score `clw-diag analyze memory-trace` on the real-program leak corpus (issue 15).
#
#   benches/leak_corpus.sh [CORPUS_DIR]      (default tests/fixtures/leak-corpus; the traces are
#                                             recorded by benches/record_leak_corpus.sh)
#   METRICS="default rss" benches/leak_corpus.sh     only these metrics
#
# For the default metric, then --metric rss, --metric anon and every other metric a trace's header
# lists (pss, uss, file, shmem, swap for processes; the cgroup columns for a cgroup target), it runs
# `target/release/clw-diag analyze memory-trace FILE... --json` on the traces that hold that metric
# and prints each trace's verdict, a per-program table of verdict counts, and the precision and
# recall of "leak" against tests/fixtures/leak-corpus/labels.json:
#   precision = leaker traces called leak / all traces called leak
#   recall    = leaker traces called leak / all leaker traces
# Only the verdict "leak" counts as positive: "suspected", "insufficient-data", "warmup-plateau",
# "level-shift" and "no-leak" are all negative (so a leaker called suspected is a miss, and a
# non-leaker called suspected is not a false alarm). "non-leakers ever called leak" must be 0.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/clw-diag}
DIR=${1:-tests/fixtures/leak-corpus}
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 2; }
[ -f "$DIR/labels.json" ] || { echo "no $DIR/labels.json: record the corpus first" >&2; exit 2; }
echo "# $("$BIN" --version) ($BIN built $(date -u -r "$BIN" +%FT%TZ)), worktree at $(git rev-parse --short HEAD 2>/dev/null || echo unknown), corpus $DIR"
python3 - "$BIN" "$DIR" "${METRICS:-}" <<'PY'
import collections, json, os, subprocess, sys

binary, corpus, only = sys.argv[1], sys.argv[2], sys.argv[3].split()
labels = json.load(open(os.path.join(corpus, "labels.json")))
files = sorted(labels)
held = {}
for f in files:
    head = json.loads(open(os.path.join(corpus, f)).readline())
    held[f] = [m[:-6] if m.endswith("_bytes") else m for m in head.get("metrics", [])]
metrics = ["default", "rss", "anon"]
for f in files:
    for m in held[f]:
        if m not in metrics:
            metrics.append(m)
if only:
    metrics = [m for m in metrics if m in only]


def analyze(paths, metric):
    args = [binary, "analyze", "memory-trace", "--json", "-q"] + paths
    if metric != "default":
        args += ["--metric", metric]
    run = subprocess.run(args, capture_output=True, text=True)
    try:
        return {os.path.basename(r["file"]): r for r in json.loads(run.stdout)["results"]}
    except (ValueError, KeyError):
        if len(paths) == 1:
            return {os.path.basename(paths[0]): {"verdict": "error", "confidence": None,
                                                 "notes": [run.stderr.strip()], "flags": []}}
        out = {}
        for p in paths:
            out.update(analyze([p], metric))
        return out


def reason(r):
    return "; ".join(list(r.get("flags") or []) + list(r.get("notes") or []))


summary = []
for metric in metrics:
    chosen = [f for f in files if metric == "default" or metric in held[f]]
    if not chosen:
        continue
    res = analyze([os.path.join(corpus, f) for f in chosen], metric)
    print(f"\n## metric {metric}: {len(chosen)} traces"
          + (f" ({len(files) - len(chosen)} do not hold it)" if len(chosen) < len(files) else ""))
    print(f"{'trace':40} {'label':8} {'metric':14} {'verdict':18} {'conf':>5} {'growth%':>8}  ok")
    tp = fp = fn = 0
    per = collections.OrderedDict()
    wrong_nonleak = []
    for f in chosen:
        lab = labels[f]
        r = res.get(f, {"verdict": "missing", "confidence": None, "notes": [], "flags": []})
        v = r["verdict"]
        leak = lab["label"] == "leak"
        ok = (v == "leak") == leak
        tp += leak and v == "leak"
        fp += (not leak) and v == "leak"
        fn += leak and v != "leak"
        if not leak and v == "leak":
            wrong_nonleak.append(f)
        conf = r.get("confidence")
        g = r.get("growth_pct")
        print(f"{f:40} {lab['label']:8} {str(r.get('metric', '-')):14} {v:18} "
              f"{'-' if conf is None else format(conf, '.2f'):>5} "
              f"{'-' if g is None else format(g, '.1f'):>8}  {'ok' if ok else 'WRONG: ' + reason(r)}")
        per.setdefault((lab["program"], lab["label"]), collections.Counter())[v] += 1
    print(f"\n{'program':20} {'label':8} verdicts")
    for (prog, lab), c in per.items():
        print(f"{prog:20} {lab:8} " + ", ".join(f"{v} {n}" for v, n in sorted(c.items())))
    pos = tp + fp
    leakers = tp + fn
    prec = tp / pos if pos else float("nan")
    rec = tp / leakers if leakers else float("nan")
    print(f"\nmetric {metric}: precision {tp}/{pos} = {prec:.3f}, recall {tp}/{leakers} = {rec:.3f}, "
          f"non-leakers ever called leak: {fp}" + (f" ({', '.join(wrong_nonleak)})" if fp else ""))
    summary.append((metric, len(chosen), tp, pos, leakers, prec, rec, fp))

print("\n## summary (only \"leak\" counts as positive)")
print(f"{'metric':10} {'traces':>6} {'precision':>16} {'recall':>16} {'non-leakers called leak':>24}")
for metric, n, tp, pos, leakers, prec, rec, fp in summary:
    print(f"{metric:10} {n:6} {f'{tp}/{pos} = {prec:.3f}':>16} {f'{tp}/{leakers} = {rec:.3f}':>16} {fp:24}")
PY
