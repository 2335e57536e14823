#!/usr/bin/env bash
# The Vault side for the erlmcp examples, as in the erlmcp secrets guide:
# KV v2 at secret/, the erlmcp secrets, Kubernetes auth at auth/kubernetes,
# a read-only policy `erlmcp` and a role `erlmcp` bound to the service
# account erlmcp in the namespace erlmcp.
#
#   export VAULT_ADDR=https://vault.vault.svc:8200 VAULT_TOKEN=...   # an admin token
#   ./vault-setup.sh                 # policy, auth method and role
#   SEED_SECRETS=1 ./vault-setup.sh  # also write random example secrets
#
# Run it where the vault CLI can reach Vault. For the auth config it reads
# the Kubernetes API address and CA from the pod it runs in (vault-0), as in
# the guide; set KUBERNETES_HOST / KUBERNETES_CA_CERT to run it elsewhere.
set -euo pipefail

NAMESPACE="${NAMESPACE:-erlmcp}"
SERVICE_ACCOUNT="${SERVICE_ACCOUNT:-erlmcp}"
ROLE="${ROLE:-erlmcp}"
AUTH_MOUNT="${AUTH_MOUNT:-kubernetes}"
TOKEN_TTL="${TOKEN_TTL:-1h}"
SEED_SECRETS="${SEED_SECRETS:-0}"
KUBERNETES_HOST="${KUBERNETES_HOST:-https://${KUBERNETES_SERVICE_HOST:-kubernetes.default.svc}:${KUBERNETES_SERVICE_PORT:-443}}"
KUBERNETES_CA_CERT="${KUBERNETES_CA_CERT:-/var/run/secrets/kubernetes.io/serviceaccount/ca.crt}"

command -v vault >/dev/null || { echo "vault-setup.sh: the vault CLI is required" >&2; exit 2; }
: "${VAULT_ADDR:?set VAULT_ADDR}"

# KV v2 at secret/ (the agent reads secret/data/<path>)
if ! vault secrets list -format=json | grep -q '"secret/"'; then
  vault secrets enable -path=secret kv-v2
fi

if [[ "$SEED_SECRETS" == "1" ]]; then
  vault kv put secret/database/erlmcp \
    host="postgres-service.erlmcp.svc.cluster.local" port="5432" database="erlmcp" \
    username="erlmcp" password="$(openssl rand -base64 32)"
  vault kv put secret/erlang/cookie value="$(openssl rand -base64 32 | tr -d '\n')"
  vault kv put secret/auth/jwt secret="$(openssl rand -base64 64 | tr -d '\n')"
fi

# Kubernetes auth: Vault asks the API server (TokenReview) who a pod's token belongs to
if ! vault auth list -format=json | grep -q "\"${AUTH_MOUNT}/\""; then
  vault auth enable -path="$AUTH_MOUNT" kubernetes
fi
vault write "auth/${AUTH_MOUNT}/config" \
  kubernetes_host="$KUBERNETES_HOST" \
  kubernetes_ca_cert=@"$KUBERNETES_CA_CERT"

# Read-only, and only what erlmcp uses. The agent's own token calls
# (renew-self, lookup-self) are in Vault's default policy.
vault policy write "$ROLE" - <<'POLICY'
path "secret/data/database/erlmcp" {
  capabilities = ["read"]
}
path "secret/metadata/database/erlmcp" {
  capabilities = ["read"]
}
path "secret/data/erlang/cookie" {
  capabilities = ["read"]
}
path "secret/metadata/erlang/cookie" {
  capabilities = ["read"]
}
path "secret/data/auth/*" {
  capabilities = ["read"]
}
path "secret/metadata/auth/*" {
  capabilities = ["read"]
}
POLICY

# The role the webhook-injected agent logs in with (secrets.erlmcp.io/role: erlmcp).
# Short token TTL: the sidecar renews it; a stolen token dies soon.
vault write "auth/${AUTH_MOUNT}/role/${ROLE}" \
  bound_service_account_names="$SERVICE_ACCOUNT" \
  bound_service_account_namespaces="$NAMESPACE" \
  token_policies="$ROLE" \
  token_ttl="$TOKEN_TTL" \
  token_max_ttl=24h

echo "vault-setup.sh: role ${ROLE} (sa ${NAMESPACE}/${SERVICE_ACCOUNT}) can read the erlmcp secrets" >&2
