"""``spec.vectorStore.type``: pgvector in the index's PostgreSQL instead of a Qdrant StatefulSet."""

from __future__ import annotations

from tests.operator.test_rendering import RENDERER
from visualsearch_operator import constants as c
from visualsearch_operator.builders.common import Capabilities, Owner
from visualsearch_operator.builders.job_env import build_secret_env
from visualsearch_operator.services.index_reconcile import render_children
from visualsearch_operator.spec import parse_index_spec

OWNER = Owner(kind="VisualSearchIndex", name="shop", namespace="ns", uid="u-1")


def children(raw: dict) -> dict:
    objs = render_children(RENDERER, OWNER, parse_index_spec(raw), Capabilities())
    return {(m["kind"], m["metadata"]["name"]): m for m in objs}


def test_pgvector_index_runs_no_qdrant_and_tells_the_platform() -> None:
    spec = parse_index_spec({"vectorStore": {"type": "pgvector"}})
    objs = children({"vectorStore": {"type": "pgvector"}})
    assert ("StatefulSet", "shop-qdrant") not in objs
    postgres = objs[("StatefulSet", "shop-postgresql")]
    image = postgres["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == c.PGVECTOR_IMAGE
    data = objs[("ConfigMap", "shop-config")]["data"]
    assert data["VISUALSEARCH_VECTOR_STORE"] == "pgvector"
    assert not any(k.startswith("VISUALSEARCH_QDRANT") for k in data)
    (api,) = objs[("Deployment", "shop-api")]["spec"]["template"]["spec"]["containers"]
    assert not any(e["name"] == "VISUALSEARCH_QDRANT_API_KEY" for e in api["env"])
    assert not any(
        e["name"] == "VISUALSEARCH_QDRANT_API_KEY" for e in build_secret_env("shop", spec)
    )


def test_qdrant_stays_the_default() -> None:
    objs = children({})
    assert ("StatefulSet", "shop-qdrant") in objs
    data = objs[("ConfigMap", "shop-config")]["data"]
    assert data["VISUALSEARCH_VECTOR_STORE"] == "qdrant"
    assert data["VISUALSEARCH_QDRANT_URL"] == f"http://shop-qdrant:{c.QDRANT_PORT}"
