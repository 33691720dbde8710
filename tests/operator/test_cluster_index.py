"""VisualSearchIndex against the real control plane, reconciled by the real operator."""

from __future__ import annotations

from typing import Any

import pytest

from tests.operator.cluster import (
    EMBEDDER,
    MANIFESTS,
    SERVING,
    STORES,
    V,
    docs,
    events_for,
    expect_event,
    index_body,
    phase_is,
    status_of,
    workload,
)
from tests.operator.conftest import wait_for
from tests.operator.kubelet import mark_pods_ready
from tests.support.kube.controlplane import ControlPlane
from visualsearch_operator.exceptions import KubernetesRejectedError
from visualsearch_operator.kube import KubeClient


@pytest.mark.slow
def test_schema_rejects_malformed_resources(
    crds: ControlPlane, kube: KubeClient, kube_namespace: str
) -> None:
    bad_specs = [
        ({"vectorStore": {"quantization": "fancy"}}, "spec.vectorStore.quantization"),
        ({"embedding": {"maxReplicas": 0}}, "spec.embedding.maxReplicas"),
        ({"ingress": {"rateLimitPerMinute": -1}}, "spec.ingress.rateLimitPerMinute"),
        ({"ingress": {"host": "Not A Host!"}}, "spec.ingress.host"),
        ({"database": {"external": {}}}, "spec.database.external.urlSecretRef"),
        ({"cacheTTLSeconds": "an hour"}, "spec.cacheTTLSeconds"),
    ]
    for spec, field in bad_specs:
        with pytest.raises(KubernetesRejectedError) as caught:
            kube.create(index_body("bad", kube_namespace, spec))
        assert caught.value.status == 422, spec
        assert field in str(caught.value), (field, str(caught.value))
    source = {
        "apiVersion": V,
        "kind": "CatalogSource",
        "metadata": {"name": "bad", "namespace": kube_namespace},
    }
    for spec, field in [
        ({"type": "Demo"}, "spec.indexRef"),
        ({"indexRef": {"name": "x"}, "type": "Ftp"}, "spec.type"),
        ({"indexRef": {"name": "x"}, "type": "Url", "url": "file:///etc/passwd"}, "spec.url"),
        ({"indexRef": {"name": "x"}, "type": "Demo", "schedule": "hourly"}, "spec.schedule"),
    ]:
        with pytest.raises(KubernetesRejectedError) as caught:
            kube.create({**source, "spec": spec})
        assert caught.value.status == 422 and field in str(caught.value), str(caught.value)
    # Nothing was stored, and the examples shipped in manifests/ all pass the same validation.
    assert kube.list(V, "VisualSearchIndex", kube_namespace) == []
    crds.kubectl("apply", "--dry-run=server", "-n", kube_namespace, "-f", str(MANIFESTS))


@pytest.mark.slow
def test_demo_index_converges_to_ready(
    operator: Any, crds: ControlPlane, kube: KubeClient, kube_namespace: str
) -> None:
    ns = kube_namespace
    crds.kubectl("apply", "-n", ns, "-f", str(MANIFESTS / "demo.yaml"))
    status = wait_for(phase_is(kube, ns, "demo", "Provisioning", generation=1), what="Provisioning")
    assert status["endpoint"] == "http://visualsearch.localtest.me"
    ready = {c["type"]: c for c in status["conditions"]}["Ready"]
    assert ready["status"] == "False" and "waiting for" in ready["message"]

    # The objects the spec asks for, as the spec sizes them.
    hpa = kube.get("autoscaling/v2beta2", "HorizontalPodAutoscaler", ns, f"demo-{EMBEDDER}")
    assert hpa is not None
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 3)
    # a disruption budget per serving workload, in the only PDB version a 1.20 server holds
    budgets = kube.list("policy/v1beta1", "PodDisruptionBudget", ns, "visualsearch.dev/index=demo")
    assert {b["metadata"]["name"] for b in budgets} >= {
        f"demo-{c}" for c in (EMBEDDER, "api", "worker")
    }
    assert hpa["spec"]["scaleTargetRef"]["name"] == f"demo-{EMBEDDER}"
    api_ingress = kube.get("networking.k8s.io/v1", "Ingress", ns, "demo-api")
    assert api_ingress is not None
    annotations = api_ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/limit-rpm"] == "60"
    assert annotations["nginx.ingress.kubernetes.io/limit-burst-multiplier"] == "1"
    assert api_ingress["spec"]["rules"][0]["host"] == "visualsearch.localtest.me"
    for store in STORES:
        sts = kube.get("apps/v1", "StatefulSet", ns, f"demo-{store}")
        assert sts is not None, store
        assert kube.get("v1", "Service", ns, f"demo-{store}") is not None
    for comp in SERVING:
        assert kube.get("apps/v1", "Deployment", ns, f"demo-{workload(comp)}") is not None, comp
    assert kube.get("apps/v1", "Deployment", ns, "demo-api")["spec"]["replicas"] == 2
    assert kube.get("v1", "Secret", ns, "demo-credentials") is not None
    config = kube.get("v1", "ConfigMap", ns, "demo-config")
    assert config["data"]["VISUALSEARCH_QDRANT_QUANTIZATION"] == "scalar"

    # The controllers made pods; once the "kubelet" reports them ready, the index is Ready.
    selector = "app.kubernetes.io/instance=demo"
    wait_for(lambda: len(kube.list("v1", "Pod", ns, selector)) >= 9, what="9 pods")
    mark_pods_ready(kube, ns, selector)
    status = wait_for(phase_is(kube, ns, "demo", "Ready"), what="phase Ready")
    assert status["components"]["api"] == "2/2"
    assert {c["type"]: c["status"] for c in status["conditions"]} == {
        "StoresReady": "True",
        "ServingReady": "True",
        "Ready": "True",
        "Reconciled": "True",
        "RateLimited": "True",
    }
    expect_event(kube, ns, "demo", "Normal", "Ready")
    assert events_for(kube, ns, "demo").count(("Normal", "Provisioning")) == 1
    expect_event(kube, ns, "demo", "Normal", "Applied")

    # A store losing its pod degrades the index (it was Ready), visibly.
    # The store charts label their pods by chart name (component: cache, as the chart says).
    (pod,) = kube.list("v1", "Pod", ns, "app.kubernetes.io/name=redis")
    kube.merge_patch(
        "v1",
        "Pod",
        ns,
        pod["metadata"]["name"],
        {"status": {"conditions": [{"type": "Ready", "status": "False"}]}},
        subresource="status",
    )
    status = wait_for(phase_is(kube, ns, "demo", "Degraded"), what="phase Degraded")
    assert "redis 0/1" in status["message"]
    expect_event(kube, ns, "demo", "Warning", "Degraded")


@pytest.mark.slow
def test_spec_change_resizes_and_prunes(
    operator: Any, kube: KubeClient, kube_namespace: str
) -> None:
    ns = kube_namespace
    kube.create(index_body("shop", ns, {"embedding": {"maxReplicas": 2}}))
    wait_for(phase_is(kube, ns, "shop", "Provisioning", generation=1), what="Provisioning")
    kube.merge_patch(
        V,
        "VisualSearchIndex",
        ns,
        "shop",
        {
            "spec": {
                "embedding": {"minReplicas": 2, "maxReplicas": 8},
                "storefront": {"enabled": False},
                "ingress": {"rateLimitPerMinute": 30},
            }
        },
    )

    def resized() -> Any:
        hpa = kube.get("autoscaling/v2beta2", "HorizontalPodAutoscaler", ns, f"shop-{EMBEDDER}")
        return hpa and (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 8)

    wait_for(resized, what="HPA resized to 2..8")
    wait_for(
        lambda: kube.get("apps/v1", "Deployment", ns, "shop-storefront") is None,
        what="storefront pruned",
    )
    ingress = kube.get("networking.k8s.io/v1", "Ingress", ns, "shop-api")
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/limit-rpm"] == "30"
    wait_for(
        lambda: status_of(kube, ns, "shop").get("observedGeneration") == 2,
        what="observedGeneration 2",
    )
    expect_event(kube, ns, "shop", "Normal", "Pruned")


@pytest.mark.slow
def test_invalid_spec_fails_permanently_until_fixed(
    operator: Any, kube: KubeClient, kube_namespace: str
) -> None:
    ns = kube_namespace
    kube.create(index_body("broken", ns, {"embedding": {"minReplicas": 5, "maxReplicas": 2}}))
    status = wait_for(phase_is(kube, ns, "broken", "Failed"), what="phase Failed")
    reconciled = {c["type"]: c for c in status["conditions"]}["Reconciled"]
    assert (reconciled["status"], reconciled["reason"]) == ("False", "InvalidSpec")
    assert "minReplicas (5) is larger than maxReplicas (2)" in status["message"]
    expect_event(kube, ns, "broken", "Warning", "InvalidSpec")
    assert kube.list("apps/v1", "Deployment", ns) == []
    kube.merge_patch(
        V, "VisualSearchIndex", ns, "broken", {"spec": {"embedding": {"maxReplicas": 6}}}
    )
    wait_for(phase_is(kube, ns, "broken", "Provisioning", generation=2), what="fixed: Provisioning")


@pytest.mark.slow
def test_external_stores_wait_for_their_secrets(
    operator: Any, crds: ControlPlane, kube: KubeClient, kube_namespace: str
) -> None:
    ns = kube_namespace
    resources = docs(MANIFESTS / "index-external-stores.yaml")
    index = next(d for d in resources if d["kind"] == "VisualSearchIndex")
    kube.create({**index, "metadata": {**index["metadata"], "namespace": ns}})
    wait_for(
        lambda: "Secret(s) not found" in str(status_of(kube, ns, "shop").get("message")),
        what="missing Secrets reported",
    )
    assert kube.list("apps/v1", "Deployment", ns) == []
    crds.kubectl("apply", "-n", ns, "-f", str(MANIFESTS / "index-external-stores.yaml"))
    wait_for(
        phase_is(kube, ns, "shop", "Provisioning", generation=1),
        what="Provisioning once Secrets exist",
    )
    assert kube.list("apps/v1", "StatefulSet", ns) == []  # every store is external
    config = kube.get("v1", "ConfigMap", ns, "shop-config")["data"]
    assert config["VISUALSEARCH_QDRANT_URL"] == "https://qdrant.internal.example.com:6333"
    hpa = kube.get("autoscaling/v2beta2", "HorizontalPodAutoscaler", ns, f"shop-{EMBEDDER}")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 10)
    status = status_of(kube, ns, "shop")
    assert set(status["components"]) == set(SERVING)
    found = {c["type"]: c for c in status["conditions"]}
    assert found["StoresReady"]["status"] == "True"
    # This cluster serves no Gateway API: said in status rather than failing the index.
    assert (found["GatewayRouted"]["status"], found["GatewayRouted"]["reason"]) == (
        "False",
        "GatewayAPIMissing",
    )


@pytest.mark.slow
def test_deleted_child_is_put_back(operator: Any, kube: KubeClient, kube_namespace: str) -> None:
    ns = kube_namespace
    kube.create(index_body("demo", ns, {}))
    wait_for(phase_is(kube, ns, "demo", "Provisioning", generation=1), what="Provisioning")
    first = kube.get("apps/v1", "Deployment", ns, f"demo-{EMBEDDER}")
    kube.delete("apps/v1", "Deployment", ns, f"demo-{EMBEDDER}")

    def recreated() -> Any:
        again = kube.get("apps/v1", "Deployment", ns, f"demo-{EMBEDDER}")
        return again and again["metadata"]["uid"] != first["metadata"]["uid"]

    wait_for(recreated, what="embedder Deployment re-created")
    expect_event(kube, ns, "demo", "Normal", "DriftRepaired")


@pytest.mark.slow
@pytest.mark.parametrize("retain", [False, True])
def test_deletion_removes_children_and_data_unless_retained(
    operator: Any, kube: KubeClient, kube_namespace: str, retain: bool
) -> None:
    ns = kube_namespace
    kube.create(index_body("demo", ns, {"retainData": retain}))
    wait_for(phase_is(kube, ns, "demo", "Provisioning", generation=1), what="Provisioning")
    selector = "visualsearch.dev/index=demo"
    # The StatefulSet controller creates one claim per store from the volumeClaimTemplates.
    wait_for(
        lambda: len(kube.list("v1", "PersistentVolumeClaim", ns, selector)) == 4, what="4 PVCs"
    )
    index = kube.get(V, "VisualSearchIndex", ns, "demo")
    assert "visualsearch.dev/finalizer" in index["metadata"]["finalizers"]
    kube.delete(V, "VisualSearchIndex", ns, "demo")
    wait_for(lambda: kube.get(V, "VisualSearchIndex", ns, "demo") is None, what="index deleted")
    for api_version, kind in [
        ("apps/v1", "Deployment"),
        ("apps/v1", "StatefulSet"),
        ("v1", "Service"),
        ("networking.k8s.io/v1", "Ingress"),
        ("v1", "ConfigMap"),
        ("autoscaling/v2beta2", "HorizontalPodAutoscaler"),
        ("policy/v1beta1", "PodDisruptionBudget"),
    ]:
        assert kube.list(api_version, kind, ns, selector) == [], kind
    claims = kube.list("v1", "PersistentVolumeClaim", ns, selector)
    secret = kube.get("v1", "Secret", ns, "demo-credentials")
    if retain:
        assert len(claims) == 4 and all("deletionTimestamp" not in c["metadata"] for c in claims)
        assert secret is not None  # the retained data stays readable
    else:
        assert all(
            "deletionTimestamp" in c["metadata"] for c in claims
        )  # pvc-protection may linger
        assert secret is None
