"""CatalogSource against the real control plane: Jobs named by spec hash, outcome in status."""

from __future__ import annotations

from typing import Any

import pytest

from tests.operator.cluster import V, expect_event, index_body, phase_is, status_of
from tests.operator.conftest import wait_for
from tests.operator.kubelet import finish_pod, mark_pods_ready
from visualsearch_operator.kube import KubeClient


def source_body(name: str, namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": V,
        "kind": "CatalogSource",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def source_status(kube: KubeClient, ns: str, name: str) -> dict[str, Any]:
    return status_of(kube, ns, name, kind="CatalogSource")


def jobs(kube: KubeClient, ns: str, source: str) -> list[dict[str, Any]]:
    return kube.list("batch/v1", "Job", ns, f"visualsearch.dev/source={source}")


def ready_index(kube: KubeClient, ns: str, name: str = "demo") -> None:
    """An index whose pods the "kubelet" reports ready, so sources may sync into it."""
    kube.create(index_body(name, ns, {"api": {"replicas": 1}}))
    selector = f"app.kubernetes.io/instance={name}"
    wait_for(lambda: len(kube.list("v1", "Pod", ns, selector)) >= 8, what="index pods")
    mark_pods_ready(kube, ns, selector)
    wait_for(
        phase_is(kube, ns, name, "Ready"),
        what=f"index Ready ({status_of(kube, ns, name).get('message')})",
    )


def job_pod(kube: KubeClient, ns: str, job: str) -> str:
    pods = wait_for(lambda: kube.list("v1", "Pod", ns, f"job-name={job}"), what=f"pod of {job}")
    return str(pods[0]["metadata"]["name"])


@pytest.mark.slow
def test_source_job_lifecycle(operator: Any, kube: KubeClient, kube_namespace: str) -> None:
    ns = kube_namespace
    kube.create(source_body("demo-catalogue", ns, {"indexRef": {"name": "demo"}, "type": "Demo"}))
    # No index yet: the source waits, and says so.
    wait_for(
        lambda: "not found" in str(source_status(kube, ns, "demo-catalogue").get("message")),
        what="waiting for the index",
    )
    assert jobs(kube, ns, "demo-catalogue") == []
    ready_index(kube, ns)

    # The index serves: one Job, named after the spec hash, running the bulk seeder.
    status = wait_for(lambda: source_status(kube, ns, "demo-catalogue").get("jobName"), what="Job")
    (job,) = wait_for(lambda: jobs(kube, ns, "demo-catalogue"), what="Job object")
    name = job["metadata"]["name"]
    assert (
        name
        == status
        == f"demo-catalogue-{job['metadata']['labels']['visualsearch.dev/spec-hash']}"
    )
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["--demo", "0", f"_sources/{ns}/demo-catalogue.json"]
    assert container["envFrom"] == [{"configMapRef": {"name": "demo-config"}}]
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CatalogSource"
    assert source_status(kube, ns, "demo-catalogue")["phase"] == "Syncing"

    # The pod runs: the Job controller counts it active, the source shows progress.
    pod = job_pod(kube, ns, name)
    mark_pods_ready(kube, ns, f"job-name={name}")
    wait_for(
        lambda: "indexing" in str(source_status(kube, ns, "demo-catalogue").get("message")),
        what="progress message",
    )

    # The pod ends as a kubelet reports it: the Job completes, the counts reach the status.
    finish_pod(
        kube, ns, pod, 0, "218 rows: 216 added, 0 updated, 0 unchanged, 2 rejected.\npruned=0"
    )
    done = wait_for(
        lambda: (s := source_status(kube, ns, "demo-catalogue")).get("phase") == "Synced" and s,
        what="phase Synced",
    )
    assert (done["productsIndexed"], done["productsFailed"]) == (216, 2)
    assert done["lastSuccessfulSyncTime"]
    assert {c["type"]: c["status"] for c in done["conditions"]}["Synced"] == "True"
    expect_event(kube, ns, "demo-catalogue", "Normal", "SyncStarted")
    expect_event(kube, ns, "demo-catalogue", "Normal", "Synced")
    wait_for(lambda: status_of(kube, ns, "demo").get("products") == 216, what="index counts 216")

    # Unchanged spec (a label edit is no spec change; a re-applied spec neither): no new Job.
    kube.merge_patch(V, "CatalogSource", ns, "demo-catalogue", {"metadata": {"labels": {"x": "y"}}})
    kube.merge_patch(V, "CatalogSource", ns, "demo-catalogue", {"spec": {"type": "Demo"}})
    kube.merge_patch(V, "CatalogSource", ns, "demo-catalogue", {"spec": {"backoffLimit": 3}})
    wait_for(
        lambda: source_status(kube, ns, "demo-catalogue").get("observedGeneration") == 2,
        what="generation 2 observed",
    )
    assert [j["metadata"]["name"] for j in jobs(kube, ns, "demo-catalogue")] == [name]

    # A changed source is a new hash, so a new Job; its failure is reported.
    kube.merge_patch(
        V,
        "CatalogSource",
        ns,
        "demo-catalogue",
        {
            "spec": {
                "type": "Url",
                "url": "https://feeds.example.com/a.csv",
                "prune": True,
                "backoffLimit": 0,
            }
        },
    )
    second = wait_for(
        lambda: (n := source_status(kube, ns, "demo-catalogue").get("jobName")) != name and n,
        what="second Job",
    )
    job2 = kube.get("batch/v1", "Job", ns, second)
    pod_spec = job2["spec"]["template"]["spec"]
    assert pod_spec["containers"][0]["args"] == [
        "/feed/a.csv",
        "1",
        f"_sources/{ns}/demo-catalogue.json",
    ]
    assert pod_spec["initContainers"][0]["args"] == [
        "url",
        "https://feeds.example.com/a.csv",
        "/feed/a.csv",
    ]
    assert "productsIndexed" not in source_status(kube, ns, "demo-catalogue")  # old counts cleared
    (pod2,) = wait_for(lambda: kube.list("v1", "Pod", ns, f"job-name={second}"), what="pod 2")
    finish_pod(kube, ns, pod2["metadata"]["name"], 1, "Traceback: feed unreachable")
    failed = wait_for(
        lambda: (s := source_status(kube, ns, "demo-catalogue")).get("phase") == "Failed" and s,
        what="phase Failed",
    )
    assert "backoff limit" in failed["message"].lower()
    expect_event(kube, ns, "demo-catalogue", "Warning", "Failed")

    # Deleting the source removes its Jobs (finalizer), not the index.
    kube.delete(V, "CatalogSource", ns, "demo-catalogue")
    wait_for(lambda: kube.get(V, "CatalogSource", ns, "demo-catalogue") is None, what="deleted")
    wait_for(
        lambda: (
            not [
                j
                for j in jobs(kube, ns, "demo-catalogue")
                if "deletionTimestamp" not in j["metadata"]
            ]
        ),
        what="Jobs deleted",
    )
    assert kube.get(V, "VisualSearchIndex", ns, "demo") is not None


@pytest.mark.slow
def test_suspended_source_launches_nothing(
    operator: Any, kube: KubeClient, kube_namespace: str
) -> None:
    ns = kube_namespace
    ready_index(kube, ns)
    kube.create(
        source_body(
            "feed",
            ns,
            {
                "indexRef": {"name": "demo"},
                "type": "Url",
                "url": "https://x.example/f.jsonl",
                "suspend": True,
            },
        )
    )
    wait_for(lambda: source_status(kube, ns, "feed").get("phase") == "Suspended", what="Suspended")
    assert jobs(kube, ns, "feed") == []
    kube.merge_patch(V, "CatalogSource", ns, "feed", {"spec": {"suspend": False}})
    wait_for(lambda: jobs(kube, ns, "feed"), what="Job after resuming")
