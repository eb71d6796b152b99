#!/usr/bin/env bash
# Benchmark: `clw-diag serve` under hostile clients (issue 13, D1). Three attacks on one server,
# each measured from outside: scrape latency of /metrics on a fresh connection (p50, p99, max),
# the server's RSS and peak RSS (VmRSS, VmHWM) and its open descriptors.
#   1. IDLE idle TCP connections (every third with a partial request head), held open;
#   2. slowloris: SLOW clients dribbling one byte of a request head a second for 20 s, each
#      reconnecting as soon as it is closed (a sustained attack, more clients than the cap);
#   3. 20 requests with a 16 MiB header block, 4 at a time.
# Needs python3 and a hard RLIMIT_NOFILE above IDLE + 100.
#
# usage: benches/serve_hostile.sh [IDLE] [SLOW]     (CLW_DIAG=path/to/binary to try another build)
set -euo pipefail
cd "$(dirname "$0")/.."
idle=${1:-10000}
slow=${2:-1000}
command -v python3 >/dev/null || { echo "missing python3" >&2; exit 2; }
ulimit -n $((idle + slow + 200))
if [ -z "${CLW_DIAG:-}" ]; then
  cargo build --release --quiet
  CLW_DIAG=$PWD/target/release/clw-diag
fi
port=$((20000 + RANDOM % 10000))
"$CLW_DIAG" serve --listen 127.0.0.1:$port 2>/tmp/serve_hostile.$$.err &
serve=$!
trap 'kill $serve 2>/dev/null || true; rm -f /tmp/serve_hostile.$$.err' EXIT
python3 - "$port" "$serve" "$idle" "$slow" <<'EOF'
import socket, sys, threading, time

port, pid, idle_n, slow_n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
addr = ("127.0.0.1", port)

def status(key):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        return None

def fds():
    import os
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None

def scrape():
    t0 = time.monotonic()
    try:
        s = socket.create_connection(addr, timeout=5)
        s.settimeout(5)
        s.sendall(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
        s.close()
        ok = data.split(b"\r\n", 1)[0].split(b" ")[1:2] == [b"200"]
    except OSError:
        ok = False
    return ok, time.monotonic() - t0

def summary(name, runs):
    lat = sorted(t for ok, t in runs if ok)
    failed = sum(1 for ok, _ in runs if not ok)
    if lat:
        p = lambda q: lat[min(len(lat) - 1, int(len(lat) * q))] * 1000
        print(f"{name}: {len(runs)} scrapes, {failed} failed; p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, max {lat[-1]*1000:.1f} ms")
    else:
        print(f"{name}: {len(runs)} scrapes, all failed")

def mem(name):
    print(f"{name}: VmRSS {status('VmRSS:')} kB, VmHWM {status('VmHWM:')} kB, {fds()} fds, threads {status('Threads:')}")

for _ in range(100):
    if scrape()[0]:
        break
    time.sleep(0.1)
mem("idle server")
summary("no attack", [scrape() for _ in range(50)])

# 1. Idle connections.
t0 = time.monotonic()
conns = []
for i in range(idle_n):
    try:
        c = socket.create_connection(addr, timeout=10)
        if i % 3 == 0:
            c.send(b"GET /metrics HTTP/1.1\r\nX: ")
        conns.append(c)
    except OSError as e:
        print(f"connection {i}: {e}")
        break
print(f"{len(conns)} idle connections opened in {time.monotonic() - t0:.1f} s")
summary(f"{len(conns)} idle connections", [scrape() for _ in range(50)])
mem(f"{len(conns)} idle connections")
for c in conns:
    c.close()
conns = []
time.sleep(0.5)
summary("after they closed", [scrape() for _ in range(20)])

# 2. Slowloris, sustained for 20 s.
head = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10000
stop = time.monotonic() + 20
closed = [0]
def dribbler():
    while time.monotonic() < stop:
        try:
            c = socket.create_connection(addr, timeout=5)
            for i in range(len(head)):
                if time.monotonic() >= stop:
                    break
                c.send(head[i:i + 1])
                time.sleep(1)
        except OSError:
            closed[0] += 1
        finally:
            try:
                c.close()
            except Exception:
                pass
threads = [threading.Thread(target=dribbler, daemon=True) for _ in range(slow_n)]
for t in threads:
    t.start()
time.sleep(2)
runs = []
while time.monotonic() < stop:
    runs.append(scrape())
    time.sleep(0.1)
summary(f"slowloris, {slow_n} clients", runs)
print(f"slowloris connections closed by the server: {closed[0]}")
mem("slowloris")
for t in threads:
    t.join()

# 3. 16 MiB header blocks.
big = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (16 << 20) + b"\r\n\r\n"
answers = []
def huge():
    try:
        c = socket.create_connection(addr, timeout=10)
        c.sendall(big)
        answers.append(c.recv(64)[:12])
    except OSError as e:
        answers.append(type(e).__name__)
for _ in range(5):
    ts = [threading.Thread(target=huge) for _ in range(4)]
    [t.start() for t in ts]
    [t.join() for t in ts]
print("16 MiB headers answered:", sorted(set(map(str, answers))))
summary("after 16 MiB headers", [scrape() for _ in range(20)])
mem("at the end")
EOF
echo "serve's stderr:"; sort /tmp/serve_hostile.$$.err | uniq -c | sort -rn | head -5
