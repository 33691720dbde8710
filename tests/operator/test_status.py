"""Readiness, phases and conditions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from visualsearch_operator.services.status import (
    Readiness,
    condition,
    index_phase,
    merge_conditions,
    workload_readiness,
)


def deployment(
    replicas: int, ready: int, available: int, generation: int = 1, observed: int = 1
) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"generation": generation},
        "spec": {"replicas": replicas},
        "status": {
            "readyReplicas": ready,
            "availableReplicas": available,
            "updatedReplicas": ready,
            "observedGeneration": observed,
        },
    }


def test_workload_readiness() -> None:
    assert workload_readiness("api", deployment(2, 2, 2)).full
    assert workload_readiness("api", deployment(2, 2, 1)).summary == "1/2"
    assert not workload_readiness("api", None).full
    assert workload_readiness("api", None).summary == "missing"
    assert workload_readiness("worker", deployment(0, 0, 0)).full


def test_phases() -> None:
    full, part = Readiness("api", 2, 2), Readiness("api", 2, 1)
    assert index_phase(None, [full]) == "Ready"
    assert index_phase("Pending", [part]) == "Provisioning"
    assert index_phase("Provisioning", [part]) == "Provisioning"
    assert index_phase("Ready", [part]) == "Degraded"
    assert index_phase("Degraded", [full]) == "Ready"


def test_condition_times_move_only_on_change() -> None:
    t1 = datetime(2025, 1, 1, tzinfo=UTC)
    t2 = datetime(2025, 1, 2, tzinfo=UTC)
    first = merge_conditions(None, [condition("Ready", False, "Waiting", "x", 1)], t1)
    same = merge_conditions(first, [condition("Ready", False, "Waiting", "y", 2)], t2)
    moved = merge_conditions(same, [condition("Ready", True, "Ready", "ok", 2)], t2)
    assert same[0]["lastTransitionTime"] == "2025-01-01T00:00:00Z"
    assert same[0]["message"] == "y" and same[0]["observedGeneration"] == 2
    assert moved[0]["lastTransitionTime"] == "2025-01-02T00:00:00Z"
    kept = merge_conditions(first, [condition("Synced", None, "Syncing", "", 1)], t2)
    assert [c["type"] for c in kept] == ["Ready", "Synced"] and kept[1]["status"] == "Unknown"
