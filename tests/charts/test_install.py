"""`helm install` / `upgrade` / `uninstall` of the charts into a real kube-apiserver (with
kube-controller-manager) on loopback: the API server validates every object, controllers create
ReplicaSets and Pods (Pending: there is no kubelet), and generated secrets survive upgrades."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import yaml

from tests.charts.helm import CHARTS, PLATFORM, STORE_CHARTS
from tests.support.kube import ControlPlane

RELEASE = "shop"
FULL = f"{RELEASE}-visual-search"
COMPONENTS = ("search", "products", "indexer", "worker", "embedder", "storefront")
KINDS = (
    "deployments,statefulsets,services,secrets,configmaps,ingresses,hpa,pdb,jobs,serviceaccounts"
)


def get_json(plane: ControlPlane, namespace: str, what: str, *args: str) -> Any:
    return json.loads(plane.kubectl("get", what, "-n", namespace, "-o", "json", *args).stdout)


def eventually(check: Callable[[], bool], timeout: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"not reached within {timeout:.0f} s: {what}")


def secret_data(plane: ControlPlane, namespace: str, name: str) -> dict[str, str]:
    data = get_json(plane, namespace, f"secret/{name}")["data"]
    return {k: base64.b64decode(v).decode() for k, v in data.items()}


def release_objects(plane: ControlPlane, namespace: str) -> list[dict]:
    items = get_json(plane, namespace, KINDS, "-l", f"app.kubernetes.io/instance={RELEASE}")
    return list(items["items"])


def test_platform_install_upgrade_uninstall(
    kube_control_plane: ControlPlane, kube_namespace: str
) -> None:
    plane, ns = kube_control_plane, kube_namespace
    plane.helm("install", RELEASE, str(PLATFORM), "-n", ns, "--set", "seed.demo=true")

    # The API server accepted everything; the cluster is 1.20, so the chart picked the old APIs.
    manifest = list(yaml.safe_load_all(plane.helm("get", "manifest", RELEASE, "-n", ns).stdout))
    versions = {d["kind"]: d["apiVersion"] for d in manifest if d}
    assert versions["HorizontalPodAutoscaler"] == "autoscaling/v2beta2"
    assert versions["PodDisruptionBudget"] == "policy/v1beta1"
    assert versions["Ingress"] == "networking.k8s.io/v1"

    deployments = {d["metadata"]["name"] for d in get_json(plane, ns, "deployments")["items"]}
    assert deployments == {f"{FULL}-{c}" for c in COMPONENTS}
    statefulsets = {s["metadata"]["name"] for s in get_json(plane, ns, "statefulsets")["items"]}
    assert statefulsets == {f"{RELEASE}-{s}" for s in STORE_CHARTS}

    # Deployments get ReplicaSets and Pods from the controller manager; Pods stay Pending.
    def replica_sets_ready() -> bool:
        owners = {
            ref["name"]
            for rs in get_json(plane, ns, "replicasets")["items"]
            for ref in rs["metadata"].get("ownerReferences", [])
        }
        return owners >= deployments

    eventually(replica_sets_ready, what="a ReplicaSet per Deployment")

    def pods_of(component: str) -> list[dict]:
        selector = f"app.kubernetes.io/instance={RELEASE},app.kubernetes.io/component={component}"
        return list(get_json(plane, ns, "pods", "-l", selector)["items"])

    eventually(lambda: len(pods_of("search")) == 2, what="2 search pods")
    eventually(lambda: len(pods_of("migrate")) == 1, what="the migrate Job's pod")
    for pod in pods_of("search"):
        assert pod["status"]["phase"] == "Pending"
        env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}
        assert "$(VS_POSTGRES_PASSWORD)" in env["VISUALSEARCH_DATABASE_URL"]["value"]
    jobs = {j["metadata"]["name"] for j in get_json(plane, ns, "jobs")["items"]}
    assert jobs == {f"{FULL}-migrate-1", f"{FULL}-seed-demo-1"}
    hpa = get_json(plane, ns, f"hpa/{FULL}-embedder")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 5)

    api_key = secret_data(plane, ns, FULL)["VISUALSEARCH_API_KEY"]
    store_secrets = {s: secret_data(plane, ns, f"{RELEASE}-{s}") for s in STORE_CHARTS}
    assert len(api_key) == 40

    # An upgrade keeps every generated credential (lookup) and runs the migration again.
    plane.helm("upgrade", RELEASE, str(PLATFORM), "-n", ns, "--set", "config.logLevel=DEBUG")
    assert secret_data(plane, ns, FULL)["VISUALSEARCH_API_KEY"] == api_key
    for store, data in store_secrets.items():
        assert secret_data(plane, ns, f"{RELEASE}-{store}") == data, store
    config = get_json(plane, ns, f"configmap/{FULL}")["data"]
    assert config["VISUALSEARCH_LOG_LEVEL"] == "DEBUG"
    jobs = {j["metadata"]["name"] for j in get_json(plane, ns, "jobs")["items"]}
    assert f"{FULL}-migrate-2" in jobs and f"{FULL}-migrate-1" not in jobs

    plane.helm("uninstall", RELEASE, "-n", ns)
    assert plane.helm("list", "-n", ns, "-q").stdout.strip() == ""
    eventually(lambda: release_objects(plane, ns) == [], what="every release object deleted")


def test_store_and_other_charts_install_and_uninstall(
    kube_control_plane: ControlPlane, kube_namespace: str
) -> None:
    plane, ns = kube_control_plane, kube_namespace
    # Charts beyond ours (e.g. the operator's) install with their defaults and uninstall too.
    others = sorted(
        p.parent.name
        for p in CHARTS.glob("*/Chart.yaml")
        if p.parent.name not in {"visual-search", *STORE_CHARTS}
    )
    for chart in others:
        plane.helm("install", f"x-{chart}"[:40], str(CHARTS / chart), "-n", ns)
        status = json.loads(plane.helm("status", f"x-{chart}"[:40], "-n", ns, "-o", "json").stdout)
        assert status["info"]["status"] == "deployed", chart
        plane.helm("uninstall", f"x-{chart}"[:40], "-n", ns)
    for chart in STORE_CHARTS:
        plane.helm("install", f"{RELEASE}-{chart}", str(CHARTS / chart), "-n", ns)
    for chart in STORE_CHARTS:
        name = f"{RELEASE}-{chart}"
        sts = get_json(plane, ns, f"statefulset/{name}")
        assert sts["spec"]["serviceName"] == f"{name}-headless"
        assert get_json(plane, ns, f"service/{name}")["spec"]["clusterIP"] != "None"
        assert secret_data(plane, ns, name)
    # The StatefulSet controller creates pod 0 and its volume claim.
    eventually(
        lambda: len(get_json(plane, ns, "pvc")["items"]) == len(STORE_CHARTS),
        what="a PersistentVolumeClaim per store",
    )
    for chart in STORE_CHARTS:
        plane.helm("uninstall", f"{RELEASE}-{chart}", "-n", ns)
    eventually(
        lambda: get_json(plane, ns, "statefulsets,services,secrets", "-l",
                         "app.kubernetes.io/part-of=visual-search")["items"] == [],
        what="store objects deleted",
    )  # fmt: skip


def test_external_stores_install(kube_control_plane: ControlPlane, kube_namespace: str) -> None:
    plane, ns = kube_control_plane, kube_namespace
    values = {
        "qdrant.enabled": "false",
        "postgresql.enabled": "false",
        "minio.enabled": "false",
        "redis.enabled": "false",
        "externalQdrant.url": "http://qdrant.example:6333",
        "externalDatabase.url": "postgresql://u:p@db.example:5432/shop",
        "externalS3.endpoint": "s3.example:9000",
        "externalRedis.url": "redis://cache.example:6379/0",
        "networkPolicy.enabled": "true",
    }
    args = [a for k, v in values.items() for a in ("--set", f"{k}={v}")]
    plane.helm("install", RELEASE, str(PLATFORM), "-n", ns, *args)
    assert get_json(plane, ns, "statefulsets")["items"] == []
    config = get_json(plane, ns, f"configmap/{FULL}")["data"]
    assert config["VISUALSEARCH_QDRANT_URL"] == "http://qdrant.example:6333"
    assert secret_data(plane, ns, FULL)["VISUALSEARCH_DATABASE_URL"].startswith("postgresql://u:")
    policy = get_json(plane, ns, f"networkpolicy/{FULL}")
    assert policy["spec"]["podSelector"]["matchLabels"] == {"app.kubernetes.io/instance": RELEASE}
    plane.helm("uninstall", RELEASE, "-n", ns)


def test_traefik_middleware_against_the_served_crd(
    kube_control_plane: ControlPlane, kube_namespace: str
) -> None:
    """With Traefik 2's CRD group served (and not Traefik 3's), the chart picks it by discovery."""
    plane, ns = kube_control_plane, kube_namespace
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "middlewares.traefik.containo.us"},
        "spec": {
            "group": "traefik.containo.us",
            "scope": "Namespaced",
            "names": {"kind": "Middleware", "plural": "middlewares", "singular": "middleware"},
            "versions": [
                {
                    "name": "v1alpha1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }
    crd_file = plane.state_dir / "traefik-crd.json"
    crd_file.write_text(json.dumps(crd))
    plane.kubectl("apply", "-f", str(crd_file))
    plane.kubectl(
        "wait", "--for=condition=Established", "crd/middlewares.traefik.containo.us",
        "--timeout=30s",
    )  # fmt: skip
    # Discovery caches in kubectl/helm are per process; helm sees the new group at once.
    plane.helm(
        "install", RELEASE, str(PLATFORM), "-n", ns,
        "--set", "ingress.controller=traefik", "--set", "ingress.className=traefik",
    )  # fmt: skip
    middleware = get_json(plane, ns, f"middlewares.traefik.containo.us/{FULL}-ratelimit")
    assert middleware["spec"]["rateLimit"]["average"] == 60
    ingress = get_json(plane, ns, f"ingress/{FULL}-api")
    assert ingress["metadata"]["annotations"][
        "traefik.ingress.kubernetes.io/router.middlewares"
    ] == (f"{ns}-{FULL}-ratelimit@kubernetescrd")
    plane.helm("uninstall", RELEASE, "-n", ns)
    plane.kubectl("delete", "crd", "middlewares.traefik.containo.us")
