"""Idempotency and restarts: a rerun changes nothing, a killed operator's successor converges."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.operator.cluster import EMBEDDER, V, index_body, phase_is, status_of
from tests.operator.conftest import OPERATOR_ENV, wait_for
from tests.support.kube import find_binary
from tests.support.kube.controlplane import ControlPlane
from tests.support.servers import free_port
from visualsearch_operator.charts import ChartRenderer
from visualsearch_operator.kube import KubeClient
from visualsearch_operator.services.index_reconcile import IndexService
from visualsearch_operator.services.index_status import IndexStatusService
from visualsearch_operator.services.source_sync import CatalogSourceService

OPERATOR = Path(sys.executable).with_name("visualsearch-operator")
CHILD_KINDS = [
    ("v1", "ConfigMap"),
    ("v1", "Service"),
    ("apps/v1", "StatefulSet"),
    ("apps/v1", "Deployment"),
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler"),
    ("policy/v1beta1", "PodDisruptionBudget"),  # the only PDB version of a 1.20 server
    ("networking.k8s.io/v1", "Ingress"),
]
CHILDREN = (
    1 + 11 + 4 + 4 + 1 + 4 + 2
)  # config, services (2 per store + 3), stores, workloads, HPA, a PDB per workload, ingresses


def children(kube: KubeClient, ns: str, index: str) -> dict[str, str]:
    """``Kind/name`` → resourceVersion of everything the operator built for ``index``."""
    found = {}
    for api_version, kind in CHILD_KINDS:
        for obj in kube.list(api_version, kind, ns, f"visualsearch.dev/index={index}"):
            found[f"{kind}/{obj['metadata']['name']}"] = obj["metadata"]["resourceVersion"]
    return found


def our_writes(kube: KubeClient, ns: str, index: str) -> dict[str, tuple[Any, ...]]:
    """What only a write by the operator changes, per child.

    Controllers keep writing the status of Deployments, StatefulSets and HPAs (so their
    resourceVersion moves on its own); spec writes move ``generation``, and any apply by the
    operator moves its own managedFields entry. ConfigMaps and Services nobody else writes.
    """
    found: dict[str, tuple[Any, ...]] = {}
    for api_version, kind in CHILD_KINDS:
        for obj in kube.list(api_version, kind, ns, f"visualsearch.dev/index={index}"):
            meta = obj["metadata"]
            ours = [
                m for m in meta.get("managedFields", []) if m["manager"] == "visualsearch-operator"
            ]
            version = (
                meta["resourceVersion"]
                if kind in ("ConfigMap", "Service")
                else meta.get("generation")
            )
            found[f"{kind}/{meta['name']}"] = (version, str(ours))
    return found


@pytest.mark.slow
def test_reconciling_twice_changes_nothing(
    crds: ControlPlane, kube: KubeClient, kube_namespace: str
) -> None:
    ns = kube_namespace
    kube.create(index_body("demo", ns, {}))
    renderer = ChartRenderer(helm=str(find_binary("helm")))
    service = IndexService(kube, IndexStatusService(kube), renderer=renderer)
    first = service.reconcile(kube.get(V, "VisualSearchIndex", ns, "demo"))
    assert len(first.applied) == CHILDREN
    before = our_writes(kube, ns, "demo")
    secret = kube.get("v1", "Secret", ns, "demo-credentials")
    time.sleep(1.1)  # managedFields times have a resolution of one second
    index_version = kube.get(V, "VisualSearchIndex", ns, "demo")["metadata"]["resourceVersion"]
    second = service.reconcile(kube.get(V, "VisualSearchIndex", ns, "demo"))
    assert (second.applied, second.pruned) == ([], [])
    assert our_writes(kube, ns, "demo") == before  # not one write, StatefulSets included
    # Its status was recomputed to the same value: no write there either.
    assert (
        kube.get(V, "VisualSearchIndex", ns, "demo")["metadata"]["resourceVersion"] == index_version
    )
    assert kube.get("v1", "Secret", ns, "demo-credentials")["data"] == secret["data"]

    # A source syncing into it: the second reconcile adopts the first one's Job.
    service.status.write_status(ns, "demo", {"phase": "Ready"})
    kube.create(
        {
            "apiVersion": V,
            "kind": "CatalogSource",
            "metadata": {"name": "cat", "namespace": ns},
            "spec": {"indexRef": {"name": "demo"}, "type": "Demo"},
        }
    )
    sources = CatalogSourceService(kube)
    launched = sources.reconcile(kube.get(V, "CatalogSource", ns, "cat"))
    again = sources.reconcile(kube.get(V, "CatalogSource", ns, "cat"))
    assert launched is not None and launched.launched
    assert again is not None and not again.launched and again.job_name == launched.job_name
    assert len(kube.list("batch/v1", "Job", ns, "visualsearch.dev/source=cat")) == 1


@pytest.mark.slow
def test_a_passed_schedule_slot_launches_one_more_sync(
    crds: ControlPlane, kube: KubeClient, kube_namespace: str
) -> None:
    ns = kube_namespace
    kube.create(index_body("demo", ns, {}))
    IndexStatusService(kube).write_status(ns, "demo", {"phase": "Ready"})
    kube.create(
        {
            "apiVersion": V,
            "kind": "CatalogSource",
            "metadata": {"name": "nightly", "namespace": ns},
            "spec": {"indexRef": {"name": "demo"}, "type": "Demo", "schedule": "30 2 * * *"},
        }
    )
    sources = CatalogSourceService(kube)
    start = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    first = sources.reconcile(kube.get(V, "CatalogSource", ns, "nightly"), now=start)
    assert first is not None and first.launched and first.slot is None
    assert source_next(kube, ns) == "2025-03-02T02:30:00Z"
    # Before the slot: nothing. Three nights later: one run, for the latest slot only.
    early = sources.reconcile(
        kube.get(V, "CatalogSource", ns, "nightly"), now=start + timedelta(hours=10)
    )
    assert early is not None and not early.launched
    late = sources.reconcile(
        kube.get(V, "CatalogSource", ns, "nightly"), now=start + timedelta(days=3)
    )
    assert late is not None and late.launched
    assert late.slot == datetime(2025, 3, 4, 2, 30, tzinfo=UTC)
    assert late.job_name == f"{first.job_name}-202503040230"
    names = sorted(
        j["metadata"]["name"]
        for j in kube.list("batch/v1", "Job", ns, "visualsearch.dev/source=nightly")
    )
    assert names == sorted([first.job_name, late.job_name])
    again = sources.reconcile(
        kube.get(V, "CatalogSource", ns, "nightly"), now=start + timedelta(days=3)
    )
    assert again is not None and not again.launched


def source_next(kube: KubeClient, ns: str) -> str | None:
    return status_of(kube, ns, "nightly", kind="CatalogSource").get("nextSyncTime")


@pytest.fixture
def spawn(crds: ControlPlane, kube_namespace: str) -> Iterator[Any]:
    """Start ``visualsearch-operator`` processes (the console script) for the test namespace."""
    started: list[subprocess.Popen[bytes]] = []

    def start(live: bool = False) -> subprocess.Popen[bytes]:
        """``live``: serve the liveness endpoint and return once it answers (the operator has
        logged in and runs its watches), instead of sleeping a guessed second."""
        port = free_port()
        liveness = f"http://127.0.0.1:{port}/healthz" if live else ""
        proc = subprocess.Popen(
            [str(OPERATOR), "--namespace", kube_namespace, "--liveness", liveness],
            env=crds.env(**OPERATOR_ENV),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(proc)
        deadline = time.monotonic() + 60
        while live:
            assert proc.poll() is None, "the operator exited while starting"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(liveness, timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, "the operator's liveness never answered"
            time.sleep(0.05)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


@pytest.mark.slow
def test_operator_killed_mid_reconcile_converges_after_restart(
    spawn: Any, kube: KubeClient, kube_namespace: str
) -> None:
    ns = kube_namespace
    first = spawn(live=True)  # waits until the operator's liveness endpoint answers
    kube.create(index_body("demo", ns, {"embedding": {"maxReplicas": 6}}))
    deadline = time.monotonic() + 30
    while not kube.get("v1", "ConfigMap", ns, "demo-config"):
        assert time.monotonic() < deadline, "the first operator never started reconciling"
        time.sleep(0.01)
    first.send_signal(signal.SIGSTOP)  # frozen mid-reconcile, then killed: no cleanup runs
    at_kill = children(kube, ns, "demo")
    first.kill()
    first.wait(timeout=10)
    assert 0 < len(at_kill) < CHILDREN, f"not killed mid-way: {sorted(at_kill)}"
    assert status_of(kube, ns, "demo").get("observedGeneration") is None

    second = spawn()
    status = wait_for(
        phase_is(kube, ns, "demo", "Provisioning", generation=1),
        timeout=60,
        what="the restarted operator converging",
    )
    assert len(children(kube, ns, "demo")) == CHILDREN
    hpa = kube.get("autoscaling/v2beta2", "HorizontalPodAutoscaler", ns, f"demo-{EMBEDDER}")
    assert hpa["spec"]["maxReplicas"] == 6
    assert {c["type"]: c["status"] for c in status["conditions"]}["Reconciled"] == "True"
    second.terminate()  # SIGTERM: kopf stops gracefully
    assert second.wait(timeout=30) == 0
