#!/usr/bin/env bash
# The MCP client benchmark: tool calls through ONE server connection shared by
# 100 concurrent sessions, stirrup-cpp (bench/mcp_bench.cpp) next to the
# official TypeScript SDK's client (tests/fakes/mcp/sdk_bench.mjs) making the
# same calls against the same server, in the same run, rounds interleaved
# (these machines are noisy): over stdio (each client starts its own
# server-everything) and over streamable HTTP (one server-everything per
# round, both clients against it, the order alternating). Prints medians, the
# ratios, and checks the goals: at least the SDK's throughput, at most 1/4 of
# its CPU per call (each client's own CPU; the server's is not counted).
#
#   bench/run-mcp-bench.sh [BUILD_DIR] [ROUNDS]      (default: build, 3)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
rounds=${2:-3}
bench="$PWD/$build/bench/mcp_bench"
[ -x "$bench" ] || { echo "no $bench: build it first (ninja -C $build bench/mcp_bench)"; exit 1; }
[ -d tests/fakes/mcp/node_modules/@modelcontextprotocol ] || { echo "run tests/fakes/install.sh first"; exit 1; }
cd tests/fakes/mcp

tmp=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

stdio_args="--sessions 100 --calls-per-session 100 --warmup 200"
http_args="--sessions 100 --calls-per-session 20 --warmup 100"

for r in $(seq "$rounds"); do
  echo "round $r/$rounds" >&2
  "$bench" --transport stdio $stdio_args -- node everything.mjs stdio >>"$tmp/cpp-stdio.jsonl"
  node sdk_bench.mjs --transport stdio $stdio_args -- node everything.mjs stdio >>"$tmp/sdk-stdio.jsonl"

  node everything.mjs streamableHttp --quiet >"$tmp/port" 2>/dev/null &
  server_pid=$!
  for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
  url="http://127.0.0.1:$(cut -d' ' -f2 "$tmp/port")/mcp"
  if [ $((r % 2)) -eq 1 ]; then
    "$bench" --transport http --url "$url" $http_args >>"$tmp/cpp-http.jsonl"
    node sdk_bench.mjs --transport http --url "$url" $http_args 2>/dev/null >>"$tmp/sdk-http.jsonl"
  else
    node sdk_bench.mjs --transport http --url "$url" $http_args 2>/dev/null >>"$tmp/sdk-http.jsonl"
    "$bench" --transport http --url "$url" $http_args >>"$tmp/cpp-http.jsonl"
  fi
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=
done

node - "$tmp" <<'JS'
const fs = require('fs');
const dir = process.argv[2];
const rows = (f) => fs.readFileSync(`${dir}/${f}`, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
let ok = true;
console.log('transport  client        calls/s   CPU ms/call   p50 ms   errors');
for (const t of ['stdio', 'http']) {
  const c = rows(`cpp-${t}.jsonl`), s = rows(`sdk-${t}.jsonl`);
  const m = (r, k) => median(r.map((x) => x[k]));
  const line = (name, r) => console.log(`${t.padEnd(10)} ${name.padEnd(12)} ${m(r, 'calls_per_second').toFixed(0).padStart(8)}   ${m(r, 'cpu_ms_per_call').toFixed(4).padStart(11)}   ${m(r, 'latency_p50_ms').toFixed(1).padStart(6)}   ${r.reduce((a, x) => a + x.errors, 0)}`);
  line('stirrup-cpp', c);
  line('SDK 1.32.2', s);
  const tput = m(c, 'calls_per_second') / m(s, 'calls_per_second');
  const cpu = m(c, 'cpu_ms_per_call') / m(s, 'cpu_ms_per_call');
  const pass = tput >= 1 && cpu <= 0.25;
  ok = ok && pass;
  console.log(`${t.padEnd(10)} ratio        ${tput.toFixed(2).padStart(8)}x  ${cpu.toFixed(2).padStart(10)}x   (goal: >= 1x, <= 0.25x) ${pass ? 'ok' : 'MISSED'}`);
}
process.exit(ok ? 0 : 1);
JS
