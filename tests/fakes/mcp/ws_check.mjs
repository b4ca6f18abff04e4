#!/usr/bin/env node
// Checks ws_server.mjs with the official SDK client and its own
// WebSocketClientTransport (@modelcontextprotocol/sdk/client/websocket.js):
// initialize, tools/list, every tool, cancellation of `slow` (the server logs
// `cancelled ID`), progress, a refused handshake without the "mcp"
// subprotocol, malformed frames, and the same over wss:// with certificates
// from ../gen-certs.sh. Exits 0 when everything holds, 1 otherwise.
//
// The SDK's transport uses the global WebSocket, which Node 20 has only with
// --experimental-websocket (then it is used for ws://); otherwise, and for
// wss:// (to pass the test CA), the `ws` package's WebSocket, which has the
// same browser-style API, is put there.
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import WS from "ws";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { WebSocketClientTransport } from "@modelcontextprotocol/sdk/client/websocket.js";

const here = path.dirname(fileURLToPath(import.meta.url));
let caPem = null;
const NativeWebSocket = globalThis.WebSocket; // node --experimental-websocket
class WsWebSocket extends WS {
  constructor(url, protocols) {
    super(url, protocols, caPem ? { ca: caPem } : {});
  }
}

function startServer(extraArgs = []) {
  const child = spawn(process.execPath, [path.join(here, "ws_server.mjs"), "--port", "0", ...extraArgs], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  const stderrLines = [];
  readline.createInterface({ input: child.stderr }).on("line", (l) => stderrLines.push(l));
  const port = new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).once("line", (l) => {
      const m = /^listening (\d+)$/.exec(l);
      if (m) resolve(Number(m[1]));
      else reject(new Error(`unexpected first line: ${l}`));
    });
    child.once("exit", (code) => reject(new Error(`ws_server exited early (${code}): ${stderrLines.join("\n")}`)));
  });
  return { child, port, stderrLines };
}

async function waitFor(pred, what, ms = 3000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pred()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function checkServer(scheme, extraArgs) {
  // Node's own WebSocket (when enabled) for ws://; the `ws` one, which takes
  // the test CA, for wss://.
  globalThis.WebSocket = scheme === "ws" && NativeWebSocket ? NativeWebSocket : WsWebSocket;
  const srv = startServer(extraArgs);
  try {
    const port = await srv.port;
    const url = new URL(`${scheme}://127.0.0.1:${port}/mcp`);

    const client = new Client({ name: "ws-check", version: "1.0.0" });
    await client.connect(new WebSocketClientTransport(url));
    assert.equal(client.getServerVersion().name, "stirrup-ws-test-server");
    assert.ok(client.getServerCapabilities().tools);

    const { tools } = await client.listTools();
    assert.deepEqual(
      tools.map((t) => t.name),
      ["echo", "add", "fail", "slow", "image"],
    );
    assert.deepEqual(tools[0].inputSchema.required, ["message"]);

    let r = await client.callTool({ name: "echo", arguments: { message: "héllo wörld" } });
    assert.deepEqual(r.content, [{ type: "text", text: "Echo: héllo wörld" }]);
    assert.ok(!r.isError);

    r = await client.callTool({ name: "add", arguments: { a: 2, b: 3.5 } });
    assert.deepEqual(r.content, [{ type: "text", text: "5.5" }]);

    r = await client.callTool({ name: "fail", arguments: {} });
    assert.equal(r.isError, true);
    assert.equal(r.content[0].type, "text");

    r = await client.callTool({ name: "image", arguments: {} });
    assert.equal(r.content.length, 1);
    assert.equal(r.content[0].type, "image");
    assert.equal(r.content[0].mimeType, "image/png");
    assert.deepEqual([...Buffer.from(r.content[0].data, "base64").subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

    r = await client.callTool({ name: "nope", arguments: {} });
    assert.equal(r.isError, true);

    // slow with progress
    const progress = [];
    r = await client.callTool({ name: "slow", arguments: { ms: 350 } }, undefined, {
      onprogress: (p) => progress.push(p),
    });
    assert.deepEqual(r.content, [{ type: "text", text: "slept 350 ms" }]);
    assert.ok(progress.length >= 2, `progress notifications: ${JSON.stringify(progress)}`);
    assert.ok(progress.every((p) => p.total === 350));

    // slow cancelled: the SDK client sends notifications/cancelled on abort
    const ac = new AbortController();
    const t0 = Date.now();
    const pending = client.callTool({ name: "slow", arguments: { ms: 10000 } }, undefined, { signal: ac.signal });
    setTimeout(() => ac.abort("test cancel"), 200);
    await assert.rejects(pending);
    await waitFor(() => srv.stderrLines.some((l) => /^cancelled \d+$/.test(l)), "cancelled line");
    assert.ok(Date.now() - t0 < 5000);

    // concurrent calls on one connection
    const many = await Promise.all(
      Array.from({ length: 50 }, (_, i) => client.callTool({ name: "add", arguments: { a: i, b: 1 } })),
    );
    many.forEach((m, i) => assert.equal(m.content[0].text, String(i + 1)));

    // still usable after the cancellation
    r = await client.callTool({ name: "echo", arguments: { message: "after" } });
    assert.equal(r.content[0].text, "Echo: after");
    await client.close();
    await waitFor(() => srv.stderrLines.some((l) => /^closed 1 /.test(l)), "closed line");

    // handshake without the "mcp" subprotocol is refused (HTTP 400)
    await new Promise((resolve, reject) => {
      const ws = new WS(url, caPem ? { ca: caPem } : {});
      ws.on("open", () => reject(new Error("handshake without subprotocol was accepted")));
      ws.on("unexpected-response", (_req, res) => {
        try {
          assert.equal(res.statusCode, 400);
          resolve();
        } catch (e) {
          reject(e);
        }
      });
      ws.on("error", () => {});
    });

    // raw frames: not JSON -> -32700; binary -> close 1003
    await new Promise((resolve, reject) => {
      const ws = new WS(url, "mcp", caPem ? { ca: caPem } : {});
      ws.on("open", () => ws.send("this is not json"));
      ws.on("message", (data) => {
        try {
          const m = JSON.parse(data.toString());
          assert.equal(m.error.code, -32700);
          assert.equal(ws.protocol, "mcp");
          ws.send(Buffer.from([1, 2, 3]), { binary: true });
        } catch (e) {
          reject(e);
        }
      });
      ws.on("close", (code) => (code === 1003 ? resolve() : reject(new Error(`close code ${code}`))));
      ws.on("error", reject);
    });
    console.log(`ok ${scheme}`);
  } finally {
    srv.child.kill("SIGTERM");
  }
}

let failed = false;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mcp-ws-check-"));
try {
  await checkServer("ws", []);
  execFileSync("bash", [path.join(here, "..", "gen-certs.sh"), tmp], { stdio: ["ignore", "ignore", "inherit"] });
  caPem = fs.readFileSync(path.join(tmp, "ca.pem"));
  await checkServer("wss", ["--tls-cert", path.join(tmp, "server.pem"), "--tls-key", path.join(tmp, "server.key")]);
  console.log("ws_check: 2 passed, 0 failed");
} catch (err) {
  failed = true;
  console.error("ws_check FAILED:", err);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
