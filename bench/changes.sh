#!/usr/bin/env bash
# Benchmark of the change feed and of subscription fan-out, on SQLite and PostgreSQL: the
# release binary, ACTIONS actions added to the demo data with SQL (around the API, so the
# start-up's catch-up gives them their events, and its time is printed), then
# bench/changes/bench.mjs (Node, graphql-ws and ws pinned in bench/changes/package-lock.json,
# installed by the script):
#   feed     the whole feed read from the start, 100 a page, as staff and as anonymous
#   writes   small writes (a status update each, its events recorded at commit), 8 at once
#   fan-out  SUBSCRIBERS anonymous subscriptions of `changed`, 10 a WebSocket, then ROUNDS
#            writes: the time from a mutation's answer to the last subscriber's receipt
# Not a timed test: figures on a shared machine move; compare runs made together.
#
#   bench/changes.sh                         # 10,000 actions, 1,000 subscribers, 20 rounds
#   ACTIONS=2000 SUBSCRIBERS=200 bench/changes.sh
#   BACKENDS=postgres LUP_BIN=path/to/lup bench/changes.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PG_ADMIN_URL="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
DB_NAME="${DB_NAME:-lup_bench_changes}"
ACTIONS="${ACTIONS:-10000}"
PORT="${PORT:-18085}"
BACKENDS="${BACKENDS:-sqlite postgres}"
export SUBSCRIBERS="${SUBSCRIBERS:-1000}" ROUNDS="${ROUNDS:-20}" WRITES="${WRITES:-400}"
OUT=bench/out
mkdir -p "$OUT"

need() { # command, Debian package
  if ! command -v "$1" >/dev/null; then
    echo "installing $2" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2") >/dev/null
  fi
}
need sqlite3 sqlite3
need curl curl
need node nodejs
need npm npm
[[ " $BACKENDS " == *" postgres "* ]] && need psql postgresql-client
npm ci --silent --prefix bench/changes >/dev/null

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

STARTUP=
start_server() { # DATABASE_URL
  local started
  started=$(date +%s.%N)
  APP_ENV=development RATE_LIMIT_ANONYMOUS_PER_MINUTE=0 RATE_LIMIT_ACCOUNT_PER_MINUTE=0 \
    MAX_CONCURRENT_PER_CLIENT=0 WS_MAX_CONNECTIONS_PER_CLIENT=0 PUBLIC_CACHE_TTL_MS=0 \
    DATABASE_URL="$1" BIND_ADDR="127.0.0.1:$PORT" LOG_LEVEL=info \
    "$LUP_BIN" serve >>"$OUT/server-changes.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 3000); do
    if ! kill -0 "$SERVER" 2>/dev/null; then
      echo "the server stopped (see $OUT/server-changes.log)" >&2
      exit 1
    fi
    if curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; then
      STARTUP=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$started" "$(date +%s.%N)")
      return
    fi
    sleep 0.1
  done
  echo "the server did not start (see $OUT/server-changes.log)" >&2
  exit 1
}

TITLE="'Ekstra indsats ' || g"
grow_sqlite() { # file
  sqlite3 -bail "$1" <<SQL
WITH RECURSIVE n(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM n WHERE g < $ACTIONS),
p AS (SELECT plan.id AS id FROM plan JOIN community c ON c.id = plan.community_id
      WHERE c.slug = 'gjoel' AND plan.status = 'ADOPTED' ORDER BY plan.period_from DESC LIMIT 1),
t AS (SELECT created_at FROM action LIMIT 1)
INSERT INTO action (id, plan_id, title, description, horizon, status, progress, potential,
                    seeking_partners, created_at, updated_at, version, internal_notes)
SELECT randomblob(16), p.id, $TITLE, '', 'HERE_AND_NOW', 'PLANNED', 10, 3, 0,
       t.created_at, t.created_at, 1, ''
FROM n, p, t;
SQL
}
grow_postgres() { # url
  psql -q -v ON_ERROR_STOP=1 "$1" <<SQL
INSERT INTO action (id, plan_id, title, description, horizon, status, progress, potential,
                    seeking_partners, created_at, updated_at, version, internal_notes)
SELECT gen_random_uuid(), p.id, $TITLE, '', 'HERE_AND_NOW', 'PLANNED', 10, 3, false,
       now(), now(), 1, ''
FROM generate_series(1, $ACTIONS) g,
     (SELECT plan.id FROM plan JOIN community c ON c.id = plan.community_id
      WHERE c.slug = 'gjoel' AND plan.status = 'ADOPTED' ORDER BY plan.period_from DESC LIMIT 1) p;
ANALYZE action;
SQL
}

echo "change feed: $ACTIONS added actions; $SUBSCRIBERS subscribers, $ROUNDS rounds; response cache off"
for BACKEND in $BACKENDS; do
  case $BACKEND in
    sqlite)
      FILE="$OUT/changes-bench.db"
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
  start_server "$URL"
  echo "$BACKEND: first start (demo data and its events) in $STARTUP s"
  stop_server
  if [ "$BACKEND" = sqlite ]; then grow_sqlite "$FILE"; else grow_postgres "$URL"; fi
  start_server "$URL"
  echo "$BACKEND: start with $ACTIONS added actions to catch up in $STARTUP s"
  URL="http://127.0.0.1:$PORT" node bench/changes/bench.mjs | sed "s/^/$BACKEND: /"
  stop_server
done
