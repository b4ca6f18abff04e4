#!/usr/bin/env bash
# Generates the TLS material the fake servers and the TLS tests use, with the
# openssl CLI, into DIR (created if missing; existing files are replaced):
#
#   ca.pem / ca.key               test CA (trust it: SSL_CERT_FILE, the client's
#                                 extra-CA option, or NODE_EXTRA_CA_CERTS)
#   server.pem / server.key       signed by ca.pem, SAN IP:127.0.0.1, IP:::1,
#                                 DNS:localhost -- what the fakes serve
#   wronghost.pem / wronghost.key signed by ca.pem, SAN DNS:wrong-host.invalid
#                                 only -- a trusted chain whose name does not
#                                 match 127.0.0.1/localhost (host-name check)
#   untrusted.pem / untrusted.key right names, signed by other-ca.pem, a CA no
#                                 test trusts (chain check)
#   cnonly.pem / cnonly.key       signed by ca.pem, CN=localhost and no
#                                 subjectAltName -- a name only in the CN must
#                                 be refused
#   expired.pem / expired.key     signed by ca.pem, right names, expired
#                                 yesterday
#   other-ca.pem / other-ca.key
#   client.pem / client.key       a client certificate (clientAuth) signed by
#                                 ca.pem -- for servers that demand one
#   untrusted-client.pem / .key   the same, signed by other-ca.pem
#
# Keys are EC P-256 (fast to generate and to handshake). Certificates are valid
# for 30 days from now (but expired.pem); run it at test start.
#
# Usage: tests/fakes/gen-certs.sh DIR
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
dir=$1
mkdir -p "$dir"
command -v openssl >/dev/null || { echo "gen-certs.sh: openssl not found" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# make_ca NAME SUBJECT
make_ca() {
  newkey "$work/$1.key"
  openssl req -x509 -new -key "$work/$1.key" -sha256 -days 30 -subj "$2" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -out "$work/$1.pem" 2>/dev/null
}

# leaf_request NAME SUBJECT_ALT_NAMES (empty: none) EXTENDED_KEY_USAGE COMMON_NAME
# writes NAME.key, NAME.csr and NAME.ext for a CA to sign.
leaf_request() {
  newkey "$work/$1.key"
  openssl req -new -key "$work/$1.key" -subj "/CN=$4" -out "$work/$1.csr" 2>/dev/null
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$3"
    [ -z "$2" ] || echo "subjectAltName=$2"
    echo "authorityKeyIdentifier=keyid"
    echo "subjectKeyIdentifier=hash"
  } >"$work/$1.ext"
}

# make_leaf NAME CA SUBJECT_ALT_NAMES [EXTENDED_KEY_USAGE] [COMMON_NAME]
make_leaf() {
  leaf_request "$1" "$3" "${4:-serverAuth}" "${5:-$1}"
  openssl x509 -req -in "$work/$1.csr" -CA "$work/$2.pem" -CAkey "$work/$2.key" \
    -CAcreateserial -sha256 -days 30 -extfile "$work/$1.ext" -out "$work/$1.pem" 2>/dev/null
}

# make_expired_leaf NAME CA SUBJECT_ALT_NAMES: valid from two days ago to
# yesterday (`openssl x509 -req` only counts days forward; `openssl ca` takes
# dates).
make_expired_leaf() {
  leaf_request "$1" "$3" serverAuth "$1"
  mkdir -p "$work/ca-db"
  : >"$work/ca-db/index.txt"
  cat >"$work/ca-db/ca.cnf" <<CNF
[ca]
default_ca = test
[test]
database = $work/ca-db/index.txt
new_certs_dir = $work/ca-db
serial = $work/ca-db/serial
default_md = sha256
policy = any
[any]
commonName = supplied
CNF
  openssl rand -hex 16 >"$work/ca-db/serial"
  openssl ca -batch -notext -config "$work/ca-db/ca.cnf" -cert "$work/$2.pem" -keyfile "$work/$2.key" \
    -startdate "$(date -u -d '2 days ago' +%Y%m%d%H%M%SZ)" -enddate "$(date -u -d '1 day ago' +%Y%m%d%H%M%SZ)" \
    -extfile "$work/$1.ext" -in "$work/$1.csr" -out "$work/$1.pem" 2>/dev/null
}

make_ca ca "/CN=stirrup-cpp test CA"
make_ca other-ca "/CN=stirrup-cpp untrusted test CA"
make_leaf server ca "IP:127.0.0.1,IP:::1,DNS:localhost"
make_leaf wronghost ca "DNS:wrong-host.invalid"
make_leaf untrusted other-ca "IP:127.0.0.1,IP:::1,DNS:localhost"
make_leaf client ca "DNS:stirrup-test-client" clientAuth
make_leaf untrusted-client other-ca "DNS:stirrup-test-client" clientAuth
make_leaf cnonly ca "" serverAuth localhost
make_expired_leaf expired ca "IP:127.0.0.1,IP:::1,DNS:localhost"

openssl verify -CAfile "$work/ca.pem" "$work/server.pem" >/dev/null
openssl verify -CAfile "$work/ca.pem" "$work/wronghost.pem" >/dev/null

for f in ca other-ca server wronghost untrusted client untrusted-client cnonly expired; do
  cp "$work/$f.pem" "$dir/$f.pem"
  cp "$work/$f.key" "$dir/$f.key"
  chmod 600 "$dir/$f.key"
done
