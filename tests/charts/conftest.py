"""Fixtures of the chart tests: store charts packaged once, the loopback control plane."""

from __future__ import annotations

import pytest

from tests.charts.helm import PLATFORM, helm
from tests.support.kube.fixtures import kube_control_plane, kube_namespace

__all__ = ["kube_control_plane", "kube_namespace"]


@pytest.fixture(scope="session", autouse=True)
def platform_dependencies() -> None:
    """Package the store charts into charts/visual-search/charts (what `make deps` does)."""
    helm("dependency", "build", str(PLATFORM))
