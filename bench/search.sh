#!/usr/bin/env bash
# Benchmark of `search` with 10,000 actions added to the demo data, on SQLite and on
# PostgreSQL: the release binary, the response cache off (every request runs its SQL), wrk
# (installed by the script) at 16 connections. For each database it prints how long the
# start-up took to index the added actions (they are written with SQL, around the API, so
# the start-up catches the index up), then req/s and p50/p99 latency of four queries as an
# anonymous caller:
#   rare      a word a few rows hold ("shelterpladser")
#   common    a word every added action holds ("handlingen": 10,000+ hits, first 20 shown)
#   prefix    the beginning of that word, as the visitor types ("handl")
#   words     three words, the last a prefix ("ekstra handling stie")
#   many      five words every added action holds ("handlingen er tilføjet af benchmarken"): on
#             PostgreSQL a statement with these as parameters got a generic plan after five
#             runs on a connection and ran into the request timeout
#
#   bench/search.sh                       # defaults: 10,000 actions, 16 connections, 10 s per run
#   ACTIONS=2000 CONNECTIONS=8 DURATION=5s bench/search.sh
#   BACKENDS=sqlite bench/search.sh       # one database only
#   LUP_BIN=path/to/lup bench/search.sh   # another build (no release build then)
set -euo pipefail
cd "$(dirname "$0")/.."

# A loopback database: no TLS (sqlx's default `sslmode=prefer` would encrypt even to 127.0.0.1).
PG_ADMIN_URL="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
DB_NAME="${DB_NAME:-lup_bench_search}"
ACTIONS="${ACTIONS:-10000}"
CONNECTIONS="${CONNECTIONS:-16}"
THREADS="${THREADS:-2}"
DURATION="${DURATION:-10s}"
PORT="${PORT:-18084}"
BACKENDS="${BACKENDS:-sqlite postgres}"
OUT=bench/out
mkdir -p "$OUT"

need() { # command, Debian package
  if ! command -v "$1" >/dev/null; then
    echo "installing $2" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2") >/dev/null
  fi
}
need wrk wrk
need sqlite3 sqlite3
need curl curl
[[ " $BACKENDS " == *" postgres "* ]] && need psql postgresql-client

if [ -z "${LUP_BIN:-}" ]; then
  cargo build --release --bin lup -q
  LUP_BIN="${CARGO_TARGET_DIR:-target}/release/lup"
fi

SERVER=
stop_server() {
  if [ -n "$SERVER" ]; then
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
    SERVER=
  fi
}
trap stop_server EXIT

# start_server DATABASE_URL: starts it and waits until it answers; STARTUP holds the seconds
# it took (migrations, demo data, the search index caught up).
STARTUP=
start_server() {
  local started
  started=$(date +%s.%N)
  APP_ENV=development RATE_LIMIT_ANONYMOUS_PER_MINUTE=0 MAX_CONCURRENT_PER_CLIENT=0 \
    PUBLIC_CACHE_TTL_MS=0 DATABASE_URL="$1" BIND_ADDR="127.0.0.1:$PORT" LOG_LEVEL=info \
    DB_MAX_CONNECTIONS="${DB_MAX_CONNECTIONS:-16}" "$LUP_BIN" serve >>"$OUT/server-search.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 3000); do
    if ! kill -0 "$SERVER" 2>/dev/null; then
      echo "the server stopped (see $OUT/server-search.log)" >&2
      exit 1
    fi
    if curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; then
      STARTUP=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$started" "$(date +%s.%N)")
      return
    fi
    sleep 0.1
  done
  echo "the server did not start (see $OUT/server-search.log)" >&2
  exit 1
}

# The texts of the added actions: a title and a description from a few Danish sentences.
TITLE="'Ekstra indsats ' || g || CASE g % 4 WHEN 0 THEN ': stier og bænke' WHEN 1 THEN ': fællesspisning' WHEN 2 THEN ': legepladsen' ELSE ': naturpleje' END"
DESCRIPTION="'Indsatsen er tilføjet af benchmarken. ' || CASE g % 3 WHEN 0 THEN 'Frivillige slår stierne og sætter bænke op.' WHEN 1 THEN 'Fællesspisning i forsamlingshuset hver måned.' ELSE 'En ny legeplads med gynger og sandkasse.' END"

grow_sqlite() { # file
  sqlite3 -bail "$1" <<SQL
WITH RECURSIVE n(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM n WHERE g < $ACTIONS),
p AS (SELECT plan.id AS id FROM plan JOIN community c ON c.id = plan.community_id
      WHERE c.slug = 'gjoel' AND plan.status = 'ADOPTED' ORDER BY plan.period_from DESC LIMIT 1),
t AS (SELECT created_at FROM action LIMIT 1)
INSERT INTO action (id, plan_id, title, description, horizon, status, progress, potential,
                    seeking_partners, created_at, updated_at, version, internal_notes)
SELECT randomblob(16), p.id, $TITLE, $DESCRIPTION, 'HERE_AND_NOW', 'PLANNED', 10, 3, 0,
       t.created_at, t.created_at, 1, ''
FROM n, p, t;
SQL
}

grow_postgres() { # url
  psql -q -v ON_ERROR_STOP=1 "$1" <<SQL
INSERT INTO action (id, plan_id, title, description, horizon, status, progress, potential,
                    seeking_partners, created_at, updated_at, version, internal_notes)
SELECT gen_random_uuid(), p.id, $TITLE, $DESCRIPTION, 'HERE_AND_NOW', 'PLANNED', 10, 3, false,
       now(), now(), 1, ''
FROM generate_series(1, $ACTIONS) g,
     (SELECT plan.id FROM plan JOIN community c ON c.id = plan.community_id
      WHERE c.slug = 'gjoel' AND plan.status = 'ADOPTED' ORDER BY plan.period_from DESC LIMIT 1) p;
-- As autovacuum would soon after.
ANALYZE action;
SQL
}

QUERY='query($q: String!) { search(query: $q, first: 20) { totalCount edges { score highlights { field snippet } node { __typename ... on Action { id title } ... on Community { id name } ... on Plan { id title } ... on Idea { id title } } } } }'

# run LABEL WORDS
run() {
  local label=$1 words=$2 body answer
  body=$(python3 -c 'import json,sys; print(json.dumps({"query": sys.argv[1], "variables": {"q": sys.argv[2]}}))' "$QUERY" "$words")
  python3 - "$body" >"$OUT/search-$label.lua" <<'PY'
import json, sys
print('wrk.method = "POST"')
print('wrk.headers["Content-Type"] = "application/json"')
print("wrk.body = " + json.dumps(sys.argv[1]))
PY
  answer=$(curl -fs "http://127.0.0.1:$PORT/graphql" -H 'content-type: application/json' --data-binary "$body")
  local total
  total=$(python3 -c 'import json,sys; a=json.loads(sys.argv[1]); assert "errors" not in a, a["errors"]; print(a["data"]["search"]["totalCount"])' "$answer")
  wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -s "$OUT/search-$label.lua" "http://127.0.0.1:$PORT/graphql" >/dev/null
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 30s --latency -s "$OUT/search-$label.lua" \
    "http://127.0.0.1:$PORT/graphql" >"$OUT/wrk-search-$BACKEND-$label.txt"
  local rps p50 p99 non2xx
  rps=$(awk '/^Requests\/sec/ { print $2 }' "$OUT/wrk-search-$BACKEND-$label.txt")
  p50=$(awk '$1 == "50%" { print $2 }' "$OUT/wrk-search-$BACKEND-$label.txt")
  p99=$(awk '$1 == "99%" { print $2 }' "$OUT/wrk-search-$BACKEND-$label.txt")
  non2xx=$(awk '/Non-2xx/ { print $NF }' "$OUT/wrk-search-$BACKEND-$label.txt")
  printf '%-9s %-8s %-24s hits %-6s req/s %-9s p50 %-9s p99 %-9s%s\n' \
    "$BACKEND" "$label" "\"$words\"" "$total" "$rps" "$p50" "$p99" "${non2xx:+ (non-2xx: $non2xx)}"
}

echo "search with $ACTIONS added actions, $CONNECTIONS connections, $DURATION per run, response cache off"
for BACKEND in $BACKENDS; do
  case $BACKEND in
    sqlite)
      FILE="$OUT/search-bench.db"
      rm -f "$FILE" "$FILE-wal" "$FILE-shm"
      URL="sqlite://$FILE?mode=rwc"
      ;;
    postgres)
      URL="${PG_ADMIN_URL%%\?*}"
      URL="${URL%/*}/$DB_NAME${PG_ADMIN_URL#"${PG_ADMIN_URL%%\?*}"}"
      psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" -c "CREATE DATABASE $DB_NAME"
      ;;
    *) echo "unknown backend $BACKEND" >&2; exit 1 ;;
  esac
  # First start: migrations, the demo data and its index.
  start_server "$URL"
  echo "$BACKEND: first start (demo data loaded and indexed) in $STARTUP s"
  stop_server
  if [ "$BACKEND" = sqlite ]; then grow_sqlite "$FILE"; else grow_postgres "$URL"; fi
  # Second start: the added actions are indexed before the server answers.
  start_server "$URL"
  echo "$BACKEND: start with $ACTIONS added actions to index in $STARTUP s"
  # Every added action is found (the start-up indexed them).
  found=$(curl -fs "http://127.0.0.1:$PORT/graphql" -H 'content-type: application/json' \
    --data-binary '{"query": "{ search(query: \"benchmarken\", first: 1) { totalCount } }"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["search"]["totalCount"])')
  [ "$found" = "$ACTIONS" ] || { echo "$BACKEND: $found of $ACTIONS added actions found" >&2; exit 1; }
  run rare "shelterpladser"
  run common "handlingen"
  run prefix "handl"
  run words "ekstra handling stie"
  run many "handlingen er tilføjet af benchmarken"
  stop_server
done
