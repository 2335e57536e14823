#!/usr/bin/env bash
# Helm, for the chart tests (test/charts/): `helm lint` and `helm template`.
# Built from the Go module proxy at a pinned version into the shared build
# cache, so CI on this machine reuses it and a fresh machine builds it once.
# Idempotent: prints one line either way; fails loudly.
set -euo pipefail

HELM_VERSION=v4.3.2
ROOT="${ERLMCP_SECRETS_CACHE:-$HOME/.cache/erlmcp-secrets}"
DIR="$ROOT/helm-$HELM_VERSION"
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"

if [ -x "$DIR/helm" ] && "$DIR/helm" version --template '{{.Version}}' 2>/dev/null | grep -qx "$HELM_VERSION"; then
  echo "helm $HELM_VERSION: already in $DIR"
  exit 0
fi
[ -x "$GO" ] || { echo "install-helm.sh: Go is needed to build helm (install Go 1.24+ at /usr/local/go or set GO=)" >&2; exit 1; }
mkdir -p "$DIR"
echo "helm $HELM_VERSION: building into $DIR (go install helm.sh/helm/v4/cmd/helm@$HELM_VERSION)"
# CGO off: a static binary that does not depend on the build machine's libc.
# The -X flag makes `helm version` name the pinned version, which the check above reads.
# Quiet: go's "downloading" lines are kept in a log shown only on failure.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! GOBIN="$DIR" CGO_ENABLED=0 GOFLAGS=-mod=mod nice -n 10 "$GO" install \
  -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
  "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-helm.sh: go install helm.sh/helm/v4/cmd/helm@$HELM_VERSION failed (output above)" >&2
  exit 1
fi
"$DIR/helm" version --template '{{.Version}}' | grep -qx "$HELM_VERSION" \
  || { echo "install-helm.sh: $DIR/helm does not report $HELM_VERSION" >&2; exit 1; }
