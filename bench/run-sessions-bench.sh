#!/usr/bin/env bash
# Runs bench/sessions_bench against the fake chat server over TLS and prints a
# table, then the JSON results (one object per run) on the last line.
#
#   bench/run-sessions-bench.sh [--build DIR] [--quick] [--docker]
#   bench/run-sessions-bench.sh [--build DIR] -- ARGS...   one run with ARGS
#
# Without ARGS it runs the matrix of docs/performance.md: CPU per turn with the
# calculator (no model latency), added latency at 1,000 sessions on 1, 2 and 4
# io_context threads, 10,000 sessions waiting on a 2 s model, the local backend
# against bare posix_spawn, and (with --docker, engine started by
# scripts/docker-engine start) Docker exec. --quick shrinks every size by 10.
# The fake server is restarted for each run, so its counters and CPU are that
# run's. JSON results also go to $STIRRUP_BENCH_OUT (default
# /tmp/sessions-bench.json).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build="$here/build-perf"
quick=0
docker=0
single=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$(cd "$2" && pwd); shift 2 ;;
    --quick) quick=1; shift ;;
    --docker) docker=1; shift ;;
    --) shift; single=("$@"); break ;;
    *) echo "usage: $0 [--build DIR] [--quick] [--docker] [-- ARGS...]" >&2; exit 2 ;;
  esac
done
bench="$build/bench/sessions_bench"
[ -x "$bench" ] || { echo "build it first: ninja -C $build bench/sessions_bench" >&2; exit 2; }
command -v node >/dev/null || { echo "node is needed for the fake server (tests/fakes/install.sh)" >&2; exit 2; }

work=$(mktemp -d /tmp/sessions-bench-run.XXXXXX)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
"$here/tests/fakes/gen-certs.sh" "$work/certs" >/dev/null
out=${STIRRUP_BENCH_OUT:-/tmp/sessions-bench.json}
: > "$out"

start_server() {
  node "$here/tests/fakes/openai/server.mjs" --cert "$work/certs/server.pem" --key "$work/certs/server.key" \
    --forever --keep-alive-timeout 600000 "$@" </dev/null >"$work/port" 2>"$work/server.log" &
  server_pid=$!
  for _ in $(seq 100); do
    [ -s "$work/port" ] && break
    sleep 0.1
  done
  port=$(sed 's/[^0-9]//g' "$work/port")
  [ -n "$port" ] || { cat "$work/server.log" >&2; exit 1; }
}

stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=
  : > "$work/port"
}

containers() {
  if [ "$docker" = 1 ]; then docker ps -aq --filter label=stirrup.owner 2>/dev/null | wc -l; else echo 0; fi
}

run() {
  local plain=()
  case " $* " in *" --plain "*) plain=(--plain) ;; esac
  start_server "${plain[@]}"
  local before after line
  before=$(containers)
  echo "# $* (load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  if ! line=$("$bench" --port "$port" --server-pid "$server_pid" --ca "$work/certs/ca.pem" "$@"); then
    echo "sessions_bench failed: $line" >&2
    stop_server
    return 1
  fi
  after=$(containers)
  stop_server
  line=$(node -e 'const r=JSON.parse(process.argv[1]); r.leftover_containers=Number(process.argv[2]); r.load=process.argv[3]; console.log(JSON.stringify(r))' \
    "$line" "$((after - before))" "$(cut -d' ' -f1-3 /proc/loadavg)")
  echo "$line" >> "$out"
}

if [ ${#single[@]} -gt 0 ]; then
  run "${single[@]}"
else
  s() { echo $(( $1 / (quick ? 10 : 1) )); }
  # CPU per turn: cold (a handshake per session) and warm (the pool already
  # holds a connection per session, as in a long-running service).
  run --tool calculator --sessions "$(s 1000)" --turns 10 --latency-ms 0
  run --tool calculator --sessions "$(s 1000)" --turns 10 --latency-ms 0 --warmup "$(s 1000)"
  # Added latency at 1,000 sessions: cold (every session's first turn makes
  # its TLS handshake, all at once), then warm on 1, 2 and 4 threads.
  run --tool calculator --sessions "$(s 1000)" --turns 5 --latency-ms 500
  for t in 1 2 4; do
    run --tool calculator --sessions "$(s 1000)" --turns 5 --latency-ms 500 --threads "$t" --warmup "$(s 1000)"
  done
  # A slower model: the fake answers 500 requests a second instead of 2,000,
  # so its own queueing adds less to the tail.
  run --tool calculator --sessions "$(s 1000)" --turns 5 --latency-ms 2000 --warmup "$(s 1000)"
  run --tool calculator --sessions "$(s 10000)" --turns 2 --latency-ms 2000
  run --tool calculator --sessions "$(s 10000)" --turns 2 --latency-ms 2000 --threads 2
  # The same over plain HTTP: the difference is what a TLS connection costs.
  run --tool calculator --sessions "$(s 10000)" --turns 2 --latency-ms 2000 --plain
  # The same with the default in-flight cap (1,000): most sessions wait in the
  # limiter's queue instead of on a connection of their own.
  run --tool calculator --sessions "$(s 10000)" --turns 2 --latency-ms 2000 --max-in-flight 1000
  run --tool local --sessions "$(s 200)" --turns 5 --latency-ms 0 --spawn-baseline "$(s 2000)"
  run --tool local --sessions "$(s 1000)" --turns 3 --latency-ms 500
  if [ "$docker" = 1 ]; then
    run --tool docker --sessions "$(s 20)" --turns 3 --latency-ms 0
  fi
fi

node - "$out" <<'EOF'
const fs = require('fs');
const rows = fs.readFileSync(process.argv[2], 'utf8').trim().split('\n').filter(Boolean).map(JSON.parse);
const cols = [
  ['tool', r => r.tool + (r.plain_http ? ' (http)' : '')], ['N', r => r.sessions], ['K', r => r.turns], ['lat ms', r => r.latency_ms],
  ['thr', r => r.threads], ['ok', r => r.completed - r.failed], ['sess/s', r => r.sessions_per_s.toFixed(1)],
  ['CPU µs/turn', r => r.cpu_us_per_turn.toFixed(0)], ['of it sys', r => r.cpu_sys_us_per_turn.toFixed(0)], ['fake CPU s', r => r.server_cpu_s.toFixed(1)],
  ['+p50 ms', r => r.added_ms_p50.toFixed(2)], ['+p99 ms', r => r.added_ms_p99.toFixed(2)],
  ['fake p99', r => Number(r.server_ms_p99).toFixed(2)], ['client p99', r => r.client_ms_p99.toFixed(2)],
  ['RSS peak MiB', r => (r.rss_peak_kib / 1024).toFixed(0)], ['KiB/session', r => r.rss_per_live_session_kib.toFixed(1)],
  ['history KiB', r => r.history_kib_per_session.toFixed(1)], ['heap KiB/session', r => r.heap_per_live_session_kib.toFixed(1)],
  ['TLS hs', r => r.tls_handshakes], ['reqs', r => r.requests], ['fds peak', r => r.fds_peak],
  ['left p/d/c/fd', r => `${r.leftover_processes}/${r.leftover_temp_dirs}/${r.leftover_containers}/${r.leftover_fds}`],
];
const table = [cols.map(c => c[0]), ...rows.map(r => cols.map(c => String(c[1](r))))];
const w = cols.map((_, i) => Math.max(...table.map(t => t[i].length)));
for (const t of table) console.log(t.map((v, i) => v.padStart(w[i])).join('  '));
for (const r of rows.filter(r => r.bare_spawn_per_s))
  console.log(`local: bare posix_spawn ${r.bare_spawn_per_s.toFixed(0)}/s, run_command (64 in flight) ` +
    `${r.run_command_per_s.toFixed(0)}/s = ${(100 * r.run_command_vs_bare).toFixed(0)}%, ` +
    `commands inside sessions ${r.session_commands_per_s.toFixed(0)}/s = ${(100 * r.session_commands_vs_bare).toFixed(0)}%`);
for (const r of rows.filter(r => r.failed)) console.log(`FAILED ${r.tool} N=${r.sessions}: ${r.errors.join(' | ')}`);
console.log(JSON.stringify(rows));
EOF
