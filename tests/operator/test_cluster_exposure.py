"""On a cluster that serves Traefik's Middleware and Gateway API, the operator uses them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.operator.cluster import MANIFESTS, docs, index_body, phase_is, status_of
from tests.operator.conftest import wait_for
from tests.support.kube.controlplane import ControlPlane
from visualsearch_operator.kube import KubeClient


def stand_in_crd(group: str, version: str, kind: str, plural: str) -> dict[str, Any]:
    """A schemaless stand-in for a third-party CRD (the API server only needs to serve the kind)."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.{group}",
            # *.k8s.io groups are protected; the real Gateway API CRDs carry this annotation.
            "annotations": {
                "api-approved.kubernetes.io": "https://github.com/kubernetes-sigs/gateway-api/pull/1538"
            },
        },
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
            "versions": [
                {
                    "name": version,
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


@pytest.fixture
def third_party_crds(crds: ControlPlane, tmp_path: Path) -> Iterator[None]:
    """Traefik's Middleware and Gateway API's HTTPRoute kinds, removed again afterwards."""
    path = tmp_path / "crds.yaml"
    path.write_text(
        yaml.safe_dump_all(
            [
                stand_in_crd("traefik.io", "v1alpha1", "Middleware", "middlewares"),
                stand_in_crd("gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes"),
            ]
        )
    )
    crds.kubectl("apply", "-f", str(path))
    crds.kubectl(
        "wait",
        "--for",
        "condition=established",
        "--timeout=60s",
        "crd/middlewares.traefik.io",
        "crd/httproutes.gateway.networking.k8s.io",
    )
    try:
        yield
    finally:
        # Waited for: later tests expect a cluster without these kinds.
        crds.kubectl("delete", "-f", str(path), "--timeout=60s")


@pytest.mark.slow
def test_traefik_middleware_and_http_route(
    third_party_crds: None, operator: Any, kube: KubeClient, kube_namespace: str
) -> None:
    ns = kube_namespace
    (traefik,) = docs(MANIFESTS / "index-traefik.yaml")
    spec = {**traefik["spec"], "gateway": {"enabled": True, "parentRefs": [{"name": "public"}]}}
    kube.create(index_body("demo", ns, spec))
    wait_for(phase_is(kube, ns, "demo", "Provisioning", generation=1), what="Provisioning")
    middleware = kube.get("traefik.io/v1alpha1", "Middleware", ns, "demo-ratelimit")
    assert middleware is not None
    assert middleware["spec"]["rateLimit"]["average"] == 60
    assert middleware["spec"]["rateLimit"]["burst"] == 60
    ingress = kube.get("networking.k8s.io/v1", "Ingress", ns, "demo-api")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["traefik.ingress.kubernetes.io/router.middlewares"] == (
        f"{ns}-demo-ratelimit@kubernetescrd"
    )
    assert "nginx.ingress.kubernetes.io/limit-rpm" not in annotations
    assert ingress["spec"]["ingressClassName"] == "traefik"
    route = kube.get("gateway.networking.k8s.io/v1", "HTTPRoute", ns, "demo")
    assert route["spec"]["hostnames"] == ["visualsearch.localtest.me"]
    assert route["spec"]["parentRefs"] == [{"name": "public"}]
    found = {
        c["type"]: (c["status"], c["reason"]) for c in status_of(kube, ns, "demo")["conditions"]
    }
    assert found["RateLimited"] == ("True", "TraefikMiddleware")
    assert found["GatewayRouted"] == ("True", "HTTPRoute")
