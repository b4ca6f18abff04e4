#!/usr/bin/env node
// A scripted raw JSON-RPC peer for stdio MCP servers: captures exact
// transcripts (README.md's come from it).
//
//   node transcript.mjs STEPS.json -- command args...
//
// STEPS.json is an array of steps, run in order:
//   {"send": MSG}                      write MSG (any JSON) as one line
//   {"wait_id": ID}                    wait for the response with that id
//   {"wait_method": "M"}               wait for a message with that method
//                                      (each wait only looks at messages
//                                      after the one the last wait matched)
//   {"reply_to": "M", "with": {...}}   wait for a server request M, answer it
//                                      with {"jsonrpc","id",...with}
//   {"sleep": MS}
// Prints `-> LINE` for what was sent, `<- LINE` for each stdout line and
// `[stderr] LINE` for the server's stderr. A wait longer than 10 s fails.
import { spawn } from "node:child_process";
import fs from "node:fs";
import readline from "node:readline";

const sep = process.argv.indexOf("--");
if (process.argv.length < 5 || sep !== 3) {
  console.error("usage: node transcript.mjs STEPS.json -- command args...");
  process.exit(2);
}
const steps = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const cmd = process.argv.slice(sep + 1);
const child = spawn(cmd[0], cmd.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
const got = [];
let wake = () => {};
readline.createInterface({ input: child.stdout }).on("line", (l) => {
  console.log(`<- ${l}`);
  try {
    got.push(JSON.parse(l));
  } catch {}
  wake();
});
readline.createInterface({ input: child.stderr }).on("line", (l) => console.log(`[stderr] ${l}`));

async function take(pred, what) {
  const end = Date.now() + 10000;
  for (;;) {
    const i = got.findIndex(pred);
    if (i >= 0) return got.splice(0, i + 1)[i]; // earlier messages are done with too
    if (Date.now() > end) {
      console.error(`transcript: timed out waiting for ${what}`);
      child.kill();
      process.exit(1);
    }
    await new Promise((r) => {
      wake = r;
      setTimeout(r, 50);
    });
  }
}
const send = (obj) => {
  const line = JSON.stringify(obj);
  console.log(`-> ${line}`);
  child.stdin.write(line + "\n");
};

for (const s of steps) {
  if ("send" in s) send(s.send);
  else if ("wait_id" in s) await take((m) => m.id === s.wait_id && !("method" in m), `id ${s.wait_id}`);
  else if ("wait_method" in s) await take((m) => m.method === s.wait_method, s.wait_method);
  else if ("reply_to" in s) {
    const req = await take((m) => m.method === s.reply_to && "id" in m, s.reply_to);
    send({ jsonrpc: "2.0", id: req.id, ...s.with });
  } else if ("sleep" in s) await new Promise((r) => setTimeout(r, s.sleep));
}
child.stdin.end();
setTimeout(() => child.kill(), 300);
