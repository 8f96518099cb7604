// The change feed and subscription fan-out, against a running server (bench/changes.sh starts
// one): prints
//   feed     reading the whole feed from the start, 100 a page, as staff and as anonymous:
//            pages/s and events/s (one client, pages one after the other, as a partner
//            building its copy would)
//   writes   mutations/s of WRITES small writes (a status update each) at 8 at once, each
//            recording its events
//   fan-out  SUBSCRIBERS subscriptions of `changed` (anonymous, SUBSCRIPTIONS_PER_CONNECTION
//            per WebSocket), then ROUNDS writes one after the other: for each, the time from
//            the mutation's answer to the last subscriber's receipt (p50/p99/max over rounds),
//            and whether every subscriber got every change.
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const base = process.env.URL ?? "http://127.0.0.1:18085";
const subscribers = Number(process.env.SUBSCRIBERS ?? 1000);
const perConnection = Number(process.env.SUBSCRIPTIONS_PER_CONNECTION ?? 10);
const rounds = Number(process.env.ROUNDS ?? 20);
const writes = Number(process.env.WRITES ?? 400);

async function gql(query, variables = {}, token) {
  const headers = { "content-type": "application/json", accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await fetch(`${base}/graphql`, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  const body = await r.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

const login = await gql(
  "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken } }",
  { e: process.env.STAFF_EMAIL ?? "koordinator@lup.test", p: process.env.STAFF_PASSWORD ?? "demo-adgangskode" },
);
const token = login.login.accessToken;

// 1. The feed from the start.
const FEED = "query($after: String) { changes(after: $after, first: 100) { edges { node { kind type nodeId } } pageInfo { hasNextPage } resumeCursor } }";
for (const [who, t] of [["staff", token], ["anonymous", undefined]]) {
  let after = null, pages = 0, events = 0;
  const t0 = performance.now();
  for (;;) {
    const d = (await gql(FEED, { after }, t)).changes;
    pages++; events += d.edges.length; after = d.resumeCursor;
    if (!d.pageInfo.hasNextPage) break;
  }
  const s = (performance.now() - t0) / 1000;
  console.log(`feed ${who.padEnd(9)} ${events} events in ${pages} pages, ${s.toFixed(2)} s: ${(pages / s).toFixed(0)} pages/s, ${(events / s).toFixed(0)} events/s`);
}

// An action to write to: the first of the public feed.
const actions = (await gql("{ actions(first: 8) { nodes { id } } }", {}, token)).actions.nodes.map((a) => a.id);
const UPDATE = "mutation($i: CreateActionUpdateInput!) { createActionUpdate(input: $i) { userErrors { code } } }";
const write = (i) =>
  gql(UPDATE, { i: { actionId: actions[i % actions.length], body: `Status ${i}: arbejdet skrider frem.`, postedOn: "2026-12-03" } }, token);

// 2. Writes.
{
  let next = 0;
  const t0 = performance.now();
  const lat = [];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < writes) {
        const i = next++;
        const s = performance.now();
        await write(i);
        lat.push(performance.now() - s);
      }
    }),
  );
  const s = (performance.now() - t0) / 1000;
  console.log(`writes   ${writes} at 8 at once: ${(writes / s).toFixed(0)} mutations/s, p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms`);
}

// 3. Fan-out.
const ws = base.replace(/^http/, "ws") + "/graphql";
const clients = [];
const received = new Map(); // round -> receipts
let expected = null;
let subscribed = 0;
const SUB = "subscription { changed(types: [ACTION_UPDATE]) { kind nodeId } }";
await new Promise((resolve, reject) => {
  for (let c = 0; c < Math.ceil(subscribers / perConnection); c++) {
    const client = createClient({ url: ws, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0 });
    clients.push(client);
    for (let k = 0; k < perConnection && c * perConnection + k < subscribers; k++) {
      client.subscribe(
        { query: SUB },
        {
          next: () => {
            const at = performance.now();
            if (expected !== null) {
              const r = received.get(expected) ?? [];
              r.push(at);
              received.set(expected, r);
            }
          },
          error: (e) => reject(new Error(`subscription failed: ${JSON.stringify(e?.reason ?? e?.message ?? e)}`)),
          complete: () => {},
        },
      );
      subscribed++;
    }
  }
  // The subscriptions start on the server once each connection is acknowledged.
  setTimeout(resolve, 2000);
});
const delays = [];
let complete = 0;
for (let r = 0; r < rounds; r++) {
  expected = r;
  await write(10_000 + r);
  const done = performance.now();
  const deadline = done + 5000;
  while ((received.get(r)?.length ?? 0) < subscribed && performance.now() < deadline) {
    await new Promise((s) => setTimeout(s, 2));
  }
  const got = received.get(r) ?? [];
  if (got.length >= subscribed) complete++;
  delays.push(Math.max(0, Math.max(...got) - done));
}
console.log(
  `fan-out  ${subscribed} subscribers on ${clients.length} connections, ${rounds} writes: last receipt after the mutation's answer ` +
    `p50 ${pct(delays, 50).toFixed(1)} ms, p99 ${pct(delays, 99).toFixed(1)} ms, max ${Math.max(...delays).toFixed(1)} ms; ` +
    `${complete}/${rounds} writes reached every subscriber`,
);
for (const c of clients) await c.dispose();
process.exit(0);
