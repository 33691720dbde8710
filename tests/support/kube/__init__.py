"""Test support: a real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager)
on loopback, plus helm and kubectl bound to it. See README.md in this folder."""

from .binaries import MissingBinaryError, cache_dir, find_binary
from .controlplane import ControlPlane, ControlPlaneError, free_port, start_control_plane

__all__ = [
    "ControlPlane",
    "ControlPlaneError",
    "MissingBinaryError",
    "cache_dir",
    "find_binary",
    "free_port",
    "start_control_plane",
]
