#!/usr/bin/env python3
"""Write a large syslog-style log for the triage benchmark: realistic noise (systemd, sshd,
kubelet, containerd, cron, kernel, application lines, some with exit codes 0/1) with real OOM
reports (tests/fixtures/triage-live/kernel-6.18-cgroup-v1-oom.log, captured on the development
machine) spliced in every ~16 MiB, each with its own pid.

usage: benches/gen_triage_log.py OUT [SIZE_MIB]   (default 1024 MiB)
"""
import os
import random
import sys

out = sys.argv[1]
size = int(sys.argv[2]) * (1 << 20) if len(sys.argv) > 2 else 1 << 30
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

block = "\n".join(noise_line() for _ in range(150000)) + "\n"
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
print(f"wrote {out}: {written} bytes, {k} OOM reports spliced in")
