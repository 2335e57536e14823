#!/usr/bin/env bash
# Installs what the cloud provider tests (test/providers/{aws,azure,gcp}*.test.ts)
# need beyond node_modules, on a fresh Debian machine with Python 3.11/pip.
# Idempotent (a second run changes nothing and takes about a second), quiet
# (prints one line per thing installed), and fails loudly on error.
#
# - AWS: moto in server mode, from PyPI. The tests start it on a free
#   127.0.0.1 port (test/helpers/emulators.ts).
# - openssl: the Azure tests make a CA and a server certificate with it.
# - Azure Key Vault and GCP Secret Manager: nothing to install. Neither
#   emulator is served by the registries this project can reach (lowkey-vault's
#   server jar is not on Maven Central, only its client library; the Go module
#   proxy refuses github.com/blackwell-systems/gcp-secret-manager-emulator), so
#   the tests use protocol fakes in test/fakes/ that start in-process.
#
# PYTHON selects the interpreter (default python3), e.g. a virtualenv's.

set -euo pipefail

PYTHON="${PYTHON:-python3}"
MOTO_SPEC='moto[server]>=5.2,<5.3'

if ! "$PYTHON" -c 'import moto.server, flask, flask_cors' >/dev/null 2>&1; then
  echo "install-emulators: installing $MOTO_SPEC for $("$PYTHON" --version 2>&1)"
  "$PYTHON" -m pip install --quiet --disable-pip-version-check --no-input --root-user-action=ignore "$MOTO_SPEC"
fi

if ! command -v openssl >/dev/null 2>&1; then
  echo "install-emulators: installing openssl"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq openssl >/dev/null
fi

# fail here, not in the middle of a test run, if the install did not take
"$PYTHON" -c 'import moto.server, flask, flask_cors' || { echo "install-emulators: moto server is still not importable by $PYTHON" >&2; exit 1; }
