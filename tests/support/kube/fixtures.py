"""pytest fixtures for the loopback control plane.

Use from a conftest.py::

    from tests.support.kube.fixtures import kube_control_plane, kube_namespace  # noqa: F401

``kube_control_plane`` is session-scoped (one etcd + kube-apiserver + kube-controller-manager for
the whole run, ~5 s to start); ``kube_namespace`` gives each test a fresh namespace and deletes it
afterwards. A missing binary fails the test with the command that provides it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from .binaries import MissingBinaryError
from .controlplane import ControlPlane, ControlPlaneError, start_control_plane


@pytest.fixture(scope="session")
def kube_control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """A running control plane with kube-controller-manager; stopped at the end of the session."""
    state = tmp_path_factory.mktemp("kube")
    try:
        plane = start_control_plane(state, with_controller_manager=True)
    except (MissingBinaryError, ControlPlaneError) as error:
        pytest.fail(f"test control plane unavailable: {error}", pytrace=False)
    try:
        yield plane
    finally:
        plane.stop()


@pytest.fixture
def kube_namespace(kube_control_plane: ControlPlane) -> Iterator[str]:
    """A fresh namespace in the control plane, deleted (without waiting) after the test."""
    name = f"t-{secrets.token_hex(4)}"
    kube_control_plane.kubectl("create", "namespace", name)
    try:
        yield name
    finally:
        kube_control_plane.kubectl("delete", "namespace", name, "--wait=false", check=False)
