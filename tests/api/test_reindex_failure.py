"""``visualsearch reindex`` failing midway, on the vector stores that keep generations themselves
(pgvector tables, Qdrant Edge shard directories): the live generation is untouched and still
answers searches, and the half-built one is dropped.

The re-index runs through the ``Reindexer`` the CLI runs, on the running API's own stores, one
product per batch so that the failure comes after the new generation already holds vectors.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import psycopg
import pytest

from tests.api.helpers import index, search
from tests.conftest import Api, SettingsFactory, start_api
from tests.support.images import jpeg, photo
from visualsearch.embedding.colour import model_name
from visualsearch.embedding.service import EmbeddingService
from visualsearch.exceptions import InvalidImageError
from visualsearch.services.reindex import Reindexer
from visualsearch.storage.vectors.qdrant_edge import QdrantEdgeVectorStore

PHOTOS = {"a-cat": "chelsea.png", "b-coffee": "coffee.png", "c-rocket": "rocket.jpg"}
"""Indexed in name order; the re-index pages by name, so "c-rocket" is the last product."""


class FailingOnImage(EmbeddingService):
    """The API's own embedding service, raising on the ``n``-th image (a model server dying)."""

    def __init__(self, inner: EmbeddingService, n: int) -> None:
        self.info = inner.info
        self._inner = inner
        self._left = n

    async def embed_image(self, data: bytes, crop: object = None) -> np.ndarray:
        self._left -= 1
        if self._left == 0:
            raise RuntimeError("the embedder died on this image")
        return await self._inner.embed_image(data)

    async def embed_text(self, text: str) -> np.ndarray:
        return await self._inner.embed_text(text)


def generations(api: Api) -> set[str]:
    """Every generation the store holds, live or not."""
    vectors = api.context.vectors
    if isinstance(vectors, QdrantEdgeVectorStore):
        prefix = f"{vectors.collection}__g"
        return {p.name for p in Path(vectors.root).iterdir() if p.name.startswith(prefix)}
    with psycopg.connect(str(api.settings.pgvector_url)) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_name LIKE %s",
            [vectors.collection.replace("_", r"\_") + r"\_\_g%"],
        ).fetchall()
    return {row[0] for row in rows}


@pytest.mark.parametrize("kind", ["pgvector", "qdrant-edge"])
@pytest.mark.parametrize("fault", ["embedder raises", "corrupt stored image"])
async def test_a_reindex_failing_midway_leaves_the_live_index_searchable(
    make_settings: SettingsFactory, request: pytest.FixtureRequest, kind: str, fault: str
) -> None:
    overrides: dict[str, object] = {"vector_store": kind, "qdrant_path": None}
    if kind == "pgvector":
        overrides["pgvector_url"] = request.getfixturevalue("pgvector_url")
    settings = make_settings(
        **overrides, semantic_search=False, vector_collection=f"rx{uuid.uuid4().hex[:8]}"
    )
    api, lifespan = await start_api(settings)
    try:
        context = api.context
        assert context.vectors.kind == kind
        for pid, name in PHOTOS.items():
            await index(api, pid, jpeg(photo(name)))
        live = generations(api)
        assert len(live) == 1 and await context.vectors.count() == 3

        embedding = context.embedding
        expected: type[Exception] = RuntimeError
        if fault == "embedder raises":
            embedding = FailingOnImage(context.embedding, n=3)
        else:
            (image,) = (await context.catalog.get("c-rocket")).images
            await context.objects.put(image.key, b"\xff\xd8 not a jpeg any more", "image/jpeg")
            expected = InvalidImageError
        reindexer = Reindexer(
            context.catalog, context.objects, context.vectors, embedding, batch_size=1
        )
        with pytest.raises(expected):
            await reindexer.run()

        # the live one was never switched away from: every product still found by its photo
        assert await context.vectors.count() == 3
        for pid, name in PHOTOS.items():
            top = (await search(api, jpeg(photo(name))))["results"][0]
            assert top["product_id"] == pid and top["score"] > 0.99
        info = (await api.client.get("/info")).json()
        assert info["vectors"] == 3
        assert info["model"] == model_name(settings.model, settings.colour_weight)
        # the half-built generation (it held two products' vectors) is gone
        assert generations(api) == live
        # and a later re-index, with the fault gone, still succeeds and switches
        if fault == "embedder raises":
            assert (
                await Reindexer(
                    context.catalog, context.objects, context.vectors, context.embedding
                ).run()
                == 3
            )
            assert generations(api) != live and len(generations(api)) == 1
            assert await context.vectors.count() == 3
    finally:
        await api.context.vectors.drop_collection()
        await api.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]
