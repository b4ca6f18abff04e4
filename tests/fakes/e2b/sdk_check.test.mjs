// Runs the official `e2b` npm SDK against the fake E2B server, to prove the
// fake speaks the real protocol: if the SDK accepts what the fake answers and
// the fake serves what the SDK sends, the C++ client's tests against the fake
// mean something. Some checks use raw HTTP where the SDK hides the wire (the
// end-stream of a deadline, keepalives, 401/502 bodies, Host routing).
//
// Needs FAKE_CERT_DIR (made by ../gen-certs.sh) and NODE_EXTRA_CA_CERTS set to
// $FAKE_CERT_DIR/ca.pem before node starts; ../run-e2b-sdk-check.sh does both.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AuthenticationError, CommandExitError, FileNotFoundError, InvalidArgumentError, NotFoundError, RateLimitError,
  Sandbox, SandboxError, SandboxNotFoundError, ServiceBusyError, TimeoutError,
} from 'e2b';
import { Sandbox as SandboxV1 } from 'e2b-v1';

const here = path.dirname(fileURLToPath(import.meta.url));
const certDir = process.env.FAKE_CERT_DIR;
if (!certDir || !process.env.NODE_EXTRA_CA_CERTS) {
  throw new Error('run through tests/fakes/run-e2b-sdk-check.sh (needs FAKE_CERT_DIR and NODE_EXTRA_CA_CERTS)');
}
// The SDK must take every URL from its options, never from the environment.
for (const v of ['E2B_API_KEY', 'E2B_API_URL', 'E2B_SANDBOX_URL', 'E2B_DOMAIN', 'E2B_DEBUG']) delete process.env[v];

const KEY = 'e2b_0123456789abcdef0123456789abcdef01234567';
const sdkPkg = JSON.parse(fs.readFileSync(path.join(here, 'node_modules/e2b/package.json'), 'utf8'));

// Starts server.mjs; resolves to {port, base, proc}.
async function startServer({ plain = false, args = [] } = {}) {
  const argv = [path.join(here, 'server.mjs'), ...args];
  // FAKE_E2B_ISOLATION=none runs the whole check without mount namespaces.
  if (process.env.FAKE_E2B_ISOLATION) argv.push('--isolation', process.env.FAKE_E2B_ISOLATION);
  if (plain) argv.push('--plain');
  else argv.push('--cert', path.join(certDir, 'server.pem'), '--key', path.join(certDir, 'server.key'));
  const proc = spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout.setEncoding('utf8');
  for await (const chunk of proc.stdout) {
    out += chunk;
    if (out.includes('\n')) break;
  }
  const line = out.split('\n')[0];
  assert.match(line, /^\{"port": \d+\}$/, 'the first stdout line is {"port": N}');
  const { port } = JSON.parse(line);
  return { port, proc, base: `${plain ? 'http' : 'https'}://127.0.0.1:${port}` };
}

async function stopServer(s) {
  s.proc.stdin.end(); // closing stdin ends the server
  if (s.proc.exitCode === null) await once(s.proc, 'exit');
}

let srv;
before(async () => { srv = await startServer(); });
after(async () => {
  if (srv) await stopServer(srv);
});

async function ctl(p, { method = 'GET', body, base = srv.base } = {}) {
  const r = await fetch(`${base}${p}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  assert.ok(r.ok, `${method} ${p}: ${r.status}`);
  return r.json();
}
const stats = (base) => ctl('/__stats', { base });
const faults = (f, base) => ctl('/__faults', { method: 'POST', body: f, base });
const recorded = async (base) => ctl('/__requests', { base });
const clearRecorded = (base) => ctl('/__requests', { method: 'DELETE', base });

function conn(extra = {}, base = srv.base) {
  return { apiKey: KEY, apiUrl: base, sandboxUrl: base, ...extra };
}

// Creates a sandbox, runs fn, and kills the sandbox whatever happens.
async function withSandbox(fn, createOpts = {}) {
  const sbx = await Sandbox.create(conn(createOpts));
  try {
    return await fn(sbx);
  } finally {
    await sbx.kill().catch(() => {});
  }
}

async function until(cond, { timeoutMs = 5000, what = 'condition' } = {}) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// A raw Connect call to envd, for what the SDK does not show.
function frame(obj, flags = 0) {
  const json = Buffer.from(JSON.stringify(obj));
  const h = Buffer.alloc(5);
  h[0] = flags;
  h.writeUInt32BE(json.length, 1);
  return Buffer.concat([h, json]);
}
function parseFrames(buf) {
  const out = [];
  let off = 0;
  while (off + 5 <= buf.length) {
    const len = buf.readUInt32BE(off + 1);
    out.push({ flags: buf[off], msg: JSON.parse(buf.subarray(off + 5, off + 5 + len).toString()) });
    off += 5 + len;
  }
  assert.equal(off, buf.length, 'the stream ends on an envelope boundary');
  return out;
}
async function rawStart(sbx, cmd, headers = {}, base = srv.base) {
  const r = await fetch(`${base}/process.Process/Start`, {
    method: 'POST',
    headers: {
      'content-type': 'application/connect+json', 'connect-protocol-version': '1',
      'e2b-sandbox-id': sbx.sandboxId, 'e2b-sandbox-port': '49983', 'x-access-token': sbx.envdAccessToken, ...headers,
    },
    body: frame({ process: { cmd: '/bin/bash', args: ['-l', '-c', cmd] }, stdin: false }),
  });
  return { status: r.status, contentType: r.headers.get('content-type'), frames: parseFrames(Buffer.from(await r.arrayBuffer())) };
}
async function rawUnary(sbx, proc, body, headers = {}) {
  const r = await fetch(`${srv.base}/${proc}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'e2b-sandbox-id': sbx.sandboxId, 'x-access-token': sbx.envdAccessToken, ...headers },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: await r.json() };
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------

describe(`control plane (e2b ${sdkPkg.version}, HTTPS)`, () => {
  test('Sandbox.create with metadata and envs: POST /v2/sandboxes, 201, recorded as sent', async () => {
    await clearRecorded();
    await withSandbox(async (sbx) => {
      assert.match(sbx.sandboxId, /^[a-z0-9]{20}$/);
      const reqs = await recorded();
      const create = reqs.find((r) => r.route === 'POST /v2/sandboxes');
      assert.ok(create, 'the SDK called POST /v2/sandboxes');
      assert.equal(create.status, 201);
      assert.equal(create.headers['x-api-key'], KEY);
      assert.equal(create.headers['content-type'], 'application/json');
      assert.deepEqual(create.body, { templateID: 'base', metadata: { owner: 'sdk-check' }, envVars: { A: '1' }, timeout: 120 });
      const live = (await ctl('/__sandboxes')).find((s) => s.sandboxID === sbx.sandboxId);
      assert.deepEqual(live.metadata, { owner: 'sdk-check' });
      assert.deepEqual(live.envVars, { A: '1' });
      const info = await sbx.getInfo();
      assert.equal(info.sandboxId, sbx.sandboxId);
      assert.equal(info.name, 'base');
      assert.deepEqual(info.metadata, { owner: 'sdk-check' });
      assert.equal(info.state, 'running');
      assert.equal(info.envdVersion, '0.6.13');
      const life = info.endAt.getTime() - info.startedAt.getTime();
      assert.ok(Math.abs(life - 120000) < 1000, `endAt - startedAt = ${life} ms`);
    }, { metadata: { owner: 'sdk-check' }, envs: { A: '1' }, timeoutMs: 120000 });
  });

  test('a 429 with Retry-After on create is retried by the SDK and then succeeds', async () => {
    await clearRecorded();
    await faults({ create_429: { count: 1, retry_after: 1 } });
    const t0 = Date.now();
    await withSandbox(async () => {
      assert.ok(Date.now() - t0 >= 1000, 'the SDK waited Retry-After');
      const creates = (await recorded()).filter((r) => r.route === 'POST /v2/sandboxes');
      assert.equal(creates.length, 2);
    });
  });

  test('a bad API key is a 401 -> AuthenticationError; a missing one is a 401 too', async () => {
    await assert.rejects(Sandbox.create(conn({ apiKey: 'sk-not-e2b' })), AuthenticationError);
    const r = await fetch(`${srv.base}/v2/sandboxes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"templateID":"base"}' });
    assert.equal(r.status, 401);
    const body = await r.json();
    assert.equal(body.code, 401);
    assert.equal(typeof body.message, 'string');
  });

  test('5xx, slow creation, unknown template and the live-sandbox cap', async () => {
    await faults({ create_5xx: { count: 1, status: 503 } });
    await assert.rejects(Sandbox.create(conn()), ServiceBusyError);
    await faults({ create_5xx: { count: 1, status: 500 } });
    await assert.rejects(Sandbox.create(conn()), (e) => e instanceof SandboxError && /^500: /.test(e.message));
    await faults({ create_delay_ms: 300 });
    const t0 = Date.now();
    await withSandbox(async () => assert.ok(Date.now() - t0 >= 300));
    await faults({ create_delay_ms: 0, unknown_templates: ['no-such-template'] });
    await assert.rejects(Sandbox.create('no-such-template', conn()), (e) => e instanceof SandboxError && /^404: /.test(e.message));
    await faults({ max_live: 1 });
    await withSandbox(async () => {
      await assert.rejects(Sandbox.create(conn()), RateLimitError);
    });
    await ctl('/__faults', { method: 'DELETE' });
  });

  test('setTimeout, getInfo, Sandbox.connect (v2), Sandbox.list with a metadata filter', async () => {
    await clearRecorded();
    await withSandbox(async (sbx) => {
      await sbx.setTimeout(60000);
      const reqs = await recorded();
      const timeout = reqs.find((r) => r.route === 'POST /sandboxes/{id}/timeout');
      assert.deepEqual([timeout.status, timeout.body], [204, { timeout: 60 }]);
      const info = await sbx.getInfo();
      const left = info.endAt.getTime() - Date.now();
      assert.ok(left > 55000 && left <= 60000, `endAt in ${left} ms`);
      const again = await Sandbox.connect(sbx.sandboxId, conn());
      assert.equal((await again.commands.run('echo via-connect')).stdout, 'via-connect\n');
      const connect = (await recorded()).find((r) => r.route === 'POST /v2/sandboxes/{id}/connect');
      assert.deepEqual([connect.status, connect.body], [200, {}]);
      const page = await Sandbox.list(conn({ query: { metadata: { tag: 'listed' } } })).nextItems();
      assert.deepEqual(page.map((s) => s.sandboxId), [sbx.sandboxId]);
      assert.deepEqual(page[0].metadata, { tag: 'listed' });
    }, { metadata: { tag: 'listed' } });
  });

  test('kill -> true, kill again -> false (404); kill_404 still removes the sandbox', async () => {
    const sbx = await Sandbox.create(conn());
    await clearRecorded();
    assert.equal(await sbx.kill(), true);
    assert.equal(await Sandbox.kill(sbx.sandboxId, conn()), false);
    const kills = (await recorded()).filter((r) => r.route === 'DELETE /sandboxes/{id}');
    assert.deepEqual(kills.map((r) => [r.path, r.status]), [[`/sandboxes/${sbx.sandboxId}`, 204], [`/sandboxes/${sbx.sandboxId}`, 404]]);
    await assert.rejects(sbx.getInfo(), SandboxNotFoundError);
    const before = await stats();
    const sbx2 = await Sandbox.create(conn());
    await faults({ kill_404: true });
    assert.equal(await sbx2.kill(), false);
    await ctl('/__faults', { method: 'DELETE' });
    const s = await stats();
    assert.equal(s.live_sandboxes, before.live_sandboxes);
    assert.equal(s.killed, before.killed + 1);
  });

  test('a sandbox really expires at its end time: processes killed, directory removed', async () => {
    const sbx = await Sandbox.create(conn({ timeoutMs: 3000 }));
    const h = await sbx.commands.run('sleep 60 & echo $! > bg.pid; sleep 60', { background: true, timeoutMs: 0 });
    await until(async () => (await sbx.files.exists('/home/user/bg.pid')) && (await sbx.files.read('/home/user/bg.pid')).trim() !== '', { what: 'bg.pid' });
    const grandchild = Number((await sbx.files.read('/home/user/bg.pid')).trim());
    const dir = (await ctl('/__sandboxes')).find((s) => s.sandboxID === sbx.sandboxId).dir;
    assert.ok(fs.existsSync(dir));
    const before = await stats();
    await until(async () => (await stats()).expired === before.expired + 1, { what: 'expiry', timeoutMs: 10000 });
    assert.equal(fs.existsSync(dir), false, 'the sandbox directory is gone');
    assert.equal(pidAlive(h.pid), false, 'the command is gone');
    await until(() => !pidAlive(grandchild), { what: 'its background child to die' });
    await assert.rejects(sbx.getInfo(), SandboxNotFoundError);
    await assert.rejects(sbx.commands.run('true'), SandboxNotFoundError); // envd: proxy 502 before start
    assert.equal(await sbx.kill(), false);
  });
});

describe('commands', () => {
  let sbx;
  before(async () => { sbx = await Sandbox.create(conn({ envs: { SANDBOX_VAR: 'from-create', OVERRIDE: 'create' } })); });
  after(async () => { await sbx?.kill(); });

  test('run: stdout, exit code 0 (absent in the end event)', async () => {
    const r = await sbx.commands.run('echo hello; printf "ünï\\n" >&2');
    assert.equal(r.exitCode, 0);
    assert.equal(r.stdout, 'hello\n');
    assert.equal(r.stderr, 'ünï\n');
    assert.equal(r.error, undefined);
  });

  test('non-zero exit -> CommandExitError with exitCode, stderr and error', async () => {
    await assert.rejects(sbx.commands.run('echo out; echo boom >&2; exit 3'), (e) => {
      assert.ok(e instanceof CommandExitError);
      assert.equal(e.exitCode, 3);
      assert.equal(e.stdout, 'out\n');
      assert.equal(e.stderr, 'boom\n');
      assert.equal(e.error, 'exit status 3');
      return true;
    });
  });

  test('timeoutMs -> TimeoutError, and the process (group) is really gone', async () => {
    const t0 = Date.now();
    await assert.rejects(sbx.commands.run('sleep 30 & sleep 30', { timeoutMs: 1500 }), TimeoutError);
    assert.ok(Date.now() - t0 < 10000);
    await until(async () => (await stats()).running_processes === 0, { what: 'running_processes == 0' });
  });

  test('the fake ends a timed-out Start with end-stream deadline_exceeded (raw protocol)', async () => {
    const r = await rawStart(sbx, 'echo started; sleep 30', { 'connect-timeout-ms': '700' });
    assert.equal(r.status, 200);
    assert.equal(r.contentType, 'application/connect+json');
    assert.deepEqual(r.frames[0].msg.event.start && Object.keys(r.frames[0].msg.event), ['start']);
    assert.equal(Buffer.from(r.frames[1].msg.event.data.stdout, 'base64').toString(), 'started\n');
    const last = r.frames.at(-1);
    assert.equal(last.flags, 2);
    assert.equal(last.msg.error.code, 'deadline_exceeded');
    assert.ok(!r.frames.some((f) => f.msg.event?.end), 'no end event after a deadline');
    await until(async () => (await stats()).running_processes === 0, { what: 'the process to be killed' });
  });

  test('raw end events: exit 0 omits exitCode; a signal gives exitCode -1 and "signal: killed"', async () => {
    const ok = await rawStart(sbx, 'true');
    assert.equal(ok.frames.length, 3);
    assert.deepEqual(ok.frames[1].msg, { event: { end: { exited: true, status: 'exit status 0' } } });
    assert.deepEqual(ok.frames[2], { flags: 2, msg: {} });
    const killed = await rawStart(sbx, 'kill -9 $$');
    assert.deepEqual(killed.frames.at(-2).msg.event.end, { exitCode: -1, status: 'signal: killed', error: 'signal: killed' });
  });

  test('keepalives every Keepalive-Ping-Interval seconds of silence', async () => {
    const r = await rawStart(sbx, 'sleep 2.5', { 'keepalive-ping-interval': '1' });
    const kinds = r.frames.map((f) => (f.flags === 2 ? 'END_STREAM' : Object.keys(f.msg.event)[0]));
    assert.equal(kinds[0], 'start');
    assert.ok(kinds.filter((k) => k === 'keepalive').length >= 2, kinds.join(','));
    assert.deepEqual(kinds.slice(-2), ['end', 'END_STREAM']);
  });

  test('env vars: the sandbox\'s envVars and per-command envs (which win) reach the command', async () => {
    const r = await sbx.commands.run('echo "$SANDBOX_VAR $OVERRIDE $CMD_VAR $USER"', { envs: { CMD_VAR: 'cmd', OVERRIDE: 'command' } });
    assert.equal(r.stdout, 'from-create command cmd user\n');
    if ((await stats()).isolation === 'mount-namespace') assert.equal((await sbx.commands.run('echo $HOME')).stdout, '/home/user\n');
  });

  test('cwd, and paths as the sandbox sees them (/home/user)', async () => {
    assert.equal(await sbx.files.makeDir('/home/user/work/sub'), true);
    const r = await sbx.commands.run('pwd; echo x > f.txt; realpath f.txt', { cwd: '/home/user/work/sub' });
    const iso = (await stats()).isolation;
    if (iso === 'mount-namespace') assert.equal(r.stdout, '/home/user/work/sub\n/home/user/work/sub/f.txt\n');
    assert.equal(await sbx.files.read('/home/user/work/sub/f.txt'), 'x\n');
    assert.equal((await sbx.commands.run('pwd')).stdout, iso === 'mount-namespace' ? '/home/user\n' : `${(await ctl('/__sandboxes')).find((s) => s.sandboxID === sbx.sandboxId).dir}\n`);
    await assert.rejects(sbx.commands.run('true', { cwd: '/home/user/nope' }), (e) => e instanceof InvalidArgumentError && /cwd '\/home\/user\/nope' does not exist/.test(e.message));
  });

  test('user root is accepted (Authorization: Basic cm9vdDo=) and runs as the server\'s uid', async () => {
    await clearRecorded();
    const r = await sbx.commands.run('echo $USER', { user: 'root' });
    assert.equal(r.stdout, 'root\n');
    const start = (await recorded()).find((x) => x.route === 'POST /process.Process/Start');
    assert.equal(start.status, 200);
    assert.equal(start.sandbox_id, sbx.sandboxId);
    assert.equal(start.headers['x-access-token'], sbx.envdAccessToken);
    assert.equal(start.headers['content-type'], 'application/connect+json');
    assert.equal(start.headers.authorization, 'Basic cm9vdDo=');
    assert.deepEqual(start.body, { process: { cmd: '/bin/bash', args: ['-l', '-c', 'echo $USER'] }, stdin: false });
    assert.equal(start.headers['keepalive-ping-interval'], '50');
    assert.equal(start.headers['connect-timeout-ms'], '60000');
  });

  test('background command, list, kill(pid) -> true (whole group), kill again -> false', async () => {
    const h = await sbx.commands.run('sleep 60 & echo $! > child.pid; wait', { background: true });
    await until(async () => (await sbx.files.exists('/home/user/child.pid')) && (await sbx.files.read('/home/user/child.pid')).trim() !== '', { what: 'child.pid' });
    const child = Number((await sbx.files.read('/home/user/child.pid')).trim());
    const list = await sbx.commands.list();
    const mine = list.find((p) => p.pid === h.pid);
    assert.ok(mine, 'commands.list shows it');
    assert.deepEqual(mine.args, ['-l', '-c', 'sleep 60 & echo $! > child.pid; wait']);
    assert.equal(mine.cwd, '/home/user');
    assert.equal(await sbx.commands.kill(h.pid), true);
    await assert.rejects(h.wait(), (e) => e instanceof CommandExitError && e.exitCode === -1 && e.error === 'signal: killed');
    await until(() => !pidAlive(child), { what: 'the background child (same process group) to die' });
    assert.equal(await sbx.commands.kill(h.pid), false);
  });

  test('SendSignal SIGTERM; other signals are unimplemented', async () => {
    const h = await sbx.commands.run('sleep 60', { background: true });
    const bad = await rawUnary(sbx, 'process.Process/SendSignal', { process: { pid: h.pid }, signal: 'SIGNAL_UNSPECIFIED' });
    assert.equal(bad.status, 501);
    assert.equal(bad.body.code, 'unimplemented');
    const ok = await rawUnary(sbx, 'process.Process/SendSignal', { process: { pid: h.pid }, signal: 'SIGNAL_SIGTERM' });
    assert.deepEqual(ok, { status: 200, body: {} });
    await assert.rejects(h.wait(), (e) => e instanceof CommandExitError && e.error === 'signal: terminated');
  });

  test('stdin: sendStdin and closeStdin', async () => {
    const h = await sbx.commands.run('cat', { background: true, stdin: true });
    await sbx.commands.sendStdin(h.pid, 'abc\n');
    await sbx.commands.closeStdin(h.pid);
    const r = await h.wait();
    assert.equal(r.stdout, 'abc\n');
  });

  test('commands.connect to a running process gets its later output', async () => {
    const h = await sbx.commands.run('sleep 0.5; echo late', { background: true });
    const c = await sbx.commands.connect(h.pid);
    const r = await c.wait();
    assert.equal(r.stdout, 'late\n');
    await h.wait();
  });

  test('a PTY session (sandbox.pty) echoes what it is sent', async () => {
    let out = '';
    const h = await sbx.pty.create({ cols: 80, rows: 24, onData: (d) => { out += Buffer.from(d).toString(); } });
    await sbx.pty.sendInput(h.pid, new TextEncoder().encode('echo pty-$((40+2))\n'));
    await until(() => out.includes('pty-42'), { what: 'pty output' });
    assert.equal(await sbx.pty.kill(h.pid), true);
    await h.wait().catch(() => {});
  });

  test('the end: no process left running in this sandbox', async () => {
    await until(async () => (await ctl('/__sandboxes')).find((s) => s.sandboxID === sbx.sandboxId).running_processes === 0, { what: 'no running processes' });
  });
});

describe('files', () => {
  let sbx;
  before(async () => { sbx = await Sandbox.create(conn()); });
  after(async () => { await sbx?.kill(); });

  test('write (multipart) / read, as text and bytes; WriteInfo', async () => {
    await clearRecorded();
    const info = await sbx.files.write('/home/user/hello.txt', 'hello e2b');
    assert.deepEqual({ ...info }, { path: '/home/user/hello.txt', name: 'hello.txt', type: 'file', metadata: undefined });
    const post = (await recorded()).find((r) => r.route === 'POST /files');
    assert.match(post.headers['content-type'], /^multipart\/form-data; boundary=/);
    assert.equal(await sbx.files.read('/home/user/hello.txt'), 'hello e2b');
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    await sbx.files.write('bin/all.bytes', bytes.buffer);
    assert.deepEqual(Buffer.from(await sbx.files.read('/home/user/bin/all.bytes', { format: 'bytes' })), Buffer.from(bytes));
    assert.equal((await sbx.commands.run('wc -c < bin/all.bytes')).stdout.trim(), '256');
  });

  test('write with useOctetStream and user root: application/octet-stream, username=root', async () => {
    await clearRecorded();
    await sbx.files.write('/home/user/raw.bin', 'raw bytes', { useOctetStream: true, user: 'root' });
    const post = (await recorded()).find((r) => r.route === 'POST /files');
    assert.equal(post.headers['content-type'], 'application/octet-stream');
    assert.deepEqual(post.query, { path: '/home/user/raw.bin', username: 'root' });
    assert.equal((await sbx.commands.run('cat raw.bin')).stdout, 'raw bytes');
  });

  test('a file written by a command is read back; metadata headers round-trip', async () => {
    await sbx.commands.run('printf "from cmd" > cmd.txt');
    assert.equal(await sbx.files.read('cmd.txt'), 'from cmd');
    await sbx.files.write('/home/user/meta.txt', 'm', { metadata: { Owner: 'stirrup' } });
    assert.deepEqual((await sbx.files.getInfo('/home/user/meta.txt')).metadata, { owner: 'stirrup' });
  });

  test('exists, getInfo, list (depth), makeDir, rename, remove', async () => {
    assert.equal(await sbx.files.exists('/home/user/hello.txt'), true);
    assert.equal(await sbx.files.exists('/home/user/absent.txt'), false);
    const info = await sbx.files.getInfo('/home/user/hello.txt');
    assert.equal(info.type, 'file');
    assert.equal(info.size, 9);
    assert.equal(info.path, '/home/user/hello.txt');
    assert.equal(info.permissions, '-rw-r--r--');
    assert.ok(Math.abs(info.modifiedTime.getTime() - Date.now()) < 60000);
    assert.equal((await sbx.files.getInfo('/home/user')).type, 'dir');
    assert.equal(await sbx.files.makeDir('/home/user/d/e'), true);
    assert.equal(await sbx.files.makeDir('/home/user/d/e'), false);
    await sbx.files.write('/home/user/d/e/f.txt', 'f');
    const top = (await sbx.files.list('/home/user/d')).map((e) => [e.path, e.type]);
    assert.deepEqual(top, [['/home/user/d/e', 'dir']]);
    const deep = (await sbx.files.list('/home/user/d', { depth: 2 })).map((e) => e.path);
    assert.deepEqual(deep, ['/home/user/d/e', '/home/user/d/e/f.txt']);
    const moved = await sbx.files.rename('/home/user/d/e/f.txt', '/home/user/d/g/h.txt');
    assert.equal(moved.path, '/home/user/d/g/h.txt');
    assert.equal(await sbx.files.read('/home/user/d/g/h.txt'), 'f');
    await sbx.files.remove('/home/user/d');
    assert.equal(await sbx.files.exists('/home/user/d'), false);
    await sbx.files.remove('/home/user/never-was'); // os.RemoveAll: no error
    await assert.rejects(sbx.files.list('/home/user/hello.txt'), InvalidArgumentError);
  });

  test('symlinks: Stat describes the target, ListDir lists the link', async () => {
    await sbx.commands.run('mkdir -p ln && echo t > ln/target && ln -sf target ln/link');
    const info = await sbx.files.getInfo('/home/user/ln/link');
    assert.equal(info.type, 'file');
    assert.equal(info.symlinkTarget, '/home/user/ln/target');
    assert.match(info.permissions, /^L/);
    assert.equal(await sbx.files.read('/home/user/ln/link'), 't\n');
  });

  test('read of a missing file -> FileNotFoundError; of a directory -> InvalidArgumentError', async () => {
    await assert.rejects(sbx.files.read('/home/user/missing.txt'), FileNotFoundError);
    await assert.rejects(sbx.files.read('/home/user'), InvalidArgumentError);
    await assert.rejects(sbx.files.getInfo('/home/user/missing.txt'), FileNotFoundError);
  });

  test('/tmp is the sandbox\'s own; other paths outside /home/user are refused', async () => {
    await sbx.files.write('/tmp/t.txt', 'tmp');
    if ((await stats()).isolation === 'mount-namespace') assert.equal((await sbx.commands.run('cat /tmp/t.txt')).stdout, 'tmp');
    await assert.rejects(sbx.files.read('/etc/hostname'), (e) => e instanceof SandboxError && /^403: /.test(e.message));
    await assert.rejects(sbx.files.getInfo('/etc'), (e) => e instanceof SandboxError && /permission_denied/.test(e.message));
  });

  test('raw /files: 404 and 400 JSON bodies; octet-stream without path is 400', async () => {
    const h = { 'e2b-sandbox-id': sbx.sandboxId, 'x-access-token': sbx.envdAccessToken };
    let r = await fetch(`${srv.base}/files?path=${encodeURIComponent('/home/user/x.txt')}`, { headers: h });
    assert.equal(r.status, 404);
    assert.deepEqual(await r.json(), { code: 404, message: "path '/home/user/x.txt' does not exist" });
    r = await fetch(`${srv.base}/files?path=%2Fhome%2Fuser`, { headers: h });
    assert.deepEqual([r.status, await r.json()], [400, { code: 400, message: "path '/home/user' is a directory" }]);
    r = await fetch(`${srv.base}/files`, { method: 'POST', headers: { ...h, 'content-type': 'application/octet-stream' }, body: 'x' });
    assert.equal(r.status, 400);
    // A client that does not ask for gzip gets identity with a Content-Length.
    await sbx.files.write('/home/user/plain.txt', 'plain');
    const raw = await new Promise((resolve, reject) => {
      const u = new URL(`${srv.base}/files?path=%2Fhome%2Fuser%2Fplain.txt`);
      import('node:https').then(({ default: https }) => {
        https.get(u, { headers: h }, (res) => {
          let b = '';
          res.on('data', (d) => { b += d; });
          res.on('end', () => resolve({ headers: res.headers, body: b }));
        }).on('error', reject);
      });
    });
    assert.equal(raw.body, 'plain');
    assert.equal(raw.headers['content-length'], '5');
    assert.equal(raw.headers['content-encoding'], undefined);
  });
});

describe('envd version < 0.5.7: multipart uploads only', () => {
  test('the SDK falls back to multipart; the fake refuses octet-stream', async () => {
    await faults({ envd_version: '0.5.6' });
    try {
      await withSandbox(async (sbx) => {
        assert.equal((await sbx.getInfo()).envdVersion, '0.5.6');
        await clearRecorded();
        await sbx.files.write('/home/user/old.txt', 'old envd', { useOctetStream: true });
        const post = (await recorded()).find((r) => r.route === 'POST /files');
        assert.match(post.headers['content-type'], /^multipart\/form-data/);
        assert.equal(await sbx.files.read('/home/user/old.txt'), 'old envd');
        const r = await fetch(`${srv.base}/files?path=%2Fhome%2Fuser%2Fo.txt`, {
          method: 'POST',
          headers: { 'e2b-sandbox-id': sbx.sandboxId, 'x-access-token': sbx.envdAccessToken, 'content-type': 'application/octet-stream' },
          body: 'x',
        });
        assert.equal(r.status, 400);
      });
    } finally {
      await ctl('/__faults', { method: 'DELETE' });
    }
  });
});

describe('envd routing, auth and dead sandboxes (raw HTTP)', () => {
  test('no or a wrong X-Access-Token -> 401 JSON; /health needs none (204)', async () => {
    await withSandbox(async (sbx) => {
      const h = { 'e2b-sandbox-id': sbx.sandboxId, 'content-type': 'application/json' };
      let r = await fetch(`${srv.base}/filesystem.Filesystem/Stat`, { method: 'POST', headers: h, body: '{"path":"/home/user"}' });
      assert.equal(r.status, 401);
      assert.equal((await r.json()).code, 401);
      r = await fetch(`${srv.base}/filesystem.Filesystem/Stat`, { method: 'POST', headers: { ...h, 'x-access-token': 'wrong' }, body: '{"path":"/home/user"}' });
      assert.equal(r.status, 401);
      r = await fetch(`${srv.base}/health`, { headers: { 'e2b-sandbox-id': sbx.sandboxId } });
      assert.equal(r.status, 204);
      const stat = await rawUnary(sbx, 'filesystem.Filesystem/Stat', { path: '/home/user/none' });
      assert.equal(stat.status, 404);
      assert.equal(stat.body.code, 'not_found');
    });
  });

  test('an unknown sandbox -> 502 {"sandboxId","message","code":502}', async () => {
    const r = await fetch(`${srv.base}/health`, { headers: { 'e2b-sandbox-id': 'nosuchsandbox0000000' } });
    assert.equal(r.status, 502);
    assert.deepEqual(await r.json(), { sandboxId: 'nosuchsandbox0000000', message: 'The sandbox was not found', code: 502 });
  });

  test('Host: 49983-<id>.<domain> routes to envd without the header (plain HTTP server)', async () => {
    const plain = await startServer({ plain: true, args: ['--domain', 'fake.test'] });
    try {
      const sbx = await Sandbox.create(conn({}, plain.base));
      try {
        const get = (host, p, headers = {}) => new Promise((resolve, reject) => {
          http.get({ host: '127.0.0.1', port: plain.port, path: p, headers: { host, ...headers } }, (res) => {
            let b = '';
            res.on('data', (d) => { b += d; });
            res.on('end', () => resolve({ status: res.statusCode, body: b }));
          }).on('error', reject);
        });
        await sbx.files.write('/home/user/h.txt', 'host routing');
        const r = await get(`49983-${sbx.sandboxId}.fake.test`, '/files?path=h.txt', { 'x-access-token': sbx.envdAccessToken });
        assert.deepEqual(r, { status: 200, body: 'host routing' });
        assert.equal((await get(`49983-${sbx.sandboxId}.fake.test`, '/health')).status, 204);
        assert.equal((await get(`8080-${sbx.sandboxId}.fake.test`, '/')).status, 502);
        assert.equal((await get('49983-zzzzzzzzzzzzzzzzzzzz.fake.test', '/health')).status, 502);
      } finally {
        await sbx.kill();
      }
    } finally {
      await stopServer(plain);
    }
  });
});

describe('faults mid-run', () => {
  test('vanish_on_command: the sandbox disappears after the start event', async () => {
    const sbx = await Sandbox.create(conn());
    const dir = (await ctl('/__sandboxes')).find((s) => s.sandboxID === sbx.sandboxId).dir;
    await faults({ vanish_on_command: 'VANISH-NOW' });
    try {
      const before = await stats();
      await assert.rejects(sbx.commands.run('echo VANISH-NOW; sleep 30'), TimeoutError); // the SDK's /health probe sees 502
      const s = await stats();
      assert.equal(s.vanished, before.vanished + 1);
      assert.equal(fs.existsSync(dir), false);
      await assert.rejects(sbx.getInfo(), SandboxNotFoundError);
      await assert.rejects(sbx.files.read('/home/user/x'), TimeoutError); // 502 from envd
      assert.equal(await sbx.kill(), false);
    } finally {
      await ctl('/__faults', { method: 'DELETE' });
    }
  });

  test('POST /__sandboxes/{id}/vanish: gone now', async () => {
    const sbx = await Sandbox.create(conn());
    await ctl(`/__sandboxes/${sbx.sandboxId}/vanish`, { method: 'POST' });
    await assert.rejects(sbx.commands.run('true'), SandboxNotFoundError);
    assert.equal(await sbx.kill(), false);
  });

  test('drop_stream_on_command: the connection is cut after the first output; the process runs on', async () => {
    await withSandbox(async (sbx) => {
      await faults({ drop_stream_on_command: 'DROP-ME' });
      try {
        await assert.rejects(sbx.commands.run('echo DROP-ME; sleep 1; echo done > finished'), (e) => {
          assert.ok(!(e instanceof CommandExitError), `not an exit: ${e}`);
          return true;
        });
        assert.equal((await ctl('/__sandboxes')).find((s) => s.sandboxID === sbx.sandboxId).running_processes, 1);
        await until(() => sbx.files.exists('/home/user/finished'), { what: 'the process to finish on its own' });
      } finally {
        await ctl('/__faults', { method: 'DELETE' });
      }
    });
  });
});

describe('isolation between sandboxes', () => {
  test('each sandbox sees only its own /home/user and /tmp', async () => {
    if ((await stats()).isolation !== 'mount-namespace') return;
    await withSandbox(async (a) => {
      await withSandbox(async (b) => {
        await a.commands.run('echo a > /home/user/only-a; echo a > /tmp/only-a');
        assert.equal((await b.commands.run('ls -A /home/user /tmp')).stdout, '/home/user:\n\n/tmp:\n');
        assert.equal(await b.files.exists('/home/user/only-a'), false);
      });
    });
  });
});

describe(`plain HTTP (e2b ${sdkPkg.version})`, () => {
  test('create, run, write, read, kill over http://', async () => {
    const plain = await startServer({ plain: true });
    try {
      const sbx = await Sandbox.create(conn({}, plain.base));
      assert.equal((await sbx.commands.run('echo plain')).stdout, 'plain\n');
      await sbx.files.write('/home/user/p.txt', 'p');
      assert.equal(await sbx.files.read('/home/user/p.txt'), 'p');
      assert.equal(await sbx.kill(), true);
      const s = await stats(plain.base);
      assert.equal(s.tls_handshakes, 0);
      assert.equal(s.live_sandboxes, 0);
    } finally {
      await stopServer(plain);
    }
  });
});

describe('older SDK e2b@2.45.0: v1 create and connect', () => {
  test('POST /sandboxes with secure:true, POST /sandboxes/{id}/connect, run, files, kill', async () => {
    await clearRecorded();
    const sbx = await SandboxV1.create(conn({ metadata: { v: '1' } }));
    try {
      const create = (await recorded()).find((r) => r.route === 'POST /sandboxes');
      assert.ok(create, 'v1 create');
      assert.equal(create.body.secure, true);
      assert.equal(create.body.templateID, 'base');
      assert.equal((await sbx.commands.run('echo v1')).stdout, 'v1\n');
      await sbx.files.write('/home/user/v1.txt', 'v1 file');
      assert.equal(await sbx.files.read('/home/user/v1.txt'), 'v1 file');
      const again = await SandboxV1.connect(sbx.sandboxId, conn());
      assert.equal((await again.commands.run('cat v1.txt')).stdout, 'v1 file');
      assert.ok((await recorded()).some((r) => r.route === 'POST /sandboxes/{id}/connect'));
    } finally {
      assert.equal(await sbx.kill(), true);
    }
  });
});

describe('server lifecycle', () => {
  test('closing stdin kills every process and removes every sandbox directory', async () => {
    const s = await startServer({ plain: true });
    const sbx = await Sandbox.create(conn({}, s.base));
    const h = await sbx.commands.run('sleep 60', { background: true, timeoutMs: 0 });
    const dir = (await ctl('/__sandboxes', { base: s.base }))[0].dir;
    assert.ok(pidAlive(h.pid));
    await stopServer(s);
    await until(() => !pidAlive(h.pid), { what: 'the command to die with the server' });
    assert.equal(fs.existsSync(dir), false);
    assert.equal(fs.existsSync(path.dirname(path.dirname(dir))), false, 'the server\'s temp root is gone');
  });

  test('POST /__reset kills every sandbox and resets the counters', async () => {
    const s = await startServer({ plain: true });
    try {
      await Sandbox.create(conn({}, s.base));
      await faults({ create_delay_ms: 1 }, s.base);
      await ctl('/__reset', { method: 'POST', base: s.base });
      const st = await stats(s.base);
      assert.deepEqual([st.live_sandboxes, st.created, st.killed, st.expired, st.requests], [0, 0, 0, 0, 0]);
      assert.deepEqual(await ctl('/__faults', { base: s.base }), {});
      assert.deepEqual(await ctl('/__requests', { base: s.base }), []);
    } finally {
      await stopServer(s);
    }
  });
});

describe('at the end', () => {
  test('no live sandbox and no running process is left', async () => {
    const s = await stats();
    assert.equal(s.live_sandboxes, 0);
    assert.equal(s.running_processes, 0);
    assert.ok(s.tls_handshakes > 0);
    assert.ok(s.tls_handshakes < s.requests, `keep-alive: ${s.tls_handshakes} handshakes for ${s.requests} requests`);
  });
});
