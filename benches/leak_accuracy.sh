#!/usr/bin/env bash
# Accuracy of the leak detector on seeded labelled synthetic traces: precision, recall, median
# slope error and interval coverage, and the verdicts per shape (tests/leak_accuracy.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --quiet --test leak_accuracy -- --nocapture 2>&1 | grep -vE '^(running|test |$)'
