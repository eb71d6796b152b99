#!/usr/bin/env bash
# Capture this machine's own log lines into benches/noise/machine-*.log (run as root).
# Everything written is what the programs printed; only OOM wordings are filtered out
# (see oom_filter below), so the noise holds no OOM record.
#
# usage: benches/noise/capture-machine.sh
set -euo pipefail
cd "$(dirname "$0")"
# Lines naming an OOM record in any wording the triage rules know are dropped.
oom_filter='oom-kill|invoked oom|Killed process|Out of memory|out of memory|OOMKill|OOM kill|Memory cgroup|memory: usage|OutOfMemory|MemoryError|bad_alloc|earlyoom|systemd-oomd|oom_reaper|SystemOOM|System OOM|MemoryPressure'
keep() { grep -Ev "$oom_filter" || true; }

# 1. Kernel: make the kernel log a few subsystems (loop devices, ext4, veth in a network
#    namespace, bridge), then take the whole ring buffer as dmesg prints it.
tmp=$(mktemp -d)
trap 'umount "$tmp/m" 2>/dev/null || true; ip netns del clwnoise 2>/dev/null || true; rm -rf "$tmp"' EXIT
for i in 1 2 3; do
  truncate -s 64M "$tmp/img$i"
  mkfs.ext4 -q -F "$tmp/img$i" >/dev/null 2>&1 || true
  mkdir -p "$tmp/m"
  mount -o loop "$tmp/img$i" "$tmp/m" 2>/dev/null && umount "$tmp/m" || true
done
if command -v ip >/dev/null; then
  ip netns add clwnoise 2>/dev/null || true
  for i in 1 2 3 4; do
    ip link add vclw$i type veth peer name vclwp$i 2>/dev/null || continue
    ip link set vclwp$i netns clwnoise 2>/dev/null || true
    ip link set vclw$i up 2>/dev/null || true
    ip -n clwnoise link set vclwp$i up 2>/dev/null || true
    ip link del vclw$i 2>/dev/null || true
  done
fi
# Not the boot's kernel and init command lines nor init's argument and environment lists (they
# describe the VM's own machinery, not log noise).
dmesg | keep | grep -v -i -E 'command line|process_api' | grep -v -E '^\[[ 0-9.]+\]  ' > machine-dmesg.log

# 2. Package manager logs as they are on this machine.
keep < /var/log/dpkg.log > machine-dpkg.log
keep < /var/log/apt/term.log > machine-apt-term.log

# 3. Exit codes and task results: what real programs print when a child fails or finishes.
{
  cd "$tmp"
  printf 'all:\n\tfalse\nt2:\n\tsh -c "exit 2"\nt3:\n\tsh -c "exit 3"\n' > Makefile
  for t in all t2 t3; do make -k "$t" 2>&1 || true; done
  python3 - <<'PY' 2>&1 || true
import subprocess, sys, logging
logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stdout, level=logging.INFO)
log = logging.getLogger("runner")
for code in [0, 1, 2, 3, 4, 5, 13, 64, 70, 75, 78, 100, 101, 125, 126, 127]:
    try:
        subprocess.run(["sh", "-c", f"exit {code}"], check=True)
        log.info("task sh -c 'exit %d' finished: exit code 0", code)
    except subprocess.CalledProcessError as e:
        log.warning("task failed: %s", e)
        log.info("child exited with status %d after %.3f s, rss %d kB", e.returncode, 0.004 + code / 1000, 1300 + code)
PY
  for c in 0 1 2 124 125 126 127; do
    timeout 5 sh -c "exit $c"; echo "job sh: exit status $?"
  done
  (sh -c 'nonexistent-command-clw' 2>&1; echo "exit code $?") || true
  (ls /nonexistent-clw 2>&1; echo "ls exited with code $?") || true
} | keep > machine-exit.log
echo "captured: $(wc -l machine-*.log | tail -1)"
