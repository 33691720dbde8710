#!/usr/bin/env bash
# Prerequisites of `make e2e` (the one-node cluster test, tests/e2e/): containerd + crun,
# buildah + debootstrap for the images, and kubelet, kube-scheduler, kube-proxy built from the
# same Debian source tree as the control plane (cached under $HOME/.cache/visualsearch/k8s/bin).
# Idempotent: installed packages and cached binaries are skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."

pkgs=(containerd crun containernetworking-plugins iptables buildah debootstrap gcc libc6-dev iproute2 util-linux)
absent=()
for pkg in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || absent+=("$pkg")
done
if [[ ${#absent[@]} -gt 0 ]]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=900 update -q
    apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "${absent[@]}"
fi
# The control plane (20-k8s.sh) first, then the node binaries from the kept source tree.
tools/k8s/install-tools.sh
KEEP_SRC=1 tools/k8s/build-control-plane.sh
WHAT="cmd/kubelet cmd/kube-scheduler cmd/kube-proxy" KEEP_SRC=1 tools/k8s/build-control-plane.sh
