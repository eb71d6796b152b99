#!/usr/bin/env python3
"""Compress the .debug_* sections of an ELF64 little-endian file with zstd, in place, the way
`ld --compress-debug-sections=zstd` stores them (ELF gABI "Section Compression": SHF_COMPRESSED,
an Elf64_Chdr with ch_type ELFCOMPRESS_ZSTD = 2, then one zstd frame).

Debian 12's binutils and gcc are built without zstd (`-gz=zstd` is refused and objcopy's
`--compress-debug-sections=zstd` silently leaves the sections as they are), so the tests make
such a file themselves: each compressed section is appended at the end of the file and its
section header points there (the old bytes stay, unreferenced); the section header table is
rewritten after them. Uses the `zstd` command.

usage: zstd_debug.py IN OUT
"""
import struct
import subprocess
import sys

SHF_COMPRESSED = 0x800
ELFCOMPRESS_ZSTD = 2


def main(src, dst):
    data = bytearray(open(src, "rb").read())
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, "ELF64 LE only"
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    headers = [bytearray(data[shoff + i * shentsize: shoff + (i + 1) * shentsize]) for i in range(shnum)]
    strtab = struct.unpack_from("<QQ", headers[shstrndx], 0x18)
    names = data[strtab[0]: strtab[0] + strtab[1]]

    def name(h):
        off = struct.unpack_from("<I", h, 0)[0]
        return names[off: names.index(b"\0", off)].decode()

    out = data[:]
    done = 0
    for h in headers:
        flags, _addr, offset, size = struct.unpack_from("<QQQQ", h, 0x08)
        align = struct.unpack_from("<Q", h, 0x30)[0]
        if not name(h).startswith(".debug_") or flags & SHF_COMPRESSED or size == 0:
            continue
        raw = bytes(data[offset: offset + size])
        frame = subprocess.run(["zstd", "-q", "-c", "-19"], input=raw, capture_output=True, check=True).stdout
        chdr = struct.pack("<IIQQ", ELFCOMPRESS_ZSTD, 0, size, max(align, 1))
        while len(out) % 8:
            out.append(0)
        new_offset = len(out)
        out += chdr + frame
        struct.pack_into("<Q", h, 0x08, flags | SHF_COMPRESSED)
        struct.pack_into("<Q", h, 0x18, new_offset)
        struct.pack_into("<Q", h, 0x20, len(chdr) + len(frame))
        struct.pack_into("<Q", h, 0x30, 8)
        done += 1
    while len(out) % 8:
        out.append(0)
    struct.pack_into("<Q", out, 0x28, len(out))
    for h in headers:
        out += h
    open(dst, "wb").write(out)
    print(f"{done} sections compressed with zstd")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
