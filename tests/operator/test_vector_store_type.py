"""``spec.vectorStore.type``: pgvector in the index's PostgreSQL instead of a Qdrant StatefulSet."""

from __future__ import annotations

from visualsearch_operator import constants as c
from visualsearch_operator.builders.common import Owner
from visualsearch_operator.builders.platform import build_config_map, build_secret_env
from visualsearch_operator.builders.stores import build_store_manifests
from visualsearch_operator.spec import parse_index_spec

OWNER = Owner(kind="VisualSearchIndex", name="shop", namespace="ns", uid="u-1")


def test_pgvector_index_runs_no_qdrant_and_tells_the_platform() -> None:
    spec = parse_index_spec({"vectorStore": {"type": "pgvector"}})
    kinds = {(m["kind"], m["metadata"]["name"]) for m in build_store_manifests(OWNER, spec)}
    assert ("StatefulSet", "shop-qdrant") not in kinds
    assert ("StatefulSet", "shop-postgresql") in kinds
    postgres = next(
        m
        for m in build_store_manifests(OWNER, spec)
        if m["metadata"]["name"] == "shop-postgresql" and m["kind"] == "StatefulSet"
    )
    image = postgres["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == c.PGVECTOR_IMAGE
    data = build_config_map(OWNER, spec)["data"]
    assert data["VISUALSEARCH_VECTOR_STORE"] == "pgvector"
    assert not any(k.startswith("VISUALSEARCH_QDRANT") for k in data)
    assert not any(
        e["name"] == "VISUALSEARCH_QDRANT_API_KEY" for e in build_secret_env("shop", spec)
    )


def test_qdrant_stays_the_default() -> None:
    spec = parse_index_spec({})
    kinds = {(m["kind"], m["metadata"]["name"]) for m in build_store_manifests(OWNER, spec)}
    assert ("StatefulSet", "shop-qdrant") in kinds
    data = build_config_map(OWNER, spec)["data"]
    assert data["VISUALSEARCH_VECTOR_STORE"] == "qdrant"
    assert data["VISUALSEARCH_QDRANT_URL"] == f"http://shop-qdrant.ns.svc:{c.QDRANT_PORT}"
