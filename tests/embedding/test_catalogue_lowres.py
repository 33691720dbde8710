"""VISUALSEARCH_CATALOGUE_LOWRES (``embedding.catalogue``): a catalogue image is indexed with the
normalised mean of its vector and its low-resolution copy's; queries are embedded as before.
On the real model, and through the API onto a real vector store."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from tests.api.helpers import index, search
from tests.conftest import SettingsFactory, start_api
from tests.support.images import jpeg, photo
from visualsearch.embedding.catalogue import SHOWN_SIDE, low_resolution
from visualsearch.embedding.efficientnet import EfficientNetLiteEmbedder
from visualsearch.embedding.service import LocalEmbeddingService
from visualsearch.imaging import ImageLimits

LIMITS = ImageLimits(max_bytes=10 * 1024 * 1024, max_pixels=40_000_000)


def _sharpness(image: Image.Image) -> float:
    """Mean absolute difference of neighbouring pixels: detail the thumbnail loses."""
    grey = np.asarray(image.convert("L"), dtype=np.float32)
    return float(np.abs(np.diff(grey, axis=1)).mean())


def test_the_copy_is_a_small_thumbnail_shown_at_about_the_original_size() -> None:
    original = photo("coffee.png").resize((400, 300))
    copy = Image.open(io.BytesIO(low_resolution(jpeg(original), 48, LIMITS)))
    assert copy.format == "JPEG" and copy.mode == "RGB"
    assert copy.size == original.size  # under SHOWN_SIDE: its own size
    assert _sharpness(copy) < 0.5 * _sharpness(original)
    wide = photo("coffee.png").resize((1200, 600))
    shown = Image.open(io.BytesIO(low_resolution(jpeg(wide), 48, LIMITS)))
    assert shown.size == (SHOWN_SIDE, SHOWN_SIDE // 2)  # larger ones: capped, aspect kept


async def test_a_catalogue_vector_blends_the_image_and_its_copy_and_queries_are_untouched() -> None:
    model = EfficientNetLiteEmbedder("cpu")
    model.load()
    service = LocalEmbeddingService(model, LIMITS)
    data = jpeg(photo("chelsea.png"))
    try:
        plain = await service.embed_image(data)
        assert np.array_equal(await service.embed_catalogue_image(data), plain)  # 0: off
        service.catalogue_lowres = 64
        copy = await service.embed_image(low_resolution(data, 64, LIMITS))
        blended = await service.embed_catalogue_image(data)
        expected = (plain + copy) / np.linalg.norm(plain + copy)
        assert blended.dtype == np.float32 and abs(float(np.linalg.norm(blended)) - 1) < 1e-5
        assert np.allclose(blended, expected, atol=1e-5)
        assert float(plain @ copy) < 0.99  # the copy is another picture to the model
        assert np.array_equal(await service.embed_image(data), plain)  # a query: as before
    finally:
        await service.close()


async def test_indexing_stores_the_blend_and_the_product_is_still_found(
    make_settings: SettingsFactory,
) -> None:
    api, lifespan = await start_api(make_settings(catalogue_lowres=64))
    try:
        cat, rocket = jpeg(photo("chelsea.png")), jpeg(photo("rocket.jpg"))
        await index(api, "cat", cat)
        await index(api, "rocket", rocket)
        embedding = api.context.embedding
        assert embedding.catalogue_lowres == 64  # the setting reached the service
        stored = await api.context.vectors.vector_of("cat")
        assert np.allclose(stored, await embedding.embed_catalogue_image(cat), atol=1e-5)
        assert not np.allclose(stored, await embedding.embed_image(cat), atol=1e-3)
        body = await search(api, cat)
        assert body["results"][0]["product_id"] == "cat"
        small = jpeg(photo("chelsea.png").resize((40, 40)).resize((300, 300)))
        assert (await search(api, small))["results"][0]["product_id"] == "cat"
    finally:
        await api.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]
