#!/usr/bin/env bash
# Build the project's images with buildah where no Docker engine exists, and smoke-test them.
#
# Why: our machines have no Docker daemon and no registry to pull base images from. This script
# makes a stand-in for the Python base image (Debian bookworm's Python 3.11 from debootstrap,
# named like the official `python:3.11-slim-bookworm`; it is NOT the official image), builds the
# Dockerfiles with `buildah bud --isolation chroot`, runs each image's entry point, and can export
# docker-archives for `ctr images import` / `kind load image-archive`.
# The storefront image (nginx-unprivileged base) is not built here: tools/k8s/build-e2e-images.sh
# builds it on a stand-in of that base (tests/e2e/images/nginx, Debian's nginx) for the e2e; its
# nginx.conf is tested with a real nginx in tests/charts/test_storefront_nginx.py.
#
# Usage: tools/k8s/build-images.sh [services] [operator]     (default: both)
# Env:   IMAGE_TAG (dev), EXPORT=1 (write docker-archives), STORAGE_DRIVER (overlay | vfs),
#        VISUALSEARCH_K8S_CACHE (cache root; state goes to $VISUALSEARCH_K8S_CACHE/images)
# Needs: root, buildah, debootstrap (apt-get install buildah debootstrap).
set -euo pipefail

if [[ "${_VS_IN_NS:-}" != "1" ]]; then
    # Re-enter in a private mount namespace: buildah's own mounts never reach the host.
    [[ $(id -u) -eq 0 ]] || { echo "run as root (buildah, debootstrap, mount namespaces)" >&2; exit 1; }
    for tool in buildah debootstrap unshare; do
        command -v "$tool" >/dev/null || { echo "missing: $tool (apt-get install buildah debootstrap)" >&2; exit 1; }
    done
    exec env _VS_IN_NS=1 unshare --mount --propagation private -- "$0" "$@"
fi

REPO="$(cd "$(dirname "$0")/../.." && pwd)"
CACHE="${VISUALSEARCH_K8S_CACHE:-$HOME/.cache/visualsearch/k8s}"
STATE="$CACHE/images"
TAG="${IMAGE_TAG:-dev}"
BASE="docker.io/library/python:3.11-slim-bookworm"
TARGETS=("$@")
[[ ${#TARGETS[@]} -gt 0 ]] || TARGETS=(services operator)
mkdir -p "$STATE"/{graph,run,varlib,runlib,archives}

# buildah writes under /var/lib/containers and /run/containers even with a custom root: give it
# private copies inside this namespace.
mkdir -p /var/lib/containers /run/containers
mount --bind "$STATE/varlib" /var/lib/containers
mount --bind "$STATE/runlib" /run/containers
cat >"$STATE/storage.conf" <<CONF
[storage]
driver = "${STORAGE_DRIVER:-overlay}"
graphroot = "$STATE/graph"
runroot = "$STATE/run"
CONF
export CONTAINERS_STORAGE_CONF="$STATE/storage.conf"
export BUILDAH_ISOLATION=chroot

seconds() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(seconds)" 'BEGIN { printf "%.1f", b - a }'; }

# ---- the stand-in base image ------------------------------------------------------------------
if ! buildah inspect --type image "$BASE" >/dev/null 2>&1; then
    started=$(seconds)
    mirror="$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)"
    [[ -n "$mirror" ]] || mirror="$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list)"
    rootfs="$STATE/rootfs"
    rm -rf "$rootfs"
    debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
        bookworm "$rootfs" "$mirror" >"$STATE/debootstrap.log" 2>&1
    rm -f "$rootfs"/usr/lib/python3.11/EXTERNALLY-MANAGED
    ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python"
    ln -sf /usr/bin/pip3 "$rootfs/usr/local/bin/pip"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    ctr="$(buildah from scratch)"
    mnt="$(buildah mount "$ctr")"
    tar -C "$rootfs" -c . | tar -C "$mnt" -x --numeric-owner
    buildah umount "$ctr" >/dev/null
    buildah config --env PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin --env LANG=C.UTF-8 \
        --cmd python3 "$ctr"
    buildah commit --quiet "$ctr" "$BASE" >/dev/null
    buildah rm "$ctr" >/dev/null
    rm -rf "$rootfs"
    echo "stand-in base $BASE (Debian Python 3.11) in $(elapsed "$started") s"
fi

# The machine's CA bundle and local wheel folders (pip's find-links, e.g. a CPU torch wheel)
# reach the build as build arguments, the folders mounted read-only; PIP_INDEX_URL and
# PIP_EXTRA_INDEX_URL from the environment are passed on.
build_args=()
mounts=()
ca=/etc/ssl/certs/ca-certificates.crt
[[ -f $ca ]] && mounts+=(-v "$ca:$ca:ro") && build_args+=(--build-arg "PIP_CERT=$ca")
pip_setting() { python3 -m pip config get "global.$1" 2>/dev/null || true; }
links="${PIP_FIND_LINKS:-$(pip_setting find-links)}"
if [[ -n "$links" ]]; then
    build_args+=(--build-arg "PIP_FIND_LINKS=$links")
    for dir in $links; do [[ -d $dir ]] && mounts+=(-v "$dir:$dir:ro"); done
fi
[[ -n "${PIP_EXTRA_INDEX_URL:-}" ]] && build_args+=(--build-arg "PIP_EXTRA_INDEX_URL=$PIP_EXTRA_INDEX_URL")
[[ -n "${PIP_INDEX_URL:-}" ]] && build_args+=(--build-arg "PIP_INDEX_URL=$PIP_INDEX_URL")
# TORCH_INDEX_URL empty: torch from the package index (here: the CPU wheel the mirror serves).
build_args+=(--build-arg "TORCH_INDEX_URL=${TORCH_INDEX_URL:-}")
# The int8 model and its recall verdict (the Dockerfile's models stage) take minutes of the
# quality harness on 2 cores: local and e2e images skip it unless INT8_MODEL=yes, and their pods
# run fp32 (the log says why). A release build leaves the Dockerfile's default (yes).
build_args+=(--build-arg "INT8_MODEL=${INT8_MODEL:-no}")

build() { # $1 = image name, $2 = Dockerfile, $3 = context, $4... = smoke command
    local name="$1" dockerfile="$2" context="$3"
    shift 3
    local started
    started=$(seconds)
    buildah bud --quiet --layers --pull=never --isolation chroot "${mounts[@]}" "${build_args[@]}" \
        -f "$dockerfile" -t "$name:$TAG" "$context" >"$STATE/$name.build.log" 2>&1 ||
        { tail -40 "$STATE/$name.build.log"; echo "build of $name failed ($STATE/$name.build.log)" >&2; exit 1; }
    echo "built $name:$TAG in $(elapsed "$started") s"
    local size user
    size="$(buildah images --format '{{.Size}}' "$name:$TAG" | head -n1)"
    user="$(buildah inspect --format '{{.OCIv1.Config.User}}' "$name:$TAG")"
    echo "  size $size, user $user"
    local ctr
    ctr="$(buildah from --quiet "$name:$TAG")"
    started=$(seconds)
    buildah run --isolation chroot --user "$user" "$ctr" -- "$@" >"$STATE/$name.smoke.log" 2>&1 ||
        { cat "$STATE/$name.smoke.log"; buildah rm "$ctr" >/dev/null; echo "smoke test of $name failed" >&2; exit 1; }
    buildah rm "$ctr" >/dev/null
    echo "  smoke test ok in $(elapsed "$started") s:"; sed "s/^/    /" "$STATE/$name.smoke.log" | tail -n 3
    if [[ "${EXPORT:-0}" == "1" ]]; then
        buildah push --quiet "$name:$TAG" "docker-archive:$STATE/archives/$name.tar:$name:$TAG"
        echo "  exported $STATE/archives/$name.tar"
    fi
}

for target in "${TARGETS[@]}"; do
    case "$target" in
        services)
            # Imports, then the one-machine mode inside the image: /info and the storefront answer.
            build visual-search "$REPO/Dockerfile" "$REPO" sh -c "$(cat <<'SMOKE'
set -e
python -c 'import torch, visualsearch.app, visualsearch.worker; print("torch", torch.__version__)'
port=$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
visualsearch serve --host 127.0.0.1 --port "$port" --data-dir /tmp/smoke --no-seed &
server=$!
trap 'kill $server' EXIT
python - "$port" <<'PY'
import json, sys, time, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}"
for _ in range(120):
    try:
        info = json.load(urllib.request.urlopen(base + "/info", timeout=2))
        break
    except OSError:
        time.sleep(1)
else:
    sys.exit("serve did not answer /info")
page = urllib.request.urlopen(base + "/", timeout=5).read()
assert b"<html" in page.lower(), "storefront page"
print("serve ok: model", info["model"], "dim", info["dim"])
PY
SMOKE
)"
            ;;
        operator)
            build visual-search-operator "$REPO/operator/Dockerfile" "$REPO" sh -c \
                "visualsearch-operator --help && python -c 'import kopf, visualsearch_operator.handlers'"
            ;;
        *) echo "unknown image: $target (services, operator)" >&2; exit 2 ;;
    esac
done
