#!/usr/bin/env bash
# Proves the fake E2B server speaks the real protocol: generates fresh test
# certificates, then runs the official `e2b` npm SDK against the fake
# (tests/fakes/e2b/sdk_check.test.mjs), over HTTPS and plain HTTP. Exits
# non-zero on any failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

"$here/install.sh"

certs=$(mktemp -d)
trap 'rm -rf "$certs"' EXIT
"$here/gen-certs.sh" "$certs"

export FAKE_CERT_DIR=$certs
export NODE_EXTRA_CA_CERTS=$certs/ca.pem
cd "$here/e2b"
node --test --test-reporter=spec --test-concurrency=1 sdk_check.test.mjs
