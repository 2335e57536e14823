#!/usr/bin/env bash
# consul-template, pinned: bench/peers compares our sidecar and one-shot
# render with it on the same OpenBao server. Built once with the Go toolchain
# into the shared cache outside the repository, so CI on this machine and a
# second run reuse it; a fresh machine builds it once (about a minute).
set -euo pipefail
want=v0.41.1
root="${ERLMCP_SECRETS_CACHE:-$HOME/.cache/erlmcp-secrets}"
dir="$root/consul-template-$want"
bin="$dir/consul-template"
if [ -x "$bin" ] && "$bin" -version 2>&1 | grep -q "consul-template ${want}"; then
  echo "consul-template ${want}: cached at $bin"
  exit 0
fi
go=$(command -v go || echo /usr/local/go/bin/go)
[ -x "$go" ] || { echo "consul-template: Go is needed to build it (install Go 1.24+ to /usr/local/go)" >&2; exit 1; }
echo "consul-template ${want}: building into $dir"
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# -ldflags stamps the version the binary prints, as the release build does
GOBIN="$tmp" GOFLAGS=-mod=mod nice -n 10 "$go" install \
  -ldflags "-s -w -X github.com/hashicorp/consul-template/version.Version=${want#v} -X github.com/hashicorp/consul-template/version.VersionPrerelease=" \
  "github.com/hashicorp/consul-template@${want}"
mv "$tmp/consul-template" "$bin"
"$bin" -version 2>&1 | grep -q "consul-template ${want}" || { echo "consul-template: built binary does not report ${want}: $("$bin" -version 2>&1)" >&2; exit 1; }
