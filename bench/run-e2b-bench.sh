#!/usr/bin/env bash
# The E2B benchmark: starts the fake E2B server over TLS with fresh test
# certificates, then runs stirrup-cpp's bench (bench/e2b_bench.cpp) and the
# official JS SDK's (tests/fakes/e2b/sdk_bench.mjs) against it in the same
# run, twice: with real processes for `true`, and with the fake answering
# `true` instantly (--instant: client and protocol cost only). Prints a table
# with the ratios and checks the goals: at most 1 TLS handshake per host per
# session, no more requests per command than the SDK, and at most 0.5x the
# SDK's per-command time (instant mode).
#
#   bench/run-e2b-bench.sh [BUILD_DIR] [COMMANDS]      (default: build, 200)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
commands=${2:-200}
bench="$build/bench/e2b_bench"
[ -x "$bench" ] || { echo "no $bench: build it first (ninja -C $build bench/e2b_bench)"; exit 1; }
[ -d tests/fakes/e2b/node_modules/e2b ] || { echo "tests/fakes/e2b has no node_modules: run tests/fakes/install.sh"; exit 1; }

tmp=$(mktemp -d)
server_pid=
cleanup() {
  exec 3>&- 2>/dev/null || true   # the fake exits when its stdin closes
  [ -n "$server_pid" ] && wait "$server_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

bash tests/fakes/gen-certs.sh "$tmp/certs" >/dev/null
key=e2b_0123456789abcdef0123456789abcdef01234567
mkfifo "$tmp/stdin"
node tests/fakes/e2b/server.mjs --cert "$tmp/certs/server.pem" --key "$tmp/certs/server.key" --api-key "$key" \
  <"$tmp/stdin" >"$tmp/port" 2>"$tmp/server.log" &
server_pid=$!
exec 3>"$tmp/stdin"
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
port=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).port)' "$tmp/port")
url="https://127.0.0.1:$port"

run_pair() { # MODE_FLAG -> writes $tmp/cpp$1.json and $tmp/sdk$1.json
  local flag=$1
  "$bench" --url "$url" --api-key "$key" --ca "$tmp/certs/ca.pem" --sessions 3 --commands "$commands" $flag \
    | tee "$tmp/cpp.out" >&2
  grep '^RESULT ' "$tmp/cpp.out" | sed 's/^RESULT //' >"$tmp/cpp$flag.json"
  ( cd tests/fakes/e2b && E2B_API_URL="$url" E2B_SANDBOX_URL="$url" E2B_API_KEY="$key" \
      NODE_EXTRA_CA_CERTS="$tmp/certs/ca.pem" node sdk_bench.mjs --iterations "$commands" $flag ) >"$tmp/sdk$flag.json"
}

run_pair ""
run_pair --instant

node - "$tmp" <<'EOF'
const fs = require('fs');
const dir = process.argv[2];
const read = (f) => JSON.parse(fs.readFileSync(`${dir}/${f}`, 'utf8'));
let ok = true;
for (const [flag, title] of [['', 'real processes (the fake forks bash for each `true`)'], ['--instant', 'instant `true` (client + protocol cost only)']]) {
  const c = read(`cpp${flag}.json`);
  const s = read(`sdk${flag}.json`);
  const sdkHandshakes = s.start.tls_handshakes + s.per_command_tls_handshakes * s.iterations;
  const rows = [
    ['start to first result (ms)', c.first_command_ms, s.create_to_first_result_ms],
    ['per command, median (ms)', c.per_command_ms, s.per_command_ms.median],
    ['per command, mean (ms)', c.per_command_mean_ms, s.per_command_ms.mean],
    ['TLS handshakes per session', c.tls_handshakes_per_session, sdkHandshakes],
    ['HTTP requests per command', c.requests_per_command, s.per_command_requests],
  ];
  console.log(`\n${title}`);
  console.log(`${'metric'.padEnd(30)}${'stirrup-cpp'.padStart(14)}${`e2b-js-sdk ${s.sdk_version}`.padStart(20)}${'ratio'.padStart(9)}`);
  for (const [name, a, b] of rows) {
    const ratio = b ? (a / b).toFixed(2) : '-';
    console.log(`${name.padEnd(30)}${a.toFixed(3).padStart(14)}${b.toFixed(3).padStart(20)}${ratio.padStart(9)}`);
  }
  const goals = [
    ['<= 1 TLS handshake per host per session', c.tls_handshakes_per_session <= 1],
    ['requests per command <= the SDK\'s', c.requests_per_command <= s.per_command_requests],
  ];
  if (flag) goals.push(['per command <= 0.5x the SDK\'s (median)', c.per_command_ms <= 0.5 * s.per_command_ms.median]);
  for (const [g, pass] of goals) {
    console.log(`  goal: ${g}: ${pass ? 'met' : 'NOT met'}`);
    ok = ok && pass;
  }
}
process.exit(ok ? 0 : 1);
EOF
