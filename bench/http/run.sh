#!/usr/bin/env bash
# bench/http: nullspaced's HTTP path against nginx, side by side in one run.
#   1. GET /healthz                 vs nginx serving a static file of the same size
#   2. GET /v1/keys/{id} (auth +    vs nginx serving a static file of the same size
#      two SQLite lookups)
# Both servers run one worker on loopback; wrk (1 thread, 32 connections, keep-alive)
# drives each for DURATION seconds. Prints req/s, p50 and p99 for both and the ratio.
# Usage: bench/http/run.sh [DURATION_SECONDS]    (needs wrk and nginx: scripts/deps.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
dur="${1:-10}"
conns="${BENCH_CONNECTIONS:-32}"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target nullspaced >/dev/null
work=$(mktemp -d)
daemon_pid=""; nginx_pid=""
cleanup() {
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null || true
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

build/nullspaced --state-dir "$work/state" --listen 127.0.0.1:0 --log-level warn \
  2>"$work/daemon.log" &
daemon_pid=$!
for _ in $(seq 100); do [ -s "$work/state/nullspaced.addr" ] && break; sleep 0.05; done
addr=$(cat "$work/state/nullspaced.addr")
key=$(cat "$work/state/api-key")
key_id=$(curl -sf -H "Authorization: Bearer $key" "http://$addr/v1/keys?limit=1" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["keys"][0]["id"])')
health_body=$(curl -sf "http://$addr/healthz")
key_body=$(curl -sf -H "Authorization: Bearer $key" "http://$addr/v1/keys/$key_id")

mkdir -p "$work/www"
chmod 755 "$work" "$work/www"   # nginx workers run unprivileged
printf '%s' "$health_body" >"$work/www/healthz"
printf '%s' "$key_body" >"$work/www/key"
nginx_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  default_type application/json;
  server {
    listen 127.0.0.1:$nginx_port;
    root $work/www;
  }
}
NGINX
nginx -c "$work/nginx.conf" -p "$work" &
nginx_pid=$!
sleep 0.5

# wrk_run URL [HEADER] -> "req_per_s p50_ms p99_ms"
wrk_run() {
  local out
  if [ $# -gt 1 ]; then
    out=$(wrk -t1 -c"$conns" -d"${dur}s" --latency -H "$2" "$1")
  else
    out=$(wrk -t1 -c"$conns" -d"${dur}s" --latency "$1")
  fi
  python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
def pct(p):
    m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s|m)\s*$" % p, out, re.M)
    if not m:
        sys.exit("cannot read the %s%% latency from wrk:\n%s" % (p, out))
    return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[m.group(2)]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
p50 = pct(50)
p99 = pct(99)
errs = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
if errs:
    sys.exit("non-2xx responses during the run: " + errs.group(1))
print("%.0f %.3f %.3f" % (rps, p50, p99))
PY
}

auth="Authorization: Bearer $key"
read -r n1 n1p50 n1p99 < <(wrk_run "http://127.0.0.1:$nginx_port/healthz")
read -r d1 d1p50 d1p99 < <(wrk_run "http://$addr/healthz")
read -r n2 n2p50 n2p99 < <(wrk_run "http://127.0.0.1:$nginx_port/key")
read -r d2 d2p50 d2p99 < <(wrk_run "http://$addr/v1/keys/$key_id" "$auth")

printf '\nbench/http  (%ss per run, wrk 1 thread, %s connections, %s cores)\n' "$dur" "$conns" "$(nproc)"
printf '%-34s %12s %10s %10s\n' "case" "req/s" "p50 ms" "p99 ms"
printf '%-34s %12s %10s %10s\n' "nginx static ${#health_body} B" "$n1" "$n1p50" "$n1p99"
printf '%-34s %12s %10s %10s\n' "nullspaced GET /healthz" "$d1" "$d1p50" "$d1p99"
printf '%-34s %12s %10s %10s\n' "nginx static ${#key_body} B" "$n2" "$n2p50" "$n2p99"
printf '%-34s %12s %10s %10s\n' "nullspaced GET /v1/keys/{id}" "$d2" "$d2p50" "$d2p99"
python3 - "$d1" "$n1" "$d2" "$n2" <<'PY'
import sys
d1, n1, d2, n2 = map(float, sys.argv[1:])
print("ratio healthz       %.2fx nginx (target >= 0.70)" % (d1 / n1))
print("ratio auth+store    %.2fx nginx (target >= 0.70)" % (d2 / n2))
PY
