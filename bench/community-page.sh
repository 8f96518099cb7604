#!/usr/bin/env bash
# Benchmark of the website's "community page" query against PostgreSQL with the demo data:
# req/s and p50/p99 latency at 64 connections (wrk), and SQL statements per request (from the
# server's /metrics), then the same after adding 40 actions to the community, to show the
# statement count does not grow with the number of actions. Each is measured twice: with the
# public response cache off (every request runs its SQL) and on (the default).
#
#   bench/community-page.sh            # defaults: 64 connections, 20 s per run
#   CONNECTIONS=32 DURATION=10s bench/community-page.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# A loopback database: no TLS (sqlx's default `sslmode=prefer` would encrypt even to 127.0.0.1).
PG_ADMIN_URL="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
DB_NAME="${DB_NAME:-lup_bench}"
SLUG="${SLUG:-gjoel}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
DURATION="${DURATION:-20s}"
PORT="${PORT:-18080}"
OUT=bench/out
mkdir -p "$OUT"

if ! command -v wrk >/dev/null; then
  echo "installing wrk" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk) >/dev/null
fi
command -v psql >/dev/null || { echo "psql is needed" >&2; exit 1; }

cargo build --release --bin lup -q

# The bench database beside the admin one, with the same parameters (`?sslmode=…`).
DB_URL="${PG_ADMIN_URL%%\?*}"
DB_URL="${DB_URL%/*}/$DB_NAME${PG_ADMIN_URL#"${PG_ADMIN_URL%%\?*}"}"
psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" -c "CREATE DATABASE $DB_NAME"

SERVER=
start_server() {
  [ -n "$SERVER" ] && { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; }
  APP_ENV=development RATE_LIMIT_ANONYMOUS_PER_MINUTE=0 \
  DATABASE_URL="$DB_URL" BIND_ADDR="127.0.0.1:$PORT" LOG_LEVEL=warn PUBLIC_CACHE_TTL_MS="$1" \
    DB_MAX_CONNECTIONS="${DB_MAX_CONNECTIONS:-16}" ./target/release/lup serve >>"$OUT/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && return; sleep 0.2; done
  echo "the server did not start" >&2; exit 1
}
trap '[ -n "$SERVER" ] && kill $SERVER 2>/dev/null || true' EXIT
start_server 0
python3 - "$SLUG" >"$OUT/request.lua" <<'PY'
import json, sys
query = open("tests/queries/community-page.graphql").read()
body = json.dumps({"query": query, "variables": {"slug": sys.argv[1]}})
print('wrk.method = "POST"')
print('wrk.headers["Content-Type"] = "application/json"')
print("wrk.body = " + json.dumps(body))
PY

metric() { curl -fs "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

run() {
  local label=$1
  local actions
  actions=$(curl -fs "http://127.0.0.1:$PORT/graphql" -H 'content-type: application/json' \
    --data-binary "$(python3 -c 'import json,sys; print(json.dumps({"query": "query($s:String!){community(slug:$s){currentPlan{actions{totalCount}}}}", "variables": {"s": sys.argv[1]}}))' "$SLUG")" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["community"]["currentPlan"]["actions"]["totalCount"])')
  # Statements of one request, measured alone (with the cache on: a miss, as it is cold).
  local s0 r0 s1 r1
  s0=$(metric lup_sql_statements_total)
  curl -fs "http://127.0.0.1:$PORT/graphql" -H 'content-type: application/json' \
    --data-binary "$(sed -n 's/^wrk.body = //p' "$OUT/request.lua" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read()))')" >/dev/null
  s1=$(metric lup_sql_statements_total)
  local single=$((s1 - s0))
  # Warm up, then measure.
  wrk -t"$THREADS" -c"$CONNECTIONS" -d3s -s "$OUT/request.lua" "http://127.0.0.1:$PORT/graphql" >/dev/null
  s0=$(metric lup_sql_statements_total); r0=$(metric lup_graphql_requests_total)
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$OUT/request.lua" \
    "http://127.0.0.1:$PORT/graphql" >"$OUT/wrk-$label.txt"
  s1=$(metric lup_sql_statements_total); r1=$(metric lup_graphql_requests_total)
  local rps p50 p99 non2xx
  rps=$(awk '/^Requests\/sec/ { print $2 }' "$OUT/wrk-$label.txt")
  p50=$(awk '$1 == "50%" { print $2 }' "$OUT/wrk-$label.txt")
  p99=$(awk '$1 == "99%" { print $2 }' "$OUT/wrk-$label.txt")
  non2xx=$(awk '/Non-2xx/ { print $NF }' "$OUT/wrk-$label.txt")
  printf '%-10s actions=%-4s req/s=%-10s p50=%-9s p99=%-9s sql/request=%s (one request alone: %s)%s\n' \
    "$label" "$actions" "$rps" "$p50" "$p99" \
    "$(python3 -c "print(round(($s1-$s0)/max(1,$r1-$r0), 2))")" "$single" \
    "${non2xx:+  non-2xx: $non2xx}"
}

echo "community page '$SLUG', PostgreSQL, $CONNECTIONS connections, $DURATION per run"
echo "-- response cache off: every request runs its SQL"
run demo
psql -q "$DB_URL" -v slug="$SLUG" -v n=40 -f bench/grow-actions.sql
run plus40
echo "-- response cache on (PUBLIC_CACHE_TTL_MS=${CACHE_TTL_MS:-2000}): sql/request counts the misses"
start_server "${CACHE_TTL_MS:-2000}"
run plus40
