"""The whole indexing and search path with pgvector as the vector store instead of Qdrant."""

from __future__ import annotations

import uuid

from tests.api.helpers import index, search
from tests.conftest import SettingsFactory, start_api
from tests.support.images import jpeg, photo
from visualsearch.storage.vectors.pgvector import PgVectorStore


async def test_index_search_filter_delete_on_pgvector(
    make_settings: SettingsFactory, pgvector_url: str
) -> None:
    settings = make_settings(
        vector_store="pgvector",
        pgvector_url=pgvector_url,
        qdrant_path=None,
        vector_collection=f"api{uuid.uuid4().hex[:8]}",
    )
    api, lifespan = await start_api(settings)
    try:
        assert isinstance(api.context.vectors, PgVectorStore)
        cat = jpeg(photo("chelsea.png"))
        await index(api, "cat", cat, category="pets")
        await index(api, "coffee", jpeg(photo("coffee.png")), category="kitchen")
        await index(api, "cat", cat, category="pets")  # re-index: an upsert
        assert await api.context.vectors.count() == 2
        body = await search(api, cat)
        assert body["results"][0]["product_id"] == "cat" and body["results"][0]["score"] > 0.99
        only_kitchen = await search(api, cat, category="kitchen")
        assert [r["product_id"] for r in only_kitchen["results"]] == ["coffee"]
        assert (await api.client.delete("/index/cat", headers=api.headers)).status_code == 204
        assert [r["product_id"] for r in (await search(api, cat))["results"]] == ["coffee"]
        assert (await api.client.get("/ready")).json()["checks"]["vectors"] == "ok"
    finally:
        await api.context.vectors.drop_collection()
        await api.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]
