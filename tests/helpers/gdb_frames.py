# gdb's backtrace of a core as JSON, for tests/backtrace.rs. Run as
#   GDB_FRAMES_OUT=out.json gdb -batch -nx -ex 'set debuginfod enabled off' \
#       -ex 'set backtrace past-main on' -ex 'source gdb_frames.py' EXE CORE
# Writes {"selected_tid", "signal", "threads": [{"tid", "num", "stop_reason", "frames": [...]}]}
# with every frame from the newest: level, pc (frame.pc(), hex), type (NORMAL, INLINE, SIGTRAMP,
# TAILCALL, ...), name (frame.name()), function (frame.function().name), file and line
# (frame.find_sal()). Nothing is filtered here; the test drops TAILCALL frames.
import json
import os

import gdb

TYPES = {}
for _n in ("NORMAL", "DUMMY", "INLINE", "TAILCALL", "SIGTRAMP", "ARCH", "SENTINEL"):
    _v = getattr(gdb, _n + "_FRAME", None)
    if _v is not None:
        TYPES[_v] = _n


def hexval(v):
    return None if v is None else "0x%x" % v


def frame_json(f):
    fn = f.function()
    sal = f.find_sal()
    symtab = sal.symtab if sal is not None else None
    return {
        "level": f.level(),
        "pc": hexval(f.pc()),
        "type": TYPES.get(f.type(), str(f.type())),
        "name": f.name(),
        "function": fn.name if fn is not None else None,
        "file": symtab.filename if symtab is not None else None,
        "line": sal.line if symtab is not None and sal.line else None,
    }


def thread_json(t):
    t.switch()
    frames = []
    stop = None
    f = gdb.newest_frame()
    while f is not None:
        frames.append(frame_json(f))
        try:
            older = f.older()
        except gdb.error as e:
            stop = "error: %s" % e
            break
        if older is None:
            stop = gdb.frame_stop_reason_string(f.unwind_stop_reason())
        f = older
    return {"tid": t.ptid[1], "num": t.num, "stop_reason": stop, "frames": frames}


def signal_json():
    try:
        si = gdb.parse_and_eval("$_siginfo")
        signo = int(si["si_signo"])
    except gdb.error:
        return None
    out = {"number": signo, "code": int(si["si_code"]), "fault_address": None}
    if signo in (4, 7, 8, 11):  # SIGILL, SIGBUS, SIGFPE, SIGSEGV carry an address
        addr = si["_sifields"]["_sigfault"]["si_addr"]
        out["fault_address"] = hexval(int(addr.cast(gdb.lookup_type("unsigned long"))))
    return out


def main():
    inf = gdb.selected_inferior()
    selected = gdb.selected_thread()
    selected_tid = selected.ptid[1] if selected is not None else None
    sig = signal_json()
    threads = sorted(inf.threads(), key=lambda t: t.num)
    out = {
        "selected_tid": selected_tid,
        "signal": sig,
        "threads": [thread_json(t) for t in threads],
    }
    with open(os.environ["GDB_FRAMES_OUT"], "w") as fh:
        json.dump(out, fh, indent=1)


main()
