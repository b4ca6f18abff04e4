// Runs the official `openai` SDK against the fake server, to prove the fake
// speaks the real protocol: if the SDK parses what the fake sends, and the
// fake's validator accepts what the SDK sends, the C++ client's tests against
// the fake mean something.
//
// Needs FAKE_CERT_DIR (made by ../gen-certs.sh) and NODE_EXTRA_CA_CERTS set to
// $FAKE_CERT_DIR/ca.pem before node starts; ../run-sdk-check.sh does both.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';

const here = path.dirname(fileURLToPath(import.meta.url));
const certDir = process.env.FAKE_CERT_DIR;
if (!certDir || !process.env.NODE_EXTRA_CA_CERTS) {
  throw new Error('run through tests/fakes/run-sdk-check.sh (needs FAKE_CERT_DIR and NODE_EXTRA_CA_CERTS)');
}

// Starts server.mjs; resolves to {port, base, proc}.
async function startServer({ cert = 'server', plain = false, args = [] } = {}) {
  const argv = [path.join(here, 'server.mjs'), ...args];
  if (plain) argv.push('--plain');
  else argv.push('--cert', path.join(certDir, `${cert}.pem`), '--key', path.join(certDir, `${cert}.key`));
  const proc = spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout.setEncoding('utf8');
  for await (const chunk of proc.stdout) {
    out += chunk;
    if (out.includes('\n')) break;
  }
  const line = out.split('\n')[0];
  assert.match(line, /^\{"port": \d+\}$/, 'the first stdout line is {"port": N}');
  const { port } = JSON.parse(line);
  return { port, proc, base: `${plain ? 'http' : 'https'}://127.0.0.1:${port}` };
}

async function stopServer(s) {
  s.proc.stdin.end(); // closing stdin ends the server
  await once(s.proc, 'exit');
}

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await stopServer(srv); });

async function scenario(sc, base = srv.base) {
  const r = await fetch(`${base}/__scenario`, { method: 'POST', body: JSON.stringify(sc) });
  assert.equal(r.status, 200, await r.text());
}
async function recorded(base = srv.base) { return (await fetch(`${base}/__requests`)).json(); }
async function stats(base = srv.base) { return (await fetch(`${base}/__stats`)).json(); }

function client(extra = {}) {
  return new OpenAI({ apiKey: 'sk-test-key', baseURL: `${srv.base}/v1`, maxRetries: 0, ...extra });
}

const USER = [{ role: 'user', content: 'Say hello' }];
const TOOLS = [{
  type: 'function',
  function: {
    name: 'code_exec',
    description: 'Run a shell command',
    parameters: { type: 'object', properties: { cmd: { type: 'string' } }, required: ['cmd'] },
  },
}, {
  type: 'function',
  function: { name: 'finish', parameters: { type: 'object', properties: { reason: { type: 'string' } } } },
}];

describe('completions', () => {
  test('a plain completion, and what the SDK sent is recorded', async () => {
    await scenario({ steps: [{ completion: { content: 'Hello!', usage: { prompt_tokens: 12, completion_tokens: 3 } } }] });
    const r = await client().chat.completions.create({ model: 'gpt-test', messages: USER, max_completion_tokens: 100 });
    assert.equal(r.object, 'chat.completion');
    assert.match(r.id, /^chatcmpl-/);
    assert.equal(r.model, 'gpt-test');
    assert.equal(r.choices[0].message.role, 'assistant');
    assert.equal(r.choices[0].message.content, 'Hello!');
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.deepEqual([r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens], [12, 3, 15]);

    const reqs = await recorded();
    assert.equal(reqs.length, 1);
    assert.equal(reqs[0].method, 'POST');
    assert.equal(reqs[0].path, '/v1/chat/completions');
    assert.equal(reqs[0].headers.authorization, 'Bearer sk-test-key');
    assert.match(reqs[0].headers['content-type'], /^application\/json/);
    assert.deepEqual(reqs[0].body, { model: 'gpt-test', messages: USER, max_completion_tokens: 100 });
  });

  test('reasoning_content is passed through', async () => {
    await scenario([{ completion: { content: 'answer', reasoning_content: 'let me think' } }]);
    const r = await client().chat.completions.create({ model: 'm', messages: USER });
    assert.equal(r.choices[0].message.reasoning_content, 'let me think');
  });

  test('tool calls, then a tool-result turn the validator accepts', async () => {
    await scenario([
      { completion: { tool_calls: [{ id: 'call_a', name: 'code_exec', arguments: { cmd: 'ls' } },
        { id: 'call_b', name: 'finish', arguments: '{"reason":"done"}' }] } },
      { completion: { content: 'done' } },
    ]);
    const c = client();
    const r = await c.chat.completions.create({ model: 'm', messages: USER, tools: TOOLS, tool_choice: 'auto' });
    const msg = r.choices[0].message;
    assert.equal(r.choices[0].finish_reason, 'tool_calls');
    assert.equal(msg.content, null);
    assert.equal(msg.tool_calls.length, 2);
    assert.deepEqual(msg.tool_calls[0], { id: 'call_a', type: 'function', function: { name: 'code_exec', arguments: '{"cmd":"ls"}' } });
    assert.deepEqual(JSON.parse(msg.tool_calls[1].function.arguments), { reason: 'done' });

    const r2 = await c.chat.completions.create({
      model: 'm',
      tools: TOOLS,
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'auto' } }] },
        msg,
        { role: 'tool', tool_call_id: 'call_a', content: 'a.txt' },
        { role: 'tool', tool_call_id: 'call_b', content: [{ type: 'text', text: 'ok' }] },
      ],
    });
    assert.equal(r2.choices[0].message.content, 'done');
    const reqs = await recorded();
    assert.equal(reqs.length, 2);
    assert.deepEqual(reqs[1].body.messages[2].tool_calls, msg.tool_calls);
  });
});

describe('streaming', () => {
  test('content and tool calls assembled by the SDK stream helper', async () => {
    await scenario([{
      stream: true,
      chunk_size: 3,
      completion: {
        content: 'Running it: ünïcödé ✓',
        tool_calls: [{ id: 'call_1', name: 'code_exec', arguments: { cmd: 'echo "hi there"' } },
          { id: 'call_2', name: 'finish', arguments: { reason: 'ok' } }],
      },
    }]);
    const events = { content: '', toolArgsDone: [] };
    const stream = client().chat.completions.stream({
      model: 'm', messages: USER, tools: TOOLS, stream_options: { include_usage: true },
    });
    stream.on('content.delta', (e) => { events.content += e.delta; });
    stream.on('tool_calls.function.arguments.done', (e) => { events.toolArgsDone.push(e.name); });
    const final = await stream.finalChatCompletion();
    const msg = final.choices[0].message;
    assert.equal(msg.content, 'Running it: ünïcödé ✓');
    assert.equal(events.content, 'Running it: ünïcödé ✓');
    assert.equal(final.choices[0].finish_reason, 'tool_calls');
    assert.deepEqual(msg.tool_calls.map((t) => [t.id, t.function.name, JSON.parse(t.function.arguments)]), [
      ['call_1', 'code_exec', { cmd: 'echo "hi there"' }],
      ['call_2', 'finish', { reason: 'ok' }],
    ]);
    assert.deepEqual(events.toolArgsDone, ['code_exec', 'finish']);
    assert.equal(final.usage.total_tokens, final.usage.prompt_tokens + final.usage.completion_tokens);
    const reqs = await recorded();
    assert.equal(reqs[0].body.stream, true);
  });

  test('usage arrives in a final chunk with empty choices only when include_usage is set', async () => {
    const step = { completion: { content: 'abcdefghij', usage: { prompt_tokens: 5, completion_tokens: 2 } }, chunk_size: 4 };
    await scenario([step, step]);
    const c = client();
    const chunks = [];
    for await (const ch of await c.chat.completions.create({ model: 'm', messages: USER, stream: true, stream_options: { include_usage: true } })) {
      chunks.push(ch);
    }
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    assert.equal(chunks.map((ch) => ch.choices[0]?.delta.content ?? '').join(''), 'abcdefghij');
    const last = chunks.at(-1);
    assert.deepEqual(last.choices, []);
    assert.deepEqual([last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens], [5, 2, 7]);
    assert.ok(chunks.slice(0, -1).every((ch) => ch.usage === null));
    assert.equal(chunks.at(-2).choices[0].finish_reason, 'stop');

    const plain = [];
    for await (const ch of await c.chat.completions.create({ model: 'm', messages: USER, stream: true })) plain.push(ch);
    assert.ok(plain.every((ch) => ch.usage === undefined && ch.choices.length === 1));
  });

  test('a stream dropped mid-way is an error, not a short answer', async () => {
    await scenario([{ stream: true, drop: { when: 'mid_stream', after_chunks: 2 }, completion: { content: 'abcdefghijklmnop' } }]);
    const s = await client().chat.completions.create({ model: 'm', messages: USER, stream: true });
    await assert.rejects(async () => { for await (const _ of s) { /* drain */ } });
  });
});

describe('errors', () => {
  test('an error event inside a stream surfaces as an APIError', async () => {
    await scenario([{ stream: true, stream_error: { after_chunks: 2, message: 'upstream failed', code: 'upstream_error' }, completion: { content: 'abcdefghijklmnop' } }]);
    const s = await client().chat.completions.create({ model: 'm', messages: USER, stream: true });
    const err = await (async () => { for await (const _ of s) { /* drain */ } })().catch((e) => e);
    assert.ok(err instanceof OpenAI.APIError, `got ${err}`);
    assert.match(err.message, /upstream failed/);
  });


  test('400 context_length_exceeded is a BadRequestError with its code', async () => {
    await scenario([{ error: {
      status: 400, code: 'context_length_exceeded', param: 'messages',
      message: "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens. Please reduce the length of the messages.",
    } }]);
    const err = await client({ maxRetries: 2 }).chat.completions.create({ model: 'm', messages: USER }).catch((e) => e);
    assert.ok(err instanceof OpenAI.BadRequestError, `got ${err}`);
    assert.equal(err.status, 400);
    assert.equal(err.code, 'context_length_exceeded');
    assert.equal(err.param, 'messages');
    assert.equal(err.type, 'invalid_request_error');
    assert.match(err.message, /maximum context length/);
    assert.equal((await recorded()).length, 1, '400 is not retried');
  });

  test('429 is a RateLimitError', async () => {
    await scenario([{ error: { status: 429 }, headers: { 'retry-after': '20' } }]);
    const err = await client().chat.completions.create({ model: 'm', messages: USER }).catch((e) => e);
    assert.ok(err instanceof OpenAI.RateLimitError, `got ${err}`);
    assert.equal(err.code, 'rate_limit_exceeded');
    assert.equal(err.headers.get('retry-after'), '20');
  });

  test('401 from the scenario is an AuthenticationError, not retried', async () => {
    await scenario([{ error: { status: 401 } }]);
    const err = await client({ maxRetries: 2 }).chat.completions.create({ model: 'm', messages: USER }).catch((e) => e);
    assert.ok(err instanceof OpenAI.AuthenticationError, `got ${err}`);
    assert.equal(err.code, 'invalid_api_key');
    assert.equal((await recorded()).length, 1);
  });

  test('an exhausted scenario answers 500 scenario_exhausted, which the SDK does not retry', async () => {
    await scenario([]);
    const err = await client({ maxRetries: 2 }).chat.completions.create({ model: 'm', messages: USER }).catch((e) => e);
    assert.ok(err instanceof OpenAI.InternalServerError, `got ${err}`);
    assert.equal(err.code, 'scenario_exhausted');
    assert.equal((await recorded()).length, 1);
  });
});

describe('SDK retries, counted by the fake', () => {
  test('429 with Retry-After: 1 is retried after about a second', async () => {
    await scenario([{ error: { status: 429 }, headers: { 'retry-after': '1' } }, { completion: { content: 'ok' } }]);
    const t0 = Date.now();
    const r = await client({ maxRetries: 2 }).chat.completions.create({ model: 'm', messages: USER });
    const elapsed = Date.now() - t0;
    assert.equal(r.choices[0].message.content, 'ok');
    const reqs = await recorded();
    assert.equal(reqs.length, 2);
    assert.deepEqual(reqs.map((q) => q.headers['x-stainless-retry-count']), ['0', '1']);
    assert.ok(elapsed >= 950, `waited ${elapsed} ms`);
  });

  test('500 three times with max_retries 2: exactly 3 attempts, then InternalServerError', async () => {
    await scenario([{ error: { status: 500 }, repeat: 3 }, { completion: { content: 'never reached' } }]);
    const err = await client({ maxRetries: 2 }).chat.completions.create({ model: 'm', messages: USER }).catch((e) => e);
    assert.ok(err instanceof OpenAI.InternalServerError, `got ${err}`);
    assert.equal((await recorded()).length, 3);
    assert.equal((await stats()).steps_left, 1);
  });

  test('500 then 503 then success: 3 attempts', async () => {
    await scenario([{ error: { status: 500 } }, { error: { status: 503 } }, { completion: { content: 'third time' } }]);
    const r = await client({ maxRetries: 2 }).chat.completions.create({ model: 'm', messages: USER });
    assert.equal(r.choices[0].message.content, 'third time');
    assert.equal((await recorded()).length, 3);
  });

  test('x-should-retry: false stops the retry of a 503', async () => {
    await scenario([{ error: { status: 503 }, headers: { 'x-should-retry': 'false' } }, { completion: { content: 'x' } }]);
    const err = await client({ maxRetries: 2 }).chat.completions.create({ model: 'm', messages: USER }).catch((e) => e);
    assert.equal(err.status, 503);
    assert.equal((await recorded()).length, 1);
  });

  test('a connection dropped before any response is retried', async () => {
    await scenario([{ drop: 'immediately' }, { completion: { content: 'after reset' } }]);
    const r = await client({ maxRetries: 2 }).chat.completions.create({ model: 'm', messages: USER });
    assert.equal(r.choices[0].message.content, 'after reset');
    const reqs = await recorded();
    assert.equal(reqs.length, 2);
    assert.notEqual(reqs[0].connection, reqs[1].connection, 'the retry used a new connection');
  });

  test('a request that hangs ends in the SDK timeout', async () => {
    await scenario([{ hang: true }]);
    const err = await client({ timeout: 300 }).chat.completions.create({ model: 'm', messages: USER }).catch((e) => e);
    assert.ok(err instanceof OpenAI.APIConnectionTimeoutError, `got ${err}`);
  });
});

describe('validation', () => {
  test('an unknown top-level parameter is rejected like OpenAI does', async () => {
    await scenario([{ completion: { content: 'never' } }]);
    const err = await client({ maxRetries: 2 }).chat.completions.create({ model: 'm', messages: USER, temprature: 0.5 }).catch((e) => e);
    assert.ok(err instanceof OpenAI.BadRequestError, `got ${err}`);
    assert.equal(err.message, '400 Unrecognized request argument supplied: temprature');
    assert.equal(err.type, 'invalid_request_error');
    assert.equal((await stats()).steps_left, 1, 'a rejected request consumes no step');
  });

  test('a tool message without a preceding tool call is rejected', async () => {
    await scenario([]);
    const err = await client().chat.completions.create({
      model: 'm', messages: [...USER, { role: 'tool', tool_call_id: 'call_x', content: 'out' }],
    }).catch((e) => e);
    assert.ok(err instanceof OpenAI.BadRequestError, `got ${err}`);
    assert.equal(err.param, 'messages.[1].role');
  });

  test('tool-call arguments sent as an object are rejected', async () => {
    await scenario([]);
    const err = await client().chat.completions.create({
      model: 'm',
      messages: [...USER,
        { role: 'assistant', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: { a: 1 } } }] },
        { role: 'tool', tool_call_id: 'c1', content: 'x' }],
    }).catch((e) => e);
    assert.ok(err instanceof OpenAI.BadRequestError, `got ${err}`);
    assert.equal(err.code, 'invalid_type');
    assert.equal(err.param, 'messages[1].tool_calls[0].function.arguments');
  });

  test('a bad tool name, empty messages, bad max tokens', async () => {
    await scenario([]);
    const c = client();
    const bad = [
      [{ model: 'm', messages: USER, tools: [{ type: 'function', function: { name: 'has space' } }] }, 'tools[0].function.name'],
      [{ model: 'm', messages: [] }, 'messages'],
      [{ model: 'm', messages: USER, max_completion_tokens: 0 }, 'max_completion_tokens'],
      [{ model: 'm', messages: USER, stream_options: { include_usage: true } }, 'stream_options'],
      [{ model: 'm', messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role'],
      [{ model: 'm', messages: USER, reasoning_effort: 'extreme' }, 'reasoning_effort'],
    ];
    for (const [body, param] of bad) {
      const err = await c.chat.completions.create(body).catch((e) => e);
      assert.ok(err instanceof OpenAI.BadRequestError, `${JSON.stringify(body)}: got ${err}`);
      assert.equal(err.param, param);
    }
  });

  test('no Authorization header is 401 invalid_api_key; a non-JSON body is 400', async () => {
    await scenario([]);
    const body = JSON.stringify({ model: 'm', messages: USER });
    let r = await fetch(`${srv.base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal(r.status, 401);
    assert.equal((await r.json()).error.code, 'invalid_api_key');
    r = await fetch(`${srv.base}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer k' }, body: '{"model":',
    });
    assert.equal(r.status, 400);
    assert.equal((await r.json()).error.type, 'invalid_request_error');
    r = await fetch(`${srv.base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'text/plain', authorization: 'Bearer k' }, body });
    assert.equal(r.status, 400);
  });

  test("Stirrup's request shape is accepted (reasoning passed back, tool name null)", async () => {
    await scenario([{ completion: { content: 'ok' } }]);
    const r = await client().chat.completions.create({
      model: 'm',
      max_completion_tokens: 64000,
      reasoning_effort: 'medium',
      tool_choice: 'auto',
      tools: TOOLS,
      messages: [
        { role: 'system', content: 'sys' },
        { role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] },
        { role: 'assistant', content: '', reasoning_content: 'hmm',
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'code_exec', arguments: '{"cmd":"ls"}' } }] },
        { role: 'tool', content: 'out', tool_call_id: 'call_1', name: null },
      ],
    });
    assert.equal(r.choices[0].message.content, 'ok');
  });

  test('allow_fields lets a test send vendor extras', async () => {
    await scenario({ allow_fields: ['provider'], steps: [{ completion: { content: 'ok' } }] });
    const r = await client().chat.completions.create({ model: 'm', messages: USER, provider: { order: ['x'] } });
    assert.equal(r.choices[0].message.content, 'ok');
  });
});

describe('sessions', () => {
  // A minimal agent: each turn asks, and answers the tool call (if any) with a
  // tool result; `done` once the model stops calling tools.
  function agent(c, task) {
    const messages = [{ role: 'system', content: 'You are an agent.' }, { role: 'user', content: task }];
    const a = { said: [], done: false };
    a.turn = async () => {
      const r = await c.chat.completions.create({ model: 'm', messages, tools: TOOLS });
      const msg = r.choices[0].message;
      messages.push(msg);
      if (!msg.tool_calls) { a.said.push(msg.content); a.done = true; return; }
      a.said.push(JSON.parse(msg.tool_calls[0].function.arguments).cmd);
      for (const tc of msg.tool_calls) messages.push({ role: 'tool', tool_call_id: tc.id, content: 'ran' });
    };
    return a;
  }
  const script = (who) => [
    { completion: { tool_calls: [{ name: 'code_exec', arguments: { cmd: `echo ${who}-1` } }] } },
    { completion: { tool_calls: [{ name: 'code_exec', arguments: { cmd: `echo ${who}-2` } }] } },
    { completion: { content: `${who} done` } },
  ];

  test('two interleaved sessions each follow their own script', async () => {
    await scenario({
      steps: [{ completion: { content: 'top-level' } }],
      sessions: { 'task-alpha': script('alpha'), 'task-beta': { steps: script('beta') } },
    });
    const c = client();
    const a = agent(c, 'Do task-alpha please');
    const b = agent(c, 'Do task-beta please');
    // beta starts first and the turns alternate: b a b a b a
    while (!a.done || !b.done) {
      if (!b.done) await b.turn();
      if (!a.done) await a.turn();
    }
    assert.deepEqual(a.said, ['echo alpha-1', 'echo alpha-2', 'alpha done']);
    assert.deepEqual(b.said, ['echo beta-1', 'echo beta-2', 'beta done']);

    const reqs = await recorded();
    assert.deepEqual(reqs.map((q) => q.session), ['task-beta', 'task-alpha', 'task-beta', 'task-alpha', 'task-beta', 'task-alpha']);
    const st = await stats();
    assert.deepEqual(st.sessions_used, { 'task-alpha': 3, 'task-beta': 3 });
    assert.deepEqual(st.sessions_left, { 'task-alpha': 0, 'task-beta': 0 });
    assert.equal(st.steps_used, 0, 'no request fell through to the top-level steps');

    // no key in the first user message: the top-level steps, session null
    const r = await c.chat.completions.create({ model: 'm', messages: USER });
    assert.equal(r.choices[0].message.content, 'top-level');
    assert.equal((await recorded()).at(-1).session, null);
  });

  test('many concurrent sessions on one server', async () => {
    const n = 50;
    const sessions = {};
    for (let i = 0; i < n; i++) sessions[`[session ${i}]`] = script(`s${i}`);
    await scenario({ sessions });
    const c = client();
    const agents = Array.from({ length: n }, (_, i) => agent(c, `Task [session ${i}]: go`));
    await Promise.all(agents.map(async (a) => { while (!a.done) await a.turn(); }));
    agents.forEach((a, i) => assert.deepEqual(a.said, [`echo s${i}-1`, `echo s${i}-2`, `s${i} done`]));
    assert.ok(Object.values((await stats()).sessions_used).every((u) => u === 3));
  });

  test('the longest key wins, text parts count, later user messages do not', async () => {
    await scenario({ sessions: {
      job: [{ completion: { content: 'short key' } }],
      'job-12': [{ completion: { content: 'long key' } }, { completion: { content: 'long key again' } }],
    } });
    const c = client();
    let r = await c.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'run job-12 now' }] });
    assert.equal(r.choices[0].message.content, 'long key');
    r = await c.chat.completions.create({ model: 'm', messages: [
      { role: 'system', content: 'mentions job-12 but is no user message' },
      { role: 'user', content: [{ type: 'text', text: 'run job' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }, { type: 'text', text: '-1' }] },
      { role: 'assistant', content: 'ok' },
      { role: 'user', content: 'job-12' },
    ] });
    assert.equal(r.choices[0].message.content, 'short key', '"run job" + "-1" contains job but not job-12');
    r = await c.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'run job-' }, { type: 'text', text: '12' }] }] });
    assert.equal(r.choices[0].message.content, 'long key again', 'the text parts are joined before matching');
  });

  test('an exhausted session answers scenario_exhausted naming its key; forever per session', async () => {
    await scenario({
      steps: [{ completion: { content: 'top' } }],
      sessions: { one: [{ completion: { content: 'only once' } }], many: { steps: [], forever: { completion: { content: 'again' } } } },
    });
    const c = client({ maxRetries: 2 });
    const ask = (text) => c.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: text }] });
    assert.equal((await ask('one')).choices[0].message.content, 'only once');
    const err = await ask('one').catch((e) => e);
    assert.ok(err instanceof OpenAI.InternalServerError, `got ${err}`);
    assert.equal(err.code, 'scenario_exhausted');
    assert.match(err.message, /session "one"/);
    for (let i = 0; i < 3; i++) assert.equal((await ask('many')).choices[0].message.content, 'again');
    assert.equal((await ask('neither')).choices[0].message.content, 'top', 'the top-level steps are untouched');
    const st = await stats();
    assert.deepEqual(st.sessions_used, { one: 1, many: 0 });
    assert.equal(st.steps_used, 1);
    assert.equal((await recorded()).length, 6, 'the exhausted request is recorded and not retried');
  });

  test('a bad session definition is refused by /__scenario', async () => {
    for (const bad of [{ sessions: [] }, { sessions: { '': [] } }, { sessions: { k: [{ nothing: 1 }] } }, { sessions: { k: 3 } }]) {
      const r = await fetch(`${srv.base}/__scenario`, { method: 'POST', body: JSON.stringify(bad) });
      assert.equal(r.status, 400, JSON.stringify(bad));
    }
  });
});

describe('transport', () => {
  test('keep-alive: sequential requests share one TLS connection', async () => {
    await scenario([{ echo: { bytes: 1000 }, repeat: 5 }]);
    const before = await stats();
    const c = client();
    for (let i = 0; i < 5; i++) {
      const r = await c.chat.completions.create({ model: 'm', messages: USER });
      assert.equal(r.choices[0].message.content.length, 1000);
    }
    const after = await stats();
    // The SDK shares undici's global pool with this file's fetch() calls, so
    // requests may land on either of two warm connections -- but no new handshakes.
    assert.ok(after.tls_handshakes - before.tls_handshakes <= 1, JSON.stringify([before, after]));
  });

  test('a certificate for the wrong host name is refused', async () => {
    const s = await startServer({ cert: 'wronghost' });
    try {
      const c = new OpenAI({ apiKey: 'k', baseURL: `${s.base}/v1`, maxRetries: 0 });
      const err = await c.chat.completions.create({ model: 'm', messages: USER }).catch((e) => e);
      assert.ok(err instanceof OpenAI.APIConnectionError, `got ${err}`);
      assert.match(String(err.cause?.cause?.code ?? err.cause?.code ?? err.cause), /ERR_TLS_CERT_ALTNAME_INVALID/);
    } finally { await stopServer(s); }
  });

  test('a certificate from an untrusted CA is refused', async () => {
    const s = await startServer({ cert: 'untrusted' });
    try {
      const c = new OpenAI({ apiKey: 'k', baseURL: `${s.base}/v1`, maxRetries: 0 });
      const err = await c.chat.completions.create({ model: 'm', messages: USER }).catch((e) => e);
      assert.ok(err instanceof OpenAI.APIConnectionError, `got ${err}`);
    } finally { await stopServer(s); }
  });

  test('--plain serves HTTP, --forever answers every request, --record is written before the answer', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fake-openai-')), 'requests.jsonl');
    const s = await startServer({ plain: true, args: ['--forever', '--record', file] });
    try {
      const c = new OpenAI({ apiKey: 'k', baseURL: `${s.base}/v1`, maxRetries: 0 });
      for (let i = 0; i < 3; i++) {
        const r = await c.chat.completions.create({ model: 'm', messages: USER, max_completion_tokens: i + 1 });
        assert.equal(r.choices[0].message.content, 'ok');
        const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
        assert.equal(lines.length, i + 1);
        assert.equal(lines[i].body.max_completion_tokens, i + 1);
        assert.equal(lines[i].headers.authorization, 'Bearer k');
      }
    } finally {
      await stopServer(s);
      fs.rmSync(path.dirname(file), { recursive: true });
    }
  });
});
