"""A collection per model (``VISUALSEARCH_COLLECTION_PER_MODEL``), the operator's model switch:
the new model's vectors are filled beside the live ones by ``visualsearch reindex``, pods of
both models answer side by side each from its own model's vectors, and ``visualsearch
drop-model`` removes the old model's once no pod serves it. On real stores: PostgreSQL for the
catalogue, pgvector for the vectors (several processes share it, as pods share a server),
Redis for the answer cache, S3 for the images, real embedding service processes.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.api.helpers import index, search
from tests.api.test_jobs import worker_env
from tests.api.test_remote_embedder_and_reindex import embedder_process
from tests.conftest import SettingsFactory, start_api
from tests.support.images import jpeg, photo
from visualsearch.config import Settings
from visualsearch.embedding.colour import BINS
from visualsearch.embedding.service import RemoteEmbeddingService
from visualsearch.exceptions import ModelMismatchError, StoreUnavailableError
from visualsearch.factory import Context
from visualsearch.storage.vectors.base import COLLECTION_NAME_LIMIT, model_collection
from visualsearch.storage.vectors.pgvector import PgVectorStore

OLD = "efficientnet-lite0+colour0.25"  # the default weight
NEW = "efficientnet-lite0"  # the same network without colours: another model, 1280 dims
PHOTOS = {"cat": "chelsea.png", "coffee": "coffee.png", "rocket": "rocket.jpg"}


def test_a_model_names_its_collection_in_a_form_every_store_takes() -> None:
    assert model_collection("products", OLD) == "products_efficientnet_lite0_colour0_25"
    assert model_collection("products", NEW) == "products_efficientnet_lite0"
    hub = "openai/clip-vit-base-patch32+colour0.25"
    long = model_collection("products", hub)
    assert len(long) <= COLLECTION_NAME_LIMIT and long.startswith("products_openai_clip")
    # a digest keeps two long names apart where their first characters agree
    assert long != model_collection("products", hub.replace("0.25", "0.3"))
    for name in (long, model_collection("shop", OLD)):
        PgVectorStore(name, "postgresql://unused")  # the strictest store accepts it


def test_a_collection_per_model_needs_a_named_model() -> None:
    with pytest.raises(ValidationError, match="VISUALSEARCH_MODEL to one"):
        Settings(collection_per_model=True, model="auto")


def _env(settings: Settings, **more: str) -> dict[str, str]:
    env = worker_env(settings)
    env.update(
        {
            "VISUALSEARCH_VECTOR_STORE": "pgvector",
            "VISUALSEARCH_PGVECTOR_URL": str(settings.pgvector_url),
            "VISUALSEARCH_VECTOR_COLLECTION": settings.vector_collection,
            "VISUALSEARCH_COLLECTION_PER_MODEL": "true",
            "VISUALSEARCH_REDIS_URL": str(settings.redis_url),
        }
    )
    env.update({f"VISUALSEARCH_{k}": v for k, v in more.items()})
    return env


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "visualsearch", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


async def _count(url: str, collection: str) -> int:
    store = PgVectorStore(collection, url)
    await store.open()
    try:
        return await store.count()
    finally:
        await store.close()


async def test_a_model_switch_fills_the_new_collection_beside_the_live_one(
    make_settings: SettingsFactory, pgvector_url: str
) -> None:
    base = f"m{uuid.uuid4().hex[:8]}"
    old = make_settings(
        vector_store="pgvector",
        pgvector_url=pgvector_url,
        vector_collection=base,
        collection_per_model=True,
    )
    new = old.model_copy(update={"colour_weight": 0.0})  # same catalogue, cache and images
    old_api, old_life = await start_api(old)
    new_api = new_life = None
    try:
        assert old_api.context.vectors.collection == model_collection(base, OLD)
        for pid, name in PHOTOS.items():
            await index(old_api, pid, jpeg(photo(name)))
        cat = jpeg(photo("chelsea.png"))
        before = await search(old_api, cat)
        assert before["results"][0]["product_id"] == "cat" and before["cache"] is False

        reindexed = _cli(_env(old, COLOUR_WEIGHT="0"), "reindex", "--yes")
        assert reindexed.returncode == 0, reindexed.stderr[-3000:]
        assert "Re-embedded 3 products" in reindexed.stdout
        # the new model's collection is full; the live one is untouched
        assert await _count(pgvector_url, model_collection(base, NEW)) == 3
        assert await _count(pgvector_url, model_collection(base, OLD)) == 3

        # a pod of the old model still answers from its own vectors, scores unchanged
        still = await search(old_api, cat)
        assert [(r["product_id"], r["score"]) for r in still["results"]] == [
            (r["product_id"], r["score"]) for r in before["results"]
        ]
        # ... beside a pod of the new model, on the same catalogue and cache
        new_api, new_life = await start_api(new)
        info = (await new_api.client.get("/info")).json()
        assert info["model"] == NEW and info["dim"] == 1280 and info["vectors"] == 3
        first = await search(new_api, cat)
        assert first["cache"] is False  # never the old model's cached answer
        assert first["results"][0]["product_id"] == "cat"
        # scored by the new model's vectors: the other products' scores differ
        assert [r["score"] for r in first["results"]] != [r["score"] for r in before["results"]]
        for pid, name in PHOTOS.items():
            assert (await search(new_api, jpeg(photo(name))))["results"][0]["product_id"] == pid
    finally:
        await old_api.client.aclose()
        await old_life.__aexit__(None, None, None)  # type: ignore[attr-defined]

    # an old-model pod that restarts while the roll is under way still starts and answers
    again, again_life = await start_api(old)
    try:
        assert (await search(again, cat))["results"][0]["product_id"] == "cat"
    finally:
        await again.client.aclose()
        await again_life.__aexit__(None, None, None)  # type: ignore[attr-defined]

    try:
        # the model now served is refused (its name spelt out, or its base and weight) ...
        for spelt, weight in ((f"{NEW}+colour0", "0.25"), ("efficientnet-lite0", "0")):
            refused = _cli(_env(new, COLOUR_WEIGHT=weight), "drop-model", spelt, "--yes")
            assert refused.returncode != 0 and "last re-indexed with" in refused.stderr
        # ... and so is `auto`, which names no model (it is whichever the index was recorded
        # with): refused by name, before any store is opened
        for spelt in ("auto", "auto+colour0.25"):
            refused = _cli(_env(new), "drop-model", spelt, "--yes")
            assert refused.returncode != 0 and "must name the model" in refused.stderr, spelt
        # ... the old one's vectors go once no pod serves it, named as the operator's Job
        # names it: the model setting, with the colour weight of the pods' settings (0.25)
        gone = _cli(_env(new), "drop-model", "efficientnet-lite0", "--yes")
        assert gone.returncode == 0, gone.stderr[-3000:]
        assert model_collection(base, OLD) in gone.stdout
        with pytest.raises(StoreUnavailableError, match="does not exist"):
            await _count(pgvector_url, model_collection(base, OLD))
        assert await _count(pgvector_url, model_collection(base, NEW)) == 3
        assert (await search(new_api, cat))["results"][0]["product_id"] == "cat"  # type: ignore[arg-type]
    finally:
        if new_api is not None:
            await new_api.client.aclose()
            await new_life.__aexit__(None, None, None)  # type: ignore[union-attr]


async def test_a_pod_never_mixes_its_model_with_the_embedding_services(
    make_settings: SettingsFactory, pgvector_url: str, tmp_path: Path
) -> None:
    """The embedding Service reaching pods of another model (a switch rolling through them):
    a process configured for one model refuses to start on the other's, and a vector answered
    by the other model mid-flight is a 503, never a query of the wrong collection."""
    with embedder_process(tmp_path, COLOUR_WEIGHT="0") as (url, _):
        settings = make_settings(
            vector_store="pgvector",
            pgvector_url=pgvector_url,
            vector_collection=f"m{uuid.uuid4().hex[:8]}",
            collection_per_model=True,
            embedder_url=url,
        )
        with pytest.raises(ModelMismatchError, match=f"runs {NEW}, but .* {re.escape(OLD)}"):
            async with Context.open(settings):
                pass

        service = RemoteEmbeddingService(url)
        await service.start()
        try:
            assert service.info.name == NEW and service.info.dim == 1280
            assert len(await service.embed_image(jpeg(seed=1))) == 1280
            # as a client that started on the old model's pods sees the new model answer
            service.info = dataclasses.replace(service.info, name=OLD, dim=1280 + BINS)
            with pytest.raises(StoreUnavailableError, match=f"answered with {NEW} vectors"):
                await service.embed_image(jpeg(seed=1))
        finally:
            await service.close()
