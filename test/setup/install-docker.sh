#!/usr/bin/env bash
# The Docker engine and docker compose for test/containers/ (the image and
# the compose example on a real engine), from Debian bookworm: dockerd and
# the docker CLI (docker.io, 20.10), docker-compose 1.29.2 (docker-compose;
# the tests use `docker compose` instead when the CLI has the v2 plugin),
# and debootstrap for the stand-in base images
# (install-container-standins.sh). The tests start dockerd themselves
# (vfs storage, no bridge, no iptables) when none is running.
# Idempotent and quiet: one line per package installed, nothing otherwise.
set -euo pipefail

declare -A APT=(
  [dockerd]=docker.io
  [docker]=docker.io
  [docker-compose]=docker-compose
  [debootstrap]=debootstrap
)
need=()
for cmd in "${!APT[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || need+=("${APT[$cmd]}")
done
if [ ${#need[@]} -gt 0 ]; then
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
  [ "$(id -u)" -eq 0 ] || { echo "install-docker: needs root for: apt-get install ${need[*]}" >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  for p in "${need[@]}"; do
    echo "apt-get install $p"
    apt-get install -y -qq --no-install-recommends "$p" >/dev/null
  done
fi
compose=$(docker-compose version --short 2>/dev/null || true)
case "$compose" in
  1.29.*|2.*) ;;
  *) echo "install-docker: docker-compose 1.29 or later is needed, found '${compose:-none}'" >&2; exit 1 ;;
esac
