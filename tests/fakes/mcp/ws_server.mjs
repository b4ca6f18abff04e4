#!/usr/bin/env node
// An MCP server over WebSocket, built on the official SDK's Server class
// (@modelcontextprotocol/sdk) with a Transport over a `ws` WebSocketServer.
// The wire format mirrors the SDK's own WebSocketClientTransport
// (@modelcontextprotocol/sdk/client/websocket.js): the client offers the
// subprotocol "mcp", and every JSON-RPC message is one text frame holding one
// JSON object (no batches, no newline framing).
//
//   node ws_server.mjs [--port N] [--host H] [--tls-cert PEM --tls-key PEM]
//                      [--allow-no-subprotocol] [--log-messages]
//
// --port 0 (the default) picks a free port; once listening, exactly one line
// goes to stdout: `listening PORT`. Any path is accepted (ws://H:PORT/,
// ws://H:PORT/mcp, ...). With --tls-cert/--tls-key it serves wss://.
// A handshake that does not offer the "mcp" subprotocol is refused with HTTP
// 400 unless --allow-no-subprotocol. Each connection gets its own Server.
//
// stderr lines (one event each): `connected N`, `closed N CODE`,
// `cancelled REQUEST-ID` (a notifications/cancelled that aborted a running
// `slow` call), `bad-frame N REASON`, and with --log-messages `recv N JSON`
// for every message received.
//
// Tools: echo {message} -> "Echo: <message>"; add {a, b} -> the sum as text;
// fail -> isError with text; slow {ms} -> waits, honouring cancellation, with
// progress notifications when the call carries a progressToken; image -> one
// PNG image block (1x1). Exits on SIGTERM/SIGINT or when stdin (a pipe) closes.
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import { WebSocketServer } from "ws";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  CallToolRequestSchema,
  ListToolsRequestSchema,
  JSONRPCMessageSchema,
} from "@modelcontextprotocol/sdk/types.js";

const SUBPROTOCOL = "mcp";

// A valid 1x1 RGBA PNG (one opaque red pixel), 70 bytes.
export const TINY_PNG_BASE64 =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";

function parseArgs(argv) {
  const opts = { port: 0, host: "127.0.0.1", cert: null, key: null, allowNoSub: false, logMessages: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--port") opts.port = Number(val());
    else if (a === "--host") opts.host = val();
    else if (a === "--tls-cert") opts.cert = val();
    else if (a === "--tls-key") opts.key = val();
    else if (a === "--allow-no-subprotocol") opts.allowNoSub = true;
    else if (a === "--log-messages") opts.logMessages = true;
    else usage(`unknown argument ${a}`);
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) usage("bad --port");
  if (!!opts.cert !== !!opts.key) usage("--tls-cert and --tls-key go together");
  return opts;
}

function usage(msg) {
  console.error(`ws_server.mjs: ${msg}`);
  console.error(
    "usage: node ws_server.mjs [--port N] [--host H] [--tls-cert PEM --tls-key PEM] [--allow-no-subprotocol] [--log-messages]",
  );
  process.exit(2);
}

/** The SDK Transport interface over one accepted `ws` socket. */
export class WebSocketServerTransport {
  constructor(ws, { connId = 0, logMessages = false } = {}) {
    this._ws = ws;
    this._connId = connId;
    this._logMessages = logMessages;
    this._closed = false;
    // Listeners go on at once: Protocol.connect() sets onmessage before its
    // first await, and no frame can be delivered before this tick ends.
    ws.on("message", (data, isBinary) => this._onFrame(data, isBinary));
    ws.on("close", (code) => {
      if (this._closed) return;
      this._closed = true;
      console.error(`closed ${this._connId} ${code}`);
      this.onclose?.();
    });
    ws.on("error", (err) => this.onerror?.(err));
  }

  async start() {}

  _onFrame(data, isBinary) {
    if (isBinary) {
      console.error(`bad-frame ${this._connId} binary`);
      this._ws.close(1003, "MCP messages are text frames");
      return;
    }
    const text = data.toString("utf8");
    if (this._logMessages) console.error(`recv ${this._connId} ${text}`);
    let parsed;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      console.error(`bad-frame ${this._connId} not-json`);
      this._sendRaw({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } });
      this.onerror?.(err);
      return;
    }
    let message;
    try {
      message = JSONRPCMessageSchema.parse(parsed);
    } catch (err) {
      console.error(`bad-frame ${this._connId} not-jsonrpc`);
      this._sendRaw({
        jsonrpc: "2.0",
        id: parsed && typeof parsed === "object" && "id" in parsed ? parsed.id : null,
        error: { code: -32600, message: "Invalid Request" },
      });
      this.onerror?.(err);
      return;
    }
    this.onmessage?.(message);
  }

  _sendRaw(obj) {
    if (this._ws.readyState === this._ws.OPEN) this._ws.send(JSON.stringify(obj));
  }

  send(message) {
    return new Promise((resolve, reject) => {
      if (this._ws.readyState !== this._ws.OPEN) {
        reject(new Error("Not connected"));
        return;
      }
      this._ws.send(JSON.stringify(message), (err) => (err ? reject(err) : resolve()));
    });
  }

  async close() {
    if (this._ws.readyState === this._ws.OPEN || this._ws.readyState === this._ws.CONNECTING) {
      this._ws.close(1000);
    }
  }
}

const TOOLS = [
  {
    name: "echo",
    description: "Echoes back the input string",
    inputSchema: {
      type: "object",
      properties: { message: { type: "string", description: "Message to echo" } },
      required: ["message"],
    },
  },
  {
    name: "add",
    description: "Adds two numbers",
    inputSchema: {
      type: "object",
      properties: { a: { type: "number" }, b: { type: "number" } },
      required: ["a", "b"],
    },
  },
  {
    name: "fail",
    description: "Always fails (isError: true)",
    inputSchema: { type: "object", properties: {} },
  },
  {
    name: "slow",
    description: "Waits ms milliseconds, then answers; honours notifications/cancelled",
    inputSchema: {
      type: "object",
      properties: { ms: { type: "number", minimum: 0 } },
      required: ["ms"],
    },
  },
  {
    name: "image",
    description: "Returns a 1x1 PNG image",
    inputSchema: { type: "object", properties: {} },
  },
];

const toolError = (text) => ({ content: [{ type: "text", text }], isError: true });

async function callTool(server, req, extra) {
  const { name } = req.params;
  const args = req.params.arguments ?? {};
  switch (name) {
    case "echo":
      if (typeof args.message !== "string") return toolError("echo: message must be a string");
      return { content: [{ type: "text", text: `Echo: ${args.message}` }] };
    case "add":
      if (typeof args.a !== "number" || typeof args.b !== "number") {
        return toolError("add: a and b must be numbers");
      }
      return { content: [{ type: "text", text: String(args.a + args.b) }] };
    case "fail":
      return toolError("fail: this tool always fails");
    case "slow": {
      const ms = args.ms;
      if (typeof ms !== "number" || !(ms >= 0)) return toolError("slow: ms must be a number >= 0");
      const progressToken = req.params._meta?.progressToken;
      const start = Date.now();
      const tick = Math.min(100, Math.max(ms, 1));
      await new Promise((resolve) => {
        let timer = null;
        const finish = () => {
          clearTimeout(timer);
          extra.signal.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = () => {
          console.error(`cancelled ${extra.requestId}`);
          finish();
        };
        const step = () => {
          const elapsed = Date.now() - start;
          if (elapsed >= ms) return finish();
          if (progressToken !== undefined) {
            server
              .notification(
                { method: "notifications/progress", params: { progressToken, progress: elapsed, total: ms } },
                { relatedRequestId: extra.requestId },
              )
              .catch(() => {});
          }
          timer = setTimeout(step, Math.min(tick, ms - elapsed));
        };
        if (extra.signal.aborted) return onAbort();
        extra.signal.addEventListener("abort", onAbort);
        timer = setTimeout(step, Math.min(tick, ms));
      });
      // After a cancellation the SDK drops this result (it never sends a
      // response to a cancelled request).
      return { content: [{ type: "text", text: `slept ${ms} ms` }] };
    }
    case "image":
      return { content: [{ type: "image", data: TINY_PNG_BASE64, mimeType: "image/png" }] };
    default:
      return toolError(`Tool ${name} not found`);
  }
}

export function createMcpServer() {
  const server = new Server(
    { name: "stirrup-ws-test-server", version: "1.0.0" },
    { capabilities: { tools: {} } },
  );
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: TOOLS }));
  server.setRequestHandler(CallToolRequestSchema, async (req, extra) => callTool(server, req, extra));
  return server;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const httpServer = opts.cert
    ? https.createServer({ cert: fs.readFileSync(opts.cert), key: fs.readFileSync(opts.key) })
    : http.createServer();
  httpServer.on("request", (req, res) => {
    // Plain HTTP requests (not upgrades) get a hint.
    res.writeHead(426, { "content-type": "text/plain", upgrade: "websocket" });
    res.end("MCP over WebSocket: connect with subprotocol \"mcp\"\n");
  });

  const wss = new WebSocketServer({
    server: httpServer,
    maxPayload: 256 * 1024 * 1024,
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    verifyClient: (info, cb) => {
      const offered = (info.req.headers["sec-websocket-protocol"] ?? "")
        .split(",")
        .map((s) => s.trim());
      if (offered.includes(SUBPROTOCOL) || opts.allowNoSub) cb(true);
      else cb(false, 400, `subprotocol "${SUBPROTOCOL}" required`);
    },
  });

  let nextConn = 1;
  wss.on("connection", (ws) => {
    const connId = nextConn++;
    console.error(`connected ${connId}`);
    const transport = new WebSocketServerTransport(ws, { connId, logMessages: opts.logMessages });
    const server = createMcpServer();
    server.onerror = () => {};
    server.connect(transport).catch((err) => console.error(`connect failed: ${err}`));
  });

  await new Promise((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen({ port: opts.port, host: opts.host }, resolve);
  });
  process.stdout.write(`listening ${httpServer.address().port}\n`);

  const stop = () => {
    for (const c of wss.clients) c.terminate();
    process.exit(0);
  };
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

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("ws_server.mjs")) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
