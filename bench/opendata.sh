#!/usr/bin/env bash
# Benchmark of the open-data package (not a timed test): the release binary on the demo data
# grown to 10,000 actions (each with a theme), on SQLite and on PostgreSQL. For each database
# it fetches `datapackage.json` and every CSV it lists, one after the other, and prints each
# file's size and time, the whole package's generation time, and the server's peak memory
# (VmHWM from /proc) before and after: streaming keeps it flat however large the tables.
#
#   bench/opendata.sh                       # both databases, 10,000 actions, 3 rounds
#   ACTIONS=50000 ROUNDS=1 bench/opendata.sh
#   BACKENDS=sqlite bench/opendata.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# A loopback database: no TLS (sqlx's default `sslmode=prefer` would encrypt even to 127.0.0.1).
PG_ADMIN_URL="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
DB_NAME="${DB_NAME:-lup_bench_opendata}"
ACTIONS="${ACTIONS:-10000}"
ROUNDS="${ROUNDS:-3}"
BACKENDS="${BACKENDS:-sqlite postgres}"
PORT="${PORT:-18084}"
OUT=bench/out
mkdir -p "$OUT"

command -v curl >/dev/null || { echo "curl is needed" >&2; exit 1; }
if ! command -v sqlite3 >/dev/null; then
  echo "installing sqlite3" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3) >/dev/null
fi
case " $BACKENDS " in *" postgres "*) command -v psql >/dev/null || { echo "psql is needed" >&2; exit 1; } ;; esac

cargo build --release --bin lup -q
BIN="${CARGO_TARGET_DIR:-target}/release/lup"
BASE="http://127.0.0.1:$PORT"

SERVER=""
stop() {
  if [ -n "$SERVER" ] && kill -0 "$SERVER" 2>/dev/null; then
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
  fi
  SERVER=""
}
trap stop EXIT

start() { # DATABASE_URL: the server with the demo data, no rate limit
  APP_ENV=development RATE_LIMIT_ANONYMOUS_PER_MINUTE=0 MAX_CONCURRENT_PER_CLIENT=0 \
    DATABASE_URL="$1" BIND_ADDR="127.0.0.1:$PORT" LOG_LEVEL=warn \
    "$BIN" serve >>"$OUT/server-opendata.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 300); do curl -fs "$BASE/readyz" >/dev/null 2>&1 && return; sleep 0.2; done
  echo "the server did not start (see $OUT/server-opendata.log)" >&2
  exit 1
}

hwm() { awk '/^VmHWM/ { print $2 }' "/proc/$SERVER/status"; } # kB

# Copies of the public actions (new IDs, numbered titles) until there are $ACTIONS, each
# tagged with a theme; the argument is the database's expression for a new ID.
grow_sql() { # NEW_ID_EXPR
  cat <<SQL
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < $ACTIONS),
src AS (
  SELECT a.*, ROW_NUMBER() OVER (ORDER BY a.id) AS k, COUNT(*) OVER () AS total
  FROM action a JOIN plan p ON p.id = a.plan_id WHERE p.status IN ('ADOPTED', 'CONSULTATION', 'ARCHIVED')
)
INSERT INTO action (id, plan_id, title, description, horizon, status, progress, potential, start_on,
                    due_on, budget_estimate, lead_organization_id, seeking_partners, partner_needs,
                    created_at, updated_at, version, internal_notes, completed_on)
SELECT $1, src.plan_id, src.title || ' #' || g.n, src.description, src.horizon, src.status,
       src.progress, src.potential, src.start_on, src.due_on, src.budget_estimate,
       src.lead_organization_id, src.seeking_partners, src.partner_needs, src.created_at,
       src.updated_at, src.version, '', src.completed_on
FROM g JOIN src ON src.k = 1 + (g.n % src.total)
WHERE g.n <= $ACTIONS - (SELECT COUNT(*) FROM action);
INSERT INTO action_theme (action_id, theme_id)
SELECT a.id, (SELECT id FROM theme ORDER BY name LIMIT 1) FROM action a
WHERE a.title LIKE '% #%' AND NOT EXISTS (SELECT 1 FROM action_theme t WHERE t.action_id = a.id);
-- Fresh statistics, as the database's own upkeep would soon have (without them PostgreSQL
-- plans the first reads of the grown tables for a hundred rows, not ten thousand).
ANALYZE;
SQL
}

# One round: the descriptor and every file it lists; prints a line per file, then the total.
fetch_all() { # ROUND
  local files total_bytes=0 t0 t1
  files=$(curl -fs "$BASE/opendata/datapackage.json" | python3 -c 'import json,sys; print(" ".join(r["path"] for r in json.load(sys.stdin)["resources"]))')
  t0=$(date +%s.%N)
  curl -fs -o /dev/null "$BASE/opendata/datapackage.json"
  for f in $files; do
    local line size secs
    line=$(curl -fs -o /dev/null -w '%{size_download} %{time_total}' "$BASE/opendata/$f")
    size=${line% *}; secs=${line#* }
    total_bytes=$((total_bytes + size))
    [ "$1" -eq 1 ] && printf '    %-32s %10s bytes %8.3f s\n' "$f" "$size" "$secs"
  done
  t1=$(date +%s.%N)
  printf '  round %s: the whole package (%s files, %s bytes) in %.2f s\n' "$1" "$(wc -w <<<"$files")" \
    "$total_bytes" "$(python3 -c "print($t1 - $t0)")"
}

run() { # LABEL DATABASE_URL GROW_COMMAND...
  local label=$1 url=$2; shift 2
  echo "== $label"
  start "$url"       # migrations and the demo data
  stop
  "$@"               # grown to $ACTIONS actions
  start "$url"
  local before; before=$(hwm)  # after start-up
  echo "  public actions: $(curl -fs "$BASE/opendata/actions.csv" | python3 -c 'import csv,sys; print(sum(1 for _ in csv.reader(sys.stdin)) - 1)')"
  for r in $(seq 1 "$ROUNDS"); do fetch_all "$r"; done
  echo "  peak memory (VmHWM): $before kB after start-up, $(hwm) kB after the rounds"
  stop
}

for backend in $BACKENDS; do
  case $backend in
    sqlite)
      db="$OUT/opendata-bench.db"
      rm -f "$db" "$db-wal" "$db-shm"
      grow_sqlite() { grow_sql 'randomblob(16)' | sqlite3 "$db"; }
      run "SQLite, $ACTIONS actions" "sqlite://$db?mode=rwc" grow_sqlite
      ;;
    postgres)
      DB_URL="${PG_ADMIN_URL%%\?*}"
      DB_URL="${DB_URL%/*}/$DB_NAME${PG_ADMIN_URL#"${PG_ADMIN_URL%%\?*}"}"
      psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" -c "CREATE DATABASE $DB_NAME"
      grow_pg() { grow_sql 'gen_random_uuid()' | psql -q -v ON_ERROR_STOP=1 "$DB_URL"; }
      run "PostgreSQL, $ACTIONS actions" "$DB_URL" grow_pg
      ;;
    *) echo "unknown backend $backend" >&2; exit 1 ;;
  esac
done
