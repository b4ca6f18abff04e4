#!/usr/bin/env node
// Runs the official MCP "everything" reference server
// (@modelcontextprotocol/server-everything, its own unmodified code) with what
// a test needs around it:
//
//   node everything.mjs stdio
//   node everything.mjs sse            [--port N] [--host H] [--quiet]
//   node everything.mjs streamableHttp [--port N] [--host H] [--quiet]
//
// stdio: exactly `mcp-server-everything stdio` (JSON-RPC on stdin/stdout).
// sse / streamableHttp: the server reads its port from $PORT (default 3001),
// listens on every interface and prints "listening on port 0" when given 0.
// Here --port (default 0: a free port) and --host (default 127.0.0.1) are
// applied to its listen() call, and once it listens this prints exactly one
// line on stdout: `listening PORT`. The server's own console.log chatter
// (the streamable HTTP transport logs every request with console.log) goes
// to stderr instead, or nowhere with --quiet. Exits on SIGTERM/SIGINT, or
// when stdin is a pipe that closes.
import fs from "node:fs";
import http from "node:http";

const args = process.argv.slice(2);
const transport = args[0] ?? "stdio";
let port = 0;
let host = "127.0.0.1";
let quiet = false;
for (let i = 1; i < args.length; i++) {
  const a = args[i];
  if (a === "--port") port = Number(args[++i]);
  else if (a === "--host") host = args[++i];
  else if (a === "--quiet") quiet = true;
  else {
    console.error(`everything.mjs: unknown argument ${a}`);
    process.exit(2);
  }
}
if (!["stdio", "sse", "streamableHttp"].includes(transport)) {
  console.error("usage: everything.mjs stdio|sse|streamableHttp [--port N] [--host H] [--quiet]");
  process.exit(2);
}
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`everything.mjs: bad --port`);
  process.exit(2);
}

if (transport !== "stdio") {
  // stdout carries only the `listening PORT` line.
  const toStderr = (...a) => console.error(...a);
  console.log = quiet ? () => {} : toStderr;
  console.info = console.log;
  if (quiet) console.error = () => {};

  const origListen = http.Server.prototype.listen;
  let hooked = false;
  http.Server.prototype.listen = function (...listenArgs) {
    if (hooked) return origListen.apply(this, listenArgs);
    hooked = true;
    const cb = listenArgs.find((a) => typeof a === "function");
    this.once("listening", () => {
      process.stdout.write(`listening ${this.address().port}\n`);
    });
    return cb ? origListen.call(this, { port, host }, cb) : origListen.call(this, { port, host });
  };
  process.env.PORT = String(port);

  const stop = () => process.exit(0);
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  let stdinIsPipe = false;
  try {
    stdinIsPipe = fs.fstatSync(0).isFIFO();
  } catch {}
  if (stdinIsPipe) {
    process.stdin.on("end", stop);
    process.stdin.on("error", () => {});
    process.stdin.resume();
  }
}

const dist = "@modelcontextprotocol/server-everything/dist";
if (transport === "stdio") await import(`${dist}/transports/stdio.js`);
else if (transport === "sse") await import(`${dist}/transports/sse.js`);
else await import(`${dist}/transports/streamableHttp.js`);
