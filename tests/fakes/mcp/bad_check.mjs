#!/usr/bin/env node
// Checks that bad_server.mjs misbehaves exactly as README.md says, mode by
// mode, over stdio and streamable HTTP -- with raw JSON-RPC, and with the
// official SDK client where a mode is valid MCP (so the HTTP transport is
// known to be the real one). Run: node bad_check.mjs (node:test; exit 0 = ok).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import test from "node:test";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const SERVER = path.join(here, "bad_server.mjs");
const INIT = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "bad-check", version: "1" } },
};
const INITIALIZED = { jsonrpc: "2.0", method: "notifications/initialized" };
const CALL = (id, extra = {}) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name: "t", arguments: { x: "y" }, ...extra },
});

/** A raw stdio peer: lines in, every stdout line kept. */
function stdioPeer(args) {
  const child = spawn(process.execPath, [SERVER, ...args], { stdio: ["pipe", "pipe", "pipe"] });
  const lines = [];
  const stderr = [];
  let wake = () => {};
  readline.createInterface({ input: child.stdout }).on("line", (l) => {
    lines.push(l);
    wake();
  });
  readline.createInterface({ input: child.stderr }).on("line", (l) => {
    stderr.push(l);
    wake();
  });
  const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  const peer = {
    child,
    lines,
    stderr,
    exited,
    send: (obj) => child.stdin.write((typeof obj === "string" ? obj : JSON.stringify(obj)) + "\n"),
    messages: () =>
      lines.flatMap((l) => {
        try {
          return [JSON.parse(l)];
        } catch {
          return [];
        }
      }),
    async until(pred, what, ms = 5000) {
      const end = Date.now() + ms;
      for (;;) {
        const r = pred();
        if (r) return r;
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}; stdout=${lines.join("\\n").slice(0, 500)}`);
        await new Promise((res) => {
          wake = res;
          setTimeout(res, 50);
        });
      }
    },
    response: (id) => peer.until(() => peer.messages().find((m) => m.id === id && !m.method), `response ${id}`),
    async init() {
      peer.send(INIT);
      const r = await peer.response(1);
      peer.send(INITIALIZED);
      return r;
    },
    close() {
      child.stdin.end();
      child.kill("SIGTERM");
    },
  };
  return peer;
}

async function startHttp(args) {
  const child = spawn(process.execPath, [SERVER, "--http", "--port", "0", ...args], { stdio: ["pipe", "pipe", "pipe"] });
  const stderr = [];
  readline.createInterface({ input: child.stderr }).on("line", (l) => stderr.push(l));
  const port = await new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).once("line", (l) => {
      const m = /^listening (\d+)$/.exec(l);
      m ? resolve(Number(m[1])) : reject(new Error(l));
    });
    child.once("exit", (c) => reject(new Error(`exited ${c}: ${stderr.join("\n")}`)));
  });
  const url = `http://127.0.0.1:${port}/mcp`;
  const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  const post = (body, headers = {}) =>
    fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
  return {
    child,
    url,
    stderr,
    exited,
    post,
    async init() {
      const r = await post(INIT);
      assert.equal(r.status, 200);
      const sid = r.headers.get("mcp-session-id");
      assert.ok(sid);
      const text = await r.text();
      const body = r.headers.get("content-type") === "text/event-stream"
        ? JSON.parse(/^data: (.*)$/m.exec(text)[1])
        : JSON.parse(text);
      const r2 = await post(INITIALIZED, { "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25" });
      assert.equal(r2.status, 202);
      return { sid, body };
    },
    close: () => child.kill("SIGTERM"),
  };
}

async function waitFor(pred, what, ms = 5000) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ---------------------------------------------------------------- stdio

test("stdio ok: initialize, tools/list, tools/call", async () => {
  const p = stdioPeer(["--mode", "ok"]);
  try {
    const init = await p.init();
    assert.equal(init.result.protocolVersion, "2025-11-25");
    assert.deepEqual(init.result.capabilities, { tools: {} });
    p.send({ jsonrpc: "2.0", id: 2, method: "tools/list" });
    const list = await p.response(2);
    assert.deepEqual(list.result.tools, [
      { name: "t", description: "a tool", inputSchema: { type: "object", properties: { x: { type: "string" } } } },
    ]);
    p.send(CALL(3));
    assert.deepEqual((await p.response(3)).result, { content: [{ type: "text", text: "ok" }] });
    p.send({ jsonrpc: "2.0", id: 4, method: "nope" });
    assert.equal((await p.response(4)).error.code, -32601);
  } finally {
    p.close();
  }
});

test("stdio garbage-stdout: non-JSON lines before and between messages", async () => {
  const p = stdioPeer(["--mode", "garbage-stdout"]);
  try {
    await p.init();
    p.send(CALL(2));
    assert.deepEqual((await p.response(2)).result.content, [{ type: "text", text: "ok" }]);
    assert.equal(p.lines[0], "hello world");
    assert.match(p.lines[1], /^garbage line 1: this is not JSON$/);
    assert.ok(p.lines.includes('{"hello":"world"}'));
  } finally {
    p.close();
  }
});

test("stdio huge-line: one line of exactly --size bytes, streamed", async () => {
  const size = 20 * 1024 * 1024;
  const p = stdioPeer(["--mode", "huge-line", "--size", String(size)]);
  try {
    await p.init();
    p.send(CALL(2));
    const line = await p.until(() => p.lines.find((l) => l.length > 1000), "huge line", 20000);
    assert.equal(Buffer.byteLength(line), size);
    const m = JSON.parse(line);
    assert.equal(m.id, 2);
    assert.match(m.result.content[0].text, /^x+$/);
  } finally {
    p.close();
  }
});

test("stdio huge-line default is 100 MiB and the server survives the reader quitting", async () => {
  const p = stdioPeer(["--mode", "huge-line"]);
  try {
    await p.init();
    // read raw bytes of stdout ourselves: count them, then stop reading
    p.send(CALL(2));
    await new Promise((r) => setTimeout(r, 300));
    p.child.stdout.destroy();
    p.child.stdin.end();
    const code = await p.exited;
    assert.ok(code === 0 || code === null, `exit ${code}`);
  } finally {
    p.close();
  }
});

test("stdio unknown-id: answers an id never sent, then nothing", async () => {
  const p = stdioPeer(["--mode", "unknown-id"]);
  try {
    await p.init();
    p.send(CALL(2));
    const m = await p.until(() => p.messages().find((x) => x.id === 987654321), "unknown id");
    assert.ok(m.result);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(p.messages().filter((x) => x.id === 2).length, 0);
  } finally {
    p.close();
  }
});

test("stdio crash: exit code 3 on tools/call; --crash-once works the second time", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bad-crash-"));
  const flag = path.join(dir, "crashed");
  try {
    let p = stdioPeer(["--mode", "crash"]);
    await p.init();
    p.send(CALL(2));
    assert.equal(await p.exited, 3);

    p = stdioPeer(["--mode", "crash", "--crash-once", flag]);
    await p.init();
    p.send(CALL(2));
    assert.equal(await p.exited, 3);
    assert.ok(fs.existsSync(flag));

    p = stdioPeer(["--mode", "crash", "--crash-once", flag]);
    await p.init();
    p.send(CALL(2));
    assert.deepEqual((await p.response(2)).result.content, [{ type: "text", text: "ok" }]);
    p.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("stdio hang: never answers; logs cancelled", async () => {
  const p = stdioPeer(["--mode", "hang"]);
  try {
    await p.init();
    p.send(CALL(2));
    p.send({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 2, reason: "t" } });
    await p.until(() => p.stderr.includes("cancelled 2"), "cancelled line");
    p.send({ jsonrpc: "2.0", id: 3, method: "ping" });
    await p.response(3);
    assert.equal(p.messages().filter((x) => x.id === 2).length, 0);
  } finally {
    p.close();
  }
});

test("stdio server-requests: raw client answering -32601/-32601/-32601/{}", async () => {
  const p = stdioPeer(["--mode", "server-requests"]);
  try {
    const init = await p.init();
    assert.deepEqual(init.result.capabilities, { tools: {}, logging: {} });
    p.send(CALL(2, { _meta: { progressToken: "pt" } }));
    const seen = [];
    for (const method of ["sampling/createMessage", "elicitation/create", "roots/list", "ping"]) {
      const req = await p.until(() => p.messages().find((m) => m.method === method && "id" in m), method);
      seen.push(req);
      p.send(
        method === "ping"
          ? { jsonrpc: "2.0", id: req.id, result: {} }
          : { jsonrpc: "2.0", id: req.id, error: { code: -32601, message: "Method not found" } },
      );
    }
    assert.deepEqual(seen.map((m) => m.id), [0, 1, 2, 3]);
    const r = await p.response(2);
    assert.deepEqual(r.result.content, [
      { type: "text", text: "sampling:-32601 elicitation:-32601 roots:-32601 ping:ok" },
    ]);
    const notes = p.messages().filter((m) => m.method?.startsWith("notifications/"));
    assert.deepEqual(notes.map((m) => m.method), ["notifications/progress", "notifications/message", "notifications/progress"]);
  } finally {
    p.close();
  }
});

test("stdio server-requests: the official SDK client (no capabilities)", async () => {
  const client = new Client({ name: "c", version: "1" });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [SERVER, "--mode", "server-requests"], stderr: "ignore" }));
  const logs = [];
  const { LoggingMessageNotificationSchema } = await import("@modelcontextprotocol/sdk/types.js");
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => logs.push(n.params));
  const progress = [];
  const r = await client.callTool({ name: "t", arguments: {} }, undefined, { onprogress: (p) => progress.push(p) });
  assert.equal(r.content[0].text, "sampling:-32601 elicitation:-32601 roots:-32601 ping:ok");
  // The second progress notification comes right before the result, in the
  // same pipe read; the SDK dispatches notifications a tick later than
  // responses and drops progress for a finished request, so it may see 1.
  assert.ok(progress.length >= 1);
  assert.equal(logs.length, 1);
  await client.close();
});

test("stdio paginate: three pages, t1..t5", async () => {
  const client = new Client({ name: "c", version: "1" });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [SERVER, "--mode", "paginate"], stderr: "ignore" }));
  const names = [];
  let cursor;
  let pages = 0;
  do {
    const page = await client.listTools(cursor ? { cursor } : {});
    names.push(...page.tools.map((t) => t.name));
    cursor = page.nextCursor;
    pages++;
  } while (cursor);
  assert.equal(pages, 3);
  assert.deepEqual(names, ["t1", "t2", "t3", "t4", "t5"]);
  await assert.rejects(client.listTools({ cursor: "bogus" }), /Invalid cursor/);
  const r = await client.callTool({ name: "t4", arguments: {} });
  assert.equal(r.content[0].text, "ok");
  await client.close();
});

test("stdio old-version / bad-version", async () => {
  for (const [m, v] of [
    ["old-version", "2024-11-05"],
    ["bad-version", "1999-01-01"],
  ]) {
    const p = stdioPeer(["--mode", m]);
    try {
      assert.equal((await p.init()).result.protocolVersion, v);
    } finally {
      p.close();
    }
  }
  // The SDK client accepts 2024-11-05 and refuses 1999-01-01.
  const ok = new Client({ name: "c", version: "1" });
  await ok.connect(new StdioClientTransport({ command: process.execPath, args: [SERVER, "--mode", "old-version"], stderr: "ignore" }));
  await ok.close();
  const bad = new Client({ name: "c", version: "1" });
  await assert.rejects(
    bad.connect(new StdioClientTransport({ command: process.execPath, args: [SERVER, "--mode", "bad-version"], stderr: "ignore" })),
    /protocol version is not supported/,
  );
});

test("stdio is-error, unknown-block, html", async () => {
  let p = stdioPeer(["--mode", "is-error"]);
  await p.init();
  p.send(CALL(2));
  assert.deepEqual((await p.response(2)).result, { content: [{ type: "text", text: "boom" }], isError: true });
  p.close();
  p = stdioPeer(["--mode", "unknown-block"]);
  await p.init();
  p.send(CALL(2));
  assert.deepEqual((await p.response(2)).result, { content: [{ type: "hologram" }] });
  p.close();
  p = stdioPeer(["--mode", "html"]);
  p.send(INIT);
  await p.until(() => p.lines.some((l) => l.startsWith("<html>")), "html line");
  p.close();
});

// ---------------------------------------------------------------- HTTP

test("http ok: session, JSON answers, 202s, DELETE logged, 404 after", async () => {
  const s = await startHttp(["--mode", "ok", "--log-requests"]);
  try {
    const { sid, body } = await s.init();
    assert.equal(body.result.protocolVersion, "2025-11-25");
    const h = { "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25" };
    let r = await s.post({ jsonrpc: "2.0", id: 2, method: "tools/list" }, h);
    assert.equal(r.headers.get("content-type"), "application/json");
    assert.equal((await r.json()).result.tools[0].name, "t");
    r = await s.post(CALL(3), h);
    assert.deepEqual((await r.json()).result.content, [{ type: "text", text: "ok" }]);
    r = await s.post({ jsonrpc: "2.0", id: 4, method: "ping" });
    assert.equal(r.status, 400);
    r = await s.post({ jsonrpc: "2.0", id: 4, method: "ping" }, { "mcp-session-id": "nope" });
    assert.equal(r.status, 404);
    r = await s.post(CALL(5), { ...h, accept: "application/json" });
    assert.equal(r.status, 406);
    r = await fetch(s.url, { headers: { accept: "text/event-stream", ...h } });
    assert.equal(r.status, 405);
    r = await fetch(s.url, { method: "DELETE", headers: h });
    assert.equal(r.status, 200);
    await waitFor(() => s.stderr.includes(`deleted ${sid}`), "deleted line");
    r = await s.post(CALL(6), h);
    assert.equal(r.status, 404);
    assert.ok(s.stderr.some((l) => l.startsWith("request POST /mcp")));
  } finally {
    s.close();
  }
});

test("http with the official SDK client: ok (JSON and --sse), paginate, server-requests, is-error", async () => {
  for (const args of [["--mode", "ok"], ["--mode", "ok", "--sse"], ["--mode", "ok", "--get-sse"]]) {
    const s = await startHttp(args);
    const client = new Client({ name: "c", version: "1" });
    const transport = new StreamableHTTPClientTransport(new URL(s.url));
    await client.connect(transport);
    const r = await client.callTool({ name: "t", arguments: { x: "1" } });
    assert.equal(r.content[0].text, "ok", args.join(" "));
    const sid = transport.sessionId;
    await transport.terminateSession();
    await waitFor(() => s.stderr.includes(`deleted ${sid}`), "deleted line");
    await client.close();
    s.close();
  }
  {
    const s = await startHttp(["--mode", "server-requests"]);
    const client = new Client({ name: "c", version: "1" });
    await client.connect(new StreamableHTTPClientTransport(new URL(s.url)));
    const progress = [];
    const r = await client.callTool({ name: "t", arguments: {} }, undefined, { onprogress: (p) => progress.push(p) });
    assert.equal(r.content[0].text, "sampling:-32601 elicitation:-32601 roots:-32601 ping:ok");
    assert.equal(progress.length, 2);
    await client.close();
    s.close();
  }
  {
    const s = await startHttp(["--mode", "is-error"]);
    const client = new Client({ name: "c", version: "1" });
    await client.connect(new StreamableHTTPClientTransport(new URL(s.url)));
    const r = await client.callTool({ name: "t", arguments: {} });
    assert.deepEqual(r, { content: [{ type: "text", text: "boom" }], isError: true });
    await client.close();
    s.close();
  }
});

test("http html: 200 text/html for every POST", async () => {
  const s = await startHttp(["--mode", "html"]);
  try {
    const r = await s.post(INIT);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), "text/html");
    assert.match(await r.text(), /^<html>/);
  } finally {
    s.close();
  }
});

test("http cut-sse: event stream cut mid-event", async () => {
  const s = await startHttp(["--mode", "cut-sse"]);
  try {
    const { sid } = await s.init();
    const r = await s.post(CALL(2), { "mcp-session-id": sid });
    assert.equal(r.headers.get("content-type"), "text/event-stream");
    const reader = r.body.getReader();
    let text = "";
    await assert.rejects(
      (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          text += Buffer.from(value).toString();
        }
      })(),
    );
    assert.match(text, /^event: message\nid: 1\ndata: \{/);
    assert.ok(!text.endsWith("\n\n"));
  } finally {
    s.close();
  }
});

test("http no-answer and hang: nothing / SSE headers only; cancelled logged", async () => {
  for (const m of ["no-answer", "hang"]) {
    const s = await startHttp(["--mode", m]);
    try {
      const { sid } = await s.init();
      const h = { "mcp-session-id": sid };
      const ac = new AbortController();
      const pending = s.post(CALL(2), h).then(
        (r) => r,
        () => null,
      );
      const first = await Promise.race([pending, new Promise((r) => setTimeout(() => r("timeout"), 500))]);
      if (m === "no-answer") assert.equal(first, "timeout");
      else assert.equal(first.headers.get("content-type"), "text/event-stream");
      const r = await s.post({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 2 } }, h);
      assert.equal(r.status, 202);
      await waitFor(() => s.stderr.includes("cancelled 2"), "cancelled line");
      ac.abort();
    } finally {
      s.close();
    }
  }
});

test("http huge-line, unknown-id, crash, garbage-stdout, unknown-block", async () => {
  {
    const s = await startHttp(["--mode", "huge-line", "--size", String(8 * 1024 * 1024)]);
    const { sid } = await s.init();
    const r = await s.post(CALL(2), { "mcp-session-id": sid });
    const body = await r.text();
    assert.equal(Buffer.byteLength(body), 8 * 1024 * 1024);
    assert.equal(JSON.parse(body).id, 2);
    s.close();
  }
  {
    const s = await startHttp(["--mode", "unknown-id"]);
    const { sid } = await s.init();
    const r = await s.post(CALL(2), { "mcp-session-id": sid });
    assert.equal((await r.json()).id, 987654321);
    s.close();
  }
  {
    const s = await startHttp(["--mode", "crash"]);
    const { sid } = await s.init();
    await assert.rejects(s.post(CALL(2), { "mcp-session-id": sid }).then((r) => r.text()));
    assert.equal(await s.exited, 3);
  }
  {
    const s = await startHttp(["--mode", "garbage-stdout"]);
    const { sid } = await s.init();
    const text = await (await s.post(CALL(2), { "mcp-session-id": sid })).text();
    assert.match(text, /^event: message\ndata: hello world\n\n/);
    assert.match(text, /"text":"ok"/);
    s.close();
  }
  {
    const s = await startHttp(["--mode", "unknown-block", "--sse"]);
    const { sid } = await s.init();
    const r = await s.post(CALL(2), { "mcp-session-id": sid });
    assert.equal(r.headers.get("content-type"), "text/event-stream");
    assert.match(await r.text(), /"hologram"/);
    s.close();
  }
});
