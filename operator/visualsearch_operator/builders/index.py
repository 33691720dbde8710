"""Everything one VisualSearchIndex needs, in apply order (config and stores before workloads)."""

from __future__ import annotations

import hashlib
import json

from visualsearch_operator import constants as c
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


def config_hash(config_map: Manifest) -> str:
    """Digest of the settings pods read at start (environment variables do not follow edits)."""
    text = json.dumps(config_map["data"], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def with_config_hash(workloads: list[Manifest], digest: str) -> list[Manifest]:
    """Stamp pod templates with the config digest, so a settings change rolls the pods."""
    for obj in workloads:
        if obj["kind"] == "Deployment" and obj["metadata"]["labels"].get(c.LABEL_COMPONENT) in (
            "embedder",
            "api",
            "worker",
        ):
            template = obj["spec"]["template"]["metadata"]
            template.setdefault("annotations", {})[c.ANNOTATION_CONFIG_HASH] = digest
    return workloads


def build_index_manifests(owner: Owner, spec: IndexSpec, caps: Capabilities) -> list[Manifest]:
    """All owned children of an index (the credentials Secret is built apart: it may outlive it).

    ``spec.model`` is the model the pods serve with; during a model switch that is still the
    old one until the re-index Job has filled the new generation (see ``build_reindex_job``).
    """
    config = build_config_map(owner, spec)
    workloads = [
        *build_embedder_manifests(owner, spec, caps),
        *build_api_manifests(owner, spec),
        *build_worker_manifests(owner, spec),
        *build_storefront_manifests(owner, spec),
    ]
    return [
        config,
        *build_store_manifests(owner, spec),
        *with_config_hash(workloads, config_hash(config)),
        *build_exposure_manifests(owner, spec, caps.traefik_middleware, caps.gateway_api),
    ]
