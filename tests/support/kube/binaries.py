"""Locate the binaries of the test control plane: etcd, kube-apiserver, kube-controller-manager,
helm and kubectl (and nginx, which the storefront image runs).

Why: the binaries are built or unpacked once into a cache outside the repository
(tools/k8s/build-control-plane.sh, tools/k8s/install-tools.sh); a user may point at their own
with environment variables instead. A missing binary is an error that says how to get it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

#: Environment variable that overrides the path of each tool.
ENV_OVERRIDES = {
    "etcd": "ETCD",
    "kube-apiserver": "KUBE_APISERVER",
    "kube-controller-manager": "KUBE_CONTROLLER_MANAGER",
    "helm": "HELM",
    "kubectl": "KUBECTL",
    "nginx": "NGINX",
}

_HOW_TO_GET = {
    "etcd": "tools/k8s/install-tools.sh",
    "kube-apiserver": "tools/k8s/build-control-plane.sh",
    "kube-controller-manager": "tools/k8s/build-control-plane.sh",
    "helm": "tools/k8s/install-tools.sh",
    "kubectl": "tools/k8s/install-tools.sh",
    "nginx": "tools/k8s/install-tools.sh",
}


class MissingBinaryError(RuntimeError):
    """A control-plane tool is neither configured, cached nor on PATH."""


def cache_dir() -> Path:
    """Root of the Kubernetes tool cache (``$VISUALSEARCH_K8S_CACHE`` or ``~/.cache/...``)."""
    configured = os.environ.get("VISUALSEARCH_K8S_CACHE")
    if configured:
        return Path(configured)
    return Path.home() / ".cache" / "visualsearch" / "k8s"


def find_binary(name: str) -> Path:
    """Return the path of tool ``name``: env override, then the cache, then PATH."""
    env_name = ENV_OVERRIDES[name]
    override = os.environ.get(env_name)
    if override:
        path = Path(override)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise MissingBinaryError(f"${env_name}={override} is not an executable file")
        return path
    cached = cache_dir() / ("nginx/usr/sbin" if name == "nginx" else "bin") / name
    if cached.is_file() and os.access(cached, os.X_OK):
        return cached
    on_path = shutil.which(name)
    if on_path and name not in {"kubectl"}:
        # A system kubectl may be a cloud SDK wrapper; only the cached one is trusted.
        return Path(on_path)
    raise MissingBinaryError(
        f"{name} not found: set ${env_name}, or run {_HOW_TO_GET[name]} "
        f"(it caches the binary in {cache_dir() / 'bin'})"
    )
