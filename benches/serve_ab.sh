#!/usr/bin/env bash
# A/B of two builds of `clw-diag serve`: both serve at once on a host with PROCS extra `sleep`
# processes and are scraped alternately (RUNS scrapes each, the order swapped every round, so
# the load of a shared machine falls on both alike). Reports per build the median and p90 wall
# time of a scrape (connect to last byte, HTTP/1.0), the median `clw_scrape_duration_seconds`
# (the server's own reading time) and the peak RSS (VmHWM).
#
# usage: benches/serve_ab.sh BEFORE_BINARY AFTER_BINARY [PROCS] [RUNS]
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 BEFORE AFTER [PROCS] [RUNS]" >&2; exit 2; }
command -v python3 >/dev/null || { echo "missing python3" >&2; exit 2; }
python3 - "$1" "$2" "${3:-1000}" "${4:-300}" <<'PY'
import socket, subprocess, sys, time, statistics
bins = {"before": sys.argv[1], "after": sys.argv[2]}
nprocs, runs = int(sys.argv[3]), int(sys.argv[4])
procs = [subprocess.Popen(["sleep", "600"]) for _ in range(nprocs)]
servers = {}
try:
    for k, b in bins.items():
        s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
        servers[k] = (port, subprocess.Popen([b, "serve", "--listen", f"127.0.0.1:{port}"], stderr=subprocess.DEVNULL))
    time.sleep(1)
    def scrape(port):
        t0 = time.monotonic()
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        d = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            d += b
        s.close()
        t = time.monotonic() - t0
        sd = next(float(l.split()[1]) for l in d.decode().splitlines()
                  if l.startswith("clw_scrape_duration_seconds "))
        return t, sd
    res = {k: ([], []) for k in bins}
    for k in bins:
        scrape(servers[k][0])
    for i in range(runs):
        for k in (list(bins) if i % 2 == 0 else list(bins)[::-1]):
            t, sd = scrape(servers[k][0])
            res[k][0].append(t)
            res[k][1].append(sd)
    print(f"{len(procs)} extra processes, {runs} scrapes of each build, alternately")
    for k in bins:
        tot, sd = sorted(res[k][0]), sorted(res[k][1])
        hwm = next(l for l in open(f"/proc/{servers[k][1].pid}/status") if l.startswith("VmHWM")).split()[1]
        print(f"{k}: wall median {statistics.median(tot)*1000:.1f} ms (p90 {tot[int(len(tot)*.9)]*1000:.1f} ms), "
              f"clw_scrape_duration_seconds median {statistics.median(sd)*1000:.1f} ms, VmHWM {hwm} kB")
finally:
    for _, p in servers.values():
        p.terminate()
    for p in procs:
        p.terminate()
PY
