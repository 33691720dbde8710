"""A model change: re-index in a Job while search stays on the old model, then roll the pods."""

from __future__ import annotations

from typing import Any

import pytest

from tests.operator.cluster import V, expect_event, index_body, phase_is, status_of
from tests.operator.conftest import wait_for
from tests.operator.kubelet import finish_pod, mark_pods_ready
from visualsearch_operator.builders.values import embedder_component
from visualsearch_operator.kube import KubeClient

OLD = "openai/clip-vit-base-patch32"
NEW = "openai/clip-vit-large-patch14"


def conditions(kube: KubeClient, ns: str, name: str) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status_of(kube, ns, name).get("conditions", [])}


def config_stamp(kube: KubeClient, ns: str, deployment: str) -> str:
    obj = kube.get("apps/v1", "Deployment", ns, deployment)
    # The chart's digest of the rendered ConfigMap (pods read settings only at start).
    return str(obj["spec"]["template"]["metadata"]["annotations"]["checksum/config"])


@pytest.mark.slow
def test_model_change_reindexes_before_the_pods_switch(
    operator: Any, kube: KubeClient, kube_namespace: str
) -> None:
    ns = kube_namespace
    kube.create(index_body("demo", ns, {"model": OLD, "api": {"replicas": 1}}))
    selector = "app.kubernetes.io/instance=demo"
    wait_for(lambda: len(kube.list("v1", "Pod", ns, selector)) >= 8, what="pods")
    mark_pods_ready(kube, ns, selector)
    wait_for(phase_is(kube, ns, "demo", "Ready"), what="Ready")
    assert status_of(kube, ns, "demo")["activeModel"] == OLD
    stamp = config_stamp(kube, ns, "demo-api")

    kube.merge_patch(V, "VisualSearchIndex", ns, "demo", {"spec": {"model": NEW}})
    switch = wait_for(lambda: conditions(kube, ns, "demo").get("ModelSwitch"), what="switch")
    assert (switch["status"], switch["reason"]) == ("Unknown", "Reindexing")
    (job,) = kube.list("batch/v1", "Job", ns, "app.kubernetes.io/component=reindex")
    env = {
        e["name"]: e.get("value") for e in job["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["VISUALSEARCH_MODEL"] == NEW
    expect_event(kube, ns, "demo", "Normal", "Reindexing")
    # Meanwhile search serves the old model: config untouched, index still Ready.
    config = kube.get("v1", "ConfigMap", ns, "demo-config")["data"]
    assert config["VISUALSEARCH_MODEL"] == OLD
    assert config_stamp(kube, ns, "demo-api") == stamp
    assert status_of(kube, ns, "demo")["phase"] == "Ready"

    # The re-index Job succeeds (as the kubelet reports it): the pods roll to the new model.
    name = job["metadata"]["name"]
    pods = wait_for(lambda: kube.list("v1", "Pod", ns, f"job-name={name}"), what="reindex pod")
    finish_pod(kube, ns, pods[0]["metadata"]["name"], 0, "Re-embedded 216 products")
    wait_for(
        lambda: kube.get("v1", "ConfigMap", ns, "demo-config")["data"]["VISUALSEARCH_MODEL"] == NEW,
        what="config switched to the new model",
    )
    wait_for(lambda: config_stamp(kube, ns, "demo-api") != stamp, what="the API pods rolling")
    deployment = kube.get("apps/v1", "Deployment", ns, "demo-api")
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    wait_for(lambda: status_of(kube, ns, "demo").get("activeModel") == NEW, what="activeModel")
    # each model's vectors are a collection of their own: pods of both read only their own
    assert config["VISUALSEARCH_COLLECTION_PER_MODEL"] == "true"
    assert status_of(kube, ns, "demo")["retiredModel"] == OLD
    switch = wait_for(
        lambda: (
            conditions(kube, ns, "demo")["ModelSwitch"]["reason"] != "Reindexing"
            and conditions(kube, ns, "demo")["ModelSwitch"]
        ),
        what="the switch past its re-index",
    )
    assert (switch["status"], switch["reason"]) == ("Unknown", "Rolling")
    assert not retire_jobs(kube, ns)  # the old model's vectors stay while its pods serve
    # one embedder per model: the new model's API pods reach the new model's embedder only,
    # while the old model's embedder stays for the old API pods until the roll is over
    old_embedder, new_embedder = (f"demo-{embedder_component(m)}" for m in (OLD, NEW))
    wait_for(lambda: kube.get("apps/v1", "Deployment", ns, new_embedder), what="new embedder")
    assert kube.get("apps/v1", "Deployment", ns, old_embedder) is not None
    api = kube.get("apps/v1", "Deployment", ns, "demo-api")["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in api["containers"][0]["env"]}
    assert env["VISUALSEARCH_EMBEDDER_URL"] == f"http://{new_embedder}:8001"

    def rolled() -> list[dict[str, Any]]:
        mark_pods_ready(kube, ns, f"{selector},!job-name")  # the kubelet's part in the roll
        return retire_jobs(kube, ns)

    (retire,) = wait_for(rolled, timeout=90, what="the roll, then the retire Job")
    for deployment in kube.list("apps/v1", "Deployment", ns, selector):
        if deployment["metadata"]["name"] == old_embedder:
            continue  # pruned with the roll, below
        status = deployment["status"]  # no pod of the old template was left when it started
        counts = (status.get("updatedReplicas", 0), status.get("replicas", 0))
        assert counts[0] == counts[1], (deployment["metadata"]["name"], status)
    container = retire["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["drop-model", OLD, "--yes"]
    wait_for(
        lambda: conditions(kube, ns, "demo")["ModelSwitch"]["reason"] == "Retiring",
        what="the switch retiring the old model",
    )
    expect_event(kube, ns, "demo", "Normal", "RetiringModel")
    name = retire["metadata"]["name"]
    pods = wait_for(lambda: kube.list("v1", "Pod", ns, f"job-name={name}"), what="retire pod")
    finish_pod(kube, ns, pods[0]["metadata"]["name"], 0, "Removed the vectors")
    wait_for(lambda: conditions(kube, ns, "demo")["ModelSwitch"]["status"] == "True", what="done")
    assert conditions(kube, ns, "demo")["ModelSwitch"]["reason"] == "Switched"
    assert "retiredModel" not in status_of(kube, ns, "demo")
    assert kube.get("apps/v1", "Deployment", ns, old_embedder) is None  # pruned with the roll
    assert kube.get("v1", "Service", ns, old_embedder) is None
    assert kube.get("apps/v1", "Deployment", ns, new_embedder) is not None
    expect_event(kube, ns, "demo", "Normal", "ModelSwitched")


def retire_jobs(kube: KubeClient, ns: str) -> list[dict[str, Any]]:
    jobs = kube.list("batch/v1", "Job", ns, "app.kubernetes.io/component=reindex")
    return [j for j in jobs if "-retire-" in j["metadata"]["name"]]
