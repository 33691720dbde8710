"""Helpers of the cluster tests: resource bodies, status probes and event checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.operator.conftest import wait_for
from tests.operator.helpers import ROOT
from visualsearch_operator import constants as c
from visualsearch_operator.builders.values import embedder_component
from visualsearch_operator.kube import KubeClient

MANIFESTS = ROOT / "manifests"
V = "visualsearch.dev/v1alpha1"
STORES = ("qdrant", "postgresql", "minio", "redis")
SERVING = ("embedder", "api", "worker", "storefront")
EMBEDDER = embedder_component(c.DEFAULT_MODEL)
"""The embedder's part of its workloads' names on the default model (one embedder per model)."""


def workload(component: str) -> str:
    """The name part of a serving component's Deployment: ``embedder-<model slot>``, ``api``..."""
    return EMBEDDER if component == "embedder" else component


def index_body(name: str, namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": V,
        "kind": "VisualSearchIndex",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def status_of(kube: KubeClient, namespace: str, name: str, kind: str = "VisualSearchIndex") -> dict:
    obj = kube.get(V, kind, namespace, name)
    return (obj or {}).get("status") or {}


def phase_is(
    kube: KubeClient, namespace: str, name: str, phase: str, generation: int | None = None
) -> Any:
    """A probe: the status once it shows ``phase`` (for ``generation``, when given)."""

    def probe() -> Any:
        status = status_of(kube, namespace, name)
        if generation is not None and status.get("observedGeneration") != generation:
            return None
        return status if status.get("phase") == phase else None

    return probe


def events_for(kube: KubeClient, namespace: str, name: str) -> list[tuple[str, str]]:
    events = kube.list("v1", "Event", namespace)
    return [(e["type"], e["reason"]) for e in events if e["involvedObject"]["name"] == name]


def expect_event(kube: KubeClient, namespace: str, name: str, kind: str, reason: str) -> None:
    """Wait for an event (events are posted just after the status write they describe)."""
    wait_for(lambda: (kind, reason) in events_for(kube, namespace, name), what=f"{kind} {reason}")


def docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]
