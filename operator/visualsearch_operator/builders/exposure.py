"""How shoppers reach an index: Ingresses with a per-client rate limit, and a Gateway HTTPRoute.

Two Ingresses share the host: ``<index>-api`` (search, info, products, index) carries the rate
limit; ``<index>-open`` (storefront files, product images, health) does not, since one page load
fetches dozens of images that a per-minute API limit must not count (as the Helm chart does).
The limit must hold on the controller the cluster runs: ingress-nginx reads annotations; Traefik
(k3d's default) ignores them and needs its own ``Middleware`` object referenced from the Ingress.
"""

from __future__ import annotations

from typing import Any

from visualsearch_operator import constants as c
from visualsearch_operator.builders.common import Manifest, Owner, index_labels, metadata
from visualsearch_operator.builders.platform import component_name
from visualsearch_operator.spec import IndexSpec

LIMITED_PATHS = ("/search", "/info", "/products", "/index", "/events", "/admin/")
"""API paths behind the rate limit."""
OPEN_PATHS = ("/images", "/health", "/ready")
"""API paths without it (``/metrics`` is for Prometheus inside the cluster, never exposed)."""

TRAEFIK_GROUP = "traefik.io"
GATEWAY_GROUP = "gateway.networking.k8s.io"


def rate_limit_middleware_name(index: str) -> str:
    """Name of the Traefik Middleware carrying the index's rate limit."""
    return f"{index}-ratelimit"


def build_rate_limit_annotations(owner: Owner, spec: IndexSpec) -> dict[str, str]:
    """Annotations of the limited Ingress for the chosen controller (none when the limit is 0)."""
    ing = spec.ingress
    annotations = {"nginx.ingress.kubernetes.io/proxy-body-size": "11m"}
    if ing.rate_limit_per_minute <= 0:
        return annotations
    if ing.controller == "traefik":
        ref = f"{owner.namespace}-{rate_limit_middleware_name(owner.name)}@kubernetescrd"
        annotations["traefik.ingress.kubernetes.io/router.middlewares"] = ref
    else:
        limit = str(ing.rate_limit_per_minute)
        annotations["nginx.ingress.kubernetes.io/limit-rpm"] = limit
        annotations["nginx.ingress.kubernetes.io/limit-burst-multiplier"] = str(
            ing.burst_multiplier
        )
    return annotations


def _path(path: str, index: str, component: str, port: int) -> dict[str, Any]:
    backend = {"service": {"name": component_name(index, component), "port": {"number": port}}}
    return {"path": path, "pathType": "Prefix", "backend": backend}


def _ingress(
    owner: Owner,
    spec: IndexSpec,
    name: str,
    paths: list[dict[str, Any]],
    annotations: dict[str, str],
) -> Manifest:
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
        "metadata": metadata(name, owner, index_labels(owner.name, "ingress"), annotations),
        "spec": ingress_spec,
    }


def build_ingresses(owner: Owner, spec: IndexSpec) -> list[Manifest]:
    """The rate-limited API Ingress and the open one (storefront, images, health)."""
    index = owner.name
    limited = [_path(p, index, "api", c.API_PORT) for p in LIMITED_PATHS]
    opened = [_path(p, index, "api", c.API_PORT) for p in OPEN_PATHS]
    if spec.storefront_enabled:
        opened.append(_path("/", index, "storefront", c.STOREFRONT_PORT))
    body_size = {"nginx.ingress.kubernetes.io/proxy-body-size": "11m"}
    return [
        _ingress(owner, spec, f"{index}-api", limited, build_rate_limit_annotations(owner, spec)),
        _ingress(owner, spec, f"{index}-open", opened, body_size),
    ]


def build_traefik_middleware(owner: Owner, spec: IndexSpec) -> Manifest:
    """Traefik ``Middleware``: ``rateLimitPerMinute`` on average per client IP, nginx's burst."""
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
    """A Gateway API ``HTTPRoute`` with the Ingresses' routing (the limit is the Gateway's job)."""
    index = owner.name
    api_ref = {"name": component_name(index, "api"), "port": c.API_PORT}
    rules: list[dict[str, Any]] = [
        {
            "matches": [
                {"path": {"type": "PathPrefix", "value": p}} for p in LIMITED_PATHS + OPEN_PATHS
            ],
            "backendRefs": [api_ref],
        }
    ]
    if spec.storefront_enabled:
        front = {"name": component_name(index, "storefront"), "port": c.STOREFRONT_PORT}
        rules.append(
            {"matches": [{"path": {"type": "PathPrefix", "value": "/"}}], "backendRefs": [front]}
        )
    route_spec: dict[str, Any] = {
        "parentRefs": [dict(p) for p in spec.gateway_parent_refs],
        "rules": rules,
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
    """Ingresses (+ Traefik Middleware) and HTTPRoute, as far as the cluster serves their kinds."""
    built: list[Manifest] = []
    ing = spec.ingress
    if ing.enabled:
        built += build_ingresses(owner, spec)
        if ing.controller == "traefik" and ing.rate_limit_per_minute > 0 and traefik:
            built.append(build_traefik_middleware(owner, spec))
    if spec.gateway_enabled and gateway:
        built.append(build_http_route(owner, spec))
    return built
