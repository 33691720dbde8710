"""Everything one VisualSearchIndex needs, in apply order (config and stores before workloads)."""

from __future__ import annotations

from visualsearch_operator.builders.common import Capabilities, Manifest, Owner
from visualsearch_operator.builders.exposure import build_exposure_manifests
from visualsearch_operator.builders.platform import (
    build_api_manifests,
    build_config_map,
    build_embedder_manifests,
    build_storefront_manifests,
    build_worker_manifests,
)
from visualsearch_operator.builders.stores import build_store_manifests
from visualsearch_operator.spec import IndexSpec


def build_index_manifests(owner: Owner, spec: IndexSpec, caps: Capabilities) -> list[Manifest]:
    """All owned children of an index (the credentials Secret is built apart: it may outlive it)."""
    return [
        build_config_map(owner, spec),
        *build_store_manifests(owner, spec),
        *build_embedder_manifests(owner, spec, caps),
        *build_api_manifests(owner, spec),
        *build_worker_manifests(owner, spec),
        *build_storefront_manifests(owner, spec),
        *build_exposure_manifests(owner, spec, caps.traefik_middleware, caps.gateway_api),
    ]
