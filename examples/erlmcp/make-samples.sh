#!/usr/bin/env bash
# Makes the SAMPLE keys and certificates in sample-secrets/ (committed as
# fixtures, so the example runs anywhere). They are public test material:
# never use them for anything but trying the example and the tests.
#   ./make-samples.sh        # rewrites sample-secrets/tls/* and sample-secrets/jwt/public.pem
set -euo pipefail
cd "$(dirname "$0")/sample-secrets"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p tls jwt

# a CA and one certificate for both erlmcp's transports and its TLS
# distribution (serverAuth and clientAuth: each node is both)
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$tmp/ca.key" 2>/dev/null
openssl req -x509 -new -key "$tmp/ca.key" -subj "/O=SAMPLE NOT FOR PRODUCTION/CN=erlmcp-secrets sample CA" -days 3650 \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -out tls/ca.crt
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out tls/tls.key 2>/dev/null
openssl req -new -key tls/tls.key -subj "/O=SAMPLE NOT FOR PRODUCTION/CN=erlmcp sample node" -out "$tmp/tls.csr"
printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost,DNS:erlmcp\n' > "$tmp/ext"
openssl x509 -req -in "$tmp/tls.csr" -CA tls/ca.crt -CAkey "$tmp/ca.key" -CAcreateserial -CAserial "$tmp/ca.srl" \
  -days 3650 -extfile "$tmp/ext" -out tls/tls.crt 2>/dev/null

# a JWT verification key: erlmcp_auth only needs the public half, so the
# private half is thrown away
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/jwt.key" 2>/dev/null
openssl pkey -in "$tmp/jwt.key" -pubout -out jwt/public.pem
printf 'sample-2026' > jwt/kid
echo "made SAMPLE tls/ca.crt tls/tls.crt tls/tls.key jwt/public.pem jwt/kid"
