#!/usr/bin/env bash
# Run every cargo-fuzz target of fuzz/ for a bounded time, then minimise what each found into
# fuzz/corpus/<target>/ (the committed corpora; see fuzz/README.md).
#
#   benches/fuzz.sh                  # every target, 60 s each, AddressSanitizer
#   FUZZ_SECONDS=45 benches/fuzz.sh  # shorter
#   FUZZ_SANITIZER=none benches/fuzz.sh proc_stat proc_tree   # some targets, panics only
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`); RUSTC_BOOTSTRAP=1 lets a stable toolchain take
# its -Z flags. Each target runs in one process (`-fork=1 -ignore_crashes=1` for the two core
# readers, so one crash does not end their run); crashes land in fuzz/artifacts/<target>/.
# At the end a table per target: executions, seconds, corpus files and bytes kept, crashes.
# Corpus files larger than FUZZ_MAX_KEEP bytes (default 512) are not kept, so the committed
# corpora stay small (about 270 kB for the ten committed ones after a 45 s run each); the
# core_file and unwind_stack corpora hold core memory, stay untracked (fuzz/.gitignore) and
# keep every size.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
fuzz="$here/fuzz"
secs=${FUZZ_SECONDS:-60}
san=${FUZZ_SANITIZER:-address}
keep=${FUZZ_MAX_KEEP:-512}
export RUSTC_BOOTSTRAP=1
cd "$fuzz"

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

# Seeds from the captured fixtures (real kernel output), added at every run: most are larger
# than FUZZ_MAX_KEEP, so the size filter at the end takes them out of the committed corpora.
seed() {
    local t=$1
    shift
    mkdir -p "corpus/$t"
    for f in "$@"; do
        [ -f "$f" ] && cp "$f" "corpus/$t/seed-$(basename "$(dirname "$f")")-$(basename "$f")"
    done
    return 0
}
fx="$here/tests/fixtures"
seed smaps "$fx"/*/proc/*/smaps
seed smaps_rollup "$fx"/*/proc/*/smaps_rollup /proc/self/smaps_rollup
seed proc_stat "$fx"/*/proc/*/stat /proc/self/stat /proc/2/stat
seed proc_status "$fx"/*/proc/*/status "$fx"/*/proc/*/statm /proc/self/status /proc/self/statm
seed proc_maps /proc/self/maps
seed triage_scan "$fx"/triage/*.log
if [ ! -f corpus/proc_tree/seed-v2 ]; then
    # One whole tree, the parts separated by 0x01: stat, status, smaps, smaps_rollup, cmdline,
    # meminfo, oom_score_adj, cgroup (fuzz_targets/proc_tree.rs).
    mkdir -p corpus/proc_tree
    d="$fx/v2/proc/31337"
    {
        printf '\001'
        for f in "$d/stat" "$d/status" "$d/smaps" "$d/smaps_rollup" "$d/cmdline" "$fx/v2/proc/meminfo" "$d/oom_score_adj" "$d/cgroup"; do
            cat "$f"
            printf '\001'
        done
    } > corpus/proc_tree/seed-v2
fi
if [ -x ./seeds.sh ] && [ ! -d corpus/core_file ]; then
    ./seeds.sh || echo "seeds.sh failed: core_file and unwind_stack start without seeds" >&2
fi

logs=$(mktemp -d)
summary=()
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    before=$(ls "artifacts/$t" | wc -l)
    extra=()
    case $t in
    core_file | unwind_stack) extra=(-fork=1 -ignore_crashes=1) ;;
    esac
    echo "== $t: ${secs}s" >&2
    start=$(date +%s)
    set +e
    cargo fuzz run -s "$san" "$t" "corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 \
        -print_final_stats=1 "${extra[@]}" > "$logs/$t.log" 2>&1
    set -e
    took=$(($(date +%s) - start))
    # In-process runs print "stat::number_of_executed_units: N"; fork mode "#N: cov: ...".
    execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$logs/$t.log" | grep -oE '[0-9]+$' | tail -1 || true)
    [ -n "$execs" ] || execs=$(grep -oE '^#[0-9]+' "$logs/$t.log" | tr -d '#' | tail -1 || true)
    crashes=$(($(ls "artifacts/$t" | wc -l) - before))
    # Minimise the corpus in place, then drop large files.
    cargo fuzz cmin -s "$san" "$t" "corpus/$t" > "$logs/$t.cmin.log" 2>&1 || true
    case $t in
    core_file | unwind_stack) ;;
    *) find "corpus/$t" -type f -size +"${keep}"c -delete ;;
    esac
    files=$(find "corpus/$t" -type f | wc -l)
    bytes=$(find "corpus/$t" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')
    summary+=("| \`$t\` | ${execs:-?} | $took | $files | $bytes | $crashes |")
done

echo
echo "| target | executions | seconds | corpus files | corpus bytes | new crashes |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${summary[@]}"
echo
echo "logs: $logs; crashes (if any): fuzz/artifacts/<target>/"
