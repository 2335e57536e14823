#!/usr/bin/env bash
# GNU time (/usr/bin/time): the special-files tests measure the agent's peak
# RSS with it (`time -f %M`), which Node cannot report for a child.
set -euo pipefail
if [ -x /usr/bin/time ]; then exit 0; fi
echo "installing GNU time (Debian package time)"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq >/dev/null
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
test -x /usr/bin/time || { echo "install-time.sh: /usr/bin/time still missing after apt-get install time" >&2; exit 1; }
