#!/usr/bin/env python3
"""Write a large syslog-style log for the triage benchmark: realistic noise (systemd, sshd,
kubelet, containerd, cron, kernel, application lines, some with exit codes 0/1) with real OOM
reports (tests/fixtures/triage-live/kernel-6.18-cgroup-v1-oom.log, captured on the development
machine) spliced in every ~16 MiB, each with its own pid.

usage: benches/gen_triage_log.py OUT [SIZE_MIB] [MIX]   (default 1024 MiB, mix synthetic)

MIX is the noise between the reports:
  synthetic     the templates below (the benchmark's original noise)
  real          lines drawn at random from the pool of real log lines in benches/noise/
  exit-heavy    half the lines are the pool's lines with exit codes, statuses, task results,
                sizes and durations (EXIT_WORDS), the other half any pool line
  kernel-heavy  half the lines are the pool's kernel messages (this machine's dmesg, loghub's
                Linux/Thunderbird/BGL kernel lines) written as syslog `kernel: [t] msg` lines,
                the other half any pool line
The pool holds no OOM record (benches/noise/README.md says how it was filtered).
"""
import os
import random
import re
import sys

out = sys.argv[1]
size = int(sys.argv[2]) * (1 << 20) if len(sys.argv) > 2 else 1 << 30
mix = sys.argv[3] if len(sys.argv) > 3 else "synthetic"
MIXES = ("synthetic", "real", "exit-heavy", "kernel-heavy")
if mix not in MIXES:
    sys.exit(f"unknown mix {mix!r}: one of {', '.join(MIXES)}")
here = os.path.dirname(os.path.abspath(__file__))
report = open(os.path.join(here, "..", "tests/fixtures/triage-live/kernel-6.18-cgroup-v1-oom.log")).read()
report = [l for l in report.splitlines() if l and not l.startswith("#")]

rnd = random.Random(42)
hosts = ["node-a1", "node-b7", "worker-3"]
noise_templates = [
    "systemd[1]: Started Session {n} of User root.",
    "systemd[1]: session-{n}.scope: Deactivated successfully.",
    "sshd[{p}]: Accepted publickey for deploy from 10.0.{a}.{b} port {n} ssh2: ED25519 SHA256:q2w3e4r5t6y7u8i9o0p",
    "sshd[{p}]: pam_unix(sshd:session): session closed for user deploy",
    "kubelet[{p}]: I1121 10:{a:02d}:{b:02d}.{n:06d} {p} kubelet_pods.go:1082] \"Clean up pod workers for terminated pods\"",
    "kubelet[{p}]: I1121 10:{a:02d}:{b:02d}.{n:06d} {p} prober.go:107] \"Probe failed\" probeType=\"Readiness\" pod=\"default/web-{n}\" podUID=\"6f1f5a3e\" containerName=\"app\"",
    "containerd[{p}]: time=\"2024-11-21T10:{a:02d}:{b:02d}.{n}Z\" level=info msg=\"shim disconnected\" id={h} namespace=k8s.io",
    "CRON[{p}]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)",
    "kernel: [{a}.{n:06d}] IPv6: ADDRCONF(NETDEV_CHANGE): veth{h8}: link becomes ready",
    "kernel: [{a}.{n:06d}] EXT4-fs (vda1): re-mounted. Opts: (null). Quota mode: none.",
    "app[{p}]: level=info ts=2024-11-21T10:{a:02d}:{b:02d}Z msg=\"request served\" path=/api/v1/items/{n} status=200 duration_ms={b}",
    "app[{p}]: level=warn ts=2024-11-21T10:{a:02d}:{b:02d}Z msg=\"slow query\" table=orders rows={n} duration_ms={p}",
    "runner[{p}]: step 'test' finished: exit code 0",
    "runner[{p}]: job {n} done, exited with code 1",
    "dockerd[{p}]: time=\"2024-11-21T10:{a:02d}:{b:02d}Z\" level=info msg=\"ignoring event\" module=libcontainerd namespace=moby topic=/tasks/delete",
]

# Weights: most lines are routine service chatter; exit-status lines (CI runners, job
# schedulers) are about 1 % of lines, as in the node logs this mimics.
weights = [10, 10, 8, 8, 12, 6, 8, 4, 6, 3, 12, 4, 1, 1, 6]
assert len(weights) == len(noise_templates)


def noise_line():
    t = rnd.choices(noise_templates, weights)[0]
    h = "%016x" % rnd.getrandbits(64)
    return "Nov 21 10:%02d:%02d %s %s" % (
        rnd.randrange(60), rnd.randrange(60), rnd.choice(hosts),
        t.format(n=rnd.randrange(1000000), p=rnd.randrange(100, 60000), a=rnd.randrange(256), b=rnd.randrange(60), h=h, h8=h[:8]),
    )

# A line naming an OOM record in any wording the triage rules know; such lines are dropped from
# the pool (benches/noise/capture-machine.sh filters with the same expression), so the only OOM
# records in a generated log are the spliced reports.
OOM_FILTER = re.compile(r"oom-kill|invoked oom|Killed process|Out of memory|out of memory|OOMKill|OOM kill|"
                        r"Memory cgroup|memory: usage|OutOfMemory|MemoryError|bad_alloc|earlyoom|systemd-oomd|"
                        r"oom_reaper|SystemOOM|System OOM|MemoryPressure")


def pool():
    """Every line of the pool: benches/noise/*.log (captured on the development machine) and the
    *.log files of benches/noise/loghub/ and of each directory in $CLW_NOISE_DIRS
    (colon-separated), in file order, without OOM wordings. benches/noise/README.md says where
    each comes from."""
    d = os.path.join(here, "noise")
    dirs = [d, os.path.join(d, "loghub")] + [x for x in os.environ.get("CLW_NOISE_DIRS", "").split(":") if x]
    files = []
    for x in dirs:
        if os.path.isdir(x):
            files += sorted(os.path.join(x, f) for f in os.listdir(x) if f.endswith(".log"))
    lines, dropped = [], 0
    for f in files:
        with open(f, encoding="utf-8", errors="replace") as fh:
            for l in fh:
                l = l.rstrip("\r\n")
                if not l.strip():
                    continue
                if OOM_FILTER.search(l):
                    dropped += 1
                    continue
                lines.append(l)
    print(f"noise pool: {len(lines)} lines from {len(files)} files"
          f" ({', '.join(os.path.relpath(f, d) for f in files)}); {dropped} OOM lines dropped", file=sys.stderr)
    if not any("loghub" in f for f in files):
        print("note: benches/noise/loghub/ is empty: the pool is this machine's lines only"
              " (benches/noise/README.md says how to add loghub's samples)", file=sys.stderr)
    return lines


EXIT_WORDS = re.compile(r"exit|xited|status|[Cc]ode|[Tt]ask|TID|Error \d|[Ff]inished|[Ff]ailed|"
                        r"memory|[Mm]emory|bytes|\d ?[kKMG]i?B\b|\d ?ms\b|duration|signal|killed|result")
KERNEL_RAW = re.compile(r"^\[\s*\d+\.\d+\] (.*)$")           # dmesg
KERNEL_SYSLOG = re.compile(r"\bkernel: (?:\[\s*\d+\.\d+\] )?(.*)$")  # syslog kernel lines
KERNEL_BGL = re.compile(r" RAS KERNEL \w+ (.*)$")                 # loghub BGL


def kernel_messages(lines):
    out = []
    for l in lines:
        for r in (KERNEL_RAW, KERNEL_SYSLOG, KERNEL_BGL):
            m = r.search(l)
            if m and m.group(1).strip():
                out.append(m.group(1))
                break
    return out


def syslog_kernel(msg):
    return "Nov 21 10:%02d:%02d %s kernel: [%5d.%06d] %s" % (
        rnd.randrange(60), rnd.randrange(60), rnd.choice(hosts), rnd.randrange(100000), rnd.randrange(1000000), msg)


N = 150000
if mix == "synthetic":
    lines = [noise_line() for _ in range(N)]
else:
    all_lines = pool()
    if mix == "real":
        lines = [rnd.choice(all_lines) for _ in range(N)]
    elif mix == "exit-heavy":
        heavy = [l for l in all_lines if EXIT_WORDS.search(l)]
        lines = [rnd.choice(heavy) if i % 2 else rnd.choice(all_lines) for i in range(N)]
    else:
        kern = kernel_messages(all_lines)
        lines = [syslog_kernel(rnd.choice(kern)) if i % 2 else rnd.choice(all_lines) for i in range(N)]
block = "\n".join(lines) + "\n"
block_b = block.encode()
written = 0
k = 0
with open(out, "wb") as f:
    while written < size:
        f.write(block_b)
        written += len(block_b)
        pid = 10000 + k
        lines = "".join(
            "Nov 21 11:%02d:%02d node-a1 kernel: %s\n" % (k % 60, k % 60, l.replace("4803", str(pid)))
            for l in report
        )
        f.write(lines.encode())
        written += len(lines)
        k += 1
print(f"wrote {out}: {written} bytes, mix {mix}, {k} OOM reports spliced in")
