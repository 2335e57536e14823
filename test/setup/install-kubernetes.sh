#!/usr/bin/env bash
# The Kubernetes control plane the real-API-server tests run
# (test/helpers/kube-cluster.ts, test/kubernetes-real/): kube-apiserver,
# kube-controller-manager, kubectl and etcd, built from the Go module proxy
# with the pinned module in test/setup/kubernetes/ (go.mod + go.sum pin every
# dependency). A cold build takes 20+ minutes on a loaded 2-core machine, so
# the binaries live in a cache outside the repository, keyed on the version
# and on a hash of the recipe (go.mod, go.sum, this script's build flags):
#   ${ERLMCP_SECRETS_CACHE:-$HOME/.cache/erlmcp-secrets}/kubernetes-v1.34.4/bin/
# A second run finds them and prints one line.
#
# Also cert-manager's CustomResourceDefinitions (Issuer, Certificate), from
# the pinned cert-manager Go module, so examples/kubernetes/cert-manager.yaml
# is checked against cert-manager's real schemas by the API server:
#   ${ERLMCP_SECRETS_CACHE:-$HOME/.cache/erlmcp-secrets}/cert-manager-v1.21.2/crds/
set -euo pipefail
cd "$(dirname "$0")/kubernetes"

version=v1.34.4
etcd_version=v3.6.4
root="${ERLMCP_SECRETS_CACHE:-$HOME/.cache/erlmcp-secrets}"
dest="$root/kubernetes-$version"
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
[ -x "$GO" ] || { echo "install-kubernetes: Go 1.24 or later is needed (/usr/local/go/bin/go)" >&2; exit 1; }

# What the API server and kubectl report as their version; the build stamps it
# as Kubernetes' own release build does (hack/lib/version.sh).
minor=${version#v1.}; minor=${minor%%.*}
stamp="-X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"
stamp="$stamp -X k8s.io/client-go/pkg/version.gitVersion=$version -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor -X k8s.io/client-go/pkg/version.gitTreeState=clean -X k8s.io/client-go/pkg/version.buildDate=1970-01-01T00:00:00Z"
ldflags="-s -w $stamp"

recipe=$(cat go.mod go.sum <(printf '%s\n' "$ldflags" "$etcd_version") | sha256sum | cut -c1-16)
bins=(kube-apiserver kube-controller-manager kubectl etcd)

# --- cert-manager's CRDs: small, so first -----------------------------------
cm_version=v1.21.2
cm_sum='h1:UWgoYM+KLNtRlqmoWOKjKBOBUPVHeepQ6/ac3ERJW68='
cm_dest="$root/cert-manager-$cm_version/crds"
cm_files=(cert-manager.io_issuers.yaml cert-manager.io_certificates.yaml)
cm_have=1
for f in "${cm_files[@]}"; do [ -s "$cm_dest/$f" ] || cm_have=0; done
if [ "$cm_have" = 1 ]; then
  echo "cert-manager $cm_version CRDs: cached in $cm_dest"
else
  echo "cert-manager $cm_version CRDs: fetching into $cm_dest"
  cm_json=$(GOTOOLCHAIN=local "$GO" mod download -json "github.com/cert-manager/cert-manager@$cm_version")
  # pinned by its module hash, as go.sum would pin it
  grep -qF "\"Sum\": \"$cm_sum\"" <<<"$cm_json" || { echo "install-kubernetes: cert-manager $cm_version does not have the pinned hash $cm_sum" >&2; exit 1; }
  cm_dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$cm_json")
  [ -d "$cm_dir/deploy/crds" ] || { echo "install-kubernetes: cert-manager $cm_version has no deploy/crds" >&2; exit 1; }
  mkdir -p "$cm_dest"
  for f in "${cm_files[@]}"; do install -m 0644 "$cm_dir/deploy/crds/$f" "$cm_dest/$f"; done
fi

# --- the control plane ---------------------------------------------------------
have=1
for b in "${bins[@]}"; do [ -x "$dest/bin/$b" ] || have=0; done
if [ "$have" = 1 ] && [ "$(cat "$dest/recipe" 2>/dev/null)" = "$recipe" ]; then
  echo "kubernetes $version: cached in $dest/bin"
  exit 0
fi

echo "kubernetes $version + etcd $etcd_version: building into $dest/bin (20+ minutes cold)"
mkdir -p "$dest"
work=$(mktemp -d "$dest/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
declare -A pkg=(
  [kube-apiserver]=k8s.io/kubernetes/cmd/kube-apiserver
  [kube-controller-manager]=k8s.io/kubernetes/cmd/kube-controller-manager
  [kubectl]=k8s.io/kubernetes/cmd/kubectl
  [etcd]=go.etcd.io/etcd/server/v3
)
for b in "${bins[@]}"; do
  # static, as Kubernetes ships them; -mod=readonly: go.sum must already pin everything
  GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly nice -n 10 \
    "$GO" build -trimpath -ldflags "$ldflags" -o "$work/$b" "${pkg[$b]}"
done
# (the output is read whole first: grep -q would stop reading, and with pipefail the
# writer's SIGPIPE would fail the check)
kubectl_says=$("$work/kubectl" version --client 2>/dev/null || true)
grep -q "Client Version: $version" <<<"$kubectl_says" \
  || { echo "install-kubernetes: built kubectl does not report $version: $kubectl_says" >&2; exit 1; }
etcd_says=$("$work/etcd" --version 2>&1 || true)
grep -q "etcd Version: ${etcd_version#v}" <<<"$etcd_says" \
  || { echo "install-kubernetes: built etcd does not report $etcd_version: $etcd_says" >&2; exit 1; }
chmod 0755 "$work"
rm -rf "$dest/bin"
mv "$work" "$dest/bin"
trap - EXIT
echo "$recipe" > "$dest/recipe"
