#!/usr/bin/env node
// Fake E2B server for stirrup-cpp's tests: the control plane (api.e2b.app) and
// envd (the daemon inside each sandbox) on one port, with real processes run in
// a per-sandbox directory that plays /home/user.
//
//   node server.mjs [--cert FILE --key FILE | --plain] [--port N] [--host H]
//                   [--api-key KEY] [--domain D] [--isolation auto|mount|none]
//                   [--keep-alive-timeout MS]
//
// Prints exactly one line `{"port": N}` on stdout once listening; exits on
// SIGTERM, SIGINT, or when its stdin (if a pipe) is closed, killing every
// process it started and removing every sandbox directory. Wire behaviour,
// control endpoints (/__stats, /__sandboxes, /__requests, /__faults, /__reset)
// and limits are described in README.md. Only node:http / node:https.

import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { handleEnvd, ENVD_ROUTES } from './envd.mjs';
import { Sandbox, probeIsolation, randomId } from './sandbox.mjs';

// ---------------------------------------------------------------------------
// command line

function die(msg) {
  process.stderr.write(`fake-e2b: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { port: 0, host: '127.0.0.1', plain: false, apiKey: null, domain: null, isolation: 'auto', keepAliveTimeout: 65000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) die(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--cert': opts.cert = val(); break;
      case '--key': opts.key = val(); break;
      case '--plain': opts.plain = true; break;
      case '--port': opts.port = Number(val()); break;
      case '--host': opts.host = val(); break;
      case '--api-key': opts.apiKey = val(); break;
      case '--domain': opts.domain = val(); break;
      case '--isolation': opts.isolation = val(); break;
      case '--keep-alive-timeout': opts.keepAliveTimeout = Number(val()); break;
      case '-h': case '--help':
        process.stdout.write('usage: node server.mjs [--cert FILE --key FILE | --plain] [--port N] [--host H] '
          + '[--api-key KEY] [--domain D] [--isolation auto|mount|none] [--keep-alive-timeout MS]\n');
        process.exit(0);
        break;
      default: die(`unknown argument: ${a}`);
    }
  }
  if (!opts.plain && (!opts.cert || !opts.key)) die('--cert and --key are required (or --plain)');
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) die('bad --port');
  if (!['auto', 'mount', 'none'].includes(opts.isolation)) die('--isolation must be auto, mount or none');
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const debug = !!process.env.FAKE_E2B_DEBUG;
const log = (...a) => { if (debug) process.stderr.write(`fake-e2b: ${a.join(' ')}\n`); };

let isolation;
try {
  isolation = probeIsolation(opts.isolation);
} catch (e) {
  die(e.message);
}
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-e2b-'));

// ---------------------------------------------------------------------------
// state

const ENVD_PORT = 49983;
const DEFAULT_ENVD_VERSION = '0.6.13';
const CLIENT_ID = '6532622b'; // constant in infra (consts/sandboxes.go)
const MAX_TIMEOUT_S = 24 * 3600; // a Pro team's limit

const sandboxes = new Map(); // id -> Sandbox (live only)
let faults = {};
let requests = [];
let seq = 0;
let connSeq = 0;
const stats = {
  created: 0, killed: 0, expired: 0, vanished: 0,
  connections: 0, open_connections: 0, tls_handshakes: 0, control_connections: 0,
  requests: 0, requests_by_route: {},
};

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

function sendJson(res, status, obj, headers = {}) {
  const body = Buffer.from(JSON.stringify(obj));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length, ...headers });
  res.end(body);
}

// The control plane's error body (openapi.yml components.schemas.Error).
function apiError(res, status, message, headers = {}, extra = {}) {
  sendJson(res, status, { code: status, message, ...extra }, headers);
}

function noContent(res) {
  res.writeHead(204);
  res.end();
}

// Removes a sandbox now: its processes are killed, its streams cut, its
// directory removed; later requests see it gone (404 API, 502 envd).
function removeSandbox(sb, counter) {
  if (!sandboxes.has(sb.id)) return;
  sandboxes.delete(sb.id);
  sb.destroy();
  if (counter) stats[counter]++;
  log(`sandbox ${sb.id} removed (${counter})`);
}

function armExpiry(sb) {
  clearTimeout(sb.expiryTimer);
  sb.expiryTimer = setTimeout(() => removeSandbox(sb, 'expired'), Math.max(0, sb.endAt - Date.now()));
  sb.expiryTimer.unref();
}

function runningProcesses() {
  let n = 0;
  for (const sb of sandboxes.values()) n += sb.runningCount();
  return n;
}

// ---------------------------------------------------------------------------
// control plane

function templateIdOf(name) {
  // A stable 20-character [a-z0-9] ID per template name, like rki5dems9wqfm4r03t7g.
  const h = crypto.createHash('sha256').update(name).digest();
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  for (let i = 0; i < 20; i++) s += alphabet[h[i] % alphabet.length];
  return s;
}

function sandboxJson(sb) {
  const o = {
    templateID: sb.templateID, sandboxID: sb.id, alias: sb.alias, clientID: CLIENT_ID,
    envdVersion: sb.envdVersion,
  };
  if (sb.token) o.envdAccessToken = sb.token;
  o.trafficAccessToken = null;
  o.domain = opts.domain;
  return o;
}

function listedJson(sb) {
  return {
    templateID: sb.templateID, alias: sb.alias, sandboxID: sb.id, clientID: CLIENT_ID,
    startedAt: new Date(sb.startedAt).toISOString(), endAt: new Date(sb.endAt).toISOString(),
    cpuCount: 2, memoryMB: 512, diskSizeMB: 10240, metadata: sb.metadata, state: 'running',
    envdVersion: sb.envdVersion, volumeMounts: [],
  };
}

function detailJson(sb) {
  const o = listedJson(sb);
  if (sb.token) o.envdAccessToken = sb.token;
  o.allowInternetAccess = sb.allowInternetAccess ?? null;
  o.domain = opts.domain;
  o.lifecycle = { autoResume: false, onTimeout: 'kill' };
  return o;
}

const notFoundMessage = (id) => `Sandbox "${id}" doesn't exist or you don't have access to it`;

function parseJsonBody(res, body, { optional = false } = {}) {
  if (body.length === 0) {
    if (optional) return {};
    apiError(res, 400, 'request body has an error: value is required but missing');
    return null;
  }
  let v;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch (e) {
    apiError(res, 400, `request body has an error: failed to decode request body: ${e.message}`);
    return null;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    apiError(res, 400, 'request body has an error: doesn\'t match schema: value must be an object');
    return null;
  }
  return v;
}

function stringMap(v) {
  return v === undefined || v === null || (typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string'));
}

// Validates an optional int32 seconds field; returns undefined, a number, or
// null after answering 400.
function timeoutField(res, body, key) {
  const t = body[key];
  if (t === undefined || t === null) return undefined;
  if (!Number.isInteger(t) || t < 0 || t > 2147483647) {
    apiError(res, 400, `request body has an error: doesn't match schema: Error at "/${key}": number must be an int32 and at least 0`);
    return null;
  }
  if (t > MAX_TIMEOUT_S) {
    apiError(res, 400, `Timeout cannot be greater than ${MAX_TIMEOUT_S / 3600} hours`);
    return null;
  }
  return t;
}

async function createSandbox(req, res, body, v2) {
  if (faults.create_delay_ms > 0) await sleep(faults.create_delay_ms);
  const f429 = faults.create_429;
  if (f429 && f429.count > 0) {
    f429.count--;
    const after = String(f429.retry_after ?? 1);
    return apiError(res, 429, 'Rate limit exceeded', { 'retry-after': after, 'ratelimit-limit': '5', 'ratelimit-remaining': '0', 'ratelimit-reset': after });
  }
  const f5xx = faults.create_5xx;
  if (f5xx && f5xx.count > 0) {
    f5xx.count--;
    const status = f5xx.status ?? 500;
    const extra = status === 503 ? { error_code: 'sandbox_capacity_unavailable' } : status === 500 ? { error_code: 'internal_server_error' } : {};
    return apiError(res, status, status === 503 ? 'Sandbox capacity is temporarily unavailable, please retry' : `Failed to create sandbox: fake E2B server fault ${status}`, {}, extra);
  }

  const b = parseJsonBody(res, body);
  if (b === null) return;
  if (typeof b.templateID !== 'string' || b.templateID === '') {
    return apiError(res, 400, 'request body has an error: doesn\'t match schema: Error at "/templateID": property "templateID" is missing');
  }
  if (!stringMap(b.metadata)) return apiError(res, 400, 'request body has an error: doesn\'t match schema: Error at "/metadata": value must be a map of strings');
  if (!stringMap(b.envVars)) return apiError(res, 400, 'request body has an error: doesn\'t match schema: Error at "/envVars": value must be a map of strings');
  let timeout = timeoutField(res, b, 'timeout');
  if (timeout === null) return;
  if (timeout === undefined) timeout = v2 ? 300 : 15;
  if (timeout <= 0) return apiError(res, 400, 'Timeout must be greater than 0');

  const name = b.templateID;
  const unknown = Array.isArray(faults.unknown_templates) ? faults.unknown_templates : [];
  if (unknown.includes(name)) return apiError(res, 404, `template '${name}' not found`);
  if (Number.isInteger(faults.max_live) && sandboxes.size >= faults.max_live) {
    return apiError(res, 429, `you have reached the maximum number of concurrent E2B sandboxes (${faults.max_live}). If you need more, please contact us at 'https://e2b.dev/docs/getting-help'`);
  }

  // v2 sandboxes are always secure; v1 only when asked (`secure: true`).
  const secure = v2 ? true : b.secure === true;
  let id;
  do id = randomId(); while (sandboxes.has(id));
  const alias = name.replace(/:[^/]*$/, '').replace(/^.*\//, '');
  const sb = new Sandbox({
    id, root, isolation,
    templateID: templateIdOf(name), alias,
    metadata: { ...(b.metadata ?? {}) }, envVars: { ...(b.envVars ?? {}) },
    envdVersion: typeof faults.envd_version === 'string' ? faults.envd_version : DEFAULT_ENVD_VERSION,
    token: secure ? crypto.randomBytes(24).toString('base64url') : null,
    allowInternetAccess: typeof b.allow_internet_access === 'boolean' ? b.allow_internet_access : null,
  });
  try {
    await sb.init();
  } catch (e) {
    sb.destroy();
    return apiError(res, 500, `Failed to create sandbox: ${e.message}`);
  }
  sb.endAt = sb.startedAt + timeout * 1000;
  sandboxes.set(id, sb);
  armExpiry(sb);
  stats.created++;
  log(`sandbox ${id} created (${name}, ${timeout}s)`);
  sendJson(res, 201, sandboxJson(sb));
}

// Metadata filter "k=v&k2=v2" (each part URL-encoded) of the list endpoints.
function metadataFilter(q) {
  if (!q) return () => true;
  const dec = (x) => {
    try {
      return decodeURIComponent(x);
    } catch {
      return x;
    }
  };
  const pairs = [...new URLSearchParams(q)].map(([k, v]) => [dec(k), dec(v)]);
  return (sb) => pairs.every(([k, v]) => sb.metadata[k] === v);
}

function listSandboxes(res, url, v2) {
  let list = [...sandboxes.values()].filter(metadataFilter(url.searchParams.get('metadata')));
  if (!v2) return sendJson(res, 200, list.map(listedJson));
  const state = url.searchParams.get('state');
  if (state && !state.split(',').includes('running')) list = [];
  const template = url.searchParams.get('template');
  if (template) list = list.filter((sb) => sb.alias === template || sb.templateID === template);
  const after = url.searchParams.get('startedAfter');
  if (after) {
    const t = Date.parse(after);
    if (Number.isNaN(t)) return apiError(res, 400, 'Invalid startedAfter');
    list = list.filter((sb) => sb.startedAt >= t);
  }
  const order = url.searchParams.get('order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc') return apiError(res, 400, `Invalid order: ${order}`);
  list.sort((a, b) => (order === 'asc' ? a.startedAt - b.startedAt : b.startedAt - a.startedAt) || a.id.localeCompare(b.id));
  const limitQ = url.searchParams.get('limit');
  const limit = limitQ === null ? 100 : Number(limitQ);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) return apiError(res, 400, 'limit must be between 1 and 100');
  let start = 0;
  const token = url.searchParams.get('nextToken');
  if (token) {
    start = Number(Buffer.from(token, 'base64url').toString());
    if (!Number.isInteger(start) || start < 0) return apiError(res, 400, 'Invalid next token');
  }
  const page = list.slice(start, start + limit);
  const headers = { 'x-total-running': String(list.length) };
  if (start + limit < list.length) headers['x-next-token'] = Buffer.from(String(start + limit)).toString('base64url');
  sendJson(res, 200, page.map(listedJson), headers);
}

const ROUTES = [
  ['POST', /^\/sandboxes$/, 'POST /sandboxes', (c) => createSandbox(c.req, c.res, c.body, false)],
  ['POST', /^\/v2\/sandboxes$/, 'POST /v2/sandboxes', (c) => createSandbox(c.req, c.res, c.body, true)],
  ['GET', /^\/sandboxes$/, 'GET /sandboxes', (c) => listSandboxes(c.res, c.url, false)],
  ['GET', /^\/v2\/sandboxes$/, 'GET /v2/sandboxes', (c) => listSandboxes(c.res, c.url, true)],
  ['GET', /^\/sandboxes\/([^/]+)$/, 'GET /sandboxes/{id}', (c, sb) => sendJson(c.res, 200, detailJson(sb))],
  ['DELETE', /^\/sandboxes\/([^/]+)$/, 'DELETE /sandboxes/{id}', (c, sb) => {
    removeSandbox(sb, 'killed');
    if (faults.kill_404) return apiError(c.res, 404, notFoundMessage(sb.id));
    noContent(c.res);
  }],
  ['POST', /^\/sandboxes\/([^/]+)\/timeout$/, 'POST /sandboxes/{id}/timeout', (c, sb) => {
    const b = parseJsonBody(c.res, c.body);
    if (b === null) return;
    const t = timeoutField(c.res, b, 'timeout');
    if (t === null) return;
    if (t === undefined) return apiError(c.res, 400, 'request body has an error: doesn\'t match schema: Error at "/timeout": property "timeout" is missing');
    sb.endAt = Date.now() + t * 1000; // overwrites, shorter or longer
    armExpiry(sb);
    noContent(c.res);
  }],
  ['POST', /^\/sandboxes\/([^/]+)\/refreshes$/, 'POST /sandboxes/{id}/refreshes', (c, sb) => {
    const b = parseJsonBody(c.res, c.body, { optional: true });
    if (b === null) return;
    const d = b.duration ?? 15;
    if (!Number.isInteger(d) || d < 0 || d > 3600) return apiError(c.res, 400, 'request body has an error: doesn\'t match schema: Error at "/duration": number must be at most 3600');
    sb.endAt = Math.max(sb.endAt, Date.now() + d * 1000); // only extends
    armExpiry(sb);
    noContent(c.res);
  }],
  ['POST', /^\/sandboxes\/([^/]+)\/connect$/, 'POST /sandboxes/{id}/connect', (c, sb) => connectSandbox(c, sb, false)],
  ['POST', /^\/v2\/sandboxes\/([^/]+)\/connect$/, 'POST /v2/sandboxes/{id}/connect', (c, sb) => connectSandbox(c, sb, true)],
];

// Connect to a running sandbox: 200 with Sandbox; the TTL is only extended.
function connectSandbox(c, sb, v2) {
  const b = parseJsonBody(c.res, c.body, { optional: v2 });
  if (b === null) return;
  const t = timeoutField(c.res, b, 'timeout');
  if (t === null) return;
  if (t === undefined && !v2) return apiError(c.res, 400, 'request body has an error: doesn\'t match schema: Error at "/timeout": property "timeout" is missing');
  if (t !== undefined) {
    sb.endAt = Math.max(sb.endAt, Date.now() + t * 1000);
    armExpiry(sb);
  }
  sendJson(c.res, 200, sandboxJson(sb));
}

function controlRoute(method, pathname) {
  if (pathname === '/health' && method === 'GET') return { key: 'GET /health (api)', health: true };
  for (const [m, re, key, fn] of ROUTES) {
    const match = re.exec(pathname);
    if (match && m === method) return { key, fn, id: match[1] };
  }
  return { key: `${method} (unmatched api)` };
}

function apiKeyOk(key) {
  if (opts.apiKey !== null) return key === opts.apiKey;
  return typeof key === 'string' && key.startsWith('e2b_');
}

async function handleControlPlane(c, route) {
  const { req, res } = c;
  if (route.health) return noContent(res);
  const key = req.headers['x-api-key'];
  if (key === undefined) return apiError(res, 401, 'authorization header is missing');
  if (!apiKeyOk(key)) return apiError(res, 401, 'Invalid API key, please visit https://e2b.dev/docs/api-key for more information.');
  if (!route.fn) return apiError(res, 404, `Not found: ${req.method} ${c.url.pathname}`);
  let sb;
  if (route.id !== undefined) {
    sb = sandboxes.get(decodeURIComponent(route.id));
    if (!sb) return apiError(res, 404, notFoundMessage(decodeURIComponent(route.id)));
  }
  await route.fn(c, sb);
}

// ---------------------------------------------------------------------------
// envd routing: the proxy finds the sandbox by the E2b-Sandbox-Id header (one
// E2B_SANDBOX_URL for all, or https://sandbox.<domain>), else by a Host of
// the form <port>-<sandboxID>.<domain>.

function envdTarget(req) {
  const hdr = req.headers['e2b-sandbox-id'];
  if (hdr !== undefined) {
    const port = Number(req.headers['e2b-sandbox-port'] ?? ENVD_PORT);
    return { id: String(hdr), port };
  }
  const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
  const m = /^(\d+)-([a-z0-9_]+)\.(.+)$/.exec(host);
  if (m && (opts.domain === null || m[3] === opts.domain)) return { id: m[2], port: Number(m[1]) };
  if (host.startsWith('sandbox.') && (opts.domain === null || host === `sandbox.${opts.domain}`)) return { id: null, port: ENVD_PORT };
  return null;
}

// What E2B's proxy answers for a sandbox that is not (or no longer) there.
function sandboxGone(res, id) {
  sendJson(res, 502, { sandboxId: id, message: 'The sandbox was not found', code: 502 });
}

// ---------------------------------------------------------------------------
// control endpoints (never recorded, no auth)

function stateStats() {
  return {
    live_sandboxes: sandboxes.size,
    created: stats.created,
    killed: stats.killed,
    expired: stats.expired,
    vanished: stats.vanished,
    connections: stats.connections,
    open_connections: stats.open_connections,
    tls_handshakes: stats.tls_handshakes,
    control_connections: stats.control_connections,
    requests: stats.requests,
    requests_by_route: { ...stats.requests_by_route },
    running_processes: runningProcesses(),
    isolation,
  };
}

async function handleControl(c) {
  const { req, res, url, body } = c;
  const p = url.pathname;
  const m = req.method;
  if (p === '/__stats' && m === 'GET') return sendJson(res, 200, stateStats());
  if (p === '/__sandboxes' && m === 'GET') {
    return sendJson(res, 200, [...sandboxes.values()].map((sb) => ({
      sandboxID: sb.id, templateID: sb.templateID, alias: sb.alias, metadata: sb.metadata, envVars: sb.envVars,
      dir: sb.home, envdVersion: sb.envdVersion, endAt: new Date(sb.endAt).toISOString(), running_processes: sb.runningCount(),
    })));
  }
  if (p === '/__requests' && m === 'GET') return sendJson(res, 200, requests);
  if (p === '/__requests' && m === 'DELETE') {
    requests = [];
    return sendJson(res, 200, { ok: true });
  }
  if (p === '/__faults' && m === 'GET') return sendJson(res, 200, faults);
  if (p === '/__faults' && m === 'POST') {
    let f;
    try {
      f = JSON.parse(body.toString('utf8'));
    } catch (e) {
      return sendJson(res, 400, { error: `bad JSON: ${e.message}` });
    }
    if (typeof f !== 'object' || f === null || Array.isArray(f)) return sendJson(res, 400, { error: 'faults must be a JSON object' });
    // Merged key by key; a null value removes that key.
    faults = { ...faults, ...structuredClone(f) };
    for (const [k, v] of Object.entries(faults)) if (v === null) delete faults[k];
    return sendJson(res, 200, faults);
  }
  if (p === '/__faults' && m === 'DELETE') {
    faults = {};
    return sendJson(res, 200, faults);
  }
  const vanish = /^\/__sandboxes\/([^/]+)\/vanish$/.exec(p);
  if (vanish && m === 'POST') {
    const sb = sandboxes.get(vanish[1]);
    if (!sb) return sendJson(res, 404, { error: `no live sandbox ${vanish[1]}` });
    removeSandbox(sb, 'vanished');
    return sendJson(res, 200, { ok: true });
  }
  if (p === '/__reset' && m === 'POST') {
    for (const sb of [...sandboxes.values()]) removeSandbox(sb, null);
    faults = {};
    requests = [];
    seq = 0;
    stats.created = stats.killed = stats.expired = stats.vanished = 0;
    stats.requests = 0;
    stats.requests_by_route = {};
    return sendJson(res, 200, { ok: true });
  }
  sendJson(res, 404, { error: `unknown control endpoint ${m} ${p}` });
}

// ---------------------------------------------------------------------------
// requests

function recordBody(req, body) {
  const ct = (req.headers['content-type'] ?? '').toLowerCase();
  try {
    if (ct.startsWith('application/json')) return body.length ? JSON.parse(body.toString('utf8')) : null;
    if (ct.startsWith('application/connect+json') && body.length >= 5) {
      const len = body.readUInt32BE(1);
      return JSON.parse(body.subarray(5, 5 + len).toString('utf8'));
    }
  } catch { /* not JSON after all */ }
  return null;
}

async function handle(req, res, body) {
  const url = new URL(req.url, 'http://fake-e2b.invalid');
  const conn = req.socket.fakeE2bConn;
  if (url.pathname.startsWith('/__')) {
    if (conn && conn.requests === 0) {
      conn.control = true;
      stats.control_connections++;
    }
    if (conn) conn.requests++;
    return handleControl({ req, res, url, body });
  }
  if (conn) conn.requests++;

  const target = envdTarget(req);
  let route;
  if (target) route = ENVD_ROUTES.has(url.pathname) ? `${req.method} ${url.pathname}` : `${req.method} (unmatched envd)`;
  else route = controlRoute(req.method, url.pathname);
  const routeKey = typeof route === 'string' ? route : route.key;

  stats.requests++;
  stats.requests_by_route[routeKey] = (stats.requests_by_route[routeKey] ?? 0) + 1;
  const entry = {
    seq: ++seq,
    time: new Date().toISOString(),
    connection: conn?.id ?? null,
    method: req.method,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    route: routeKey,
    sandbox_id: target?.id ?? null,
    headers: { ...req.headers },
    body_size: body.length,
    body: recordBody(req, body),
    status: null, // the response status, set when its head is written
  };
  requests.push(entry);
  // Set with the head, not on 'finish': a client may read its answer and
  // ask /__requests before this side's write callback has run.
  const writeHead = res.writeHead;
  res.writeHead = function recordStatus(status, ...rest) {
    entry.status = status;
    return writeHead.call(this, status, ...rest);
  };
  res.on('close', () => { entry.status ??= 0; });
  log(`${req.method} ${req.url} -> ${routeKey}`);

  if (!target) return handleControlPlane({ req, res, url, body }, route);

  if (target.id === null) return apiError(res, 400, 'missing E2b-Sandbox-Id header');
  const sb = sandboxes.get(target.id);
  if (!sb) return sandboxGone(res, target.id);
  if (target.port !== ENVD_PORT) {
    return sendJson(res, 502, { sandboxId: target.id, message: 'The sandbox is running but port is not open', port: target.port, code: 502 });
  }
  return handleEnvd({
    req, res, url, body, sandbox: sb, faults,
    vanish: (s) => removeSandbox(s, 'vanished'),
  });
}

function onRequest(req, res) {
  const chunks = [];
  req.on('data', (d) => chunks.push(d));
  req.on('end', () => {
    handle(req, res, Buffer.concat(chunks)).catch((e) => {
      log(`error: ${e.stack}`);
      if (!res.headersSent) sendJson(res, 500, { code: 500, message: `fake E2B server error: ${e.message}` });
      else res.destroy();
    });
  });
  req.on('error', () => {});
}

// ---------------------------------------------------------------------------
// server

const server = opts.plain
  ? http.createServer(onRequest)
  : https.createServer({ cert: fs.readFileSync(opts.cert), key: fs.readFileSync(opts.key) }, onRequest);
server.keepAliveTimeout = opts.keepAliveTimeout;
server.headersTimeout = Math.max(opts.keepAliveTimeout + 1000, 60000);
server.requestTimeout = 0; // long uploads and command streams are fine
server.timeout = 0;

server.on('connection', (sock) => {
  stats.connections++;
  stats.open_connections++;
  sock.on('close', () => { stats.open_connections--; });
  if (opts.plain) sock.fakeE2bConn = { id: ++connSeq, requests: 0, control: false };
});
server.on('secureConnection', (tls) => {
  stats.tls_handshakes++;
  tls.fakeE2bConn = { id: ++connSeq, requests: 0, control: false };
});
server.on('tlsClientError', () => {});
server.on('clientError', (err, sock) => {
  if (sock.writable) sock.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
  else sock.destroy();
});

// Kills everything we started and removes our directories, synchronously, so
// it also runs from an 'exit' handler.
let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const sb of sandboxes.values()) {
    try {
      sb.destroy();
    } catch { /* keep going */ }
  }
  sandboxes.clear();
  fs.rmSync(root, { recursive: true, force: true });
}

function shutdown(code = 0) {
  cleanup();
  process.exit(code);
}

process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => shutdown(0));
process.on('exit', cleanup);
process.on('uncaughtException', (e) => {
  process.stderr.write(`fake-e2b: uncaught: ${e.stack}\n`);
  shutdown(1);
});
try {
  // A pipe from a shell is a FIFO; one from Node's child_process is a socket.
  const st = fs.fstatSync(0);
  if (st.isFIFO() || st.isSocket()) {
    process.stdin.on('data', () => {});
    process.stdin.on('end', () => shutdown(0));
    process.stdin.on('error', () => shutdown(0));
  }
} catch { /* no stdin */ }

server.listen(opts.port, opts.host, () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port }).replace(':', ': ')}\n`);
  log(`listening on ${opts.host}:${server.address().port} (${opts.plain ? 'http' : 'https'}, isolation ${isolation}, root ${root})`);
});
