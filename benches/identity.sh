#!/usr/bin/env bash
# Benchmark: the price of workload identity (issue 14) on a node with N containers (default 200).
#
# The script makes N real cgroup v1 memory cgroups /docker/<64 hex> (a 64 MiB limit each, so
# `sample` and `serve` export every one, as they would Docker's), and a host-root tree in a
# temporary directory holding one Docker `config.v2.json` per container, in the shape Docker
# 20.10 writes (tests/fixtures/identity/docker/ captured one on this machine): compose labels,
# State, Config with Env, Cmd, Labels, NetworkSettings, paths; about 3 KiB each. Docker itself
# is not run: 200 real containers would measure Docker, and the resolver reads the same files.
# Everything the script made is removed on exit (trap), the cgroups bottom-up with rmdir.
#
# Measured, each with identity (--host-root TREE) against without (--host-root /nonexistent,
# where every lookup fails at the first missing directory and is cached as a miss for 30 s):
#   1. `clw-diag sample --format json` (one process, cold: every file read once), hyperfine;
#   2. one warm `serve` scrape (after a first scrape filled the cache), hyperfine of curl, and
#      the servers' own CPU time per scrape and clw_scrape_duration_seconds (the reading,
#      without curl and HTTP) over scrapes taken in turn. With CLW_DIAG_BEFORE=path/to/clw-diag
#      a build without the identity labels is scraped too, side by side.
#
# usage: sudo benches/identity.sh [N] [RUNS]     (root: it creates memory cgroups)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200}
runs=${2:-30}
for t in hyperfine curl python3; do
  command -v $t >/dev/null || { echo "missing $t (apt-get install -y hyperfine curl python3)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "needs root: it creates $n memory cgroups" >&2; exit 2; }
mem=/sys/fs/cgroup/memory
[ -e $mem/memory.limit_in_bytes ] || { echo "needs the cgroup v1 memory controller at $mem" >&2; exit 2; }
cargo build --release --quiet
bin=$PWD/target/release/clw-diag

tree=$(mktemp -d /tmp/clw-identity-bench.XXXXXX)
made_docker=0
[ -d $mem/docker ] || { mkdir $mem/docker; made_docker=1; }
ids=()
pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  for id in "${ids[@]}"; do rmdir "$mem/docker/$id" 2>/dev/null || true; done
  [ $made_docker = 1 ] && rmdir $mem/docker 2>/dev/null || true
  rm -rf "$tree"
}
trap cleanup EXIT

# N IDs: a fixed prefix no runtime makes (be9c), then random hex.
mapfile -t ids < <(python3 -c "
import secrets
for i in range($n): print('be9c' + secrets.token_hex(30))")
for id in "${ids[@]}"; do
  mkdir "$mem/docker/$id"
  echo $((64 << 20)) > "$mem/docker/$id/memory.limit_in_bytes"
done
python3 - "$tree" "${ids[@]}" <<'PY'
import json, os, sys
root, ids = sys.argv[1], sys.argv[2:]
for i, cid in enumerate(ids):
    svc = ["web", "worker", "cache", "db", "queue"][i % 5]
    d = f"{root}/var/lib/docker/containers/{cid}"
    os.makedirs(d)
    cfg = {
        "StreamConfig": {},
        "State": {"Running": True, "Paused": False, "Restarting": False, "OOMKilled": False,
                  "RemovalInProgress": False, "Dead": False, "Pid": 10000 + i, "ExitCode": 0,
                  "Error": "", "StartedAt": "2026-12-02T04:12:57.457886304Z",
                  "FinishedAt": "0001-01-01T00:00:00Z", "Health": None},
        "ID": cid, "Created": "2026-12-02T04:12:57.207883727Z", "Managed": False,
        "Path": "/docker-entrypoint.sh", "Args": ["--port", "8080"],
        "Config": {"Hostname": cid[:12], "Domainname": "", "User": "app", "AttachStdin": False,
                   "AttachStdout": False, "AttachStderr": False,
                   "ExposedPorts": {"8080/tcp": {}}, "Tty": False, "OpenStdin": False,
                   "StdinOnce": False,
                   "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                           f"SERVICE={svc}", "LANG=C.UTF-8", "APP_ENV=production",
                           "GOMAXPROCS=2", f"REPLICA={i // 5 + 1}"],
                   "Cmd": ["--port", "8080"], "Image": f"registry.example.com/shop/{svc}:1.{i % 7}.3",
                   "Volumes": None, "WorkingDir": "/srv", "Entrypoint": ["/docker-entrypoint.sh"],
                   "OnBuild": None,
                   "Labels": {"com.docker.compose.config-hash": "f81fde10c562d53cc698136b1d7cf5d578ebb41c6cec6d1c4d0426d97cd25d2f",
                              "com.docker.compose.container-number": str(i // 5 + 1),
                              "com.docker.compose.oneoff": "False",
                              "com.docker.compose.project": "shop",
                              "com.docker.compose.project.config_files": "docker-compose.yml",
                              "com.docker.compose.project.working_dir": "/srv/shop",
                              "com.docker.compose.service": svc,
                              "com.docker.compose.version": "1.29.2",
                              "org.opencontainers.image.source": f"https://git.example.com/shop/{svc}"}},
        "Image": "sha256:b0961113cc89fa1597aa57d4c1a838ffb6e00e7239f235171e61bb6f49903538",
        "NetworkSettings": {"Bridge": "", "SandboxID": "cd2a03ab6106b84c3728ddb4687f03fb004148b761168dca9ba6f35ebffe9534",
                            "HairpinMode": False, "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0,
                            "Networks": {"shop_default": {"IPAMConfig": None, "Links": None,
                                         "Aliases": [svc, cid[:12]],
                                         "NetworkID": "9e75eb2d235279c9618394feadff89252dda7b22661a61b5a4950738f7adc4df",
                                         "EndpointID": "", "Gateway": "172.18.0.1",
                                         "IPAddress": f"172.18.{i // 250}.{i % 250 + 2}", "IPPrefixLen": 16,
                                         "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
                                         "MacAddress": "02:42:ac:12:00:02", "DriverOpts": None}},
                            "Service": None, "Ports": {"8080/tcp": None},
                            "SandboxKey": "/var/run/docker/netns/cd2a03ab6106"},
        "LogPath": f"/var/lib/docker/containers/{cid}/{cid}-json.log",
        "Name": f"/shop_{svc}_{i // 5 + 1}", "Driver": "overlay2", "OS": "linux",
        "MountLabel": "", "ProcessLabel": "", "RestartCount": 0, "HasBeenStartedBefore": True,
        "HasBeenManuallyStopped": False, "MountPoints": {}, "SecretReferences": None,
        "ConfigReferences": None, "AppArmorProfile": "docker-default",
        "HostnamePath": f"/var/lib/docker/containers/{cid}/hostname",
        "HostsPath": f"/var/lib/docker/containers/{cid}/hosts", "ShmPath": "",
        "ResolvConfPath": f"/var/lib/docker/containers/{cid}/resolv.conf",
        "SeccompProfile": "", "NoNewPrivileges": False, "LocalLogCacheMeta": {"HaveNotifyEnabled": False},
    }
    with open(f"{d}/config.v2.json", "w") as f:
        json.dump(cfg, f, separators=(",", ":"))
PY
sz=$(stat -c %s "$tree/var/lib/docker/containers/${ids[0]}/config.v2.json")
echo "containers: $n real memory cgroups /docker/<id>, $n config.v2.json of $sz bytes under $tree"
named=$("$bin" --host-root "$tree" sample --format json | python3 -c "
import json, sys
d = json.load(sys.stdin)
cg = d.get('cgroups', [])
print(sum(1 for c in cg if (c.get('identity') or {}).get('container_name')), 'of', len(cg))" || echo unknown)
echo "sample --host-root TREE: cgroups named: $named"

# hyperfine's JSON → "mean wall ms, mean user+sys ms" of each command, and the ratios (first over
# second). CPU time (user+sys) is reported beside wall time because on a shared 2-core machine
# the wall time follows the other tenants' load more than the command.
ratios() {
  python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
for x in r:
    print(f"  {x['command'][:90]}: wall mean {x['mean']*1e3:.1f} ms, median {x['median']*1e3:.1f}, min {x['min']*1e3:.1f}; user+sys {(x['user']+x['system'])*1e3:.1f} ms")
a, b = r[0], r[1]
print(f"  ratio with/without: wall mean {a['mean']/b['mean']:.3f}, median {a['median']/b['median']:.3f}, min {a['min']/b['min']:.3f}; user+sys {(a['user']+a['system'])/(b['user']+b['system']):.3f}")
PY
}
out=$(mktemp)

echo "== sample, with identity against without"
hyperfine -N --warmup 3 --runs "$runs" --export-json "$out" \
  "$bin --host-root $tree sample --format json" \
  "$bin --host-root /nonexistent sample --format json"
ratios "$out"
# The same taken in turn (with, without, with, …: both see the same load), CPU time of each run
# from getrusage of the child (python's resource module), the figure to trust on a shared machine.
python3 - "$bin" "$tree" "$runs" <<'PY'
import resource, statistics as st, subprocess, sys, time
b, tree, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
cpu = {tree: [], "/nonexistent": []}
wall = {tree: [], "/nonexistent": []}
def cpu_now():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime
for _ in range(n):
    for root in (tree, "/nonexistent"):
        c0, t0 = cpu_now(), time.monotonic()
        subprocess.run([b, "--host-root", root, "sample"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        wall[root].append(time.monotonic() - t0)
        cpu[root].append(cpu_now() - c0)
m = lambda xs: st.median(xs) * 1e3
print(f"  in turn ({n} each, table output): CPU median {m(cpu[tree]):.1f} / {m(cpu['/nonexistent']):.1f} ms = {st.median(cpu[tree]) / st.median(cpu['/nonexistent']):.3f}; "
      f"wall median {m(wall[tree]):.1f} / {m(wall['/nonexistent']):.1f} ms = {st.median(wall[tree]) / st.median(wall['/nonexistent']):.3f}")
PY

echo "== one warm serve scrape, with identity against without"
port1=$((20000 + RANDOM % 10000)); port2=$((port1 + 1))
"$bin" --host-root "$tree" serve --listen 127.0.0.1:$port1 2>/dev/null & pids+=($!)
"$bin" --host-root /nonexistent serve --listen 127.0.0.1:$port2 2>/dev/null & pids+=($!)
ports="$port1 $port2"
before=()
if [ -n "${CLW_DIAG_BEFORE:-}" ]; then
  port3=$((port1 + 2))
  "$CLW_DIAG_BEFORE" serve --listen 127.0.0.1:$port3 2>/dev/null & pids+=($!)
  ports="$ports $port3"
  before=("curl -s -o /dev/null http://127.0.0.1:$port3/metrics")
fi
for p in $ports; do
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$p/metrics" >/dev/null && break; sleep 0.1; done
done
m=$(curl -s http://127.0.0.1:$port1/metrics)
echo "exposition: with $(echo "$m" | wc -c) bytes, without $(curl -s http://127.0.0.1:$port2/metrics | wc -c) bytes${port3:+, CLW_DIAG_BEFORE $(curl -s http://127.0.0.1:$port3/metrics | wc -c) bytes};" \
  "named series: $(echo "$m" | grep '^clw_cgroup_memory_limit_bytes{' | grep -vc 'name=""')," \
  "resolved=false: $(echo "$m" | grep '^clw_cgroup_identity_info{' | grep -c 'resolved="false"')"
hyperfine -N --warmup 5 --runs "$runs" --export-json "$out" \
  "curl -s -o /dev/null http://127.0.0.1:$port1/metrics" \
  "curl -s -o /dev/null http://127.0.0.1:$port2/metrics" \
  "${before[@]}"
ratios "$out"
# The servers' own CPU time per scrape (utime+stime of /proc/PID/stat) over 4×RUNS warm scrapes
# taken in turn (A, B, A, B, …, so both see the same load), and per scrape the curl wall time
# and clw_scrape_duration_seconds (the server's reading, without encoding and HTTP): mean,
# median and minimum, the minimum being the figure least moved by other tenants' load.
tck=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
declare -A c0
for i in "${!pids[@]}"; do c0[$i]=$(cpu "${pids[$i]}"); done
portv=($ports)
k=$((4 * runs))
body=$(mktemp); times=$(mktemp)
for _ in $(seq "$k"); do
  for i in "${!portv[@]}"; do
    w=$(curl -s -o "$body" -w '%{time_total}' "http://127.0.0.1:${portv[$i]}/metrics")
    echo "$i $w $(awk '/^clw_scrape_duration_seconds /{print $2}' "$body")" >> "$times"
  done
done
cpus=""
for i in "${!portv[@]}"; do
  cpus="$cpus $(awk -v a="${c0[$i]}" -v b="$(cpu "${pids[$i]}")" -v t="$tck" -v k="$k" 'BEGIN{printf "%.3f", (b-a)*1000/t/k}')"
done
python3 - "$times" $cpus <<'PY'
import statistics as st, sys
names = ["with identity", "without (/nonexistent)", "CLW_DIAG_BEFORE"]
rows = [l.split() for l in open(sys.argv[1])]
cpu = [float(c) for c in sys.argv[2:]]
fig = {}
for i in range(len(cpu)):
    w = [float(r[1]) * 1e3 for r in rows if r[0] == str(i)]
    d = [float(r[2]) * 1e3 for r in rows if r[0] == str(i)]
    fig[i] = (cpu[i], st.mean(w), st.median(w), min(w), st.mean(d), st.median(d), min(d))
    print(f"  {names[i]}: CPU {cpu[i]:.2f} ms/scrape; curl wall mean {fig[i][1]:.2f}, median {fig[i][2]:.2f}, min {fig[i][3]:.2f} ms; "
          f"reading mean {fig[i][4]:.2f}, median {fig[i][5]:.2f}, min {fig[i][6]:.2f} ms ({len(w)} scrapes)")
for j, base in [(1, "without"), (2, "CLW_DIAG_BEFORE")]:
    if j in fig:
        r = [a / b for a, b in zip(fig[0], fig[j])]
        print(f"  ratio with identity / {base}: CPU {r[0]:.3f}; curl wall mean {r[1]:.3f}, median {r[2]:.3f}, min {r[3]:.3f}; "
              f"reading mean {r[4]:.3f}, median {r[5]:.3f}, min {r[6]:.3f}")
PY
rm -f "$body" "$times"
echo "  peak RSS: with $(grep VmHWM /proc/${pids[0]}/status | awk '{print $2}') kB, without $(grep VmHWM /proc/${pids[1]}/status | awk '{print $2}') kB"
rm -f "$out"
