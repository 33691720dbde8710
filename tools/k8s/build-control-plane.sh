#!/usr/bin/env bash
# Build kube-apiserver and kube-controller-manager (Kubernetes 1.20.2) from Debian's `kubernetes`
# source package and cache the binaries outside the repository.
#
# Why: the test control plane (tests/support/kube/) needs a real API server, and no prebuilt
# Kubernetes binary can be downloaded on our machines; Debian's source package carries the full
# upstream tree with vendor/, so it builds offline with Debian's Go toolchain.
#
# Usage: tools/k8s/build-control-plane.sh            # build once; a no-op when cached
#        WHAT="cmd/kube-apiserver cmd/kube-scheduler" tools/k8s/build-control-plane.sh
#        KEEP_SRC=1 ...                              # keep the source tree (for later extra builds)
# Env:   VISUALSEARCH_K8S_CACHE  cache root (default: $HOME/.cache/visualsearch/k8s)
# Output: $VISUALSEARCH_K8S_CACHE/bin/<binary> for every cmd/<binary> in WHAT.
set -euo pipefail

CACHE="${VISUALSEARCH_K8S_CACHE:-$HOME/.cache/visualsearch/k8s}"
WHAT="${WHAT:-cmd/kube-apiserver cmd/kube-controller-manager}"
BIN="$CACHE/bin"
mkdir -p "$BIN"

missing=()
for target in $WHAT; do
    name="$(basename "$target")"
    if [[ ! -x "$BIN/$name" ]] || ! "$BIN/$name" --version >/dev/null 2>&1; then
        missing+=("$target")
    fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
    echo "control plane binaries cached in $BIN"
    exit 0
fi
echo "building: ${missing[*]} (about 4 minutes, 1.4 GB of memory)"

apt_opts=(-o DPkg::Lock::Timeout=900 -q)
need_pkgs=(golang-go rsync golang-github-modern-go-reflect2-dev dpkg-dev make gcc)
absent=()
for pkg in "${need_pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || absent+=("$pkg")
done
if [[ ${#absent[@]} -gt 0 ]]; then
    if [[ $(id -u) -ne 0 ]]; then
        echo "missing Debian packages: ${absent[*]} (install them as root)" >&2
        exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y --no-install-recommends "${absent[@]}"
fi

WORK="$CACHE/src"
mkdir -p "$WORK"
cd "$WORK"

# A private deb-src configuration made from the machine's own apt sources (same mirrors), so the
# system's apt state is never touched.
if ! compgen -G "$WORK/kubernetes_*.dsc" >/dev/null; then
    APTDIR="$WORK/apt"
    rm -rf "$APTDIR"
    mkdir -p "$APTDIR/sources.list.d" "$APTDIR/lists/partial"
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -e "$f" ]] || continue
        sed -E 's/^Types:.*/Types: deb-src/' "$f" >"$APTDIR/sources.list.d/$(basename "$f")"
    done
    if [[ -s /etc/apt/sources.list ]]; then
        grep -E '^deb ' /etc/apt/sources.list | sed -E 's/^deb /deb-src /' \
            >"$APTDIR/sources.list.d/main.list" || true
    fi
    src_opts=(-o "Dir::Etc::SourceParts=$APTDIR/sources.list.d" -o "Dir::Etc::SourceList=/dev/null"
        -o "Dir::State::Lists=$APTDIR/lists" -o "APT::Sandbox::User=root")
    apt-get "${apt_opts[@]}" "${src_opts[@]}" update
    apt-get "${apt_opts[@]}" "${src_opts[@]}" source --download-only kubernetes
fi

TREE="$(find "$WORK" -maxdepth 1 -type d -name 'kubernetes-*' | head -n1)"
if [[ -z "$TREE" ]]; then
    dpkg-source --no-check -x "$(ls "$WORK"/kubernetes_*.dsc | head -n1)"
    TREE="$(find "$WORK" -maxdepth 1 -type d -name 'kubernetes-*' | head -n1)"
fi

# Kubernetes 1.20 vendors reflect2 1.0.1, which crashes the API server on Go >= 1.18 at the first
# custom object; Debian's 1.0.2 sources fix it.
R2="$TREE/vendor/github.com/modern-go/reflect2"
rm -f "$R2"/*.go "$R2"/*.s
cp /usr/share/gocode/src/github.com/modern-go/reflect2/*.go "$R2"/
cp /usr/share/gocode/src/github.com/modern-go/reflect2/*.s "$R2"/ 2>/dev/null || true

cd "$TREE"
export GOPROXY=off GOFLAGS=-mod=vendor GOCACHE="$CACHE/gocache"
started=$(date +%s)
make WHAT="${missing[*]}"
for target in "${missing[@]}"; do
    name="$(basename "$target")"
    install -m 0755 "$TREE/_output/local/go/bin/$name" "$BIN/$name" 2>/dev/null ||
        install -m 0755 "$TREE/_output/bin/$name" "$BIN/$name"
done
echo "built in $(($(date +%s) - started)) s into $BIN"

if [[ "${KEEP_SRC:-0}" != "1" ]]; then
    rm -rf "$TREE/_output"
fi
