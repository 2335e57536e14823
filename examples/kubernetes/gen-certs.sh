#!/usr/bin/env bash
# Self-signed CA + serving certificate for the erlmcp-secrets webhook, for
# clusters without cert-manager (see cert-manager.yaml for the managed way).
#
#   ./gen-certs.sh                    # writes ./certs/{ca.crt,ca.key,tls.crt,tls.key}
#   OUT_DIR=/tmp/wh ./gen-certs.sh
#
# Then:
#   kubectl -n erlmcp-secrets create secret tls erlmcp-secrets-webhook-tls \
#     --cert=certs/tls.crt --key=certs/tls.key
#   CA_BUNDLE=$(base64 < certs/ca.crt | tr -d '\n')
#   sed "s|caBundle: \"\"|caBundle: \"$CA_BUNDLE\"|" mutating-webhook.yaml | kubectl apply -f -
#
# Rotation: run again with KEEP_CA=1 to reissue the serving certificate from
# the same CA, replace the Secret, and the webhook picks it up without a restart.
set -euo pipefail

SERVICE="${SERVICE:-erlmcp-secrets-webhook}"
NAMESPACE="${NAMESPACE:-erlmcp-secrets}"
OUT_DIR="${OUT_DIR:-./certs}"
DAYS="${DAYS:-365}"
CA_DAYS="${CA_DAYS:-3650}"
# more subjectAltName entries, comma separated (e.g. "IP:127.0.0.1,DNS:localhost" for local tests)
EXTRA_SANS="${EXTRA_SANS:-}"
KEEP_CA="${KEEP_CA:-0}"

command -v openssl >/dev/null || { echo "gen-certs.sh: openssl is required" >&2; exit 2; }
mkdir -p "$OUT_DIR"
umask 077
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [[ "$KEEP_CA" != "1" || ! -s "$OUT_DIR/ca.key" ]]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$OUT_DIR/ca.key" -out "$OUT_DIR/ca.crt" -days "$CA_DAYS" \
    -subj "/CN=${SERVICE}-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi

sans="DNS:${SERVICE},DNS:${SERVICE}.${NAMESPACE},DNS:${SERVICE}.${NAMESPACE}.svc,DNS:${SERVICE}.${NAMESPACE}.svc.cluster.local"
[[ -n "$EXTRA_SANS" ]] && sans="${sans},${EXTRA_SANS}"
cat > "$work/ext.cnf" <<CNF
subjectAltName=${sans}
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
CNF

openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$work/tls.key" -out "$work/tls.csr" -subj "/CN=${SERVICE}.${NAMESPACE}.svc" 2>/dev/null
openssl x509 -req -in "$work/tls.csr" -CA "$OUT_DIR/ca.crt" -CAkey "$OUT_DIR/ca.key" \
  -set_serial "0x$(openssl rand -hex 16)" -days "$DAYS" -extfile "$work/ext.cnf" -out "$work/tls.crt" 2>/dev/null

# replace the pair together so a reader never sees a new cert with an old key for long
mv "$work/tls.key" "$OUT_DIR/tls.key"
mv "$work/tls.crt" "$OUT_DIR/tls.crt"
chmod 0644 "$OUT_DIR/ca.crt" "$OUT_DIR/tls.crt"
echo "gen-certs.sh: wrote $OUT_DIR/ca.crt $OUT_DIR/tls.crt $OUT_DIR/tls.key for ${SERVICE}.${NAMESPACE}.svc" >&2
