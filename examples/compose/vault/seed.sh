#!/bin/sh
# Seeds the Vault dev server for the compose "vault" profile: erlmcp's
# secrets at the paths of erlmcp's secrets guide (random dev values, never
# printed), a read-only policy, and a token with only that policy for the
# agent in /var/run/vault/token. Runs in the hashicorp/vault image.
set -eu

rand() { head -c "$1" /dev/urandom | base64 | tr -d '\n'; }

vault kv put secret/database/erlmcp host=postgres port=5432 database=erlmcp username=erlmcp password="$(rand 32)" >/dev/null
vault kv put secret/erlang/cookie value="$(rand 32)" >/dev/null
vault kv put secret/auth/jwt secret="$(rand 64)" >/dev/null
vault kv put secret/cache/redis host=redis port=6379 password="$(rand 24)" >/dev/null
vault policy write erlmcp /seed/erlmcp-policy.hcl >/dev/null

umask 077
vault token create -policy=erlmcp -ttl=24h -renewable=true -field=token > /var/run/vault/token.new
mv /var/run/vault/token.new /var/run/vault/token
echo "vault-seed: wrote secret/database/erlmcp, secret/erlang/cookie, secret/auth/jwt, secret/cache/redis and a token for policy erlmcp"
