#!/usr/bin/env bash
# GraphQL over HTTP: runs every server audit of the npm package graphql-http (pinned below)
# against the API on a fresh SQLite database; prints each audit with its result and fails
# when any audit fails.
set -euo pipefail
cd "$(dirname "$0")/.."

GRAPHQL_HTTP_VERSION=1.23.1
GRAPHQL_VERSION=16.15.0

# The audit package, installed once per version into a cache directory.
npm_dir="${XDG_CACHE_HOME:-$HOME/.cache}/lup/graphql-http-$GRAPHQL_HTTP_VERSION-graphql-$GRAPHQL_VERSION"
if [ ! -f "$npm_dir/node_modules/graphql-http/package.json" ] || [ ! -f "$npm_dir/node_modules/graphql/package.json" ]; then
  echo "installing graphql-http@$GRAPHQL_HTTP_VERSION graphql@$GRAPHQL_VERSION" >&2
  mkdir -p "$npm_dir"
  npm install --prefix "$npm_dir" --no-audit --no-fund --loglevel=error \
    "graphql-http@$GRAPHQL_HTTP_VERSION" "graphql@$GRAPHQL_VERSION" >&2
fi

# The release binary, as CI has just built it (building the debug one would compile the api
# crate again with other features than the test build's).
bin="${LUP_BIN:-${CARGO_TARGET_DIR:-target}/release/lup}"
[ -x "$bin" ] || cargo build -q --release --bin lup

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

port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
DATABASE_URL="sqlite://$work/lup.db?mode=rwc" BIND_ADDR="127.0.0.1:$port" APP_ENV=development \
  SEED_DEMO=false LOG_LEVEL=warn "$bin" >"$work/server.log" 2>&1 &
server=$!

if ! node .ci/graphql-http-audit.mjs "$npm_dir" "http://127.0.0.1:$port"; then
  if ! kill -0 "$server" 2>/dev/null; then
    echo "the server stopped; its log:" >&2
    cat "$work/server.log" >&2
  fi
  exit 1
fi
