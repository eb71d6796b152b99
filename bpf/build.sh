#!/usr/bin/env bash
# usage: bpf/build.sh [OUT]    (default OUT: bpf/heap.bpf.o)
# Rebuild bpf/heap.bpf.o, the BPF object that src/heap/bpf.rs embeds (include_bytes!), from
# bpf/heap.bpf.c. Only needed after changing the C source: the object is committed, so building
# clw-diag needs no clang, no kernel headers and no libbpf.
# Needs Debian's clang 14 and libbpf's headers: apt-get install clang libbpf-dev
# (linux-libc-dev, for <linux/bpf.h>, comes with gcc).
# The build is deterministic: tests/heap.rs rebuilds the object into a temporary file and
# checks that it equals the committed one.
set -euo pipefail
out=$(realpath -m "${1:-$(dirname "$0")/heap.bpf.o}")
cd "$(dirname "$0")"
clang -O2 -g -target bpf -D__TARGET_ARCH_x86 -I/usr/include/x86_64-linux-gnu \
  -fdebug-compilation-dir=. -ffile-prefix-map="$PWD"=. -Wall -Werror -c heap.bpf.c -o "$out"
llvm-strip-14 -g "$out" 2>/dev/null || llvm-strip -g "$out" 2>/dev/null || true
ls -l "$out"
