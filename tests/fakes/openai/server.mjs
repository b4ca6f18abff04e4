#!/usr/bin/env node
// Fake OpenAI-compatible chat-completions server for stirrup-cpp's tests.
//
//   node server.mjs --cert CERT --key KEY [--scenario scenario.json]
//                   [--record requests.jsonl] [--port N] [--host H] [--plain]
//                   [--forever] [--keep-alive-timeout MS] [--delay-ms N]
//
// Prints exactly one line `{"port": N}` on stdout once listening; exits on
// SIGTERM, SIGINT, or when its stdin (if a pipe) is closed. The scenario format
// and the control endpoints (/__scenario, /__requests, /__stats,
// /__reset_server_times, /__close_idle)
// are described in ../README.md. Only node:http / node:https, no framework.

import fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import http from 'node:http';
import https from 'node:https';
import { checkAuth, checkContentType, validateChatRequest, INVALID_JSON_MESSAGE } from './validate.mjs';

// ---------------------------------------------------------------------------
// command line

function parseArgs(argv) {
  const opts = { port: 0, host: '127.0.0.1', plain: false, forever: false, keepAliveTimeout: 65000, delayMs: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) die(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--cert': opts.cert = val(); break;
      case '--key': opts.key = val(); break;
      case '--scenario': opts.scenario = val(); break;
      case '--record': opts.record = val(); break;
      case '--port': opts.port = Number(val()); break;
      case '--host': opts.host = val(); break;
      case '--plain': opts.plain = true; break;
      case '--forever': opts.forever = true; break;
      case '--keep-alive-timeout': opts.keepAliveTimeout = Number(val()); break;
      case '--delay-ms': opts.delayMs = Number(val()); break;
      case '-h': case '--help':
        process.stdout.write('usage: node server.mjs --cert CERT --key KEY [--scenario FILE] [--record FILE] ' +
          '[--port N] [--host H] [--plain] [--forever] [--keep-alive-timeout MS] [--delay-ms N]\n');
        process.exit(0);
        break;
      default: die(`unknown argument: ${a}`);
    }
  }
  if (!opts.plain && (!opts.cert || !opts.key)) die('--cert and --key are required (or --plain)');
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) die('bad --port');
  if (!Number.isFinite(opts.delayMs) || opts.delayMs < 0) die('bad --delay-ms');
  return opts;
}

function die(msg) {
  process.stderr.write(`fake-openai: ${msg}\n`);
  process.exit(2);
}

// ---------------------------------------------------------------------------
// scenario

// The small completion answered forever by --forever (the benchmark's baseline).
const FOREVER_STEP = { completion: { content: 'ok', usage: { prompt_tokens: 8, completion_tokens: 1 } } };

const STEP_KINDS = ['completion', 'error', 'drop', 'echo', 'raw', 'hang'];

// Checks one step; `where` names it in errors ("step 3", "session \"a\" step 0").
function checkStep(s, where) {
  if (typeof s !== 'object' || s === null || Array.isArray(s)) throw new Error(`${where} is not an object`);
  const kinds = STEP_KINDS.filter((k) => k in s);
  if (kinds.length === 0) throw new Error(`${where} has none of ${STEP_KINDS.join(', ')}`);
  if (kinds.length > 1 && !(kinds.length === 2 && kinds.includes('drop') && (kinds.includes('completion') || kinds.includes('echo')))) {
    throw new Error(`${where} has more than one kind: ${kinds.join(', ')}`);
  }
}

// Each step with `repeat: N` is expanded to N copies.
function expandSteps(steps, prefix) {
  if (!Array.isArray(steps)) throw new Error(`${prefix || 'scenario.'}steps must be an array`);
  const expanded = [];
  steps.forEach((s, i) => {
    checkStep(s, `${prefix}step ${i}`);
    const n = s.repeat ?? 1;
    if (!Number.isInteger(n) || n < 1) throw new Error(`${prefix}step ${i}: repeat must be a positive integer`);
    for (let r = 0; r < n; r++) expanded.push({ ...s, index: i });
  });
  return expanded;
}

function foreverStep(f, prefix) {
  if (f === undefined || f === null || f === false) return undefined;
  if (f === true) return FOREVER_STEP;
  checkStep(f, `${prefix}forever`);
  return f;
}

// `sessions: {KEY: [steps] | {steps, forever}}` -> {KEY: {steps, forever, next}},
// plus the keys longest first (the longest key found in a request wins; equal
// lengths keep the scenario's order).
function loadSessions(json) {
  if (json === undefined) return { sessions: {}, keys: [] };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('scenario.sessions must be an object');
  const sessions = {};
  for (const [key, v] of Object.entries(json)) {
    if (key === '') throw new Error('session keys must not be empty');
    const prefix = `session ${JSON.stringify(key)} `;
    const def = Array.isArray(v) ? { steps: v } : v;
    if (typeof def !== 'object' || def === null) throw new Error(`${prefix}must be an array of steps or {steps, forever}`);
    sessions[key] = { steps: expandSteps(def.steps ?? [], prefix), forever: foreverStep(def.forever, prefix), next: 0 };
  }
  const keys = Object.keys(sessions).map((k, i) => [k, i]).sort((a, b) => b[0].length - a[0].length || a[1] - b[1]).map(([k]) => k);
  return { sessions, keys };
}

// Normalises a scenario: a JSON array is a list of steps; an object has `steps`
// and options, and maybe `sessions` (per-session scripts).
function loadScenario(json) {
  const sc = Array.isArray(json) ? { steps: json } : { ...json };
  if (typeof sc !== 'object' || sc === null) throw new Error('scenario must be an array or an object');
  sc.steps = expandSteps(sc.steps ?? [], '');
  if (sc.forever === true) sc.forever = FOREVER_STEP;
  const { sessions, keys } = loadSessions(sc.sessions);
  sc.sessions = sessions;
  sc.sessionKeys = keys;
  return sc;
}

// The text of the first user message: its string content, or its text parts joined.
function firstUserText(body) {
  const messages = Array.isArray(body?.messages) ? body.messages : [];
  const m = messages.find((x) => x && typeof x === 'object' && x.role === 'user');
  if (!m) return '';
  if (typeof m.content === 'string') return m.content;
  if (Array.isArray(m.content)) return m.content.filter((p) => p?.type === 'text' && typeof p.text === 'string').map((p) => p.text).join('');
  return '';
}

// The session a chat request belongs to: the longest key occurring in the
// first user message's text, or null (the top-level steps).
function sessionOf(body) {
  if (scenario.sessionKeys.length === 0) return null;
  const text = firstUserText(body);
  return scenario.sessionKeys.find((k) => text.includes(k)) ?? null;
}

// ---------------------------------------------------------------------------
// state

const opts = parseArgs(process.argv.slice(2));
let scenario = loadScenario(opts.scenario ? JSON.parse(fs.readFileSync(opts.scenario, 'utf8')) : []);
if (opts.forever && !scenario.forever) scenario.forever = FOREVER_STEP;
// --forever serves benchmarks: keep no requests in memory unless asked to.
if (opts.forever && scenario.keep_requests === undefined) scenario.keep_requests = false;
let next = 0; // index of the next step
let requests = []; // recorded requests (kept in memory unless scenario.keep_requests === false)
let seq = 0; // requests received since the last reset
let recordFd = opts.record ? fs.openSync(opts.record, 'w') : null;
const stats = { connections: 0, open_connections: 0, tls_handshakes: 0, tls_resumed: 0, requests: 0 };
let connSeq = 0;
let callSeq = 0;

function resetState(newScenario) {
  scenario = newScenario;
  next = 0;
  requests = [];
  seq = 0;
  if (recordFd !== null) fs.ftruncateSync(recordFd, 0);
}

// Every request is recorded before anything is answered; writeSync puts the
// line in the file before the response starts.
function record(entry) {
  if (scenario.keep_requests !== false) requests.push(entry);
  if (recordFd !== null) fs.writeSync(recordFd, `${JSON.stringify(entry)}\n`);
}

// ---------------------------------------------------------------------------
// responses

function sendJson(res, status, obj, headers = {}) {
  const body = Buffer.from(JSON.stringify(obj));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length, ...headers });
  res.end(body);
}

function errorBody(e) {
  return { error: { message: e.message ?? '', type: e.type ?? 'invalid_request_error', param: e.param ?? null, code: e.code ?? null } };
}

// Default error `type` and `code` by status, as api.openai.com answers them.
const ERROR_DEFAULTS = {
  400: { type: 'invalid_request_error', code: null, message: 'Bad request.' },
  401: { type: 'invalid_request_error', code: 'invalid_api_key', message: 'Incorrect API key provided.' },
  403: { type: 'invalid_request_error', code: 'unsupported_country_region_territory', message: 'Country, region, or territory not supported' },
  404: { type: 'invalid_request_error', code: 'model_not_found', message: 'The model does not exist or you do not have access to it.' },
  408: { type: 'timeout', code: null, message: 'Request timed out.' },
  409: { type: 'invalid_request_error', code: null, message: 'Conflict.' },
  422: { type: 'invalid_request_error', code: null, message: 'Unprocessable entity.' },
  429: { type: 'requests', code: 'rate_limit_exceeded', message: 'Rate limit reached for requests. Please try again in 1s.' },
  500: { type: 'server_error', code: null, message: 'The server had an error while processing your request. Sorry about that!' },
  502: { type: 'server_error', code: null, message: 'Bad gateway.' },
  503: { type: 'server_error', code: null, message: 'The engine is currently overloaded, please try again later.' },
};

function usageOf(u, content) {
  if (u === null) return undefined;
  const prompt = u?.prompt_tokens ?? 10;
  const completion = u?.completion_tokens ?? Math.max(1, Math.ceil((content ?? '').length / 4));
  const out = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: u?.total_tokens ?? prompt + completion,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0, ...(u?.prompt_tokens_details ?? {}) },
    completion_tokens_details: {
      reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0,
      ...(u?.completion_tokens_details ?? {}),
    },
  };
  for (const [k, v] of Object.entries(u ?? {})) if (!(k in out)) out[k] = v; // vendor extras (cost, ...)
  return out;
}

// Tool calls in a step: {id?, name, arguments} (arguments a string or any JSON
// value, which is serialised) or OpenAI's {id?, type, function: {name, arguments}}.
// No `id` key: one is generated; `id: null`: the field is left out (a provider
// that sends none).
function toolCallsOf(tcs) {
  if (tcs === undefined || tcs === null) return undefined;
  return tcs.map((tc) => {
    const fn = tc.function ?? { name: tc.name, arguments: tc.arguments };
    const args = typeof fn.arguments === 'string' ? fn.arguments : JSON.stringify(fn.arguments ?? {});
    const out = {};
    if (!('id' in tc)) out.id = `call_fake${String(++callSeq).padStart(6, '0')}`;
    else if (tc.id !== null) out.id = tc.id;
    out.type = tc.type ?? 'function';
    out.function = { name: fn.name, arguments: args };
    return out;
  });
}

// Everything needed to answer a completion, built once per request.
function buildCompletion(step, reqBody) {
  let c = step.completion ?? {};
  if ('echo' in step) {
    const e = step.echo;
    let content;
    if (e === true || e?.last_user) {
      const users = (reqBody?.messages ?? []).filter((m) => m.role === 'user');
      const last = users.at(-1)?.content;
      content = typeof last === 'string' ? last : (Array.isArray(last) ? last.filter((p) => p.type === 'text').map((p) => p.text).join('') : '');
    } else {
      content = 'x'.repeat(e.bytes ?? 0);
    }
    c = { ...(typeof e === 'object' ? e : {}), content };
  }
  const toolCalls = toolCallsOf(c.tool_calls);
  const content = 'content' in c ? c.content : (toolCalls ? null : '');
  const finish = c.finish_reason ?? (toolCalls ? 'tool_calls' : 'stop');
  return {
    id: c.id ?? `chatcmpl-fake${String(seq).padStart(6, '0')}`,
    created: c.created ?? Math.floor(Date.now() / 1000),
    model: c.model ?? scenario.model ?? reqBody?.model ?? 'fake-model',
    system_fingerprint: c.system_fingerprint === undefined ? 'fp_fake' : c.system_fingerprint,
    content,
    reasoning_content: c.reasoning_content,
    refusal: c.refusal ?? null,
    tool_calls: toolCalls,
    finish_reason: finish,
    usage: usageOf(c.usage, content),
    extra_message: c.extra_message ?? {}, // extra fields merged into message (vendor fields)
    extra: c.extra ?? {}, // extra top-level fields
    chunks: c.chunks, // explicit content fragments when streamed
    reasoning_chunks: c.reasoning_chunks,
    chunk_size: c.chunk_size ?? step.chunk_size ?? 8,
  };
}

function completionJson(b) {
  const message = { role: 'assistant', content: b.content };
  if (b.reasoning_content !== undefined) message.reasoning_content = b.reasoning_content;
  if (b.tool_calls) message.tool_calls = b.tool_calls;
  message.refusal = b.refusal;
  message.annotations = [];
  Object.assign(message, b.extra_message);
  const out = {
    id: b.id,
    object: 'chat.completion',
    created: b.created,
    model: b.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: b.finish_reason }],
  };
  if (b.usage) out.usage = b.usage;
  out.service_tier = 'default';
  if (b.system_fingerprint !== null) out.system_fingerprint = b.system_fingerprint;
  return Object.assign(out, b.extra);
}

function split(s, size, explicit) {
  if (explicit) return explicit;
  if (!s) return [];
  const parts = [];
  const cps = Array.from(s); // never split a UTF-8 sequence
  for (let i = 0; i < cps.length; i += size) parts.push(cps.slice(i, i + size).join(''));
  return parts;
}

// The SSE events of a streamed completion, in OpenAI's order: role delta,
// reasoning deltas (vLLM/DeepSeek style), content deltas, tool-call deltas by
// index (id, type and name first with empty arguments, then argument
// fragments), the finish_reason chunk, the usage chunk when
// stream_options.include_usage, then [DONE].
function streamEvents(b, includeUsage) {
  const base = { id: b.id, object: 'chat.completion.chunk', created: b.created, model: b.model, service_tier: 'default' };
  if (b.system_fingerprint !== null) base.system_fingerprint = b.system_fingerprint;
  const chunk = (delta, finish = null) => {
    const c = { ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] };
    if (includeUsage) c.usage = null;
    return c;
  };
  const events = [];
  events.push(chunk({ role: 'assistant', content: b.content === null ? null : '', refusal: null }));
  for (const r of split(b.reasoning_content, b.chunk_size, b.reasoning_chunks)) events.push(chunk({ reasoning_content: r }));
  for (const p of split(b.content, b.chunk_size, b.chunks)) events.push(chunk({ content: p }));
  (b.tool_calls ?? []).forEach((tc, index) => {
    const head = { index, ...(tc.id !== undefined ? { id: tc.id } : {}), type: tc.type, function: { name: tc.function.name, arguments: '' } };
    events.push(chunk({ tool_calls: [head] }));
    for (const a of split(tc.function.arguments, b.chunk_size)) events.push(chunk({ tool_calls: [{ index, function: { arguments: a } }] }));
  });
  events.push(chunk({}, b.finish_reason));
  if (includeUsage && b.usage) events.push({ ...base, choices: [], usage: b.usage });
  return events.map((e) => `data: ${JSON.stringify(e)}\n\n`).concat(['data: [DONE]\n\n']);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function kill(res, how) {
  const sock = res.socket;
  if (!sock) return;
  if (how === 'reset' && typeof sock.resetAndDestroy === 'function') sock.resetAndDestroy();
  else sock.destroy();
}

async function answerStep(step, req, res, reqBody) {
  const headers = { ...(step.headers ?? {}) };
  if (step.close) headers.connection = 'close';
  // The model's latency: the step's own delay_ms, else --delay-ms (benchmarks).
  const delay = step.delay_ms ?? opts.delayMs;
  if (delay) await sleep(delay);
  if (res.destroyed || res.socket?.destroyed) return;

  if ('hang' in step) return; // never answers; the client's timeout or cancellation ends it

  const drop = step.drop;
  const dropKind = typeof drop === 'string' ? drop : drop?.when;
  if (dropKind === 'immediately') { kill(res, step.drop?.how); return; }

  if ('raw' in step) {
    const r = step.raw;
    const body = Buffer.from(typeof r.body === 'string' ? r.body : JSON.stringify(r.body ?? ''));
    res.writeHead(r.status ?? 200, { 'content-length': body.length, ...(r.headers ?? {}), ...headers });
    res.end(body);
    return;
  }

  if ('error' in step) {
    const e = step.error;
    const status = e.status ?? 500;
    const d = ERROR_DEFAULTS[status] ?? { type: status >= 500 ? 'server_error' : 'invalid_request_error', code: null, message: `HTTP ${status}` };
    const body = e.body !== undefined ? e.body
      : errorBody({ message: e.message ?? d.message, type: e.type ?? d.type, param: e.param ?? null, code: 'code' in e ? e.code : d.code });
    const text = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': text.length, ...headers });
    res.end(text);
    return;
  }

  // completion or echo
  const b = buildCompletion(step, reqBody);
  // Benchmarks: the id carries this server's own time for the request (less
  // the model delay), so a client can tell it apart from its own.
  if (step.timing_id) b.id = `${b.id}-t${(performance.now() - req.fakeArrived - delay).toFixed(3)}`;
  const stream = step.stream ?? reqBody?.stream === true;
  if (!stream) {
    const body = Buffer.from(JSON.stringify(completionJson(b)));
    if (step.chunked) {
      res.writeHead(200, { 'content-type': 'application/json', ...headers });
    } else {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length, ...headers });
    }
    if (dropKind === 'after_headers') { res.flushHeaders(); setImmediate(() => kill(res, drop?.how)); return; }
    if (dropKind === 'mid_body') {
      const n = Math.min(drop.after_bytes ?? Math.floor(body.length / 2), body.length - 1);
      res.write(body.subarray(0, n), () => setImmediate(() => kill(res, drop.how)));
      return;
    }
    if (step.chunked) {
      const half = Math.floor(body.length / 2);
      res.write(body.subarray(0, half));
      res.end(body.subarray(half));
    } else {
      res.end(body);
    }
    return;
  }

  const includeUsage = reqBody?.stream_options?.include_usage === true || step.include_usage === true;
  const events = streamEvents(b, includeUsage);
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...headers });
  if (dropKind === 'after_headers') { res.flushHeaders(); setImmediate(() => kill(res, drop?.how)); return; }
  if (step.stream_error) {
    // An error event inside a 200 stream, as OpenAI-compatible gateways send
    // when the upstream fails mid-answer: `data: {"error": {...}}`, then the end.
    const se = step.stream_error;
    const at = Math.min(se.after_chunks ?? 1, events.length - 1);
    const errEvent = `data: ${JSON.stringify(errorBody({ message: se.message ?? 'The server had an error while processing your request.', type: se.type ?? 'server_error', param: se.param ?? null, code: se.code ?? null }))}\n\n`;
    events.splice(at, events.length - at, errEvent);
  }
  const limit = dropKind === 'mid_stream' || dropKind === 'mid_body' ? (drop.after_chunks ?? 1) : Infinity;
  const gap = step.chunk_delay_ms ?? 0;
  if (limit === 0) { res.flushHeaders(); setImmediate(() => kill(res, drop?.how)); return; }
  if (step.coalesce && limit === Infinity && !gap) { res.end(events.join('')); return; }
  for (let i = 0; i < events.length; i++) {
    if (res.destroyed) return;
    if (gap && i > 0) await sleep(gap);
    if (i + 1 === limit) {
      // the last event before the drop: make sure it is on the wire first
      await new Promise((r) => res.write(events[i], r));
      setImmediate(() => kill(res, drop?.how));
      return;
    }
    const ok = res.write(events[i]);
    if (!ok) await new Promise((r) => res.once('drain', r));
  }
  res.end();
}

// ---------------------------------------------------------------------------
// request handling

// Consumes the next step of the session (or of the top-level steps when
// `session` is null); undefined when they are used up and there is no `forever`.
// A session never falls back to the top-level steps or `forever`.
function nextStep(session) {
  if (session === null) {
    if (next < scenario.steps.length) return scenario.steps[next++];
    return scenario.forever;
  }
  const sess = scenario.sessions[session];
  if (sess.next < sess.steps.length) return sess.steps[sess.next++];
  return sess.forever;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function chatPath(pathname) {
  if (scenario.prefix !== undefined) return pathname === `${scenario.prefix}/chat/completions`;
  return pathname.endsWith('/chat/completions');
}

// Per chat request: the time from its arrival to its response being handed
// to the socket, less the configured model delay. Benchmarks subtract what
// this server adds from what the client measured.
let serverTimes = [];
const kMaxServerTimes = 1_000_000;
// How late this server's event loop runs: a request that arrives while it is
// busy waits before its handler starts, which serverTimes cannot see.
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
function serverTimeSummary() {
  const v = [...serverTimes].sort((a, b) => a - b);
  const at = (p) => (v.length ? v[Math.min(v.length - 1, Math.floor(p * v.length))] : 0);
  return {
    count: v.length, p50: at(0.5), p99: at(0.99), max: v.length ? v[v.length - 1] : 0,
    loop_delay_p99: loopDelay.percentile(99) / 1e6, loop_delay_max: loopDelay.max / 1e6,
  };
}

async function handle(req, res) {
  const arrived = performance.now();
  req.fakeArrived = arrived;
  const url = new URL(req.url, 'http://x');
  const raw = await readBody(req);

  // control endpoints (not recorded)
  if (url.pathname.startsWith('/__')) {
    if (req.method === 'POST' && url.pathname === '/__scenario') {
      let sc;
      try {
        sc = loadScenario(JSON.parse(raw.toString('utf8')));
      } catch (e) {
        sendJson(res, 400, errorBody({ message: `bad scenario: ${e.message}`, type: 'fake_server_error' }));
        return;
      }
      resetState(sc);
      sendJson(res, 200, { ok: true, steps: scenario.steps.length, sessions: scenario.sessionKeys.length });
      return;
    }
    if (req.method === 'GET' && url.pathname === '/__requests') { sendJson(res, 200, requests); return; }
    if (req.method === 'DELETE' && url.pathname === '/__requests') { requests = []; sendJson(res, 200, { ok: true }); return; }
    if (req.method === 'GET' && url.pathname === '/__stats') {
      const used = {};
      const left = {};
      for (const [k, sess] of Object.entries(scenario.sessions)) {
        used[k] = sess.next;
        left[k] = sess.steps.length - sess.next;
      }
      sendJson(res, 200, {
        ...stats, server_ms: serverTimeSummary(), received: seq, steps_used: next, steps_left: Math.max(0, scenario.steps.length - next),
        sessions_used: used, sessions_left: left,
      });
      return;
    }
    if (req.method === 'POST' && url.pathname === '/__reset_server_times') {
      serverTimes = [];
      loopDelay.reset();
      sendJson(res, 200, { ok: true });
      return;
    }
    if (req.method === 'POST' && url.pathname === '/__close_idle') {
      sendJson(res, 200, { ok: true }, { connection: 'close' });
      setImmediate(() => server.closeIdleConnections?.());
      return;
    }
    sendJson(res, 404, errorBody({ message: `unknown control endpoint ${req.method} ${url.pathname}`, type: 'fake_server_error' }));
    return;
  }

  seq++;
  stats.requests++;
  let body = null;
  let jsonOk = false;
  const text = raw.toString('utf8');
  try {
    body = JSON.parse(text);
    jsonOk = true;
  } catch { /* recorded as body_text */ }
  const entry = {
    seq,
    time: new Date().toISOString(),
    connection: req.socket.fakeConnId,
    method: req.method,
    path: req.url,
    headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v])),
    body: jsonOk ? body : null,
    session: jsonOk ? sessionOf(body) : null,
  };
  if (!jsonOk && raw.length > 0) entry.body_text = text;
  record(entry);

  if (!(req.method === 'POST' && chatPath(url.pathname))) {
    sendJson(res, 404, errorBody({ message: `Invalid URL (${req.method} ${url.pathname})`, type: 'invalid_request_error' }));
    return;
  }
  const authErr = checkAuth(req.headers, scenario.api_key);
  if (authErr) { sendJson(res, authErr.status, { error: authErr.error }); return; }
  if (scenario.validate !== false) {
    const ctErr = checkContentType(req.headers);
    if (ctErr) { sendJson(res, ctErr.status, { error: ctErr.error }); return; }
    if (!jsonOk) { sendJson(res, 400, errorBody({ message: INVALID_JSON_MESSAGE })); return; }
    const err = validateChatRequest(body, {
      allowFields: scenario.allow_fields ?? [],
      allowMessageFields: scenario.allow_message_fields ?? [],
    });
    if (err) { sendJson(res, 400, { error: err }); return; }
  }

  const step = nextStep(entry.session);
  if (!step) {
    const where = entry.session === null
      ? `all ${scenario.steps.length} steps were used`
      : `all ${scenario.sessions[entry.session].steps.length} steps of session ${JSON.stringify(entry.session)} were used`;
    sendJson(res, 500, errorBody({
      message: `fake server: scenario exhausted: request #${entry.seq} arrived after ${where}`,
      type: 'server_error', code: 'scenario_exhausted',
    }), { 'x-should-retry': 'false' });
    return;
  }
  const delay = step.delay_ms ?? opts.delayMs;
  res.once('finish', () => {
    if (serverTimes.length < kMaxServerTimes) serverTimes.push(performance.now() - arrived - delay);
  });
  await answerStep(step, req, res, jsonOk ? body : null);
}

// ---------------------------------------------------------------------------
// server

const onRequest = (req, res) => {
  handle(req, res).catch((e) => {
    process.stderr.write(`fake-openai: ${e.stack ?? e}\n`);
    if (!res.headersSent) sendJson(res, 500, errorBody({ message: `fake server bug: ${e.message}`, type: 'server_error' }));
    else res.destroy();
  });
};

const server = opts.plain
  ? http.createServer(onRequest)
  : https.createServer({ cert: fs.readFileSync(opts.cert), key: fs.readFileSync(opts.key) }, onRequest);
server.keepAliveTimeout = opts.keepAliveTimeout;
server.headersTimeout = Math.max(server.headersTimeout, opts.keepAliveTimeout + 1000);
server.on('connection', (sock) => {
  stats.connections++;
  stats.open_connections++;
  if (opts.plain) sock.fakeConnId = ++connSeq;
  sock.setNoDelay(true);
  sock.on('close', () => { stats.open_connections--; });
});
server.on('secureConnection', (tlsSock) => {
  // node:https hands the TLS socket to requests; `connection` in the records
  // numbers TLS connections in the order their handshakes completed.
  stats.tls_handshakes++;
  if (tlsSock.isSessionReused()) stats.tls_resumed++;
  tlsSock.fakeConnId = ++connSeq;
});
server.on('tlsClientError', () => {}); // clients that reject our certificate are expected in TLS tests
server.on('clientError', (err, sock) => { if (sock.writable) sock.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n'); });

function shutdown() {
  server.close();
  server.closeAllConnections?.();
  if (recordFd !== null) fs.closeSync(recordFd);
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
try {
  const st = fs.fstatSync(0);
  if (st.isFIFO() || st.isSocket()) {
    process.stdin.on('data', () => {});
    process.stdin.on('end', shutdown);
    process.stdin.on('error', shutdown);
  }
} catch { /* no stdin */ }

server.listen({ port: opts.port, host: opts.host, backlog: 4096 }, () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port }).replace(':', ': ')}\n`);
});
