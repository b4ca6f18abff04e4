#!/usr/bin/env node
// The official MCP SDK client's side of the MCP client benchmark: ONE client
// (one server connection: one child process for stdio, one MCP session for
// HTTP/WebSocket) shared by --sessions concurrent "sessions", each doing
// --calls-per-session sequential tools/call on it.
//
//   node sdk_bench.mjs --transport stdio --command "node everything.mjs stdio" \
//        [--sessions 100] [--calls-per-session 20] [--tool echo] [--args '{"message":"hi"}'] [--warmup 100]
//   node sdk_bench.mjs --transport stdio [options] -- node everything.mjs stdio
//   node sdk_bench.mjs --transport http --url http://127.0.0.1:PORT/mcp [options]
//   node sdk_bench.mjs --transport ws   --url ws://127.0.0.1:PORT/ [options]
//
// --command is split on spaces (use `-- argv...` for arguments with spaces).
// --warmup N calls (default 100, sequential, not measured) run first. Then the
// measured phase; its wall time and this process's CPU time
// (process.cpuUsage(): the client only, not the server) are printed as ONE
// JSON line on stdout:
//   {"calls","seconds","calls_per_second","cpu_user_ms","cpu_system_ms",
//    "cpu_ms_per_call","errors","latency_p50_ms","latency_p99_ms",
//    "transport","sessions","calls_per_session","tool"}
// errors counts calls that threw or returned isError (they still count in
// calls). Exit status 0 unless connecting failed or every call failed.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { WebSocketClientTransport } from "@modelcontextprotocol/sdk/client/websocket.js";

function usage(msg) {
  console.error(`sdk_bench.mjs: ${msg}`);
  console.error(
    "usage: node sdk_bench.mjs --transport stdio|http|ws (--command CMD | --url URL | -- argv...) [--sessions N] [--calls-per-session N] [--tool NAME] [--args JSON] [--warmup N]",
  );
  process.exit(2);
}

const opts = { transport: null, command: null, url: null, sessions: 100, callsPerSession: 20, tool: "echo", args: { message: "hi" }, warmup: 100 };
{
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--") {
      opts.command = argv.slice(i + 1);
      break;
    } else if (a === "--transport") opts.transport = val();
    else if (a === "--command") opts.command = val().split(" ").filter(Boolean);
    else if (a === "--url") opts.url = val();
    else if (a === "--sessions") opts.sessions = Number(val());
    else if (a === "--calls-per-session") opts.callsPerSession = Number(val());
    else if (a === "--tool") opts.tool = val();
    else if (a === "--args") {
      try {
        opts.args = JSON.parse(val());
      } catch {
        usage("--args must be JSON");
      }
    } else if (a === "--warmup") opts.warmup = Number(val());
    else usage(`unknown argument ${a}`);
  }
  if (!["stdio", "http", "ws"].includes(opts.transport)) usage("--transport stdio|http|ws");
  if (opts.transport === "stdio" && !opts.command?.length) usage("stdio needs --command");
  if (opts.transport !== "stdio" && !opts.url) usage(`${opts.transport} needs --url`);
  for (const k of ["sessions", "callsPerSession", "warmup"]) {
    if (!Number.isInteger(opts[k]) || opts[k] < 0) usage(`bad --${k}`);
  }
}

let transport;
if (opts.transport === "stdio") {
  transport = new StdioClientTransport({ command: opts.command[0], args: opts.command.slice(1), stderr: "ignore" });
} else if (opts.transport === "http") {
  transport = new StreamableHTTPClientTransport(new URL(opts.url));
} else {
  if (typeof globalThis.WebSocket === "undefined") {
    globalThis.WebSocket = (await import("ws")).WebSocket;
  }
  transport = new WebSocketClientTransport(new URL(opts.url));
}

const client = new Client({ name: "sdk-bench", version: "1.0.0" });
try {
  await client.connect(transport);
} catch (err) {
  console.error(`sdk_bench: connect failed: ${err.message ?? err}`);
  process.exit(1);
}

const call = async () => {
  const r = await client.callTool({ name: opts.tool, arguments: opts.args });
  if (r.isError) throw new Error(`isError: ${JSON.stringify(r.content)}`);
};

for (let i = 0; i < opts.warmup; i++) await call();

let errors = 0;
let firstError = null;
const latencies = [];
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
await Promise.all(
  Array.from({ length: opts.sessions }, async () => {
    for (let i = 0; i < opts.callsPerSession; i++) {
      const s = process.hrtime.bigint();
      try {
        await call();
      } catch (err) {
        errors++;
        firstError ??= err;
      }
      latencies.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
  }),
);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = process.cpuUsage(cpu0);

const calls = opts.sessions * opts.callsPerSession;
latencies.sort((a, b) => a - b);
const pct = (p) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] : 0);
const round = (x, d = 3) => Number(x.toFixed(d));
const out = {
  calls,
  seconds: round(seconds, 4),
  calls_per_second: round(calls / seconds, 1),
  cpu_user_ms: round(cpu.user / 1000, 1),
  cpu_system_ms: round(cpu.system / 1000, 1),
  cpu_ms_per_call: round((cpu.user + cpu.system) / 1000 / Math.max(calls, 1), 4),
  errors,
  latency_p50_ms: round(pct(0.5)),
  latency_p99_ms: round(pct(0.99)),
  transport: opts.transport,
  sessions: opts.sessions,
  calls_per_session: opts.callsPerSession,
  tool: opts.tool,
};
process.stdout.write(JSON.stringify(out) + "\n");
if (firstError) console.error(`sdk_bench: first error: ${firstError.message ?? firstError}`);

if (opts.transport === "http") await transport.terminateSession().catch(() => {});
await client.close();
process.exit(calls > 0 && errors === calls ? 1 : 0);
