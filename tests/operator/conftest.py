"""Fixtures of the operator tests: the real control plane, our CRDs in it, the operator running.

The control plane (tests/support/kube) is etcd + kube-apiserver + kube-controller-manager: the
Deployment, StatefulSet, Job and garbage-collector controllers run for real; there is no kubelet,
so tests play the kubelet's part by writing pod status through the status subresource.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from kopf.testing import KopfRunner
from kubernetes import config as kube_config

from tests.operator.helpers import CRD_DIR
from tests.support.kube import fixtures as kube_fixtures
from tests.support.kube.controlplane import ControlPlane
from visualsearch_operator.kube import KubeClient

T = TypeVar("T")

kube_control_plane = kube_fixtures.kube_control_plane
kube_namespace = kube_fixtures.kube_namespace

OPERATOR_ENV = {"VISUALSEARCH_OPERATOR_RETRY_DELAY": "1"}
"""Retry quickly: a source waiting for its index should not make a test wait 15 s."""


@pytest.fixture(scope="session")
def crds(kube_control_plane: ControlPlane) -> ControlPlane:
    """The two CRDs applied and established."""
    kube_control_plane.kubectl("apply", "-f", str(CRD_DIR))
    kube_control_plane.kubectl(
        "wait",
        "--for",
        "condition=established",
        "--timeout=60s",
        "crd/visualsearchindexes.visualsearch.dev",
        "crd/catalogsources.visualsearch.dev",
    )
    return kube_control_plane


@pytest.fixture
def kube(kube_control_plane: ControlPlane) -> Iterator[KubeClient]:
    """Our own API adapter, pointed at the control plane (no global client configuration)."""
    api = kube_config.new_client_from_config(config_file=str(kube_control_plane.kubeconfig))
    client = KubeClient(api)
    yield client
    api.close()


@pytest.fixture
def operator(crds: ControlPlane, kube_namespace: str) -> Iterator[KopfRunner]:
    """The operator, run in-process by kopf's KopfRunner and watching the test's namespace."""
    args = [
        "run",
        "-m",
        "visualsearch_operator.handlers",
        "--standalone",
        "--namespace",
        kube_namespace,
    ]
    with KopfRunner(args, env=crds.env(**OPERATOR_ENV)) as runner:
        yield runner
    assert runner.exception is None, runner.output
    assert runner.exit_code == 0, runner.output


def wait_for(probe: Callable[[], T | None], timeout: float = 30.0, what: str = "") -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.25)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what or probe} (last: {last!r})")
