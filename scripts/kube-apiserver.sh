#!/usr/bin/env bash
# Build kube-apiserver from Debian's `kubernetes` source package and cache it; install Debian's etcd beside it.
#
#   bash scripts/kube-apiserver.sh            build if needed, print the binary's path (last line of stdout)
#   bash scripts/kube-apiserver.sh --path     print the cached binary's path, build nothing (exit 1 if absent)
#
# The binary lands in ${GENNAKER_CACHE:-$HOME/.cache/gennaker}/kube-apiserver/<debian version>/kube-apiserver, with
# `current` pointing at the newest build; a run with that binary in place does nothing but print its path.
#
# Why this recipe (Debian bookworm):
# - Debian's `kubernetes` source package in bookworm (1.20.5+really1.20.2-1.1+deb12u1) is upstream v1.20.2's full
#   tree with its vendor/ directory; Debian builds only kubectl from it, we build cmd/kube-apiserver. The newer
#   versions in trixie/sid (`+ds`) are repacked down to kubectl alone and cannot build the server.
# - Kubernetes 1.20 builds in GOPATH mode from vendor/ (its own hack/ scripts set GO111MODULE=off); with GOPROXY=off
#   nothing is fetched. Debian's golang-go (1.19) does it.
# - The vendored github.com/modern-go/reflect2 v1.0.1 crashes the server (SIGSEGV in mapiterinit) when built with
#   Go >= 1.18, on any JSON encoding of a map through json-iterator (e.g. `?pretty=true`). It is replaced by Debian's
#   golang-github-modern-go-reflect2-dev (1.0.2), the release that fixed exactly that.
# - pkg/generated/openapi is generated (upstream's `make gen_openapi`), then upstream's hack/make-rules/build.sh
#   builds the binary with its version stamped in (v1.20.2).
#
# Environment: GENNAKER_CACHE (cache root), KUBE_SRC_VERSION (a Debian source version to use instead of the newest
# full one), KUBE_BUILD_KEEP=1 (keep the build tree, for debugging).
set -euo pipefail

RECIPE=1  # bump when the build steps change, so cached binaries from an older recipe are rebuilt
CACHE_ROOT="${GENNAKER_CACHE:-${HOME:-/root}/.cache/gennaker}/kube-apiserver"
PACKAGES=(golang-go dpkg-dev make rsync etcd-server golang-github-modern-go-reflect2-dev)
REFLECT2_DEBIAN=/usr/share/gocode/src/github.com/modern-go/reflect2

say() { echo "kube-apiserver.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

if [[ "${1:-}" == "--path" ]]; then
  bin="$CACHE_ROOT/current/kube-apiserver"
  [[ -x "$bin" ]] || die "no cached build at $bin: run bash scripts/kube-apiserver.sh"
  readlink -f "$bin"
  exit 0
fi
[[ $# -eq 0 ]] || die "usage: bash scripts/kube-apiserver.sh [--path]"

command -v apt-get >/dev/null || die "needs a Debian system with apt-get (Debian's kubernetes source package)"
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || die "run as root (or with sudo available): apt-get install ${PACKAGES[*]}"
  SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive

# --- packages (only what is missing) ---------------------------------------------------------------------------
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  say "installing ${missing[*]}"
  "${SUDO[@]}" apt-get update -qq || die "apt-get update failed"
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
fi

# --- which source version -----------------------------------------------------------------------------------------
# Debian's full-tree versions (bookworm's) have no `+ds` suffix; `+ds` ones are repacked to kubectl only.
full_versions() {
  apt-cache showsrc kubernetes 2>/dev/null | sed -n 's/^Version: //p' | grep -v '+ds' | sort -u || true
}
newest() {
  local best="" v
  while read -r v; do
    if [[ -z "$best" ]] || dpkg --compare-versions "$v" gt "$best"; then best="$v"; fi
  done
  echo "$best"
}

VERSION="${KUBE_SRC_VERSION:-}"
if [[ -z "$VERSION" ]]; then
  VERSION=$(full_versions | newest)
  if [[ -z "$VERSION" ]]; then
    # no deb-src lines yet: add Debian's source archive for bookworm (where the full-tree package lives)
    SRC_LIST=/etc/apt/sources.list.d/gennaker-deb-src.sources
    say "adding Debian source lines ($SRC_LIST)"
    "${SUDO[@]}" tee "$SRC_LIST" >/dev/null <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    "${SUDO[@]}" apt-get update -qq || die "apt-get update failed"
    VERSION=$(full_versions | newest)
  fi
fi
if [[ -z "$VERSION" ]]; then
  found=$(apt-cache showsrc kubernetes 2>/dev/null | sed -n 's/^Version: //p' | tr '\n' ' ')
  die "no full-tree Debian 'kubernetes' source package reachable (versions seen: ${found:-none}).
  Only bookworm's 1.20.5+really1.20.2-* carries cmd/kube-apiserver and vendor/; trixie/sid's '+ds' versions are
  repacked to kubectl alone. Add a 'deb-src http://deb.debian.org/debian bookworm main' line and run again."
fi

DEST_DIR="$CACHE_ROOT/$VERSION"
BIN="$DEST_DIR/kube-apiserver"
INFO="$DEST_DIR/BUILD-INFO"
mkdir -p "$CACHE_ROOT"

cached() { [[ -x "$BIN" && -f "$INFO" ]] && grep -qx "recipe=$RECIPE" "$INFO"; }
link_current() { ln -sfn "$VERSION" "$CACHE_ROOT/current.tmp" && mv -T "$CACHE_ROOT/current.tmp" "$CACHE_ROOT/current"; }

if cached; then
  link_current
  say "cached: Debian kubernetes $VERSION ($(sed -n 's/^kube_version=//p' "$INFO"))"
  echo "$BIN"
  exit 0
fi

# one build at a time per cache (a second run waits, then finds the binary)
exec 9>"$CACHE_ROOT/.lock"
flock 9
if cached; then link_current; echo "$BIN"; exit 0; fi

command -v go >/dev/null || die "go not found after installing golang-go"
GO_VERSION=$(go env GOVERSION)
[[ -f "$REFLECT2_DEBIAN/go_above_118.go" ]] || die "$REFLECT2_DEBIAN lacks go_above_118.go (need reflect2 >= 1.0.2)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kube-apiserver-build.XXXXXX")
if [[ "${KUBE_BUILD_KEEP:-}" != 1 ]]; then trap 'rm -rf "$WORK"' EXIT; fi
say "building kube-apiserver from Debian kubernetes $VERSION with $GO_VERSION in $WORK (about 6 minutes on 2 cores)"
start=$(date +%s)

cd "$WORK"
# (as root, apt warns that it downloads unsandboxed; the files are checked against Debian's signed Sources index)
apt-get source --download-only -qq "kubernetes=$VERSION" >/dev/null 2>"$WORK/apt-source.log" \
  || { cat "$WORK/apt-source.log" >&2; die "apt-get source kubernetes=$VERSION failed"; }
dpkg-source --no-check -x ./kubernetes_*.dsc src >/dev/null || die "dpkg-source -x failed"
cd src
[[ -d cmd/kube-apiserver && -d vendor/k8s.io ]] \
  || die "Debian kubernetes $VERSION has no cmd/kube-apiserver or vendor/: it cannot build the server"

rm -rf vendor/github.com/modern-go/reflect2
cp -r "$REFLECT2_DEBIAN" vendor/github.com/modern-go/reflect2

export GO111MODULE=off GOPROXY=off GOFLAGS="" CGO_ENABLED=0 GOTOOLCHAIN=local
export GOCACHE="$WORK/gocache" HOME="$WORK/home"
mkdir -p "$HOME"
make gen_openapi >"$WORK/gen-openapi.log" 2>&1 || { tail -30 "$WORK/gen-openapi.log" >&2; die "make gen_openapi failed"; }
hack/make-rules/build.sh cmd/kube-apiserver >"$WORK/build.log" 2>&1 \
  || { tail -40 "$WORK/build.log" >&2; die "go build of cmd/kube-apiserver failed (log above)"; }

built=_output/bin/kube-apiserver
KUBE_VERSION=$("$built" --version | awk '{print $2}')
mkdir -p "$DEST_DIR"
install -m 0755 "$built" "$BIN.tmp" && mv -f "$BIN.tmp" "$BIN"
cat >"$INFO" <<EOF
recipe=$RECIPE
debian_source=kubernetes $VERSION
kube_version=$KUBE_VERSION
go=$GO_VERSION
reflect2=$(dpkg-query -W -f='${Version}' golang-github-modern-go-reflect2-dev) (Debian golang-github-modern-go-reflect2-dev)
built=$(date -u +%Y-%m-%dT%H:%M:%SZ)
seconds=$(($(date +%s) - start))
EOF
link_current
say "built $KUBE_VERSION in $(($(date +%s) - start))s, $(du -h "$BIN" | cut -f1)"
echo "$BIN"
