#!/usr/bin/env node
// A WebSocket server for the WebSocket client's tests (tests/integration/
// test_websocket.cpp): an echo, and the ways a server can misbehave. Built on
// the `ws` package (Node has no WebSocket server of its own).
//
//   node server.mjs [--cert PEM --key PEM] [--port N]
//
// Listens on 127.0.0.1 (port 0: a free one), with TLS when given a
// certificate; once listening, prints exactly one line on stdout:
// {"port": N}. Exits when stdin (if a pipe) closes, or on SIGTERM.
//
// Upgrade requests, by path:
//   /echo              every message back, text as text, binary as binary
//   /messages?n=N      sends m0 .. m(N-1), then closes cleanly (1000 "bye")
//   /big?bytes=N       sends one text message of N bytes ('x'), then echoes
//   /binary            sends one binary message (bytes 00 01 02 ff), then echoes
//   /headers           sends the upgrade request's headers as one JSON text
//   /drop-mid-frame    sends the first 10 bytes of a 1000-byte text frame,
//                      then drops the TCP connection (no close frame)
//   /deaf              completes the upgrade, then never reads again (a close
//                      frame goes unanswered)
//   /no-pong           completes the upgrade, never answers pings, sends nothing
//   /refuse            answers the upgrade with 404 and an HTML page
//   /html              answers the upgrade with 200 and an HTML page
//   /not-http          answers the upgrade with an HTML page, no status line
// The subprotocol: the first offered one the server knows ("mcp", "chat"),
// unless ?protocol=none (no Sec-WebSocket-Protocol in the answer) or
// ?protocol=NAME (answers NAME, offered or not).
//
// Plain requests: GET /events -> {"closes": [{"path", "code", "reason"}...],
// "connections": N}: the close frames the server received.
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import { WebSocketServer } from "ws";

const KNOWN_PROTOCOLS = ["mcp", "chat"];

function parseArgs(argv) {
  const opts = { port: 0, cert: null, key: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--port") opts.port = Number(val());
    else if (a === "--cert") opts.cert = val();
    else if (a === "--key") opts.key = val();
    else usage(`unknown argument ${a}`);
  }
  if (!!opts.cert !== !!opts.key) usage("--cert and --key go together");
  return opts;
}

function usage(msg) {
  console.error(`server.mjs: ${msg}`);
  console.error("usage: node server.mjs [--cert PEM --key PEM] [--port N]");
  process.exit(2);
}

const opts = parseArgs(process.argv.slice(2));
const events = { closes: [], connections: 0 };

function chooseProtocol(offered, request) {
  const asked = new URL(request.url, "http://x").searchParams.get("protocol");
  if (asked === "none") return false;
  if (asked) return asked;
  for (const p of offered) if (KNOWN_PROTOCOLS.includes(p)) return p;
  return false;
}

const common = { noServer: true, perMessageDeflate: false, handleProtocols: chooseProtocol, maxPayload: 64 << 20 };
const wss = new WebSocketServer(common);
// ws answers pings by itself; this one does not, for the idle-timeout test.
const silent = new WebSocketServer({ ...common, autoPong: false });
// ws asks handleProtocols only when the client offered some: ?protocol=NAME
// answers NAME even when none was offered.
wss.on("headers", (headers, request) => {
  const asked = new URL(request.url, "http://x").searchParams.get("protocol");
  const answered = headers.some((h) => h.toLowerCase().startsWith("sec-websocket-protocol:"));
  if (asked && asked !== "none" && !answered) headers.push(`Sec-WebSocket-Protocol: ${asked}`);
});

function htmlAnswer(status, reason) {
  const body = `<!DOCTYPE html>\n<html><head><title>${status} ${reason}</title></head>\n<body><h1>${reason}</h1></body></html>\n`;
  return (
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/html; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

function onConnection(ws, request, url) {
  events.connections++;
  ws.on("close", (code, reason) => {
    events.closes.push({ path: url.pathname, code, reason: reason.toString("utf8") });
  });
  ws.on("error", () => {});
  const echo = () =>
    ws.on("message", (data, isBinary) => {
      if (ws.readyState === ws.OPEN) ws.send(data, { binary: isBinary });
    });
  switch (url.pathname) {
    case "/echo":
      echo();
      break;
    case "/messages": {
      const n = Number(url.searchParams.get("n") ?? "0");
      for (let i = 0; i < n; i++) ws.send(`m${i}`);
      ws.close(1000, "bye");
      break;
    }
    case "/big":
      ws.send("x".repeat(Number(url.searchParams.get("bytes") ?? "0")));
      echo();
      break;
    case "/binary":
      ws.send(Buffer.from([0, 1, 2, 255]), { binary: true });
      echo();
      break;
    case "/headers":
      ws.send(JSON.stringify(request.headers));
      echo();
      break;
    case "/drop-mid-frame": {
      // FIN + text opcode, 16-bit length 1000, then 10 of the 1000 bytes.
      const header = Buffer.from([0x81, 126, 1000 >> 8, 1000 & 0xff]);
      ws._socket.write(Buffer.concat([header, Buffer.alloc(10, 0x61)]), () => ws._socket.destroy());
      break;
    }
    case "/deaf":
      ws._socket.pause();
      break;
    case "/no-pong":
      break;
    default:
      ws.close(1008, "unknown path");
  }
}

function onUpgrade(request, socket, head) {
  const url = new URL(request.url, "http://x");
  socket.on("error", () => {});
  if (url.pathname === "/refuse") {
    socket.end(htmlAnswer(404, "Not Found"));
    return;
  }
  if (url.pathname === "/html") {
    socket.end(htmlAnswer(200, "OK"));
    return;
  }
  if (url.pathname === "/not-http") {
    socket.end("<html><body>not HTTP at all</body></html>\r\n\r\n");
    return;
  }
  const server = url.pathname === "/no-pong" ? silent : wss;
  server.handleUpgrade(request, socket, head, (ws) => onConnection(ws, request, url));
}

function onRequest(request, response) {
  const url = new URL(request.url, "http://x");
  if (request.method === "GET" && url.pathname === "/events") {
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify(events));
    return;
  }
  response.writeHead(404, { "content-type": "text/plain" });
  response.end("not found\n");
}

const server = opts.cert
  ? https.createServer({ cert: fs.readFileSync(opts.cert), key: fs.readFileSync(opts.key) }, onRequest)
  : http.createServer(onRequest);
server.on("upgrade", onUpgrade);
server.listen(opts.port, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
});

process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
// Only a pipe: with /dev/null as stdin the server runs until signalled.
if (fs.fstatSync(0).isFIFO()) {
  process.stdin.on("end", () => process.exit(0));
  process.stdin.on("error", () => process.exit(0));
  process.stdin.resume();
}
