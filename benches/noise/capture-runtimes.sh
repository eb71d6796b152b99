#!/usr/bin/env bash
# Capture real dockerd and containerd log lines into benches/noise/machine-dockerd.log (run as
# root, with docker.io and busybox-static installed as .ci/run installs them). A private dockerd
# (its own data root, exec root and socket, cgroupfs driver, no networking) starts its own
# containerd, imports a busybox image and runs short containers that exit by themselves with
# codes 0-3, print, sleep and are removed; then it is stopped. Everything written is what dockerd
# and its containerd printed (logrus text, containerd's own lines included); only OOM wordings
# are filtered out (the same filter as capture-machine.sh), and no container is killed, so the
# noise holds no OOM record and no signal exit.
#
# usage: benches/noise/capture-runtimes.sh
set -euo pipefail
cd "$(dirname "$0")"
oom_filter='oom-kill|invoked oom|Killed process|Out of memory|out of memory|OOMKill|OOM kill|Memory cgroup|memory: usage|OutOfMemory|MemoryError|bad_alloc|earlyoom|systemd-oomd|oom_reaper|SystemOOM|System OOM|MemoryPressure'
for tool in dockerd /usr/bin/docker /bin/busybox tar; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install --no-install-recommends docker.io busybox-static)" >&2; exit 2; }
done
tmp=$(mktemp -d)
had_docker_cgroup=$(ls -d /sys/fs/cgroup/*/docker /sys/fs/cgroup/docker 2>/dev/null || true)
sock=unix://$tmp/docker.sock
dk() { /usr/bin/docker -H "$sock" "$@"; }
cleanup() {
  [ -f "$tmp/dockerd.pid" ] && kill "$(cat "$tmp/dockerd.pid")" 2>/dev/null || true
  for _ in $(seq 50); do [ -f "$tmp/dockerd.pid" ] || break; sleep 0.2; done
  umount -R "$tmp/data" 2>/dev/null || true
  rm -rf "$tmp"
  # The (empty) /docker cgroups that dockerd made, unless they were there before.
  if [ -z "$had_docker_cgroup" ]; then
    for c in /sys/fs/cgroup/*/docker /sys/fs/cgroup/docker; do
      if [ -d "$c" ]; then rmdir "$c"/*/ 2>/dev/null || true; rmdir "$c" 2>/dev/null || true; fi
    done
  fi
  true
}
trap cleanup EXIT
mkdir -p "$tmp/rootfs/bin" "$tmp/rootfs/proc" "$tmp/rootfs/sys" "$tmp/rootfs/dev" "$tmp/rootfs/tmp"
cp /bin/busybox "$tmp/rootfs/bin/busybox"
for l in sh sleep echo seq; do ln -s busybox "$tmp/rootfs/bin/$l"; done
tar -C "$tmp/rootfs" -cf "$tmp/rootfs.tar" .

dockerd --iptables=false --ip-forward=false --bridge=none --exec-opt native.cgroupdriver=cgroupfs \
  --data-root "$tmp/data" --exec-root "$tmp/exec" --pidfile "$tmp/dockerd.pid" -H "$sock" \
  --containerd-namespace clwnoise --containerd-plugins-namespace clwnoise-plugins \
  > "$tmp/dockerd.log" 2>&1 &
for _ in $(seq 150); do dk info >/dev/null 2>&1 && break; sleep 0.2; done
dk info >/dev/null
dk import --change 'CMD ["/bin/sh"]' "$tmp/rootfs.tar" clwnoise/busybox:1 >/dev/null
for c in 0 1 2 3 0 1; do
  dk run --rm --name "noise-exit-$c-$RANDOM" clwnoise/busybox:1 sh -c "echo working; sleep 0.2; exit $c" >/dev/null || true
done
for i in 1 2 3; do
  dk run -d --name "noise-batch-$i" --memory 64m clwnoise/busybox:1 sh -c 'seq 1 1000 > /dev/null; sleep 1' >/dev/null
done
sleep 2
for i in 1 2 3; do dk wait "noise-batch-$i" >/dev/null; dk rm "noise-batch-$i" >/dev/null; done
dk image rm clwnoise/busybox:1 >/dev/null
kill "$(cat "$tmp/dockerd.pid")"
for _ in $(seq 100); do [ -f "$tmp/dockerd.pid" ] || break; sleep 0.2; done
grep -Ev "$oom_filter" "$tmp/dockerd.log" > machine-dockerd.log || true
echo "wrote $(wc -l < machine-dockerd.log) lines to benches/noise/machine-dockerd.log" >&2
