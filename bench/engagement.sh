#!/usr/bin/env bash
# Benchmark of the engagement figures and the priorities against PostgreSQL with the demo data:
# req/s and p50/p99 latency (wrk) and SQL statements per request (from /metrics), for
#   1. the public overview: every community with its engagement total and components
#      (anonymous, response cache off, so every request computes the figures);
#   2. the coordinators' ranking: `priorities(year)` with the first 20 entries and the balance
#      (signed in as the demo coordinator).
#
#   bench/engagement.sh                 # defaults: 16 connections, 15 s per run
#   CONNECTIONS=32 DURATION=10s bench/engagement.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# A loopback database: no TLS (sqlx's default `sslmode=prefer` would encrypt even to 127.0.0.1).
PG_ADMIN_URL="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
DB_NAME="${DB_NAME:-lup_bench_engagement}"
CONNECTIONS="${CONNECTIONS:-16}"
THREADS="${THREADS:-2}"
DURATION="${DURATION:-15s}"
PORT="${PORT:-18082}"
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

# Development mode for the demo accounts; no rate limits and no response cache.
APP_ENV=development RATE_LIMIT_ANONYMOUS_PER_MINUTE=0 RATE_LIMIT_ACCOUNT_PER_MINUTE=0 \
  MAX_CONCURRENT_PER_CLIENT=0 PUBLIC_CACHE_TTL_MS=0 DATABASE_URL="$DB_URL" \
  BIND_ADDR="127.0.0.1:$PORT" LOG_LEVEL=warn ./target/release/lup serve >>"$OUT/server-engagement.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 150); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.2; done

gql() { # body JSON → answer
  curl -fs "http://127.0.0.1:$PORT/graphql" -H 'content-type: application/json' ${TOKEN:+-H "authorization: Bearer $TOKEN"} --data-binary "$1"
}
TOKEN=$(gql '{"query": "mutation { login(input: {email: \"koordinator@lup.test\", password: \"demo-adgangskode\"}) { accessToken } }"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["login"]["accessToken"])')
YEAR=$(( $(date +%Y) + 1 ))

OVERVIEW='{ communities(first: 30) { nodes { name engagement { total components { key value weight points } } } } }'
RANKING="{ priorities(year: $YEAR) { ranking(first: 20) { totalCount nodes { rank score action { title } community { name } components { key value points } } } balance { overall { longTermShare } byCommunity { community { name } longTerm hereAndNow } } } }"

metric() { curl -fs "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

# run LABEL QUERY [TOKEN]: one request alone for its statement count, then wrk.
run() {
  local label=$1 query=$2 token=${3:-}
  local body
  body=$(python3 -c 'import json,sys; print(json.dumps({"query": sys.argv[1]}))' "$query")
  python3 - "$body" "$token" >"$OUT/engagement-$label.lua" <<'PY'
import json, sys
print('wrk.method = "POST"')
print('wrk.headers["Content-Type"] = "application/json"')
if sys.argv[2]:
    print('wrk.headers["Authorization"] = ' + json.dumps("Bearer " + sys.argv[2]))
print("wrk.body = " + json.dumps(sys.argv[1]))
PY
  local answer s0 s1 r0 r1
  s0=$(metric lup_sql_statements_total)
  answer=$(TOKEN=$token gql "$body")
  s1=$(metric lup_sql_statements_total)
  python3 -c 'import json,sys; a=json.loads(sys.argv[1]); assert "errors" not in a, a["errors"]' "$answer"
  local single=$((s1 - s0))
  wrk -t"$THREADS" -c"$CONNECTIONS" -d3s -s "$OUT/engagement-$label.lua" "http://127.0.0.1:$PORT/graphql" >/dev/null
  s0=$(metric lup_sql_statements_total); r0=$(metric lup_graphql_requests_total)
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$OUT/engagement-$label.lua" \
    "http://127.0.0.1:$PORT/graphql" >"$OUT/wrk-engagement-$label.txt"
  s1=$(metric lup_sql_statements_total); r1=$(metric lup_graphql_requests_total)
  local rps p50 p99 non2xx
  rps=$(awk '/^Requests\/sec/ { print $2 }' "$OUT/wrk-engagement-$label.txt")
  p50=$(awk '$1 == "50%" { print $2 }' "$OUT/wrk-engagement-$label.txt")
  p99=$(awk '$1 == "99%" { print $2 }' "$OUT/wrk-engagement-$label.txt")
  non2xx=$(awk '/Non-2xx/ { print $NF }' "$OUT/wrk-engagement-$label.txt")
  printf '%-10s req/s %-9s p50 %-9s p99 %-9s SQL/request %s alone, %s under load%s\n' \
    "$label" "$rps" "$p50" "$p99" "$single" \
    "$(python3 -c "print(f'{($s1 - $s0) / max(1, $r1 - $r0):.2f}')")" \
    "${non2xx:+ (non-2xx: $non2xx)}"
}

echo "== $CONNECTIONS connections, $DURATION per run, response cache off"
run overview "$OVERVIEW"
run priorities "$RANKING" "$TOKEN"
