#!/usr/bin/env bash
# Two builds of our server against each other: same machine, same PostgreSQL database with the
# demo data, interleaved rounds of wrk (A, B, A, B, …) on the website's community page
# (tests/queries/community-page.graphql, `gjoel`), the response cache off. For each round it
# prints req/s and the server's CPU per request (from /proc), then the means and B/A. Use it
# to decide a change that trades speed for something else (build time, binary size).
#
#   bench/ab.sh A_BINARY B_BINARY           # 2 rounds of 10 s each, 5 s warm-up
#   ROUNDS=4 DURATION=15s bench/ab.sh target-a/release/lup target/release/lup
#   QUERY_FILE=bench/one-row.graphql bench/ab.sh A B    # another query (variable: $slug)
#
# Env: PG_ADMIN_URL, DB_NAME, SLUG, QUERY_FILE (the community page by default), CONNECTIONS,
# THREADS, WARMUP, DURATION, ROUNDS, PORT (A; B is PORT+1). The database is dropped at the end,
# also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: bench/ab.sh A_BINARY B_BINARY" >&2; exit 2; }
A_BIN=$1 B_BIN=$2
for b in "$A_BIN" "$B_BIN"; do [ -x "$b" ] || { echo "no server binary at $b" >&2; exit 1; }; done

PG_ADMIN_URL="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
DB_NAME="${DB_NAME:-lup_bench_ab}"
SLUG="${SLUG:-gjoel}"
QUERY_FILE="${QUERY_FILE:-tests/queries/community-page.graphql}"
[ -r "$QUERY_FILE" ] || { echo "no query at $QUERY_FILE" >&2; exit 1; }
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
WARMUP="${WARMUP:-5s}"
DURATION="${DURATION:-10s}"
ROUNDS="${ROUNDS:-2}"
PORT="${PORT:-18180}"
OUT=bench/out
mkdir -p "$OUT"

if ! command -v wrk >/dev/null; then
  echo "installing wrk" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk) >/dev/null
fi

PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -Xq "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
psql -Xq -v ON_ERROR_STOP=1 "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" -c "CREATE DATABASE $DB_NAME"
# Loopback: no TLS (sqlx's default `sslmode=prefer` would encrypt even to 127.0.0.1).
DB_URL="postgres://postgres@127.0.0.1:5432/$DB_NAME?sslmode=disable"
JWT_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(32))')

start() { # BINARY PORT LOG: a production server, no rate limits, response cache off
  env APP_ENV=production SEED_DEMO=true JWT_SECRET="$JWT_SECRET" DATABASE_URL="$DB_URL" BIND_ADDR="127.0.0.1:$2" \
    LOG_LEVEL=warn PUBLIC_CACHE_TTL_MS=0 RATE_LIMIT_ANONYMOUS_PER_MINUTE=0 \
    RATE_LIMIT_PARTNER_PER_MINUTE=0 RATE_LIMIT_ACCOUNT_PER_MINUTE=0 MAX_CONCURRENT_PER_CLIENT=0 \
    SHUTDOWN_GRACE_SECS=2 "$1" serve >>"$3" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 600); do
    curl -fs -o /dev/null "http://127.0.0.1:$2/graphql" -H 'content-type: application/json' \
      -d '{"query":"{__typename}"}' && return 0
    sleep 0.2
  done
  tail -20 "$3" >&2; echo "the server on port $2 did not start" >&2; exit 1
}
: >"$OUT/ab-a.log"; : >"$OUT/ab-b.log"
start "$A_BIN" "$PORT" "$OUT/ab-a.log" # migrates and loads the demo data
A_PID=${PIDS[0]}
start "$B_BIN" $((PORT + 1)) "$OUT/ab-b.log"
B_PID=${PIDS[1]}

BODY="$OUT/ab-body.json"
python3 - "$SLUG" "$QUERY_FILE" >"$BODY" <<'EOF'
import json, sys
q = open(sys.argv[2]).read()
print(json.dumps({"query": q, "variables": {"slug": sys.argv[1]}}))
EOF
for port in "$PORT" $((PORT + 1)); do
  answer=$(curl -fs "http://127.0.0.1:$port/graphql" -H 'content-type: application/json' --data-binary @"$BODY")
  case "$answer" in *'"errors"'*|'') echo "port $port answered: ${answer:0:300}" >&2; exit 1 ;; esac
done
cat >"$OUT/ab-post.lua" <<'EOF'
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
EOF

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # user + system, in clock ticks
HZ=$(getconf CLK_TCK)
run() { # PID PORT DURATION: prints "req/s cpu_ms_per_request"
  local before after out
  before=$(ticks "$1")
  out=$(BODY_FILE="$BODY" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$3" -s "$OUT/ab-post.lua" "http://127.0.0.1:$2/graphql")
  after=$(ticks "$1")
  awk -v out="$out" -v t=$((after - before)) -v hz="$HZ" 'BEGIN {
    n = split(out, l, "\n"); r = 0; c = 0
    for (i = 1; i <= n; i++) {
      if (l[i] ~ /Requests\/sec/) { split(l[i], w, " "); r = w[2] }
      if (l[i] ~ /requests in/) { split(l[i], w, " "); c = w[1] }
    }
    printf "%.1f %.3f\n", r, (c > 0 ? t * 1000 / hz / c : 0) }'
}

echo "warming up" >&2
run "$A_PID" "$PORT" "$WARMUP" >/dev/null
run "$B_PID" $((PORT + 1)) "$WARMUP" >/dev/null
printf '%-6s %-2s %10s %14s\n' round   side req/s cpu_ms/req
sa=0 sb=0 ca=0 cb=0
for i in $(seq 1 "$ROUNDS"); do
  read -r ra cpa < <(run "$A_PID" "$PORT" "$DURATION")
  printf '%-6s %-2s %10s %14s\n' "$i" A "$ra" "$cpa"
  read -r rb cpb < <(run "$B_PID" $((PORT + 1)) "$DURATION")
  printf '%-6s %-2s %10s %14s\n' "$i" B "$rb" "$cpb"
  sa=$(echo "$sa + $ra" | bc -l); sb=$(echo "$sb + $rb" | bc -l)
  ca=$(echo "$ca + $cpa" | bc -l); cb=$(echo "$cb + $cpb" | bc -l)
done
awk -v sa="$sa" -v sb="$sb" -v ca="$ca" -v cb="$cb" -v n="$ROUNDS" -v a="$A_BIN" -v b="$B_BIN" 'BEGIN {
  printf "A %s: %.1f req/s, %.3f ms CPU per request (server)\n", a, sa / n, ca / n
  printf "B %s: %.1f req/s, %.3f ms CPU per request (server)\n", b, sb / n, cb / n
  printf "B/A: req/s %.3f, CPU per request %.3f\n", sb / sa, cb / ca }'
