// envd, the daemon inside an E2B sandbox, as the fake serves it: the HTTP API
// of envd.yaml (/health, /files, /envs) and the Connect services of
// process.proto and filesystem.proto, over the sandbox of sandbox.mjs.
// Behaviour and messages follow infra's envd (cited in
// ../../../../shared/notes/e2b-protocol.md §2-§5).

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import {
  CODE_STATUS, ConnectError, FLAG_END_STREAM, asBytes, asEnum, asString, asStringMap, asUint, envelope, field,
  parseEnvelopes, parseMessage,
} from './connect.mjs';
import { HOME, TMP, USERS } from './sandbox.mjs';

// ---------------------------------------------------------------------------
// small helpers

function sendJson(res, status, obj, headers = {}) {
  const body = Buffer.from(JSON.stringify(obj));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length, ...headers });
  res.end(body);
}

// envd's jsonError: {"code": <int>, "message": ...} (api/error.go).
function httpError(res, status, message) {
  sendJson(res, status, { code: status, message });
}

export function versionAtLeast(v, want) {
  const a = String(v).split(/[.-]/).map((x) => parseInt(x, 10) || 0);
  const b = want.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    if ((a[i] ?? 0) !== b[i]) return (a[i] ?? 0) > b[i];
  }
  return true;
}

const UNAUTHORIZED = 'unauthorized access, please provide a valid access token or method signing if supported';

// The user of an RPC: `Authorization: Basic base64("<user>:")`, default "user".
function rpcUser(req) {
  const h = req.headers.authorization;
  if (!h) return 'user';
  const m = /^Basic\s+(\S+)$/i.exec(h);
  if (!m) throw new ConnectError('unauthenticated', 'invalid authorization header');
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const user = decoded.includes(':') ? decoded.slice(0, decoded.indexOf(':')) : decoded;
  if (!USERS.includes(user)) throw new ConnectError('unauthenticated', `error looking up user '${user}': user: unknown user ${user}`);
  return user;
}

// `v1_` + unpadded base64 SHA-256 of "path:operation:user:token[:expiration]"
// (the SDK's getSignature; envd's signature check).
function signatureOk(sandbox, url, operation) {
  const sig = url.searchParams.get('signature');
  if (!sig || !sandbox.token) return false;
  const p = url.searchParams.get('path') ?? '';
  const user = url.searchParams.get('username') ?? '';
  const exp = url.searchParams.get('signature_expiration');
  if (exp !== null && (!/^\d+$/.test(exp) || Number(exp) * 1000 < Date.now())) return false;
  const raw = `${p}:${operation}:${user}:${sandbox.token}${exp !== null ? `:${exp}` : ''}`;
  const want = `v1_${crypto.createHash('sha256').update(raw).digest('base64').replace(/=+$/, '')}`;
  return sig.length === want.length && crypto.timingSafeEqual(Buffer.from(sig), Buffer.from(want));
}

const CONTENT_TYPES = {
  '.txt': 'text/plain; charset=utf-8', '.md': 'text/markdown; charset=utf-8', '.csv': 'text/csv; charset=utf-8',
  '.json': 'application/json', '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.py': 'text/x-python; charset=utf-8', '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg',
  '.gif': 'image/gif', '.svg': 'image/svg+xml', '.pdf': 'application/pdf', '.xml': 'text/xml; charset=utf-8',
};

// mime.FormatMediaType("inline", {"filename": name}) as Go writes it.
function contentDisposition(name) {
  if (/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) return `inline; filename=${name}`;
  if (/^[\x20-\x7e]*$/.test(name)) return `inline; filename="${name.replace(/(["\\])/g, '\\$1')}"`;
  return `inline; filename*=utf-8''${encodeURIComponent(name)}`;
}

// A file-API path error as an HTTP status for /files.
function fileErrorStatus(e) {
  if (e instanceof ConnectError) return CODE_STATUS[e.code];
  return 500;
}

// ---------------------------------------------------------------------------
// multipart/form-data (RFC 7578), enough for the SDKs' uploads

function headerParams(value) {
  // `form-data; name="file"; filename="/home/user/a.txt"` -> {name, filename}
  const params = {};
  const re = /;\s*([^=;\s]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g;
  let m;
  while ((m = re.exec(value)) !== null) {
    const key = m[1].toLowerCase();
    let v = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3].trim();
    if (key.endsWith('*')) {
      const ext = /^[^']*'[^']*'(.*)$/.exec(v);
      if (ext) v = decodeURIComponent(ext[1]);
      params[key.slice(0, -1)] = v;
    } else if (params[key] === undefined) {
      params[key] = v;
    }
  }
  return params;
}

export function parseMultipart(body, contentType) {
  const boundary = headerParams(contentType).boundary;
  if (!boundary) throw new Error('no multipart boundary param in Content-Type');
  const delim = Buffer.from(`--${boundary}`);
  const next = Buffer.from(`\r\n--${boundary}`);
  let pos = body.indexOf(delim);
  if (pos < 0) throw new Error('multipart: NextPart: EOF');
  pos += delim.length;
  const parts = [];
  for (;;) {
    if (body.subarray(pos, pos + 2).toString() === '--') break;
    const lineEnd = body.indexOf('\r\n', pos);
    if (lineEnd < 0) throw new Error('multipart: NextPart: EOF');
    pos = lineEnd + 2;
    const headEnd = body.indexOf('\r\n\r\n', pos - 2);
    if (headEnd < 0) throw new Error('multipart: malformed part headers');
    const headers = {};
    for (const line of body.subarray(pos, headEnd).toString('utf8').split('\r\n')) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    const dataStart = headEnd + 4;
    const end = body.indexOf(next, dataStart);
    if (end < 0) throw new Error('multipart: NextPart: EOF');
    const disp = headerParams(headers['content-disposition'] ?? '');
    parts.push({ headers, name: disp.name, filename: disp.filename, data: body.subarray(dataStart, end) });
    pos = end + next.length;
  }
  return parts;
}

// ---------------------------------------------------------------------------
// streams (server-streaming Connect responses)

// A server-streaming response: 200 + application/connect+json, envelopes,
// then exactly one end-stream envelope (or an abrupt close).
function openStream(res) {
  let done = false;
  res.writeHead(200, { 'content-type': 'application/connect+json' });
  res.flushHeaders();
  return {
    get done() { return done || res.destroyed; },
    send(obj) {
      if (this.done) return;
      res.write(envelope(0, obj));
    },
    end(err) {
      if (this.done) return;
      done = true;
      res.end(envelope(FLAG_END_STREAM, err ? { error: err.toJSON() } : {}));
    },
    // The connection is cut without an end-stream message, as when the
    // sandbox's VM (or the proxy in front of it) goes away.
    abort() {
      if (done) return;
      done = true;
      res.socket?.destroy();
      res.destroy();
    },
  };
}

// Parses Connect-Timeout-Ms (1..10 digits) -> ms, or undefined.
function connectTimeout(req) {
  const v = req.headers['connect-timeout-ms'];
  if (v === undefined) return undefined;
  if (!/^\d{1,10}$/.test(v)) throw new ConnectError('invalid_argument', `protocol error: invalid connect timeout "${v}"`);
  return Number(v);
}

// Attaches a stream to a process: data events, keepalives after
// `keepaliveSec` of silence, the end event then the end-stream message.
// `deadlineMs` ends the stream with deadline_exceeded (for Start the process
// itself is killed at the same moment by Sandbox.start's own timer).
function attach(proc, stream, res, { deadlineMs, keepaliveSec, dropAfterFirstData }) {
  let keepTimer = null;
  let deadTimer = null;
  const armKeepalive = () => {
    clearTimeout(keepTimer);
    keepTimer = setTimeout(() => {
      stream.send({ event: { keepalive: {} } });
      armKeepalive();
    }, keepaliveSec * 1000);
  };
  const cleanup = () => {
    clearTimeout(keepTimer);
    clearTimeout(deadTimer);
    proc.listeners.delete(listener);
  };
  const listener = {
    event(ev) {
      if (ev.data) {
        stream.send({ event: ev });
        if (dropAfterFirstData) {
          cleanup();
          stream.abort();
          return;
        }
        armKeepalive();
      } else if (ev.end) {
        cleanup();
        if (dropAfterFirstData) {
          stream.abort();
          return;
        }
        // Killed by its own deadline (whichever timer ran first): envd's
        // stream ends with the context's deadline_exceeded, no end event.
        if (deadlineMs > 0 && proc.deadlineExceeded) {
          stream.end(new ConnectError('deadline_exceeded', 'context deadline exceeded'));
          return;
        }
        stream.send({ event: ev });
        stream.end(null);
      }
    },
    abort() {
      cleanup();
      stream.abort();
    },
  };
  proc.listeners.add(listener);
  armKeepalive();
  if (deadlineMs !== undefined && deadlineMs > 0) {
    deadTimer = setTimeout(() => {
      cleanup();
      stream.end(new ConnectError('deadline_exceeded', 'context deadline exceeded'));
    }, deadlineMs);
  }
  // A client that goes away stops receiving; the process runs on (envd does
  // not kill a command when its request context is cancelled).
  res.on('close', cleanup);
}

// ---------------------------------------------------------------------------
// process.Process

function processConfig(msg) {
  const p = field(msg, 'process') ?? {};
  const cmd = asString(field(p, 'cmd'), 'cmd');
  const args = field(p, 'args') ?? [];
  if (!Array.isArray(args) || args.some((a) => typeof a !== 'string')) throw new ConnectError('invalid_argument', 'invalid value for repeated string field args');
  const envs = asStringMap(field(p, 'envs'), 'envs');
  const cwd = field(p, 'cwd');
  if (cwd !== undefined && cwd !== null && typeof cwd !== 'string') throw new ConnectError('invalid_argument', 'invalid value for string field cwd');
  return { cmd, args, envs, cwd: cwd ?? undefined };
}

function selector(msg) {
  const s = field(msg, 'process') ?? {};
  if (s.pid !== undefined) return { pid: asUint(s.pid, 'pid') };
  if (s.tag !== undefined) return { tag: asString(s.tag, 'tag') };
  throw new ConnectError('invalid_argument', 'invalid process selector: expected pid or tag');
}

function findOr404(sandbox, msg) {
  const sel = selector(msg);
  const proc = sandbox.findProc(sel);
  if (!proc) {
    throw new ConnectError('not_found', sel.pid !== undefined ? `process with pid ${sel.pid} not found` : `process with tag ${sel.tag} not found`);
  }
  return proc;
}

function processInfo(p) {
  const config = { cmd: p.config.cmd };
  if (p.config.args.length > 0) config.args = p.config.args;
  if (Object.keys(p.config.envs).length > 0) config.envs = p.config.envs;
  if (p.config.cwd !== undefined) config.cwd = p.config.cwd;
  const info = { config, pid: p.pid };
  if (p.tag !== undefined) info.tag = p.tag;
  return info;
}

const SIGNALS = { SIGNAL_UNSPECIFIED: 0, SIGNAL_SIGTERM: 15, SIGNAL_SIGKILL: 9 };

const UNARY = {
  '/process.Process/List': (sb) => {
    const processes = [...sb.procs.values()].filter((p) => !p.ended).map(processInfo);
    return processes.length > 0 ? { processes } : {};
  },
  '/process.Process/SendSignal': (sb, msg) => {
    const proc = findOr404(sb, msg);
    const sig = asEnum(field(msg, 'signal'), SIGNALS, 'signal');
    if (sig === 9) proc.signal('SIGKILL');
    else if (sig === 15) proc.signal('SIGTERM');
    else throw new ConnectError('unimplemented', `invalid signal: ${sig}`);
    return {};
  },
  '/process.Process/SendInput': (sb, msg) => {
    const proc = findOr404(sb, msg);
    const input = field(msg, 'input') ?? {};
    const data = input.stdin !== undefined ? asBytes(input.stdin, 'stdin') : asBytes(input.pty, 'pty');
    const w = proc.child.stdin;
    if (!w || w.destroyed || w.writableEnded) throw new ConnectError('internal', 'error writing to stdin: stdin is not enabled or closed');
    w.write(data);
    return {};
  },
  '/process.Process/CloseStdin': (sb, msg) => {
    const proc = findOr404(sb, msg);
    if (proc.pty) throw new ConnectError('failed_precondition', 'cannot close stdin of a PTY process; send Ctrl+D (0x04) instead');
    proc.child.stdin?.end();
    return {};
  },
  // PTY resize: accepted, not applied (see README).
  '/process.Process/Update': (sb, msg) => {
    findOr404(sb, msg);
    return {};
  },

  // filesystem.Filesystem
  '/filesystem.Filesystem/Stat': (sb, msg) => {
    const view = sb.viewPath(asString(field(msg, 'path'), 'path'));
    const r = sb.resolve(view, false);
    if (!r.exists) throw new ConnectError('not_found', `file not found: lstat ${view}: no such file or directory`);
    return { entry: { ...sb.entryInfo(r.view), path: view } };
  },
  '/filesystem.Filesystem/ListDir': (sb, msg) => {
    let depth = asUint(field(msg, 'depth'), 'depth');
    if (depth === 0) depth = 1;
    const view = sb.viewPath(asString(field(msg, 'path'), 'path'));
    const r = sb.resolve(view, true);
    if (!r.exists) throw new ConnectError('not_found', `path not found: lstat ${view}: no such file or directory`);
    const host = sb.hostOrDeny(r.view);
    if (!fs.statSync(host).isDirectory()) throw new ConnectError('invalid_argument', `path is not a directory: ${r.view}`);
    const entries = [];
    // filepath.WalkDir order: lexical, depth first; symlinked dirs not entered.
    const walk = (dirView, dirHost, level) => {
      for (const name of fs.readdirSync(dirHost).sort()) {
        const v = path.posix.join(dirView, name);
        const h = path.join(dirHost, name);
        let st;
        try {
          st = fs.lstatSync(h);
          entries.push(sb.entryInfo(v));
        } catch {
          continue; // vanished meanwhile
        }
        if (st.isDirectory() && level < depth) walk(v, h, level + 1);
      }
    };
    walk(r.view, host, 1);
    return entries.length > 0 ? { entries } : {};
  },
  '/filesystem.Filesystem/MakeDir': (sb, msg) => {
    const view = sb.resolve(sb.viewPath(asString(field(msg, 'path'), 'path')), true).view;
    const host = sb.hostOrDeny(view);
    const st = fs.statSync(host, { throwIfNoEntry: false });
    if (st?.isDirectory()) throw new ConnectError('already_exists', `directory already exists: ${view}`);
    if (st) throw new ConnectError('invalid_argument', `path already exists but it is not a directory: ${view}`);
    try {
      fs.mkdirSync(host, { recursive: true });
    } catch (e) {
      throw new ConnectError('internal', `error creating directory: ${e.message}`);
    }
    return { entry: { name: path.posix.basename(view), type: 'FILE_TYPE_DIRECTORY', path: view } };
  },
  '/filesystem.Filesystem/Move': (sb, msg) => {
    const src = sb.resolve(sb.viewPath(asString(field(msg, 'source'), 'source')), false).view;
    const dst = sb.resolve(sb.viewPath(asString(field(msg, 'destination'), 'destination')), false).view;
    const srcHost = sb.hostOrDeny(src);
    const dstHost = sb.hostOrDeny(dst);
    fs.mkdirSync(path.dirname(dstHost), { recursive: true });
    try {
      fs.renameSync(srcHost, dstHost);
    } catch (e) {
      if (e.code === 'ENOENT') throw new ConnectError('not_found', `source file not found: rename ${src} ${dst}: no such file or directory`);
      throw new ConnectError('internal', `error renaming: ${e.message}`);
    }
    const md = sb.fileMetadata.get(srcHost);
    if (md) {
      sb.fileMetadata.delete(srcHost);
      sb.fileMetadata.set(dstHost, md);
    }
    return { entry: sb.entryInfo(dst) };
  },
  // os.RemoveAll: a missing path is not an error.
  '/filesystem.Filesystem/Remove': (sb, msg) => {
    const view = sb.resolve(sb.viewPath(asString(field(msg, 'path'), 'path')), false).view;
    const host = sb.hostOrDeny(view);
    if (view === HOME || view === TMP) {
      // The roots are mount points in the namespace: empty them, keep them.
      for (const n of fs.readdirSync(host)) fs.rmSync(path.join(host, n), { recursive: true, force: true });
    } else {
      fs.rmSync(host, { recursive: true, force: true });
    }
    for (const k of [...sb.fileMetadata.keys()]) if (k === host || k.startsWith(`${host}/`)) sb.fileMetadata.delete(k);
    return {};
  },
};

const UNIMPLEMENTED = new Set([
  '/process.Process/StreamInput', '/filesystem.Filesystem/WatchDir', '/filesystem.Filesystem/CreateWatcher',
  '/filesystem.Filesystem/GetWatcherEvents', '/filesystem.Filesystem/RemoveWatcher',
]);
let nextInstantPid = 4000000; // above any real pid_max default, so never a live pid

const STREAMING = new Set(['/process.Process/Start', '/process.Process/Connect']);

export const ENVD_ROUTES = new Set([
  '/health', '/files', '/envs', '/metrics', ...Object.keys(UNARY), ...UNIMPLEMENTED, ...STREAMING,
]);

// ---------------------------------------------------------------------------
// dispatch

const JSON_CT = /^application\/json(\s*;\s*charset=utf-?8)?$/i;
const CONNECT_JSON_CT = /^application\/connect\+json(\s*;\s*charset=utf-?8)?$/i;

// ctx: {req, res, url, body, sandbox, faults, vanish(sandbox)}
export async function handleEnvd(ctx) {
  const { req, res, url, sandbox } = ctx;
  const route = url.pathname;

  if (route === '/health' && req.method === 'GET') {
    res.writeHead(204);
    res.end();
    return;
  }

  // Access token (envd api/auth.go): every path but /health; /files also
  // accepts a signed URL.
  const tokenOk = !sandbox.token || req.headers['x-access-token'] === sandbox.token;
  if (!tokenOk && !(route === '/files' && signatureOk(sandbox, url, req.method === 'GET' ? 'read' : 'write'))) {
    httpError(res, 401, UNAUTHORIZED);
    return;
  }

  if (route === '/files') return handleFiles(ctx);
  if (route === '/envs' && req.method === 'GET') return sendJson(res, 200, sandbox.envVars);
  if (route === '/metrics' && req.method === 'GET') {
    return sendJson(res, 200, { ts: Math.floor(Date.now() / 1000), cpu_count: 2, cpu_used_pct: 0, mem_total: 536870912, mem_used: 0 });
  }

  if (STREAMING.has(route)) return handleStream(ctx);
  if (UNARY[route] || UNIMPLEMENTED.has(route)) return handleUnary(ctx);

  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
  res.end('404 page not found\n');
}

async function handleUnary({ req, res, url, body, sandbox }) {
  if (req.method !== 'POST') {
    res.writeHead(405, { allow: 'POST', 'content-type': 'text/plain; charset=utf-8' });
    res.end('405 method not allowed\n');
    return;
  }
  const ct = req.headers['content-type'] ?? '';
  if (!JSON_CT.test(ct)) {
    // connect-go answers an unsupported codec with 415 and the codecs it takes.
    res.writeHead(415, { 'accept-post': 'application/json, application/json; charset=utf-8' });
    res.end();
    return;
  }
  try {
    if (UNIMPLEMENTED.has(url.pathname)) throw new ConnectError('unimplemented', `${url.pathname.slice(1)} is not implemented by the fake E2B server`);
    const msg = parseMessage(body);
    const user = rpcUser(req);
    const out = UNARY[url.pathname](sandbox, msg, user);
    sendJson(res, 200, out);
  } catch (e) {
    const err = e instanceof ConnectError ? e : new ConnectError('internal', e.message);
    sendJson(res, CODE_STATUS[err.code], err.toJSON());
  }
}

async function handleStream(ctx) {
  const { req, res, url, body, sandbox, faults } = ctx;
  if (req.method !== 'POST') {
    res.writeHead(405, { allow: 'POST', 'content-type': 'text/plain; charset=utf-8' });
    res.end('405 method not allowed\n');
    return;
  }
  const ct = req.headers['content-type'] ?? '';
  if (!CONNECT_JSON_CT.test(ct)) {
    res.writeHead(415, { 'accept-post': 'application/connect+json, application/connect+json; charset=utf-8' });
    res.end();
    return;
  }
  // Connect streaming: HTTP 200 whatever happens; errors in the end-stream.
  const stream = openStream(res);
  try {
    const envs = parseEnvelopes(body);
    if (envs.length !== 1) throw new ConnectError('invalid_argument', `protocol error: expected exactly one request message, got ${envs.length}`);
    const msg = parseMessage(envs[0].data);
    const user = rpcUser(req);
    const deadlineMs = connectTimeout(req);
    const kaHeader = req.headers['keepalive-ping-interval'];
    const keepaliveSec = kaHeader !== undefined && /^\d+$/.test(kaHeader) && Number(kaHeader) > 0 ? Number(kaHeader) : 90;

    if (url.pathname === '/process.Process/Connect') {
      const proc = findOr404(sandbox, msg);
      stream.send({ event: { start: { pid: proc.pid } } });
      attach(proc, stream, res, { deadlineMs, keepaliveSec });
      return;
    }

    // Start. `stdin` is optional in the proto and defaults to true (envd's
    // backwards compatibility).
    const config = processConfig(msg);
    if (!config.cmd) throw new ConnectError('invalid_argument', 'error starting process: command is empty');
    const stdinField = field(msg, 'stdin');
    const stdin = stdinField === undefined || stdinField === null ? true : stdinField === true;
    const pty = field(msg, 'pty') ?? undefined;
    const tag = field(msg, 'tag') ?? undefined;
    // Benchmarks only: a listed command string (what follows -c) is answered
    // at once with exit 0 and no process, so that the server's fork/exec
    // does not drown the clients' own cost.
    const instant = Array.isArray(faults.instant_commands) ? faults.instant_commands : [];
    if (config.args.length > 0 && instant.includes(config.args.at(-1))) {
      stream.send({ event: { start: { pid: nextInstantPid++ } } });
      stream.send({ event: { end: { exited: true, status: 'exit status 0' } } });
      stream.end(null);
      return;
    }
    const proc = sandbox.start(config, { user, stdin, pty, tag, deadlineMs });
    stream.send({ event: { start: { pid: proc.pid } } });

    const line = [config.cmd, ...config.args].join(' ');
    if (faults.vanish_on_command && line.includes(faults.vanish_on_command)) {
      // After the start event the whole sandbox disappears; destroy() cuts
      // this stream (and every other one of the sandbox) without an end-stream.
      attach(proc, stream, res, { deadlineMs: undefined, keepaliveSec });
      ctx.vanish(sandbox);
      return;
    }
    const drop = !!(faults.drop_stream_on_command && line.includes(faults.drop_stream_on_command));
    attach(proc, stream, res, { deadlineMs, keepaliveSec, dropAfterFirstData: drop });
  } catch (e) {
    const err = e instanceof ConnectError ? e : new ConnectError('internal', e.message);
    stream.end(err);
  }
}

// ---------------------------------------------------------------------------
// /files

function filesUser(url) {
  const u = url.searchParams.get('username');
  if (u === null || u === '') return { user: 'user' };
  if (!USERS.includes(u)) return { error: `error looking up user '${u}': user: unknown user ${u}` };
  return { user: u };
}

function handleFiles({ req, res, url, body, sandbox }) {
  const { error: userError } = filesUser(url);
  if (userError) return httpError(res, 401, userError);
  if (req.method === 'GET') return downloadFile(req, res, url, sandbox);
  if (req.method === 'POST') return uploadFiles(req, res, url, body, sandbox);
  res.writeHead(405, { allow: 'GET, POST', 'content-type': 'text/plain; charset=utf-8' });
  res.end('405 method not allowed\n');
}

function downloadFile(req, res, url, sandbox) {
  let view = sandbox.viewPath(url.searchParams.get('path') ?? '');
  let host;
  try {
    const r = sandbox.resolve(view, true);
    if (!r.exists) return httpError(res, 404, `path '${view}' does not exist`);
    view = r.view;
    host = sandbox.hostOrDeny(view);
  } catch (e) {
    return httpError(res, fileErrorStatus(e), e.message);
  }
  let st;
  try {
    st = fs.statSync(host);
  } catch {
    return httpError(res, 404, `path '${view}' does not exist`);
  }
  if (st.isDirectory()) return httpError(res, 400, `path '${view}' is a directory`);
  // Streamed from disk, as envd's http.ServeContent does: a file of any
  // size (a sparse 100 GiB one included) is served without being held.
  let fd;
  try {
    fd = fs.openSync(host, 'r');
  } catch (e) {
    return httpError(res, 500, `error opening file '${view}': ${e.message}`);
  }
  const headers = {
    'content-type': CONTENT_TYPES[path.extname(view).toLowerCase()] ?? 'application/octet-stream',
    'content-disposition': contentDisposition(path.posix.basename(view)),
    'last-modified': st.mtime.toUTCString(),
    'accept-ranges': 'bytes',
  };
  const source = fs.createReadStream(null, { fd, autoClose: true });
  // A client that goes away mid-file (one that refused it past a size
  // limit) stops the read.
  res.on('close', () => source.destroy());
  // envd gzips downloads for clients that accept it (undici does; a client
  // that sends no Accept-Encoding gets identity).
  const ae = req.headers['accept-encoding'] ?? '';
  if (/\bgzip\b/i.test(ae) && !/\bgzip\s*;\s*q=0(\.0*)?\b/i.test(ae)) {
    res.writeHead(200, { ...headers, 'content-encoding': 'gzip', vary: 'Accept-Encoding' });
    source.pipe(zlib.createGzip()).pipe(res);
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': st.size });
  source.pipe(res);
}

function metadataFromHeaders(req) {
  const md = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (!k.startsWith('x-metadata-')) continue;
    const key = k.slice('x-metadata-'.length);
    const value = Array.isArray(v) ? v[0] : v;
    if (!/^[\x20-\x7e]+$/.test(key) || !/^[\x20-\x7e]*$/.test(value)) throw new Error(`invalid metadata key or value: ${key}`);
    md[key] = value;
  }
  return md;
}

function uploadFiles(req, res, url, body, sandbox) {
  const ct = (req.headers['content-type'] ?? '').toLowerCase();
  const queryPath = url.searchParams.get('path');
  let files; // [{path (request path), data}]
  let metadata;
  try {
    metadata = metadataFromHeaders(req);
  } catch (e) {
    return httpError(res, 400, e.message);
  }
  if (ct.startsWith('application/octet-stream')) {
    // Raw uploads arrived in envd 0.5.7; an older envd only parses multipart.
    if (!versionAtLeast(sandbox.envdVersion, '0.5.7')) return httpError(res, 400, 'error parsing multipart form: request Content-Type isn\'t multipart/form-data');
    if (!queryPath) return httpError(res, 400, 'path query parameter is required for application/octet-stream uploads');
    let data = body;
    const enc = (req.headers['content-encoding'] ?? '').toLowerCase();
    if (enc === 'gzip') {
      try {
        data = zlib.gunzipSync(body);
      } catch (e) {
        return httpError(res, 400, `error decompressing gzip body: ${e.message}`);
      }
    } else if (enc !== '' && enc !== 'identity') {
      return httpError(res, 400, `unsupported Content-Encoding: ${enc}`);
    }
    files = [{ path: queryPath, data }];
  } else if (ct.startsWith('multipart/form-data')) {
    let parts;
    try {
      parts = parseMultipart(body, req.headers['content-type']);
    } catch (e) {
      return httpError(res, 400, `error parsing multipart form: ${e.message}`);
    }
    files = parts.filter((p) => p.name === 'file').map((p) => ({ path: queryPath || p.filename, data: p.data }));
    if (files.some((f) => !f.path)) return httpError(res, 400, 'no path given: neither the path query parameter nor a filename in the part');
  } else {
    return httpError(res, 400, `unsupported Content-Type: ${req.headers['content-type'] ?? '(none)'}`);
  }

  const out = [];
  for (const f of files) {
    let view = sandbox.viewPath(f.path);
    let host;
    try {
      view = sandbox.resolve(view, true).view;
      host = sandbox.hostOrDeny(view);
    } catch (e) {
      return httpError(res, fileErrorStatus(e), e.message);
    }
    if (fs.statSync(host, { throwIfNoEntry: false })?.isDirectory()) return httpError(res, 400, `path '${view}' is a directory`);
    try {
      fs.mkdirSync(path.dirname(host), { recursive: true });
      fs.writeFileSync(host, f.data);
    } catch (e) {
      return httpError(res, e.code === 'ENOSPC' ? 507 : 500, `error writing file '${view}': ${e.message}`);
    }
    if (Object.keys(metadata).length > 0) sandbox.fileMetadata.set(host, metadata);
    else sandbox.fileMetadata.delete(host);
    const info = { path: view, name: path.posix.basename(view), type: 'file' };
    if (Object.keys(metadata).length > 0) info.metadata = { ...metadata };
    out.push(info);
  }
  // envd writes this JSON without a Content-Type; Go sniffs text/plain.
  const buf = Buffer.from(JSON.stringify(out));
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': buf.length });
  res.end(buf);
}
