"""How shoppers reach an index: an Ingress with a per-client rate limit, and a Gateway HTTPRoute.

The limit must hold on the controller the cluster runs: ingress-nginx reads annotations, Traefik
(k3d's default) ignores them and needs its own ``Middleware`` object referenced from the Ingress.
"""

from __future__ import annotations

from typing import Any

from visualsearch_operator import constants as c
from visualsearch_operator.builders.common import Manifest, Owner, index_labels, metadata
from visualsearch_operator.builders.platform import component_name
from visualsearch_operator.spec import IndexSpec

API_PATHS = ("/search", "/products", "/index", "/images", "/info", "/health", "/ready", "/metrics")
"""Paths served by the API; everything else goes to the storefront."""

TRAEFIK_GROUP = "traefik.io"
GATEWAY_GROUP = "gateway.networking.k8s.io"


def rate_limit_middleware_name(index: str) -> str:
    """Name of the Traefik Middleware carrying the index's rate limit."""
    return f"{index}-ratelimit"


def build_rate_limit_annotations(owner: Owner, spec: IndexSpec) -> dict[str, str]:
    """Ingress annotations for the chosen controller (nothing when the limit is 0 / off)."""
    ing = spec.ingress
    annotations = {"nginx.ingress.kubernetes.io/proxy-body-size": "10m"}
    if ing.rate_limit_per_minute <= 0:
        return annotations
    if ing.controller == "traefik":
        ref = f"{owner.namespace}-{rate_limit_middleware_name(owner.name)}@kubernetescrd"
        annotations["traefik.ingress.kubernetes.io/router.middlewares"] = ref
    else:
        annotations["nginx.ingress.kubernetes.io/limit-rpm"] = str(ing.rate_limit_per_minute)
        annotations["nginx.ingress.kubernetes.io/limit-burst-multiplier"] = str(
            ing.burst_multiplier
        )
    return annotations


def _backend(index: str, component: str, port: int) -> dict[str, Any]:
    return {"service": {"name": component_name(index, component), "port": {"number": port}}}


def build_ingress(owner: Owner, spec: IndexSpec) -> Manifest:
    """The Ingress: API paths to the API Service, the rest to the storefront."""
    index = owner.name
    front = ("storefront", c.STOREFRONT_PORT) if spec.storefront_enabled else ("api", c.API_PORT)
    paths = [
        {"path": path, "pathType": "Prefix", "backend": _backend(index, "api", c.API_PORT)}
        for path in API_PATHS
    ]
    paths.append({"path": "/", "pathType": "Prefix", "backend": _backend(index, *front)})
    rule: dict[str, Any] = {"http": {"paths": paths}}
    if spec.ingress.host:
        rule["host"] = spec.ingress.host
    ingress_spec: dict[str, Any] = {"rules": [rule]}
    if spec.ingress.class_name:
        ingress_spec["ingressClassName"] = spec.ingress.class_name
    if spec.ingress.tls_secret_name and spec.ingress.host:
        ingress_spec["tls"] = [
            {"hosts": [spec.ingress.host], "secretName": spec.ingress.tls_secret_name}
        ]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata(
            index, owner, index_labels(index, "ingress"), build_rate_limit_annotations(owner, spec)
        ),
        "spec": ingress_spec,
    }


def build_traefik_middleware(owner: Owner, spec: IndexSpec) -> Manifest:
    """Traefik ``Middleware``: ``rateLimitPerMinute`` on average per client IP, burst as nginx's."""
    ing = spec.ingress
    return {
        "apiVersion": f"{TRAEFIK_GROUP}/v1alpha1",
        "kind": "Middleware",
        "metadata": metadata(
            rate_limit_middleware_name(owner.name), owner, index_labels(owner.name, "ingress")
        ),
        "spec": {
            "rateLimit": {
                "average": ing.rate_limit_per_minute,
                "period": "1m",
                "burst": ing.rate_limit_per_minute * ing.burst_multiplier,
                "sourceCriterion": {"ipStrategy": {"depth": 0}},
            }
        },
    }


def build_http_route(owner: Owner, spec: IndexSpec) -> Manifest:
    """A Gateway API ``HTTPRoute`` with the same routing as the Ingress."""
    index = owner.name
    front = ("storefront", c.STOREFRONT_PORT) if spec.storefront_enabled else ("api", c.API_PORT)

    def ref(component: str, port: int) -> dict[str, Any]:
        return {"name": component_name(index, component), "port": port}

    route_spec: dict[str, Any] = {
        "parentRefs": [dict(p) for p in spec.gateway_parent_refs],
        "rules": [
            {
                "matches": [{"path": {"type": "PathPrefix", "value": p}} for p in API_PATHS],
                "backendRefs": [ref("api", c.API_PORT)],
            },
            {
                "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                "backendRefs": [ref(*front)],
            },
        ],
    }
    if spec.ingress.host:
        route_spec["hostnames"] = [spec.ingress.host]
    return {
        "apiVersion": f"{GATEWAY_GROUP}/v1",
        "kind": "HTTPRoute",
        "metadata": metadata(index, owner, index_labels(index, "ingress")),
        "spec": route_spec,
    }


def build_exposure_manifests(
    owner: Owner, spec: IndexSpec, traefik: bool, gateway: bool
) -> list[Manifest]:
    """Ingress (+ Traefik Middleware) and HTTPRoute, as far as the cluster serves their kinds."""
    built: list[Manifest] = []
    if spec.ingress.enabled:
        built.append(build_ingress(owner, spec))
        if (
            spec.ingress.controller == "traefik"
            and spec.ingress.rate_limit_per_minute > 0
            and traefik
        ):
            built.append(build_traefik_middleware(owner, spec))
    if spec.gateway_enabled and gateway:
        built.append(build_http_route(owner, spec))
    return built
