#!/usr/bin/env node
// A deliberately misbehaving MCP server for the client's failure tests.
// No npm packages: node:http, node:readline only. Documented in README.md
// ("bad_server.mjs").
//
//   node bad_server.mjs --mode M [--size BYTES] [--crash-once FILE] [--log-requests]
//                       [--reply-timeout-ms MS]
//   node bad_server.mjs --mode M --http [--port N] [--host H] [--sse] [--get-sse] ...
//
// stdio (default): newline-delimited JSON-RPC on stdin/stdout; exits when
// stdin closes. --http: the streamable HTTP transport on POST/GET/DELETE /mcp;
// prints exactly one line on stdout once listening: `listening PORT`.
//
// Unless its mode says otherwise the server answers initialize,
// notifications/initialized, ping and tools/list correctly (one tool `t`,
// inputSchema {type:"object", properties:{x:{type:"string"}}}) and answers
// tools/call with {content:[{type:"text", text:"ok"}]}; the mode decides how
// tools/call (or something else) goes wrong. stderr gets one line per event:
// `cancelled REQUEST-ID` for every notifications/cancelled, `deleted SESSION`
// for an HTTP DELETE of a live session, `request ...` lines with
// --log-requests.
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import readline from "node:readline";

const MODES = [
  "ok",
  "garbage-stdout",
  "huge-line",
  "unknown-id",
  "crash",
  "hang",
  "server-requests",
  "paginate",
  "old-version",
  "bad-version",
  "html",
  "cut-sse",
  "no-answer",
  "is-error",
  "unknown-block",
];
const SUPPORTED_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];
const LATEST_VERSION = "2025-11-25";
const UNKNOWN_ID = 987654321;

function usage(msg) {
  console.error(`bad_server.mjs: ${msg}`);
  console.error(`modes: ${MODES.join(" ")}`);
  console.error(
    "usage: node bad_server.mjs --mode M [--http [--port N] [--host H] [--sse] [--get-sse]] [--size BYTES] [--crash-once FILE] [--reply-timeout-ms MS] [--log-requests]",
  );
  process.exit(2);
}

const opts = {
  mode: "ok",
  http: false,
  port: 0,
  host: "127.0.0.1",
  size: 100 * 1024 * 1024,
  crashOnce: null,
  sse: false,
  getSse: false,
  logRequests: false,
  replyTimeoutMs: 5000,
};
{
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--mode") opts.mode = val();
    else if (a === "--http") opts.http = true;
    else if (a === "--port") opts.port = Number(val());
    else if (a === "--host") opts.host = val();
    else if (a === "--size") opts.size = Number(val());
    else if (a === "--crash-once") opts.crashOnce = val();
    else if (a === "--sse") opts.sse = true;
    else if (a === "--get-sse") opts.getSse = true;
    else if (a === "--log-requests") opts.logRequests = true;
    else if (a === "--reply-timeout-ms") opts.replyTimeoutMs = Number(val());
    else usage(`unknown argument ${a}`);
  }
  if (!MODES.includes(opts.mode)) usage(`unknown mode ${opts.mode}`);
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) usage("bad --port");
  if (!Number.isInteger(opts.size) || opts.size < 64) usage("--size must be an integer >= 64");
  if (!(opts.replyTimeoutMs > 0)) usage("bad --reply-timeout-ms");
}
const mode = opts.mode;

// ---------------------------------------------------------------------------
// What the answers are, shared by both transports.

const TOOL_T = {
  name: "t",
  description: "a tool",
  inputSchema: { type: "object", properties: { x: { type: "string" } } },
};
const pageTool = (n) => ({
  name: `t${n}`,
  description: `tool ${n}`,
  inputSchema: { type: "object", properties: { x: { type: "string" } } },
});
const PAGES = {
  "": { tools: [pageTool(1), pageTool(2)], nextCursor: "page-2" },
  "page-2": { tools: [pageTool(3), pageTool(4)], nextCursor: "page-3" },
  "page-3": { tools: [pageTool(5)] },
};

function initializeResult(params) {
  const asked = params?.protocolVersion;
  let protocolVersion = SUPPORTED_VERSIONS.includes(asked) ? asked : LATEST_VERSION;
  if (mode === "old-version") protocolVersion = "2024-11-05";
  if (mode === "bad-version") protocolVersion = "1999-01-01";
  const capabilities = { tools: {} };
  if (mode === "server-requests") capabilities.logging = {};
  return {
    protocolVersion,
    capabilities,
    serverInfo: { name: "stirrup-bad-server", version: "1.0.0" },
    instructions: `bad_server.mjs in mode ${mode}`,
  };
}

/** Returns {result} or {error} for tools/list. */
function toolsList(params) {
  if (mode !== "paginate") return { result: { tools: [TOOL_T] } };
  const page = PAGES[params?.cursor ?? ""];
  if (!page) return { error: { code: -32602, message: `Invalid cursor: ${params?.cursor}` } };
  return { result: page };
}

function okCall(params) {
  return { content: [{ type: "text", text: "ok" }] };
}

/** The tools/call result for the modes whose tools/call is an ordinary answer. */
function plainCallResult(params) {
  if (mode === "is-error") return { content: [{ type: "text", text: "boom" }], isError: true };
  if (mode === "unknown-block") return { content: [{ type: "hologram" }] };
  return okCall(params);
}

const rpcResult = (id, result) => ({ jsonrpc: "2.0", id, result });
const rpcError = (id, code, message) => ({ jsonrpc: "2.0", id, error: { code, message } });
const isRequest = (m) => m && typeof m === "object" && typeof m.method === "string" && "id" in m;
const isNotification = (m) => m && typeof m === "object" && typeof m.method === "string" && !("id" in m);
const isResponse = (m) => m && typeof m === "object" && !("method" in m) && "id" in m && ("result" in m || "error" in m);

function noteNotification(msg) {
  if (msg.method === "notifications/cancelled") {
    console.error(`cancelled ${msg.params?.requestId}`);
  }
}

/** crash mode: exit 3, unless --crash-once FILE exists (then it is created by the first crash). */
function crashNow() {
  if (opts.crashOnce) {
    if (fs.existsSync(opts.crashOnce)) return false;
    fs.writeFileSync(opts.crashOnce, `crashed pid ${process.pid}\n`);
  }
  console.error("crashing with exit code 3");
  process.exit(3);
}

// Server -> client requests (server-requests mode) and their answers.
let nextServerRequestId = 0;
const pendingServerRequests = new Map();

function onClientResponse(msg) {
  const p = pendingServerRequests.get(msg.id);
  if (!p) {
    console.error(`response to unknown id ${JSON.stringify(msg.id)}`);
    return;
  }
  pendingServerRequests.delete(msg.id);
  p(msg);
}

/**
 * Sends the four server->client requests one after another through `send`
 * (which writes one message on the channel tied to the tools/call) and
 * returns the text describing the answers.
 */
async function runServerRequests(callMsg, send) {
  const progressToken = callMsg.params?._meta?.progressToken;
  if (progressToken !== undefined) {
    await send({ jsonrpc: "2.0", method: "notifications/progress", params: { progressToken, progress: 1, total: 2 } });
  }
  await send({
    jsonrpc: "2.0",
    method: "notifications/message",
    params: { level: "info", logger: "bad-server", data: "asking the client four things" },
  });
  const ask = async (method, params) => {
    const id = nextServerRequestId++;
    const answer = new Promise((resolve) => {
      const timer = setTimeout(() => {
        pendingServerRequests.delete(id);
        resolve(null);
      }, opts.replyTimeoutMs);
      pendingServerRequests.set(id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
    });
    const req = { jsonrpc: "2.0", id, method };
    if (params !== undefined) req.params = params;
    await send(req);
    const m = await answer;
    if (m === null) return "timeout";
    if (m.error) return String(m.error.code);
    if (method === "ping") {
      return m.result && typeof m.result === "object" && Object.keys(m.result).length === 0 ? "ok" : "result";
    }
    return "result";
  };
  const parts = [];
  parts.push(
    "sampling:" +
      (await ask("sampling/createMessage", {
        messages: [{ role: "user", content: { type: "text", text: "Say hi" } }],
        maxTokens: 10,
      })),
  );
  parts.push(
    "elicitation:" +
      (await ask("elicitation/create", {
        mode: "form",
        message: "What is your name?",
        requestedSchema: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
      })),
  );
  parts.push("roots:" + (await ask("roots/list")));
  parts.push("ping:" + (await ask("ping")));
  if (progressToken !== undefined) {
    await send({ jsonrpc: "2.0", method: "notifications/progress", params: { progressToken, progress: 2, total: 2 } });
  }
  return { content: [{ type: "text", text: parts.join(" ") }] };
}

/** The pieces of the huge answer: prefix + 'x' * n + suffix is exactly opts.size bytes. */
function hugeParts(id) {
  const prefix = `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":{"content":[{"type":"text","text":"`;
  const suffix = `"}]}}`;
  const n = opts.size - Buffer.byteLength(prefix) - Buffer.byteLength(suffix);
  if (n < 0) throw new Error("--size too small for the envelope");
  return { prefix, n, suffix };
}

/** Writes prefix, n 'x', suffix, tail to a writable stream in 64 KiB chunks, respecting backpressure. */
async function streamHuge(stream, id, tail) {
  const { prefix, n, suffix } = hugeParts(id);
  const chunk = Buffer.alloc(64 * 1024, "x");
  const write = (buf) =>
    new Promise((resolve, reject) => {
      if (stream.destroyed || stream.writableEnded) return reject(new Error("stream closed"));
      if (stream.write(buf)) resolve();
      else {
        const onDrain = () => {
          stream.off("close", onClose);
          resolve();
        };
        const onClose = () => {
          stream.off("drain", onDrain);
          reject(new Error("stream closed"));
        };
        stream.once("drain", onDrain);
        stream.once("close", onClose);
      }
    });
  await write(Buffer.from(prefix));
  let left = n;
  while (left > 0) {
    const k = Math.min(left, chunk.length);
    await write(k === chunk.length ? chunk : chunk.subarray(0, k));
    left -= k;
  }
  await write(Buffer.from(suffix + tail));
}

// ---------------------------------------------------------------------------
// stdio

function runStdio() {
  let garbageCount = 0;
  const writeLine = (s) => process.stdout.write(s + "\n");
  const send = async (obj) => {
    if (mode === "garbage-stdout") writeLine(`garbage line ${++garbageCount}: this is not JSON`);
    writeLine(JSON.stringify(obj));
  };
  process.stdout.on("error", (err) => {
    console.error(`stdout: ${err.code ?? err.message}`);
    process.exit(0);
  });

  if (mode === "garbage-stdout") writeLine("hello world");

  async function onRequest(msg) {
    const { id, method, params } = msg;
    if (mode === "html") {
      writeLine("<html><body><h1>502 Bad Gateway</h1></body></html>");
      return;
    }
    switch (method) {
      case "initialize":
        return send(rpcResult(id, initializeResult(params)));
      case "ping":
        return send(rpcResult(id, {}));
      case "tools/list": {
        const r = toolsList(params);
        return send(r.error ? rpcError(id, r.error.code, r.error.message) : rpcResult(id, r.result));
      }
      case "tools/call":
        return onToolsCall(msg);
      default:
        return send(rpcError(id, -32601, `Method not found: ${method}`));
    }
  }

  async function onToolsCall(msg) {
    const { id, params } = msg;
    switch (mode) {
      case "garbage-stdout":
        writeLine("hello world");
        writeLine('{"hello":"world"}');
        return send(rpcResult(id, okCall(params)));
      case "huge-line":
        try {
          await streamHuge(process.stdout, id, "\n");
        } catch (err) {
          console.error(`huge-line: ${err.message}`);
        }
        return;
      case "unknown-id":
        return send(rpcResult(id === UNKNOWN_ID ? UNKNOWN_ID + 1 : UNKNOWN_ID, okCall(params)));
      case "crash":
        crashNow();
        return send(rpcResult(id, okCall(params)));
      case "hang":
      case "no-answer":
      case "cut-sse":
        return; // never answered
      case "server-requests":
        return send(rpcResult(id, await runServerRequests(msg, send)));
      default:
        return send(rpcResult(id, plainCallResult(params)));
    }
  }

  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on("line", (line) => {
    if (line.trim() === "") return;
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      console.error(`bad-line ${line.slice(0, 200)}`);
      send(rpcError(null, -32700, "Parse error"));
      return;
    }
    if (opts.logRequests) console.error(`request ${line.slice(0, 2000)}`);
    if (isResponse(msg)) return onClientResponse(msg);
    if (isNotification(msg)) return noteNotification(msg);
    if (isRequest(msg)) {
      onRequest(msg).catch((err) => console.error(`error: ${err.stack ?? err}`));
      return;
    }
    send(rpcError(msg?.id ?? null, -32600, "Invalid Request"));
  });
  rl.on("close", () => process.exit(0));
}

// ---------------------------------------------------------------------------
// streamable HTTP

function runHttp() {
  const sessions = new Set();
  let lastProtocolVersion = null;

  const sendJson = (res, status, obj, headers = {}) => {
    const body = JSON.stringify(obj);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...headers });
    res.end(body);
  };
  const startSse = (res, headers = {}) => {
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive",
      ...headers,
    });
    let eventId = 0;
    return (obj) =>
      new Promise((resolve) => {
        res.write(`event: message\nid: ${++eventId}\ndata: ${JSON.stringify(obj)}\n\n`, () => resolve());
      });
  };
  /** One JSON-RPC answer to a POSTed request: JSON, or one SSE event with --sse. */
  const answer = (res, obj, headers = {}) => {
    if (opts.sse) {
      const send = startSse(res, headers);
      send(obj).then(() => res.end());
    } else sendJson(res, 200, obj, headers);
  };

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    const sid = req.headers["mcp-session-id"];
    const body = await new Promise((resolve) => {
      const chunks = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
      req.on("error", () => resolve(""));
    });
    if (opts.logRequests) {
      console.error(
        `request ${req.method} ${req.url} session=${sid ?? "-"} protocol-version=${req.headers["mcp-protocol-version"] ?? "-"} accept=${JSON.stringify(req.headers.accept ?? "")} body=${body.slice(0, 2000)}`,
      );
    }
    // A test's view of the server: live sessions (DELETE ends one) and the
    // protocol version header of the last request.
    if (url.pathname === "/__state") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ sessions: sessions.size, protocol_version: lastProtocolVersion }));
      return;
    }
    if (req.headers["mcp-protocol-version"]) lastProtocolVersion = req.headers["mcp-protocol-version"];
    if (url.pathname !== "/mcp") {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found\n");
      return;
    }
    if (req.method === "POST" && mode === "html") {
      const html = "<html><body><h1>Welcome to nginx!</h1></body></html>\n";
      res.writeHead(200, { "content-type": "text/html", "content-length": Buffer.byteLength(html) });
      res.end(html);
      return;
    }
    if (req.method === "GET") {
      if (!opts.getSse) {
        res.writeHead(405, { allow: "POST, DELETE", "content-type": "text/plain" });
        res.end("Method Not Allowed\n");
        return;
      }
      if (!sid || !sessions.has(sid)) return sendJson(res, sid ? 404 : 400, rpcError(null, -32000, "Bad session"));
      startSse(res); // stays open, sends nothing
      res.write(": stream open\n\n");
      return;
    }
    if (req.method === "DELETE") {
      if (sid && sessions.has(sid)) {
        sessions.delete(sid);
        console.error(`deleted ${sid}`);
        res.writeHead(200);
        res.end();
      } else {
        sendJson(res, sid ? 404 : 400, rpcError(null, -32000, sid ? "Session not found" : "Mcp-Session-Id header is required"));
      }
      return;
    }
    if (req.method !== "POST") {
      res.writeHead(405, { allow: "GET, POST, DELETE" });
      res.end();
      return;
    }

    const accept = String(req.headers.accept ?? "");
    if (!accept.includes("application/json") || !accept.includes("text/event-stream")) {
      return sendJson(res, 406, rpcError(null, -32000, "Not Acceptable: Client must accept both application/json and text/event-stream"));
    }
    if (!String(req.headers["content-type"] ?? "").startsWith("application/json")) {
      return sendJson(res, 415, rpcError(null, -32000, "Unsupported Media Type: Content-Type must be application/json"));
    }
    let msg;
    try {
      msg = JSON.parse(body);
    } catch {
      return sendJson(res, 400, rpcError(null, -32700, "Parse error: Invalid JSON"));
    }
    if (Array.isArray(msg)) return sendJson(res, 400, rpcError(null, -32600, "Batches are not supported"));

    const isInit = isRequest(msg) && msg.method === "initialize";
    if (!isInit) {
      if (!sid) return sendJson(res, 400, rpcError(null, -32000, "Bad Request: Mcp-Session-Id header is required"));
      if (!sessions.has(sid)) return sendJson(res, 404, rpcError(null, -32001, "Session not found"));
    }
    if (isResponse(msg)) {
      onClientResponse(msg);
      res.writeHead(202);
      res.end();
      return;
    }
    if (isNotification(msg)) {
      noteNotification(msg);
      res.writeHead(202);
      res.end();
      return;
    }
    if (!isRequest(msg)) return sendJson(res, 400, rpcError(null, -32600, "Invalid Request"));

    const { id, method, params } = msg;
    const sessionHeader = { "mcp-session-id": isInit ? null : sid };
    if (isInit) {
      const newSid = crypto.randomUUID();
      sessions.add(newSid);
      sessionHeader["mcp-session-id"] = newSid;
      return answer(res, rpcResult(id, initializeResult(params)), sessionHeader);
    }
    if (method === "ping") return answer(res, rpcResult(id, {}), sessionHeader);
    if (method === "tools/list") {
      const r = toolsList(params);
      return answer(res, r.error ? rpcError(id, r.error.code, r.error.message) : rpcResult(id, r.result), sessionHeader);
    }
    if (method !== "tools/call") return answer(res, rpcError(id, -32601, `Method not found: ${method}`), sessionHeader);

    switch (mode) {
      case "garbage-stdout": {
        // The HTTP flavour: SSE events whose data is not JSON-RPC, then the answer.
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", ...sessionHeader });
        res.write("event: message\ndata: hello world\n\n");
        res.write('event: message\ndata: {"hello":"world"}\n\n');
        res.end(`event: message\ndata: ${JSON.stringify(rpcResult(id, okCall(params)))}\n\n`);
        return;
      }
      case "huge-line":
        res.writeHead(200, { "content-type": "application/json", ...sessionHeader });
        try {
          await streamHuge(res, id, "");
          res.end();
        } catch (err) {
          console.error(`huge-line: ${err.message}`);
        }
        return;
      case "unknown-id":
        return answer(res, rpcResult(id === UNKNOWN_ID ? UNKNOWN_ID + 1 : UNKNOWN_ID, okCall(params)), sessionHeader);
      case "crash":
        crashNow();
        return answer(res, rpcResult(id, okCall(params)), sessionHeader);
      case "hang":
        // headers of an SSE stream, then nothing, ever
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", ...sessionHeader });
        res.flushHeaders();
        return;
      case "no-answer":
        return; // not even headers
      case "cut-sse": {
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", ...sessionHeader });
        const full = `event: message\nid: 1\ndata: ${JSON.stringify(rpcResult(id, okCall(params)))}\n\n`;
        res.write(full.slice(0, Math.floor(full.length / 2)), () => {
          setTimeout(() => res.socket?.destroy(), 50);
        });
        return;
      }
      case "server-requests": {
        const send = startSse(res, sessionHeader);
        const result = await runServerRequests(msg, send);
        await send(rpcResult(id, result));
        res.end();
        return;
      }
      default:
        return answer(res, rpcResult(id, plainCallResult(params)), sessionHeader);
    }
  });
  server.keepAliveTimeout = 65000;
  server.listen({ port: opts.port, host: opts.host }, () => {
    process.stdout.write(`listening ${server.address().port}\n`);
  });
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

if (opts.http) runHttp();
else runStdio();
