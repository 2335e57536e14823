#!/usr/bin/env bash
# PostgreSQL 15 from Debian: the database secrets engine tests run a
# throwaway cluster (test/helpers/postgres.ts) and log in with psql.
set -euo pipefail
bindir=/usr/lib/postgresql/15/bin
if [ -x "$bindir/initdb" ] && [ -x "$bindir/postgres" ] && command -v psql >/dev/null 2>&1; then
  exit 0
fi
echo "installing postgresql (15, Debian)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq postgresql-15 postgresql-client-15 >/dev/null
[ -x "$bindir/initdb" ] || { echo "$bindir/initdb missing after apt-get install postgresql-15" >&2; exit 1; }
