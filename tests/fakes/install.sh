#!/usr/bin/env bash
# Installs what the fake servers need: Node.js and npm (from Debian when
# missing) and the pinned npm packages of tests/fakes/openai and tests/fakes/e2b
# (npm ci, only when node_modules is missing or older than package-lock.json).
# Idempotent and quiet when everything is in place.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "installing: nodejs npm" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 18 ]; then
  echo "tests/fakes: node >= 18 is needed, found $(node --version)" >&2
  exit 1
fi

# npm ci records the lock it installed in node_modules/.package-lock.json; a
# stamp with the lock file's hash tells whether that install is current.
install_pkgs() {
  local dir=$1
  local stamp="$dir/node_modules/.stirrup-lock.sha256"
  local want
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  echo "npm ci in ${dir#"$here/"}" >&2
  npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >/dev/null
  echo "$want" >"$stamp"
}

install_pkgs "$here/openai"
install_pkgs "$here/e2b"
install_pkgs "$here/websocket"
install_pkgs "$here/mcp"
