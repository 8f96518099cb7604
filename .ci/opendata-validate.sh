#!/usr/bin/env bash
# Open data: validates the data package with `frictionless validate` (PyPI `frictionless`,
# pinned below) against the release binary on a fresh SQLite database with the demo data:
# the descriptor, every CSV against its Table Schema, primary and foreign keys. Any error
# fails. `.ci/run` calls it after building the release binary; `FRICTIONLESS_VERSION` is also
# what `.ci/run` installs for the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

FRICTIONLESS_VERSION="${FRICTIONLESS_VERSION:-5.21.0}"
if ! command -v frictionless >/dev/null 2>&1 || [ "$(frictionless --version 2>/dev/null)" != "$FRICTIONLESS_VERSION" ]; then
  echo "installing frictionless==$FRICTIONLESS_VERSION" >&2
  python3 -m pip install --quiet --disable-pip-version-check "frictionless==$FRICTIONLESS_VERSION" >&2
fi

bin="${LUP_BIN:-${CARGO_TARGET_DIR:-target}/release/lup}"
[ -x "$bin" ] || { echo "no release binary at $bin (cargo build --release --bin lup)" >&2; exit 1; }

work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DATABASE_URL="sqlite://$work/lup.db?mode=rwc" BIND_ADDR="127.0.0.1:$port" APP_ENV=development \
  SEED_DEMO=true LOG_LEVEL=warn "$bin" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 150); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.2
done
if ! curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then
  echo "the server did not start; its log:" >&2
  cat "$work/server.log" >&2
  exit 1
fi

url="http://127.0.0.1:$port/opendata/datapackage.json"
if frictionless validate --json "$url" >"$work/report.json"; then
  ok=1
else
  ok=0
fi
# One line per file, then the verdict; every error in full when there are any.
python3 - "$work/report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
tasks = report.get("tasks", [])
for t in tasks:
    stats = t.get("stats", {})
    print(f"  {t.get('name', '?'):28} {'valid' if t.get('valid') else 'INVALID':8} rows {stats.get('rows', '?')}")
errors = report.get("errors", []) + [e for t in tasks for e in t.get("errors", [])]
for e in errors:
    print("  error:", e.get("type"), "-", e.get("message"))
print(f"open data package: {len(tasks)} files, {len(errors)} errors")
sys.exit(0 if report.get("valid") and not errors else 1)
PY
[ "$ok" -eq 1 ]
