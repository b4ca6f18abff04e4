// One fake sandbox: a directory that plays /home/user (and one that plays
// /tmp), the processes started in it, and how both die.
//
// Isolation ("mount-namespace", the default when it works): each sandbox owns
// a private mount namespace, held open by a small "holder" process, in which a
// tmpfs covers /home (so the host's /home is neither seen nor touched), the
// sandbox directory is bind-mounted on /home/user and the sandbox's tmp
// directory on /tmp. Every command enters that namespace with nsenter, so
// `pwd`/`realpath` print /home/user/... exactly as in E2B, and a sandbox does
// not see another sandbox's files. The rest of the file system is the host's,
// and commands run as the server's uid: this is a test double, not a security
// boundary.
//
// Isolation "none" (no unshare/mount permission, e.g. an unprivileged
// container): commands run directly with HOME and cwd set to the host
// directories; the file APIs still speak /home/user/..., but paths printed by
// commands are host paths.

import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConnectError, timestamp } from './connect.mjs';

export const HOME = '/home/user';
export const TMP = '/tmp';
const STD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const USERS = ['user', 'root'];

// The shell run by the namespace holder: cover /home with a tmpfs, mount the
// sandbox's two directories, report, then wait for the server to close our
// stdin (or to die: the pipe closes then too, so no holder outlives it).
const HOLDER_SCRIPT = 'mount -t tmpfs -o size=1m,mode=0755 fake-e2b /home && mkdir /home/user && '
  + 'mount --bind "$0" /home/user && mount --bind "$1" /tmp && echo ready && exec cat >/dev/null';

// Enters the sandbox's cwd inside the namespace, then becomes the command.
// (nsenter --wd resolves its directory before entering the namespace.)
const ENTER_SCRIPT = 'cd "$0" || exit 127; exec "$@"';

function isExecutable(p) {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

// Decides the isolation once at startup: `mode` is "auto", "mount" or "none".
export function probeIsolation(mode) {
  if (mode === 'none') return 'none';
  const why = (() => {
    if (!fs.existsSync('/home')) return '/home does not exist';
    for (const tool of ['unshare', 'nsenter', 'mount']) {
      if (!STD_PATH.split(':').some((d) => isExecutable(path.join(d, tool)))) return `${tool} not found`;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-e2b-probe-'));
    try {
      fs.mkdirSync(path.join(dir, 'home'));
      fs.mkdirSync(path.join(dir, 'tmp'));
      fs.writeFileSync(path.join(dir, 'home', 'probe'), 'ok');
      const script = HOLDER_SCRIPT.replace(' && echo ready && exec cat >/dev/null', ' && cd /home/user && realpath probe && cat probe');
      const r = spawnSync('unshare', ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', script, path.join(dir, 'home'), path.join(dir, 'tmp')],
        { encoding: 'utf8', env: { PATH: STD_PATH }, timeout: 10000 });
      if (r.status !== 0 || r.stdout !== '/home/user/probe\nok') return `unshare/mount failed: ${(r.stderr || r.error?.message || '').trim()}`;
      return null;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  })();
  if (why === null) return 'mount-namespace';
  if (mode === 'mount') throw new Error(`--isolation mount: ${why}`);
  if (process.env.FAKE_E2B_DEBUG) process.stderr.write(`fake-e2b: no mount namespaces (${why}); isolation none\n`);
  return 'none';
}

// uid/gid -> name, as Go's user.LookupId reads them (numeric string if unknown).
function readIdNames(file) {
  const m = new Map();
  try {
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length >= 3 && !m.has(f[2])) m.set(f[2], f[0]);
    }
  } catch { /* none */ }
  return m;
}
const userNames = readIdNames('/etc/passwd');
const groupNames = readIdNames('/etc/group');

// Go's os.FileMode.String() for a Node Stats (type letters "dalTLDpSugct?").
export function goModeString(st) {
  const mode = Number(st.mode);
  let s = '';
  if (st.isDirectory()) s += 'd';
  if (st.isSymbolicLink()) s += 'L';
  if (st.isBlockDevice() || st.isCharacterDevice()) s += 'D';
  if (st.isFIFO()) s += 'p';
  if (st.isSocket()) s += 'S';
  if (mode & 0o4000) s += 'u';
  if (mode & 0o2000) s += 'g';
  if (st.isCharacterDevice()) s += 'c';
  if (mode & 0o1000) s += 't';
  if (s === '') s = '-';
  const rwx = 'rwxrwxrwx';
  for (let i = 0; i < 9; i++) s += (mode & (1 << (8 - i))) ? rwx[i] : '-';
  return s;
}

const FILE_TYPE = { file: 'FILE_TYPE_FILE', dir: 'FILE_TYPE_DIRECTORY', symlink: 'FILE_TYPE_SYMLINK' };
function typeOf(st) {
  if (st.isFile()) return FILE_TYPE.file;
  if (st.isDirectory()) return FILE_TYPE.dir;
  if (st.isSymbolicLink()) return FILE_TYPE.symlink;
  return undefined; // FILE_TYPE_UNSPECIFIED: omitted, as protojson omits defaults
}

// Go's os.ProcessState.String() names of signals.
const GO_SIGNAL_NAMES = {
  SIGHUP: 'hangup', SIGINT: 'interrupt', SIGQUIT: 'quit', SIGILL: 'illegal instruction',
  SIGTRAP: 'trace/breakpoint trap', SIGABRT: 'aborted', SIGBUS: 'bus error',
  SIGFPE: 'floating point exception', SIGKILL: 'killed', SIGUSR1: 'user defined signal 1',
  SIGSEGV: 'segmentation fault', SIGUSR2: 'user defined signal 2', SIGPIPE: 'broken pipe',
  SIGALRM: 'alarm clock', SIGTERM: 'terminated',
};

// The EndEvent envd sends for a finished process, defaults omitted:
// exitCode (-1 when killed by a signal), exited, status, error.
export function endEvent(code, signal) {
  if (signal) {
    const status = `signal: ${GO_SIGNAL_NAMES[signal] ?? signal}`;
    return { exitCode: -1, status, error: status };
  }
  const status = `exit status ${code}`;
  return code === 0 ? { exited: true, status } : { exitCode: code, exited: true, status, error: status };
}

// POSIX single quotes, for the PTY command line handed to `script -c`.
function shellQuote(s) {
  return /^[A-Za-z0-9_\/.,:=+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function killGroup(pid, signal = 'SIGKILL') {
  try {
    process.kill(-pid, signal);
  } catch { /* already gone */ }
  try {
    process.kill(pid, signal);
  } catch { /* already gone */ }
}

export function randomId(n = 20) {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = crypto.randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[bytes[i] % alphabet.length];
  return s;
}

// A process started by Start, and the streams (Start's own, and Connect's)
// that receive its events.
class Proc {
  constructor(sandbox, child, config, { tag, stdin, pty }) {
    this.sandbox = sandbox;
    this.child = child;
    this.pid = child.pid;
    this.config = config;
    this.tag = tag;
    this.stdin = stdin;
    this.pty = pty;
    this.listeners = new Set();
    this.ended = false;
  }

  emit(event) {
    for (const l of [...this.listeners]) l.event(event);
  }

  signal(sig) {
    killGroup(this.pid, sig);
  }
}

export class Sandbox {
  constructor(opts) {
    Object.assign(this, opts); // id, templateID, alias, metadata, envVars, envdVersion, token, root, isolation, ...
    this.dir = path.join(opts.root, opts.id);
    this.home = path.join(this.dir, 'home');
    this.tmp = path.join(this.dir, 'tmp');
    this.startedAt = Date.now();
    this.procs = new Map(); // pid -> Proc, until the process has ended
    this.fileMetadata = new Map(); // host path -> {key: value} (envd keeps them as xattrs)
    this.dead = false;
    this.holder = null;
    this.nsLink = null;
    this.expiryTimer = null;
  }

  async init() {
    fs.mkdirSync(this.home, { recursive: true });
    fs.mkdirSync(this.tmp, { recursive: true });
    fs.chmodSync(this.tmp, 0o1777);
    if (this.isolation !== 'mount-namespace') return;
    const holder = spawn('unshare', ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', HOLDER_SCRIPT, this.home, this.tmp],
      { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: STD_PATH } });
    this.holder = holder;
    let err = '';
    holder.stderr.on('data', (d) => { err += d; });
    holder.stdin.on('error', () => {});
    await new Promise((resolve, reject) => {
      let out = '';
      const onData = (d) => {
        out += d;
        if (out.includes('ready\n')) {
          holder.stdout.off('data', onData);
          resolve();
        }
      };
      holder.stdout.on('data', onData);
      holder.once('error', reject);
      holder.once('exit', (code) => reject(new Error(`namespace holder exited (${code}): ${err.trim()}`)));
    });
    holder.removeAllListeners('exit');
    this.nsLink = fs.readlinkSync(`/proc/${holder.pid}/ns/mnt`);
  }

  // ------------------------------------------------------------------------
  // paths. A "view" path is what the sandbox sees (/home/user/a.txt); the
  // host path is where it really is.

  // Resolves a request path like envd's ExpandAndResolve: "~" and relative
  // paths are relative to the user's home. Both users share /home/user here.
  viewPath(p) {
    let s = p ?? '';
    if (s === '~' || s.startsWith('~/')) s = HOME + s.slice(1);
    return path.posix.resolve(HOME, s);
  }

  // view -> host, or null when the view path is outside /home/user and /tmp.
  hostPath(view) {
    for (const [root, host] of [[HOME, this.home], [TMP, this.tmp]]) {
      if (view === root) return host;
      if (view.startsWith(`${root}/`)) return host + view.slice(root.length);
    }
    return null;
  }

  hostOrDeny(view) {
    const h = this.hostPath(view);
    if (h === null) throw new ConnectError('permission_denied', `path '${view}' is outside the sandbox's ${HOME} and ${TMP} (fake E2B server)`);
    return h;
  }

  // Follows symlinks in view space (a link to /home/user/x means the
  // sandbox's x, not the host's): returns {view, exists}. Components after the
  // first missing one are kept as they are. Throws ConnectError when the path
  // leads outside the sandbox or loops.
  resolve(view, followLast = true) {
    let hops = 0;
    let done = '/';
    let rest = view.split('/').filter(Boolean);
    while (rest.length > 0) {
      const name = rest.shift();
      const next = path.posix.join(done, name);
      const host = this.hostPath(next);
      if (host === null) {
        // "/" and "/home" are outside but may be passed through on the way in.
        if (HOME.startsWith(`${next}/`) || TMP.startsWith(`${next}/`)) {
          done = next;
          continue;
        }
        this.hostOrDeny(next);
      }
      let st;
      try {
        st = fs.lstatSync(host);
      } catch {
        return { view: path.posix.join(next, ...rest), exists: false };
      }
      if (st.isSymbolicLink() && (rest.length > 0 || followLast)) {
        if (++hops > 40) throw new ConnectError('failed_precondition', `cyclic symlink or chain >40 links at "${view}"`);
        const target = fs.readlinkSync(host);
        const abs = path.posix.resolve(done, target);
        rest = [...abs.split('/').filter(Boolean), ...rest];
        done = '/';
        continue;
      }
      done = next;
    }
    return { view: done, exists: true };
  }

  // EntryInfo (filesystem.proto) of a view path, symlinks described as envd
  // does: lstat for name/size/permissions/time, type and mode of the target.
  entryInfo(view) {
    const host = this.hostOrDeny(view);
    const st = fs.lstatSync(host, { bigint: true });
    let type = typeOf(st);
    let mode = Number(st.mode) & 0o777;
    let symlinkTarget;
    if (st.isSymbolicLink()) {
      let target = view;
      try {
        const r = this.resolve(view, true);
        if (r.exists) {
          target = r.view;
          const tst = fs.statSync(this.hostOrDeny(r.view));
          type = typeOf(tst);
          mode = tst.mode & 0o777;
        } else {
          type = undefined;
          mode = 0;
        }
      } catch {
        type = undefined;
        mode = 0;
      }
      symlinkTarget = target;
    }
    // Field order as envd's protojson writes it; defaults omitted.
    const e = { name: path.posix.basename(view) };
    if (type) e.type = type;
    e.path = view;
    if (st.size !== 0n) e.size = String(st.size);
    if (mode !== 0) e.mode = mode;
    e.permissions = goModeString(st);
    e.owner = userNames.get(String(st.uid)) ?? String(st.uid);
    e.group = groupNames.get(String(st.gid)) ?? String(st.gid);
    e.modifiedTime = timestamp(st.mtimeNs);
    if (symlinkTarget !== undefined) e.symlinkTarget = symlinkTarget;
    const md = this.fileMetadata.get(host);
    if (md && Object.keys(md).length > 0) e.metadata = { ...md };
    return e;
  }

  // ------------------------------------------------------------------------
  // processes

  runningCount() {
    let n = 0;
    for (const p of this.procs.values()) if (!p.ended) n++;
    return n;
  }

  findProc(selector) {
    if (selector?.pid !== undefined) return this.procs.get(Number(selector.pid)) ?? null;
    if (selector?.tag !== undefined) {
      for (const p of this.procs.values()) if (p.tag === selector.tag) return p;
    }
    return null;
  }

  // Starts a process as envd's Start does. `config` = {cmd, args, envs, cwd}
  // (cwd a view path); throws ConnectError invalid_argument when the cwd or
  // the executable is missing, as envd does before starting anything.
  // `deadlineMs` (Connect-Timeout-Ms of Start) kills the process group then,
  // whether or not anyone still listens: envd runs the command under a
  // context with that deadline.
  start(config, { user, stdin, pty, tag, deadlineMs }) {
    const cwdView = this.viewPath(config.cwd || HOME);
    // Commands may work anywhere: outside /home/user and /tmp the sandbox's
    // file system is the host's, so such a cwd is checked on the host.
    let cwdHost;
    try {
      cwdHost = this.hostPath(this.resolve(cwdView, true).view) ?? cwdView;
    } catch {
      cwdHost = cwdView;
    }
    const cwdStat = fs.statSync(cwdHost, { throwIfNoEntry: false });
    if (!cwdStat) throw new ConnectError('invalid_argument', `cwd '${cwdView}' does not exist`);
    if (!cwdStat.isDirectory()) throw new ConnectError('invalid_argument', `error starting process: chdir ${cwdView}: not a directory`);

    const env = {
      PATH: STD_PATH,
      HOME: this.isolation === 'mount-namespace' ? HOME : this.home,
      USER: user,
      LOGNAME: user,
      ...(this.isolation === 'mount-namespace' ? {} : { TMPDIR: this.tmp }),
      ...this.envVars,
      ...config.envs,
    };
    const cmd = config.cmd;
    const exe = cmd.includes('/') ? this.exeHost(cmd) : (env.PATH ?? STD_PATH).split(':').map((d) => path.join(d, cmd)).find(isExecutable);
    if (!exe || !isExecutable(exe)) {
      const why = cmd.includes('/') ? `fork/exec ${cmd}: no such file or directory` : `exec: "${cmd}": executable file not found in $PATH`;
      throw new ConnectError('invalid_argument', `error starting process '${cmd}': ${why}`);
    }

    let argv = [cmd, ...config.args];
    if (pty) {
      const size = pty.size ?? {};
      const line = argv.map(shellQuote).join(' ');
      const stty = size.cols && size.rows ? `stty cols ${size.cols} rows ${size.rows} 2>/dev/null; ` : '';
      argv = ['script', '-q', '-f', '-e', '-c', `${stty}exec ${line}`, '/dev/null'];
      env.TERM = env.TERM ?? 'xterm-256color';
    }
    let file;
    let args;
    let cwd;
    if (this.isolation === 'mount-namespace') {
      file = 'nsenter';
      args = ['--target', String(this.holder.pid), '--mount', '--', '/bin/sh', '-c', ENTER_SCRIPT, cwdView, ...argv];
      cwd = this.dir;
    } else {
      file = argv[0];
      args = argv.slice(1);
      cwd = cwdHost;
    }
    const child = spawn(file, args, {
      cwd,
      env,
      detached: true, // own session and process group: SendSignal hits the whole group
      stdio: [stdin || pty ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    if (child.pid === undefined) throw new ConnectError('invalid_argument', `error starting process '${cmd}'`);
    const proc = new Proc(this, child, { cmd, args: config.args, envs: config.envs, cwd: cwdView }, { tag, stdin: !!stdin, pty: !!pty });
    this.procs.set(proc.pid, proc);
    child.stdin?.on('error', () => {});
    child.on('error', () => {});
    const out = pty ? 'pty' : 'stdout';
    child.stdout.on('data', (d) => proc.emit({ data: { [out]: d.toString('base64') } }));
    child.stderr.on('data', (d) => proc.emit({ data: { [pty ? 'pty' : 'stderr']: d.toString('base64') } }));
    // 'close' waits for stdout/stderr to end too: like envd, the end event
    // follows all the output (also output of children still holding the pipes).
    if (deadlineMs > 0) {
      proc.deadlineTimer = setTimeout(() => {
        proc.deadlineExceeded = true;
        proc.signal('SIGKILL');
      }, deadlineMs);
    }
    child.on('close', (code, signal) => {
      clearTimeout(proc.deadlineTimer);
      proc.ended = true;
      this.procs.delete(proc.pid);
      proc.emit({ end: endEvent(code, signal) });
    });
    return proc;
  }

  exeHost(cmd) {
    const v = path.posix.resolve(HOME, cmd);
    const h = this.hostPath(v);
    return h ?? v; // outside /home/user and /tmp: the host's file system
  }

  // ------------------------------------------------------------------------
  // death

  // Kills every process of the sandbox (process groups, then anything else
  // inside its namespace), the holder, and removes the directories.
  destroy() {
    if (this.dead) return;
    this.dead = true;
    clearTimeout(this.expiryTimer);
    for (const p of this.procs.values()) {
      clearTimeout(p.deadlineTimer);
      p.signal('SIGKILL');
      for (const l of [...p.listeners]) l.abort();
    }
    if (this.nsLink) {
      for (const ent of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(ent) || Number(ent) === this.holder.pid) continue;
        try {
          if (fs.readlinkSync(`/proc/${ent}/ns/mnt`) === this.nsLink) process.kill(Number(ent), 'SIGKILL');
        } catch { /* gone, or not ours to read */ }
      }
    }
    if (this.holder) {
      try {
        this.holder.kill('SIGKILL');
      } catch { /* gone */ }
    }
    fs.rmSync(this.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
  }
}
