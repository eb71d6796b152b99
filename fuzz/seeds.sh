#!/usr/bin/env bash
# Generate seed cores for the core_file target into fuzz/corpus/core_file/ (gitignored).
# Cores hold process memory: they are made here on demand and never committed.
#
# A small C program is crashed three ways (SIGSEGV in its own code, abort() inside libc, and a
# static build), with coredump_filter 0x11 (anonymous private memory and ELF headers only) and
# core_pattern "core" (relative, in the working directory). Each core is then shrunk: the notes
# are kept, the stack segment is cut to a few pages from the crashing thread's rsp, the first
# page of each ELF mapping (build IDs) and the vDSO are kept, and every other segment keeps its
# program header but no bytes (as if not dumped).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/corpus/core_file"
mkdir -p "$out"
# The crashed programs stay in fuzz/seeds/ (gitignored): the cores name them, and the target reads
# them for CFI and symbols.
work="$here/seeds"
mkdir -p "$work"
cd "$work"
case "$(cat /proc/sys/kernel/core_pattern)" in
core|core.*|core*) ;;
*) echo "core_pattern is '$(cat /proc/sys/kernel/core_pattern)', need a plain 'core' file" >&2; exit 1 ;;
esac
cat > crash.c <<'EOF'
#include <stdlib.h>
__attribute__((noinline)) static int inner(int *p, int n) { return p[n] + 1; }
__attribute__((noinline)) static int outer(int n) { volatile int x = inner((int *)0, n); return x; }
int main(int argc, char **argv) {
    (void)argv;
    if (argc > 1) abort();   /* crash inside libc (raise / pthread_kill) */
    return outer(argc * 16); /* SIGSEGV in the program's own code */
}
EOF
cc -O1 -g -o crash crash.c
cc -O1 -g -static -o crash-static crash.c 2>/dev/null || echo "no static libc: static seed skipped" >&2
crash() { # name, command...
    local name=$1; shift
    rm -f core core.*
    ( ulimit -c unlimited; echo 0x11 > /proc/self/coredump_filter; exec "$@" ) 2>/dev/null || true
    local c; c=$(ls core core.* 2>/dev/null | head -1 || true)
    [ -n "$c" ] || { echo "no core for $name" >&2; return; }
    mv "$c" "$name.full"
}
trap 'rm -f "$work"/*.full "$work"/core "$work"/core.*' EXIT
crash segv ./crash
crash abrt ./crash x
[ -x crash-static ] && crash static ./crash-static
for f in *.full; do
python3 - "$f" "$out/${f%.full}.core" <<'EOF'
import struct, sys
src, dst = sys.argv[1], sys.argv[2]
d = open(src, 'rb').read()
phoff, = struct.unpack_from('<Q', d, 32)
phentsize, phnum = struct.unpack_from('<HH', d, 54)
phs = [list(struct.unpack_from('<IIQQQQQQ', d, phoff + i * phentsize)) for i in range(phnum)]
# rsp of the first NT_PRSTATUS
rsp = None
for ph in phs:
    if ph[0] != 4: continue
    off, end = ph[2], ph[2] + ph[5]
    while off + 12 <= end:
        nsz, dsz, ty = struct.unpack_from('<III', d, off)
        name = d[off + 12: off + 12 + nsz]
        desc = off + 12 + ((nsz + 3) & ~3)
        if name[:4] == b'CORE' and ty == 1 and rsp is None:
            rsp, = struct.unpack_from('<Q', d, desc + 112 + 19 * 8)
        off = desc + ((dsz + 3) & ~3)
KEEP_STACK = 4 * 4096
blobs = []
for ph in phs:
    ty, flags, off, vaddr, paddr, filesz, memsz, align = ph
    if ty == 4:
        blobs.append(d[off:off + filesz]); continue
    if ty != 1:
        blobs.append(b''); continue
    data = d[off:off + filesz]
    if rsp is not None and vaddr <= rsp < vaddr + memsz:
        cut = (rsp & ~0xfff) - vaddr
        data = data[cut:cut + KEEP_STACK]
        ph[3] += cut; ph[6] -= cut; ph[5] = len(data)
    elif data[:4] == b'\x7fELF':
        data = data[:4096]; ph[5] = len(data)   # ELF header page: build ID, vDSO
    else:
        data = b''; ph[5] = 0
    blobs.append(data)
out = bytearray(d[:64])
pos = 64 + phnum * 56
struct.pack_into('<Q', out, 32, 64)
struct.pack_into('<HH', out, 54, 56, phnum)
body = bytearray()
for ph, b in zip(phs, blobs):
    ph[2] = pos + len(body) if b else 0
    body += b
hdrs = b''.join(struct.pack('<IIQQQQQQ', *ph) for ph in phs)
open(dst, 'wb').write(bytes(out) + hdrs + bytes(body))
print(f"{dst}: {len(out) + len(hdrs) + len(body)} bytes (from {len(d)})")
EOF
done

# unwind_stack: registers (rip, rsp, rbp folded into libc's code and the stack by mode 0x0f),
# then 4 KiB of stack whose every other word becomes a libc code address (top byte 0xaa).
mkdir -p "$here/corpus/unwind_stack"
python3 - "$here/corpus/unwind_stack/seed0" <<'EOF'
import struct, sys
regs = [0] * 27
regs[16] = 0x12345   # rip
regs[19] = 0x100     # rsp
regs[4] = 0x200      # rbp
stack = b''.join(struct.pack('<Q', 0xaa00000000000000 | (i * 0x1357) if i % 2 else 0x7ffd00000000 + 8 * i)
                 for i in range(512))
open(sys.argv[1], 'wb').write(struct.pack('<27Q', *regs) + bytes([0x0f]) + stack)
EOF
