#!/usr/bin/env bash
# Installs the pinned packages (../install.sh), then checks the MCP test
# servers: ws_server.mjs with the SDK's WebSocket client (ws and wss),
# bad_server.mjs mode by mode, and what README.md says about the official
# server-everything / server-filesystem. Exits non-zero on any failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/../install.sh"
cd "$here"
node ws_check.mjs
node --test --test-reporter=spec --test-concurrency=1 bad_check.mjs everything_check.mjs
