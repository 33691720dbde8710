"""A query image's views (``embedding.views``): the grid's geometry, the local embedding service
embedding the whole image and its windows in one forward pass, and the search service searching
them as ``VISUALSEARCH_QUERY_VIEWS`` says, on a real vector store and catalogue."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.retrieval.demo import catalog, demo_records
from tests.support.images import jpeg, photo
from visualsearch.config import Settings
from visualsearch.embedding.base import ModelInfo
from visualsearch.embedding.batcher import MicroBatcher
from visualsearch.embedding.efficientnet import EfficientNetLiteEmbedder
from visualsearch.embedding.service import EmbeddingService, LocalEmbeddingService
from visualsearch.embedding.views import QueryViews, decode_side, grid_boxes, grid_windows
from visualsearch.imaging import Crop, ImageLimits, decode_image
from visualsearch.services.search import SearchService
from visualsearch.storage.cache.memory import MemoryResultCache
from visualsearch.storage.catalog import CatalogStore
from visualsearch.storage.vectors.base import VectorItem, VectorPayload
from visualsearch.storage.vectors.qdrant_edge import QdrantEdgeVectorStore

__all__ = ["catalog"]  # the demo catalogue fixture (tests/retrieval/demo.py)

LIMITS = ImageLimits(max_bytes=10 * 1024 * 1024, max_pixels=40_000_000)


def test_the_grid_is_nine_overlapping_windows_from_edge_to_edge() -> None:
    boxes = grid_boxes(640, 480)
    assert len(boxes) == 9
    assert {(r - left, b - t) for left, t, r, b in boxes} == {(384, 288)}  # 60 % of each side
    assert boxes[0][:2] == (0, 0) and boxes[-1][2:] == (640, 480)  # corner to corner
    assert boxes[4] == (128, 96, 512, 384)  # the middle window is centred
    lefts = sorted({box[0] for box in boxes})
    assert lefts == [0, 128, 256]  # steps of 128 px under windows 384 px wide: they overlap


async def test_grid_views_are_the_whole_image_and_its_windows_in_one_pass() -> None:
    model = EfficientNetLiteEmbedder("cpu")
    model.load()
    passes: list[int] = []

    def counting(batch: np.ndarray) -> np.ndarray:
        passes.append(len(batch))
        return model.embed_images(batch)

    service = LocalEmbeddingService(model, LIMITS)
    service._batcher = MicroBatcher(counting)
    data = jpeg(photo("coffee.png"))
    try:
        whole = await service.embed_image(data)
        passes.clear()
        views = await service.embed_image_views(data, views="grid")
        assert passes == [10]  # the whole image and nine windows share one forward pass
        only = await service.embed_image_views(data, views="whole")
        passes.clear()
        fine = await service.embed_image_views(data, views="fine")
        assert sum(passes) == 26 and len(passes) < 26  # whole, 3x3 and 4x4, batched
    finally:
        await service.close()
    assert views.shape == (10, 1280) and only.shape == (1, 1280)
    assert np.allclose(views[0], whole, atol=1e-5) and np.allclose(only[0], whole, atol=1e-5)
    image = decode_image(data, LIMITS, decode_side(model.input_size, "grid"))
    for row, window in zip(views[1:], grid_windows(image), strict=True):
        want = model.embed_images(model.preprocess(window)[None])[0]
        assert np.allclose(row, want, atol=1e-4)  # each window embedded as an image of its own
    assert float(views[1] @ views[9]) < 0.99  # opposite corners are different pictures
    assert fine.shape == (26, 1280) and np.allclose(fine[0], whole, atol=1e-5)
    image = decode_image(data, LIMITS, decode_side(model.input_size, "fine"))
    last = grid_windows(image, "fine")[-1]  # the 4x4 grid's bottom-right window
    assert last.size == (round(image.width * 0.45), round(image.height * 0.45))
    want = model.embed_images(model.preprocess(last)[None])[0]
    assert np.allclose(fine[-1], want, atol=1e-4)


DIM = 8


def unit(index: int) -> np.ndarray:
    vector = np.zeros(DIM, dtype=np.float32)
    vector[index] = 1.0
    return vector


class TwoViews(EmbeddingService):
    """A query whose whole picture looks like product A and one of whose windows is product B."""

    def __init__(self) -> None:
        self.info = ModelInfo("fake", DIM, False)
        self.asked: list[str] = []

    async def embed_image(self, data: bytes, crop: Crop | None = None) -> np.ndarray:
        self.asked.append("whole")
        return (0.8 * unit(0) + 0.6 * unit(2)).astype(np.float32)  # A: 0.8, B: 0

    async def embed_image_views(
        self, data: bytes, crop: Crop | None = None, views: QueryViews = "whole"
    ) -> np.ndarray:
        if views == "whole":
            return await super().embed_image_views(data, crop, views)
        self.asked.append(views)
        window = 0.95 * unit(1) + np.sqrt(1 - 0.95**2) * unit(3)  # B: 0.95
        return np.stack([await self.embed_image(data), window, unit(4)]).astype(np.float32)

    async def embed_text(self, text: str) -> np.ndarray:
        raise AssertionError("no text here")


async def test_the_setting_decides_whether_the_windows_are_searched(
    catalog: CatalogStore, tmp_path: Path
) -> None:
    a, b = (r.product_id for r in demo_records()[:2])
    vectors = QdrantEdgeVectorStore("views", tmp_path / "edge")
    await vectors.open()
    await vectors.ensure_collection(DIM)
    payload = VectorPayload("c")
    await vectors.upsert(
        [VectorItem(pid, unit(i), payload.category) for i, pid in enumerate((a, b))]
    )
    embedding, cache = TwoViews(), MemoryResultCache()
    try:
        answers = {}
        for views in ("whole", "grid"):
            service = SearchService(
                embedding, vectors, catalog, cache, 60, query_views=views, retrievers=None
            )
            answers[views] = await service.search(image=b"q", mode="visual", top_k=2)
            facets = await service.search(image=b"q", mode="visual", facets=["category"])
            assert facets.facets is not None
        assert [r.product_id for r in answers["whole"].results] == [a, b]
        assert [r.product_id for r in answers["grid"].results] == [b, a]  # the window finds B
        assert answers["grid"].results[0].score == pytest.approx(0.95, abs=1e-3)
        assert answers["grid"].results[1].score == pytest.approx(0.8, abs=1e-3)  # the whole
        assert embedding.asked.count("grid") == 2  # neither answer came from the other's cache
    finally:
        await vectors.drop_collection()
        await vectors.close()


def test_the_default_is_the_grid_and_the_environment_sets_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().query_views == "grid"
    monkeypatch.setenv("VISUALSEARCH_QUERY_VIEWS", "whole")
    assert Settings().query_views == "whole"
