#!/usr/bin/env bash
# Proves the fake OpenAI server speaks the real protocol: generates fresh test
# certificates, then runs the official `openai` SDK against the fake
# (tests/fakes/openai/sdk_check.test.mjs). Exits non-zero on any failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

"$here/install.sh"

certs=$(mktemp -d)
trap 'rm -rf "$certs"' EXIT
"$here/gen-certs.sh" "$certs"

export FAKE_CERT_DIR=$certs
export NODE_EXTRA_CA_CERTS=$certs/ca.pem
cd "$here/openai"
node --test --test-reporter=spec sdk_check.test.mjs
