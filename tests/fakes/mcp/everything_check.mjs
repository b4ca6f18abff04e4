#!/usr/bin/env node
// Checks what README.md says about the official reference servers, with the
// official SDK client: server-everything over stdio, SSE and streamable HTTP
// (through everything.mjs), its tools and their results, progress,
// cancellation, sampling/elicitation/roots round trips; server-filesystem's
// tools and its allowed-directory check. Run: node everything_check.mjs
// (node:test; exit 0 = ok). If a new pinned version changes a tool, this
// fails before the C++ tests do.
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
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CallToolResultSchema,
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const EVERYTHING = path.join(here, "everything.mjs");
const FILESYSTEM = path.join(here, "node_modules/@modelcontextprotocol/server-filesystem/dist/index.js");

const BASE_TOOLS = [
  "echo",
  "get-annotated-message",
  "get-env",
  "get-resource-links",
  "get-resource-reference",
  "get-structured-content",
  "get-sum",
  "get-tiny-image",
  "gzip-file-as-resource",
  "toggle-simulated-logging",
  "toggle-subscriber-updates",
  "trigger-long-running-operation",
  "simulate-research-query",
];
const FULL_TOOLS = [
  ...BASE_TOOLS.slice(0, -1),
  "get-roots-list",
  "trigger-elicitation-request",
  "trigger-url-elicitation",
  "trigger-sampling-request",
  "simulate-research-query",
];

async function startHttp(kind) {
  const child = spawn(process.execPath, [EVERYTHING, kind, "--port", "0"], { stdio: ["pipe", "pipe", "pipe"] });
  child.stderr.resume();
  const port = await new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).once("line", (l) => {
      const m = /^listening (\d+)$/.exec(l);
      m ? resolve(Number(m[1])) : reject(new Error(l));
    });
    child.once("exit", (c) => reject(new Error(`everything.mjs ${kind} exited ${c}`)));
  });
  return { child, port };
}

async function connect(kind, capabilities = {}) {
  const client = new Client({ name: "everything-check", version: "1" }, { capabilities });
  let child = null;
  let transport;
  if (kind === "stdio") {
    transport = new StdioClientTransport({ command: process.execPath, args: [EVERYTHING, "stdio"], stderr: "ignore" });
  } else {
    const s = await startHttp(kind);
    child = s.child;
    transport =
      kind === "sse"
        ? new SSEClientTransport(new URL(`http://127.0.0.1:${s.port}/sse`))
        : new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${s.port}/mcp`));
  }
  await client.connect(transport);
  return {
    client,
    transport,
    async close() {
      await client.close();
      child?.kill("SIGTERM");
    },
  };
}

for (const kind of ["stdio", "sse", "streamableHttp"]) {
  test(`everything over ${kind}: tools and results`, async () => {
    const c = await connect(kind);
    try {
      const { client } = c;
      assert.equal(client.getServerVersion().name, "mcp-servers/everything");
      // conditional tools are registered after initialization: give it a moment
      await new Promise((r) => setTimeout(r, 100));
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t) => t.name), BASE_TOOLS);

      let r = await client.callTool({ name: "echo", arguments: { message: "hi" } });
      assert.deepEqual(r, { content: [{ type: "text", text: "Echo: hi" }] });
      r = await client.callTool({ name: "get-sum", arguments: { a: 2, b: 3.5 } });
      assert.equal(r.content[0].text, "The sum of 2 and 3.5 is 5.5.");
      r = await client.callTool({ name: "get-tiny-image", arguments: {} });
      assert.deepEqual(r.content.map((b) => b.type), ["text", "image", "text"]);
      assert.equal(r.content[1].mimeType, "image/png");
      assert.equal(Buffer.from(r.content[1].data, "base64").subarray(1, 4).toString(), "PNG");
      r = await client.callTool({ name: "get-structured-content", arguments: { location: "Chicago" } });
      assert.deepEqual(r.structuredContent, { temperature: 36, conditions: "Light rain / drizzle", humidity: 82 });
      r = await client.callTool({ name: "get-resource-links", arguments: { count: 2 } });
      assert.deepEqual(r.content.map((b) => b.type), ["text", "resource_link", "resource_link"]);
      assert.equal(r.content[1].uri, "demo://resource/dynamic/blob/1");
      assert.equal(r.content[2].uri, "demo://resource/dynamic/text/2");
      r = await client.callTool({ name: "get-resource-reference", arguments: { resourceType: "Text", resourceId: 1 } });
      assert.deepEqual(r.content.map((b) => b.type), ["text", "resource", "text"]);
      assert.equal(r.content[1].resource.uri, "demo://resource/dynamic/text/1");
      assert.match(r.content[1].resource.text, /^Resource 1: This is a plaintext resource created at /);
      r = await client.callTool({ name: "get-resource-reference", arguments: { resourceType: "Blob", resourceId: 2 } });
      assert.equal(typeof r.content[1].resource.blob, "string");
      r = await client.callTool({ name: "get-annotated-message", arguments: { messageType: "error", includeImage: true } });
      assert.deepEqual(r.content[0].annotations, { priority: 1, audience: ["user", "assistant"] });
      assert.equal(r.content[1].type, "image");
      r = await client.callTool({
        name: "gzip-file-as-resource",
        arguments: { name: "a.gz", data: "data:text/plain;base64,aGVsbG8=", outputType: "resource" },
      });
      assert.equal(r.content[0].resource.mimeType, "application/gzip");

      // errors: all are results with isError, not JSON-RPC errors
      r = await client.callTool({ name: "no-such-tool", arguments: {} });
      assert.deepEqual(r, { content: [{ type: "text", text: "MCP error -32602: Tool no-such-tool not found" }], isError: true });
      r = await client.callTool({ name: "get-resource-reference", arguments: { resourceType: "Text", resourceId: 0 } });
      assert.equal(r.isError, true);
      assert.equal(r.content[0].text, "Invalid resourceId: 0. Must be a finite positive integer.");
      r = await client.callTool({ name: "echo", arguments: { message: 5 } });
      assert.equal(r.isError, true);
      assert.match(r.content[0].text, /^MCP error -32602: Input validation error: Invalid arguments for tool echo/);
      // (client.callTool refuses a taskSupport "required" tool itself; send it raw)
      r = await client.request(
        { method: "tools/call", params: { name: "simulate-research-query", arguments: { topic: "x" } } },
        CallToolResultSchema,
      );
      assert.equal(r.isError, true);
      assert.match(r.content[0].text, /requires task augmentation/);

      // progress
      const progress = [];
      r = await client.callTool({ name: "trigger-long-running-operation", arguments: { duration: 0.3, steps: 3 } }, undefined, {
        onprogress: (p) => progress.push(p),
      });
      assert.equal(r.content[0].text, "Long running operation completed. Duration: 0.3 seconds, Steps: 3.");
      // The server sends 1/3, 2/3, 3/3 (see the raw transcript in README.md); the
      // last one arrives right before the result and the SDK client, which
      // dispatches notifications a tick after responses, may drop it.
      assert.deepEqual(progress.slice(0, 2).map((p) => [p.progress, p.total]), [
        [1, 3],
        [2, 3],
      ]);

      // cancellation: the SDK client sends notifications/cancelled; no result comes
      const ac = new AbortController();
      const pending = client.callTool({ name: "trigger-long-running-operation", arguments: { duration: 2, steps: 2 } }, undefined, {
        signal: ac.signal,
      });
      setTimeout(() => ac.abort("stop"), 100);
      await assert.rejects(pending);

      assert.deepEqual(await client.ping(), {});
    } finally {
      await c.close();
    }
  });
}

for (const kind of ["stdio", "streamableHttp"]) {
  test(`everything over ${kind}: sampling, elicitation, roots, logging with a full-capability client`, async () => {
    const c = await connect(kind, { sampling: {}, elicitation: { form: {}, url: {} }, roots: { listChanged: true } });
    try {
      const { client } = c;
      const seen = [];
      client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
        seen.push(["sampling", req.params]);
        return { role: "assistant", content: { type: "text", text: "hi!" }, model: "fake-model", stopReason: "endTurn" };
      });
      client.setRequestHandler(ElicitRequestSchema, async (req) => {
        seen.push(["elicitation", req.params]);
        return { action: "accept", content: { name: "Ada" } };
      });
      client.setRequestHandler(ListRootsRequestSchema, async () => {
        seen.push(["roots"]);
        return { roots: [{ uri: "file:///tmp", name: "tmp" }] };
      });
      const logs = [];
      client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => logs.push(n.params));
      // the server asks for roots/list about 350 ms after notifications/initialized
      await new Promise((r) => setTimeout(r, 600));
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t) => t.name), FULL_TOOLS);
      assert.ok(seen.some((s) => s[0] === "roots"), "roots/list after initialized");

      let r = await client.callTool({ name: "trigger-sampling-request", arguments: { prompt: "say hi", maxTokens: 5 } });
      assert.match(r.content[0].text, /^LLM sampling result: \n/);
      assert.match(r.content[0].text, /"text": "hi!"/);
      const sampling = seen.find((s) => s[0] === "sampling")[1];
      assert.deepEqual(sampling.messages, [{ role: "user", content: { type: "text", text: "Resource trigger-sampling-request context: say hi" } }]);
      assert.equal(sampling.maxTokens, 5);

      r = await client.callTool({ name: "trigger-elicitation-request", arguments: {} });
      assert.equal(r.content[0].text, "✅ User provided the requested information!");
      assert.equal(r.content[1].text, "User inputs:\n- Name: Ada");

      r = await client.callTool({ name: "get-roots-list", arguments: {} });
      assert.match(r.content[0].text, /^Current MCP Roots \(1 total\):\n\n1\. tmp\n   URI: file:\/\/\/tmp/);
      assert.ok(logs.some((l) => l.data === "Roots updated: 1 root(s) received from client"));
    } finally {
      await c.close();
    }
  });
}

test("filesystem: allowed directory, text, image, audio, resource, access denied", async () => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "mcp-fs-check-")));
  fs.writeFileSync(path.join(dir, "a.txt"), "line1\nline2\nline3\n");
  fs.writeFileSync(path.join(dir, "p.png"), Buffer.from("89504e470d0a1a0a", "hex"));
  fs.writeFileSync(path.join(dir, "s.wav"), "RIFF");
  const client = new Client({ name: "fs-check", version: "1" });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [FILESYSTEM, dir], stderr: "ignore" }));
  try {
    assert.equal(client.getServerVersion().name, "secure-filesystem-server");
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name), [
      "read_file",
      "read_text_file",
      "read_media_file",
      "read_multiple_files",
      "write_file",
      "edit_file",
      "create_directory",
      "list_directory",
      "list_directory_with_sizes",
      "directory_tree",
      "move_file",
      "search_files",
      "get_file_info",
      "list_allowed_directories",
    ]);
    let r = await client.callTool({ name: "read_text_file", arguments: { path: path.join(dir, "a.txt"), head: 2 } });
    assert.deepEqual(r, { content: [{ type: "text", text: "line1\nline2" }], structuredContent: { content: "line1\nline2" } });
    r = await client.callTool({ name: "read_media_file", arguments: { path: path.join(dir, "p.png") } });
    assert.deepEqual(r.content, [{ type: "image", data: "iVBORw0KGgo=", mimeType: "image/png" }]);
    r = await client.callTool({ name: "read_media_file", arguments: { path: path.join(dir, "s.wav") } });
    assert.deepEqual(r.content, [{ type: "audio", data: "UklGRg==", mimeType: "audio/wav" }]);
    r = await client.callTool({ name: "read_media_file", arguments: { path: path.join(dir, "a.txt") } });
    assert.equal(r.content[0].type, "resource");
    assert.equal(r.content[0].resource.uri, `file://${dir}/a.txt`);
    r = await client.callTool({ name: "write_file", arguments: { path: path.join(dir, "new.txt"), content: "hello" } });
    assert.equal(r.content[0].text, `Successfully wrote to ${path.join(dir, "new.txt")}`);
    assert.equal(fs.readFileSync(path.join(dir, "new.txt"), "utf8"), "hello");
    r = await client.callTool({ name: "read_text_file", arguments: { path: "/etc/passwd" } });
    assert.deepEqual(r, {
      content: [{ type: "text", text: `Access denied - path outside allowed directories: /etc/passwd not in ${dir}` }],
      isError: true,
    });
    r = await client.callTool({ name: "list_allowed_directories", arguments: {} });
    assert.equal(r.content[0].text, `Allowed directories:\n${dir}`);
  } finally {
    await client.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
