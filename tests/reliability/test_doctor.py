"""``visualsearch doctor`` as an operator runs it: finds each kind of drift, ``--repair`` fixes it.

The stores are real (PostgreSQL, embedded Qdrant on disk, S3 over HTTP, Redis); the drift is
made the way it happens in life (a vector deleted by hand, a write that died half-way, an upload
whose row never committed), then the CLI runs in its own process.
"""

from __future__ import annotations

import asyncio

import numpy as np

from tests.api.helpers import index
from tests.conftest import SettingsFactory, start_api
from tests.reliability.helpers import run_cli
from tests.support.images import jpeg
from visualsearch.config import Settings
from visualsearch.embedding.colour import BINS
from visualsearch.factory import Context
from visualsearch.storage.vectors.base import VectorItem

ORPHAN_KEY = "products/never-committed/0123456789abcdef0123456789abcdef.jpg"


async def index_products(settings: Settings, ids: list[str]) -> None:
    api, lifespan = await start_api(settings)
    try:
        for seed, pid in enumerate(ids, start=900):
            await index(api, pid, jpeg(seed=seed))
    finally:
        await api.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]


async def wait_for_vectors(settings: Settings, expected: int, timeout: float = 60) -> None:
    api, lifespan = await start_api(settings)  # its worker embeds what doctor requeued
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while await api.context.vectors.count() < expected or await api.context.queue.pending():
            assert asyncio.get_running_loop().time() < deadline, "requeued rows were not embedded"
            await asyncio.sleep(0.2)
    finally:
        await api.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]


async def test_doctor_finds_and_repairs_each_kind_of_drift(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    await index_products(settings, ["d-1", "d-2", "d-3"])
    # doctor without a grace period, so the orphan made below counts at once (the API above
    # keeps the default: its start-up sweep runs while the products are being written)
    settings = settings.model_copy(update={"orphan_grace_seconds": 0})
    clean = run_cli(settings, "doctor")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "Everything agrees." in clean.stdout

    context = await Context.create(settings, with_model=False)
    try:
        await context.vectors.delete(["d-1"])  # a row without a vector
        dim = 1280 + BINS  # EfficientNet-Lite0's features and their colours
        ghost = np.ones(dim, dtype=np.float32) / np.sqrt(dim)
        await context.vectors.upsert([VectorItem("ghost", ghost, "x", image_sha256="0")])
        await context.objects.put(ORPHAN_KEY, jpeg(seed=999), "image/jpeg")  # an orphan object
    finally:
        await context.aclose()

    found = run_cli(settings, "doctor")
    assert found.returncode == 1, found.stdout + found.stderr
    lines = found.stdout
    assert "rows without vector: 1 (e.g. d-1)" in lines
    assert "vectors without row: 1 (e.g. ghost)" in lines
    assert f"orphan objects: 1 (e.g. {ORPHAN_KEY})" in lines
    assert "Run with --repair" in lines

    repaired = run_cli(settings, "doctor", "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    context = await Context.create(settings, with_model=False)
    try:
        assert "ghost" not in await context.vectors.all_ids()
        assert not await context.objects.exists(ORPHAN_KEY)
        assert await context.queue.pending() == 1  # d-1 is queued for the worker
        assert await context.catalog.count() == 3  # nothing the shop made was removed
    finally:
        await context.aclose()

    await wait_for_vectors(settings, expected=3)
    after = run_cli(settings, "doctor")
    assert after.returncode == 0, after.stdout + after.stderr
    assert "Everything agrees." in after.stdout


async def test_doctor_reports_rows_whose_image_is_gone(make_settings: SettingsFactory) -> None:
    """A row whose image vanished cannot be repaired by the service: it is named for re-upload."""
    settings = make_settings()
    await index_products(settings, ["img-1", "img-2"])
    context = await Context.create(settings, with_model=False)
    try:
        record = await context.catalog.get("img-2")
        assert record is not None
        await context.objects.delete(record.image_key)
    finally:
        await context.aclose()
    found = run_cli(settings, "doctor")
    assert found.returncode == 1
    assert "rows without image: 1 (e.g. img-2)" in found.stdout
    repaired = run_cli(settings, "doctor", "--repair")
    assert repaired.returncode == 1, repaired.stdout  # the drift that remains is not hidden
    assert "need a re-upload (POST /index): img-2" in repaired.stdout
    context = await Context.create(settings, with_model=False)
    try:  # the row stays: deleting the shop's product is not the doctor's call
        assert await context.catalog.get("img-2") is not None
        assert await context.queue.pending() == 0  # and no job that can only fail
    finally:
        await context.aclose()


async def test_payloads_that_disagree_are_repaired_and_old_ones_backfilled_at_start(
    make_settings: SettingsFactory,
) -> None:
    """A payload edited behind the catalogue's back is reported and rewritten by --repair; a
    payload from before brand/price/stock (an older collection) is backfilled at start-up."""
    from qdrant_client import models

    from visualsearch.storage.vectors.base import VectorPayload
    from visualsearch.storage.vectors.qdrant import QdrantVectorStore, point_id

    settings = make_settings()
    await index_products(settings, ["s-1", "s-2", "s-3"])
    context = await Context.create(settings, with_model=False)
    try:
        await context.vectors.set_payload("s-2", VectorPayload("elsewhere", "Other", 0.0, 0))
    finally:
        await context.aclose()
    found = run_cli(settings, "doctor")
    assert found.returncode == 1 and "stale payloads: 1 (e.g. s-2)" in found.stdout
    repaired = run_cli(settings, "doctor", "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "Everything agrees." in run_cli(settings, "doctor").stdout

    context = await Context.create(settings, with_model=False)
    try:  # what a collection written by an earlier version holds: category and hash only
        store = context.vectors
        assert isinstance(store, QdrantVectorStore)
        record = await context.catalog.get("s-3")
        assert record is not None
        await store._client.overwrite_payload(
            store.collection,
            payload={
                "product_id": "s-3",
                "category": record.category,
                "image_sha256": record.image_sha256,
            },
            points=models.PointIdsList(points=[point_id("s-3")]),
        )
        assert (await store.payloads())["s-3"] is None
    finally:
        await context.aclose()
    api, lifespan = await start_api(settings)  # the worker's start-up sweep backfills
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while (await api.context.vectors.payloads())["s-3"] is None:
            assert asyncio.get_running_loop().time() < deadline, "payload not backfilled"
            await asyncio.sleep(0.2)
        found = await api.client.post(
            "/search?brand=Acme&in_stock=true&top_k=5",
            files={"file": ("q.jpg", jpeg(seed=902), "image/jpeg")},
        )
        assert found.json()["results"][0]["product_id"] == "s-3"
    finally:
        await api.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]


async def test_text_vectors_missing_or_orphaned_are_found_repaired_and_rebuilt(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings()
    await index_products(settings, ["t-1", "t-2"])
    context = await Context.create(settings, with_model=False, with_text=True)
    try:
        text = context.text_vector_writer()
        assert text is not None and set(await text.vectors.all_ids()) == {"t-1", "t-2"}
        await text.delete(["t-1"])  # a row without a text vector
        ghost = np.ones(text.encoder.dim, dtype=np.float32) / np.sqrt(text.encoder.dim)
        await text.vectors.upsert([VectorItem("ghost", ghost, "x", image_sha256="0")])
    finally:
        await context.aclose()

    found = run_cli(settings, "doctor")
    assert found.returncode == 1, found.stdout + found.stderr
    assert "rows without text vector: 1 (e.g. t-1)" in found.stdout
    assert "text vectors without row: 1 (e.g. ghost)" in found.stdout
    repaired = run_cli(settings, "doctor", "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "Everything agrees." in run_cli(settings, "doctor").stdout

    context = await Context.create(settings, with_model=False, with_text=True)
    try:  # what `visualsearch reindex` runs after the image vectors switch
        text = context.text_vector_writer()
        assert text is not None
        await text.delete(["t-2"])
        await text.vectors.upsert([VectorItem("ghost", ghost, "x", image_sha256="0")])
        assert await text.rebuild(context.catalog) == 2
        assert set(await text.vectors.all_ids()) == {"t-1", "t-2"}
    finally:
        await context.aclose()
