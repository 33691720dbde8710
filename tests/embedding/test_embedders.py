"""The embedders: CLIP through the real loading code on a tiny saved model, EfficientNet-Lite0
with its real shipped weights on real photographs, model selection and micro-batching."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.support.images import jpeg, photo
from tests.support.tiny_clip import build_tiny_clip
from visualsearch.embedding import loader
from visualsearch.embedding.batcher import MicroBatcher
from visualsearch.embedding.clip import ClipEmbedder
from visualsearch.embedding.efficientnet import EfficientNetLiteEmbedder
from visualsearch.embedding.service import LocalEmbeddingService
from visualsearch.exceptions import ModelLoadError, TextSearchUnavailableError
from visualsearch.imaging import ImageLimits

LIMITS = ImageLimits(max_bytes=10 * 1024 * 1024, max_pixels=40_000_000)


@pytest.fixture(scope="module")
def tiny_clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_clip(tmp_path_factory.mktemp("tiny-clip"))


@pytest.fixture(scope="module")
def efficientnet() -> EfficientNetLiteEmbedder:
    embedder = EfficientNetLiteEmbedder("cpu")
    embedder.load()
    return embedder


def embed(embedder, image: Image.Image) -> np.ndarray:  # type: ignore[no-untyped-def]
    return embedder.embed_images(np.stack([embedder.preprocess(image)]))[0]


def test_clip_loads_from_a_local_directory_with_both_towers(tiny_clip_dir: Path) -> None:
    clip = ClipEmbedder(str(tiny_clip_dir), device="cpu")
    info = clip.info
    assert info.dim == 24 and info.text_search and info.name == str(tiny_clip_dir)
    assert clip.input_size == 32
    cat, coffee = photo("chelsea.png"), photo("coffee.png")
    a, b = embed(clip, cat), embed(clip, cat)
    assert a.dtype == np.float32 and a.shape == (24,)
    assert np.allclose(np.linalg.norm(a), 1.0, atol=1e-5)
    assert np.allclose(a, b, atol=1e-6)
    assert not np.allclose(a, embed(clip, coffee), atol=1e-3)
    texts = clip.embed_texts(["red running shoes", "a blue bag"])
    assert texts.shape == (2, 24)
    assert np.allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)
    assert np.allclose(clip.embed_texts(["red running shoes"])[0], texts[0], atol=1e-5)
    assert not np.allclose(texts[0], texts[1], atol=1e-3)


def test_explicit_model_that_cannot_load_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="could not be loaded"):
        loader.load_embedder(str(tmp_path / "no-such-model"), "cpu")


def test_auto_falls_back_to_efficientnet_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # no hub here: CLIP cannot be fetched
    monkeypatch.setattr(loader, "DEFAULT_CLIP", str(tmp_path / "absent-clip"))
    embedder, warning = loader.load_embedder("auto", "cpu")
    assert embedder.info.name == "efficientnet-lite0" and embedder.info.dim == 1280
    assert warning is not None and "text-to-image search" in warning
    assert "EfficientNet-Lite0" in caplog.text


def test_auto_prefers_clip_when_it_loads(
    monkeypatch: pytest.MonkeyPatch, tiny_clip_dir: Path
) -> None:
    monkeypatch.setattr(loader, "DEFAULT_CLIP", str(tiny_clip_dir))
    embedder, warning = loader.load_embedder("auto", "cpu")
    assert embedder.info.text_search and warning is None


def test_efficientnet_ranks_similar_real_photos_above_dissimilar(
    efficientnet: EfficientNetLiteEmbedder,
) -> None:
    assert efficientnet.info.dim == 1280 and not efficientnet.info.text_search
    left, right = photo("motorcycle_left.png"), photo("motorcycle_right.png")
    cat = photo("chelsea.png")
    cat_crop = cat.crop((40, 20, cat.width - 30, cat.height - 10)).transpose(
        Image.Transpose.FLIP_LEFT_RIGHT
    )
    others = [
        photo(n)
        for n in (
            "coffee.png",
            "astronaut.png",
            "rocket.jpg",
            "hubble_deep_field.jpg",
            "retina.jpg",
            "horse.png",
        )
    ]
    vectors = {
        name: embed(efficientnet, img)
        for name, img in [("left", left), ("right", right), ("cat", cat), ("cat_crop", cat_crop)]
    }
    other_vectors = [embed(efficientnet, o) for o in others]
    for a, b in (("left", "right"), ("cat", "cat_crop")):
        same = float(vectors[a] @ vectors[b])
        assert all(same > float(vectors[a] @ o) for o in other_vectors), a
        assert same > float(vectors[a] @ vectors["cat" if a == "left" else "left"])
    with pytest.raises(TextSearchUnavailableError):
        efficientnet.embed_texts(["shoes"])


@pytest.mark.parametrize(
    ("variant", "size"), [("efficientnet-lite1", 240), ("efficientnet-lite2", 260)]
)
def test_the_larger_efficientnets_load_from_their_packages_and_rank_alike(
    efficientnet: EfficientNetLiteEmbedder, variant: str, size: int
) -> None:
    """Lite1 and Lite2 are models of their own (their own weights, input size and name), and
    rank a real photo's other view above unrelated photos as Lite0 does."""
    larger = EfficientNetLiteEmbedder("cpu", variant)
    assert (larger.info.name, larger.info.dim, larger.input_size) == (variant, 1280, size)
    assert larger.preprocess(photo("chelsea.png")).shape == (3, size, size)
    left, right = (
        embed(larger, photo("motorcycle_left.png")),
        embed(larger, photo("motorcycle_right.png")),
    )
    others = [embed(larger, photo(n)) for n in ("coffee.png", "astronaut.png", "chelsea.png")]
    assert all(float(left @ right) > float(left @ o) for o in others)
    assert not np.allclose(
        left[:8], embed(efficientnet, photo("motorcycle_left.png"))[:8], atol=1e-3
    )
    with pytest.raises(ModelLoadError, match="none of"):
        EfficientNetLiteEmbedder("cpu", "efficientnet-lite9")


async def test_concurrent_requests_share_forward_passes(
    efficientnet: EfficientNetLiteEmbedder,
) -> None:
    calls: list[int] = []

    def counting(batch: np.ndarray) -> np.ndarray:
        calls.append(len(batch))
        return efficientnet.embed_images(batch)

    service = LocalEmbeddingService(efficientnet, LIMITS, max_batch=8, max_wait=0.05)
    service._batcher = MicroBatcher(counting, max_size=8, max_wait=0.05)
    images = [jpeg(seed=i) for i in range(8)]
    try:
        batched = await asyncio.gather(*(service.embed_image(d) for d in images))
        single = [await service.embed_image(d) for d in images[:2]]
    finally:
        await service.close()
    assert sum(calls[:-2]) == 8 and len(calls) - 2 < 8, calls  # 8 requests, fewer passes
    for got, want in zip(single, batched[:2], strict=True):
        assert np.allclose(got, want, atol=1e-4)  # batching does not change the result


async def test_batcher_propagates_errors_to_every_waiter() -> None:
    def broken(batch: np.ndarray) -> np.ndarray:
        raise RuntimeError("boom")

    batcher = MicroBatcher(broken, max_size=4, max_wait=0.01)
    results = await asyncio.gather(
        *(batcher.submit(np.zeros(3)) for _ in range(3)), return_exceptions=True
    )
    await batcher.close()
    assert all(isinstance(r, RuntimeError) for r in results)
