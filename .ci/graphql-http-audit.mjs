// Runs every `serverAudits` audit of graphql-http against a running server and prints each
// with its result; exits 1 when any audit does not pass.
// Usage: node graphql-http-audit.mjs <dir holding node_modules> <base URL of the server>
import { createRequire } from 'node:module';
import path from 'node:path';

const [dir, base] = process.argv.slice(2);
if (!dir || !base) {
  console.error('usage: node graphql-http-audit.mjs <install dir> <base URL>');
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(dir), 'node_modules', 'noop.js'));
const { serverAudits } = require('graphql-http');
const { version } = require('graphql-http/package.json');

// Wait for the server.
const deadline = Date.now() + 120_000;
for (;;) {
  try {
    const res = await fetch(new URL('/healthz', base));
    if (res.ok) break;
  } catch {
    // not listening yet
  }
  if (Date.now() > deadline) {
    console.error(`graphql-http audit: ${base}/healthz did not answer`);
    process.exit(1);
  }
  await new Promise((resolve) => setTimeout(resolve, 250));
}

const url = new URL('/graphql', base).toString();
let passed = 0;
let failed = 0;
for (const { id, name, fn } of serverAudits({ url })) {
  let result;
  try {
    result = await fn();
  } catch (err) {
    result = { status: 'fatal', reason: String(err?.stack ?? err) };
  }
  if (result.status === 'ok') {
    passed += 1;
    console.log(`ok    ${id} ${name}`);
  } else {
    failed += 1;
    console.log(`FAIL  ${id} ${name} [${result.status}]: ${result.reason}`);
    if (result.response) {
      const res = result.response;
      let body = '';
      try {
        body = await res.text();
      } catch {
        // the audit already read it
      }
      console.log(`      got ${res.status} ${res.headers.get('content-type') ?? ''} ${body.slice(0, 300)}`);
    }
  }
}
console.log(`graphql-http ${version} audits: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
