#!/usr/bin/env bash
# The rate limiter holding: a well-behaved partner sends the website's community-page query
# 20 times a second and we measure its p50/p99 latency, first alone, then while an abusive
# partner (another API key) floods the server at full speed with wrk. The abuser should get
# 429s; the well-behaved client's p99 should stay within 2x of its value alone.
#
#   bench/rate-limit.sh                 # defaults: 20 s per phase, 64 abusive connections
#   DURATION=10 CONNECTIONS=32 bench/rate-limit.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# A loopback database: no TLS (sqlx's default `sslmode=prefer` would encrypt even to 127.0.0.1).
PG_ADMIN_URL="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
DB_NAME="${DB_NAME:-lup_bench_limit}"
DURATION="${DURATION:-20}"
CONNECTIONS="${CONNECTIONS:-64}"
RATE="${RATE:-20}"
PORT="${PORT:-18081}"
# Partner budget: cost points per minute per key (a community page costs 1); the
# well-behaved client stays within it (20/s = 1,200 a minute), the abuser does not.
PER_MINUTE="${PER_MINUTE:-3000}"
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
export DATABASE_URL="$DB_URL" APP_ENV=development LOG_LEVEL=warn
./target/release/lup seed >/dev/null 2>&1
ORG=$(psql -tA "$DB_URL" -c "SELECT slug FROM organization ORDER BY slug LIMIT 1")
GOOD_KEY=$(./target/release/lup create-api-key --organization "$ORG" --name "Velopdragen klient" 2>/dev/null)
BAD_KEY=$(./target/release/lup create-api-key --organization "$ORG" --name "Grådig klient" 2>/dev/null)

# The response cache is off so that every request does its work.
BIND_ADDR="127.0.0.1:$PORT" PUBLIC_CACHE_TTL_MS=0 RATE_LIMIT_PARTNER_PER_MINUTE="$PER_MINUTE" \
  ./target/release/lup serve >>"$OUT/server-limit.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.2; done

BODY=$(python3 -c 'import json; print(json.dumps({"query": open("tests/queries/community-page.graphql").read(), "variables": {"slug": "gjoel"}}))')
printf '%s' "$BODY" > "$OUT/limit-body.json"
cat > "$OUT/abuser.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Api-Key"] = "$BAD_KEY"
wrk.body = io.open("$OUT/limit-body.json"):read("*a")
LUA

# The well-behaved client: $RATE requests a second for $DURATION s, one at a time; prints
# p50/p99 in ms and the statuses it got.
good_client() {
  python3 - "$PORT" "$GOOD_KEY" "$RATE" "$DURATION" "$OUT/limit-body.json" <<'PY'
import http.client, sys, time, collections
port, key, rate, duration, body_file = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
body = open(body_file, "rb").read()
conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
lat, statuses = [], collections.Counter()
start = time.monotonic()
n = 0
while time.monotonic() - start < duration:
    due = start + n / rate
    now = time.monotonic()
    if due > now:
        time.sleep(due - now)
    t = time.monotonic()
    conn.request("POST", "/graphql", body, {"content-type": "application/json", "x-api-key": key})
    r = conn.getresponse(); r.read()
    lat.append((time.monotonic() - t) * 1000); statuses[r.status] += 1
    n += 1
lat.sort()
pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
print(f"requests={len(lat)} p50_ms={pct(0.50):.1f} p99_ms={pct(0.99):.1f} statuses={dict(statuses)}")
PY
}

metric() { curl -fs "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

echo "== well-behaved client alone ($RATE req/s, ${DURATION}s)"
alone=$(good_client); echo "$alone"

echo "== with an abusive client at full speed (wrk, $CONNECTIONS connections)"
sql0=$(metric lup_sql_statements_total); req0=$(metric lup_graphql_requests_total)
wrk -t2 -c"$CONNECTIONS" -d"$((DURATION + 2))s" -s "$OUT/abuser.lua" "http://127.0.0.1:$PORT/graphql" >"$OUT/abuser.txt" 2>&1 &
WRK=$!
sleep 1
together=$(good_client); echo "$together"
wait $WRK || true
sql1=$(metric lup_sql_statements_total); req1=$(metric lup_graphql_requests_total)
echo "-- abuser (wrk):"
grep -E "Requests/sec|Non-2xx|requests in|Latency" "$OUT/abuser.txt" | sed 's/^/   /'
echo "   GraphQL requests meanwhile (both clients, 429s included): $((req1 - req0)); SQL statements: $((sql1 - sql0)) ($(python3 -c "print(f'{($sql1 - $sql0) / max(1, $req1 - $req0):.1f}')") per request)"

p99() { sed -E 's/.*p99_ms=([0-9.]+).*/\1/' <<<"$1"; }
python3 - "$(p99 "$alone")" "$(p99 "$together")" <<'PY'
import sys
a, b = float(sys.argv[1]), float(sys.argv[2])
print(f"== p99 alone {a:.1f} ms, with the abuser {b:.1f} ms: {b / a:.2f}x ({'within' if b <= 2 * a else 'NOT within'} 2x)")
PY
