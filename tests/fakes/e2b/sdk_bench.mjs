#!/usr/bin/env node
// The official JS SDK's side of the E2B benchmark (issue 6, item 6): against a
// running fake E2B server, measures
//   (a) the time from Sandbox.create() to the first commands.run('true') result,
//   (b) the round trip of commands.run('true') over N iterations,
//   (c) TLS handshakes and requests per command, from the fake's /__stats.
// Prints one JSON object on stdout. The C++ bench runs next to it against the
// same fake.
//
//   E2B_API_URL=https://127.0.0.1:PORT E2B_SANDBOX_URL=https://127.0.0.1:PORT \
//   E2B_API_KEY=e2b_... NODE_EXTRA_CA_CERTS=ca.pem node sdk_bench.mjs [--iterations N] [--instant]
//
// --instant sets the fake's instant_commands knob to ["true"] for the run (and
// removes it after): `true` is then answered without starting a process, so
// the times are the client's and the protocol's, not the fake's fork/exec.
//
// Handshakes are counted on the connections that carried SDK requests: the
// fake's `control_connections` (connections whose first request was one of
// its /__ endpoints, i.e. this script's own /__stats calls) are subtracted.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sandbox } from 'e2b';

const here = path.dirname(fileURLToPath(import.meta.url));

function usage(msg) {
  if (msg) process.stderr.write(`sdk_bench: ${msg}\n`);
  process.stderr.write('usage: E2B_API_URL=... E2B_SANDBOX_URL=... E2B_API_KEY=e2b_... node sdk_bench.mjs [--iterations N] [--instant]\n');
  process.exit(2);
}

let iterations = 100;
let instant = false;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--iterations' && i + 1 < argv.length) iterations = Number(argv[++i]);
  else if (argv[i] === '--instant') instant = true;
  else if (argv[i] === '-h' || argv[i] === '--help') usage();
  else usage(`unknown argument ${argv[i]}`);
}
if (!Number.isInteger(iterations) || iterations < 1) usage('--iterations must be a positive integer');
const apiUrl = process.env.E2B_API_URL;
if (!apiUrl || !process.env.E2B_SANDBOX_URL || !process.env.E2B_API_KEY) usage('E2B_API_URL, E2B_SANDBOX_URL and E2B_API_KEY are required');

async function stats() {
  const r = await fetch(new URL('/__stats', apiUrl));
  if (!r.ok) throw new Error(`GET /__stats: ${r.status}`);
  return r.json();
}

// Deltas of the counters that concern the SDK's own traffic.
function delta(a, b) {
  const routes = {};
  for (const [k, v] of Object.entries(b.requests_by_route)) {
    const d = v - (a.requests_by_route[k] ?? 0);
    if (d) routes[k] = d;
  }
  return {
    requests: b.requests - a.requests,
    tls_handshakes: (b.tls_handshakes - a.tls_handshakes) - (b.control_connections - a.control_connections),
    connections: (b.connections - a.connections) - (b.control_connections - a.control_connections),
    requests_by_route: routes,
  };
}

const now = () => Number(process.hrtime.bigint()) / 1e6;
const round = (x) => Math.round(x * 1000) / 1000;

async function setFaults(f) {
  const r = await fetch(new URL('/__faults', apiUrl), { method: 'POST', body: JSON.stringify(f) });
  if (!r.ok) throw new Error(`POST /__faults: ${r.status}`);
}

// --instant: the fake answers `true` without starting a process (its
// instant_commands knob), so the numbers are the clients' and the protocol's.
if (instant) await setFaults({ instant_commands: ['true'] });
const s0 = await stats();
const t0 = now();
const sbx = await Sandbox.create();
const t1 = now();
const first = await sbx.commands.run('true');
const t2 = now();
if (first.exitCode !== 0) throw new Error(`first command: exit ${first.exitCode}`);
const s1 = await stats();

const times = [];
let s2;
try {
  for (let i = 0; i < iterations; i++) {
    const a = now();
    const r = await sbx.commands.run('true');
    times.push(now() - a);
    if (r.exitCode !== 0) throw new Error(`command ${i}: exit ${r.exitCode}`);
  }
} finally {
  s2 = await stats();
  await sbx.kill();
  if (instant) await setFaults({ instant_commands: null });
}

const sorted = [...times].sort((x, y) => x - y);
const pct = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
const start = delta(s0, s1);
const loop = delta(s1, s2);
const perRoute = Object.fromEntries(Object.entries(loop.requests_by_route).map(([k, v]) => [k, round(v / iterations)]));
const sdkVersion = JSON.parse(fs.readFileSync(path.join(here, 'node_modules/e2b/package.json'), 'utf8')).version;

process.stdout.write(`${JSON.stringify({
  client: 'e2b-js-sdk',
  sdk_version: sdkVersion,
  node: process.version,
  api_url: apiUrl,
  iterations,
  instant,
  create_ms: round(t1 - t0),
  first_command_ms: round(t2 - t1),
  create_to_first_result_ms: round(t2 - t0),
  per_command_ms: {
    median: round(sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2),
    mean: round(times.reduce((x, y) => x + y, 0) / times.length),
    p90: round(pct(0.9)),
    min: round(sorted[0]),
    max: round(sorted.at(-1)),
  },
  per_command_tls_handshakes: round(loop.tls_handshakes / iterations),
  per_command_requests: round(loop.requests / iterations),
  per_command_requests_by_route: perRoute,
  start: start, // create + first command: requests, TLS handshakes, connections
  loop: { requests: loop.requests, tls_handshakes: loop.tls_handshakes, connections: loop.connections },
})}\n`);
