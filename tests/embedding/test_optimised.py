"""The optimised embedding backends (ONNX Runtime fp32 / int8) agree with the exact fp32 model.

Agreement, not speed: EfficientNet-Lite0 with its real weights on real photographs and on the
demo catalogue (retrieval neighbours), a tiny CLIP through the real loader for int8 and text,
the accuracy gate that chooses the default, and the export cache.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.support.images import jpeg, photo
from tests.support.tiny_clip import build_tiny_clip
from visualsearch.config import Settings
from visualsearch.embedding import optimised
from visualsearch.embedding.clip import ClipEmbedder
from visualsearch.embedding.colour import ColourEmbedder
from visualsearch.embedding.efficientnet import EfficientNetLiteEmbedder
from visualsearch.embedding.loader import load_embedder
from visualsearch.embedding.optimised import OnnxEmbedder, cosine_rows, optimise
from visualsearch.embedding.service import LocalEmbeddingService
from visualsearch.exceptions import ModelLoadError
from visualsearch.factory import create_embedding
from visualsearch.imaging import ImageLimits, to_rgb

PHOTOS = (
    "chelsea.png",
    "coffee.png",
    "astronaut.png",
    "rocket.jpg",
    "horse.png",
    "motorcycle_left.png",
    "hubble_deep_field.jpg",
    "retina.jpg",
)
DEMO = Path(optimised.__file__).resolve().parents[1] / "demo" / "images"


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def exact() -> EfficientNetLiteEmbedder:
    embedder = EfficientNetLiteEmbedder("cpu")
    embedder.load()
    return embedder


@pytest.fixture(scope="module")
def onnx_fp32(exact: EfficientNetLiteEmbedder, onnx_cache: Path) -> OnnxEmbedder:
    fast = optimise(exact, "onnx", onnx_cache)
    assert isinstance(fast, OnnxEmbedder)
    return fast


@pytest.fixture(scope="module")
def tiny_clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_clip(tmp_path_factory.mktemp("tiny-clip"))


def batch_of(embedder: EfficientNetLiteEmbedder, images: list[Image.Image]) -> np.ndarray:
    return np.stack([embedder.preprocess(img) for img in images])


def test_onnx_fp32_matches_the_exact_model_on_real_photos(
    exact: EfficientNetLiteEmbedder, onnx_fp32: OnnxEmbedder
) -> None:
    batch = batch_of(exact, [photo(name) for name in PHOTOS])
    want, got = exact.embed_images(batch), onnx_fp32.embed_images(batch)
    assert got.shape == (len(PHOTOS), 1280) and got.dtype == np.float32
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert cosine_rows(want, got).min() >= 0.9999
    # one image at a time (the search path) gives the batch's vectors
    single = np.stack([onnx_fp32.embed_images(batch[i : i + 1])[0] for i in range(3)])
    assert cosine_rows(single, got[:3]).min() >= 0.9999
    assert onnx_fp32.info == exact.info and onnx_fp32.input_size == exact.input_size


def test_onnx_fp32_keeps_the_demo_catalogue_neighbours(
    exact: EfficientNetLiteEmbedder, onnx_fp32: OnnxEmbedder
) -> None:
    files = sorted(DEMO.glob("demo-????.jpg"))[::3]  # 72 main images, 24 categories
    assert len(files) >= 60
    images = []
    for file in files:
        with Image.open(file) as img:
            images.append(to_rgb(img))
            images[-1].load()
    batch = batch_of(exact, images)
    want, got = exact.embed_images(batch), onnx_fp32.embed_images(batch)
    assert cosine_rows(want, got).min() >= 0.99

    def neighbours(vectors: np.ndarray) -> np.ndarray:
        sims = vectors @ vectors.T
        np.fill_diagonal(sims, -2.0)
        return np.argsort(-sims, axis=1)[:, :12]

    a, b = neighbours(want), neighbours(got)
    recall = np.mean([len(set(a[i]) & set(b[i])) / 12 for i in range(len(a))])
    assert recall >= 0.99, recall


async def test_the_service_embeds_uploads_the_same_on_both_backends(
    exact: EfficientNetLiteEmbedder, onnx_fp32: OnnxEmbedder
) -> None:
    limits = ImageLimits(max_bytes=10 * 1024 * 1024, max_pixels=40_000_000)
    uploads = [jpeg(photo("chelsea.png")), jpeg(photo("coffee.png"))]
    vectors = []
    for embedder in (exact, onnx_fp32):
        service = LocalEmbeddingService(embedder, limits)
        try:
            vectors.append(np.stack([await service.embed_image(d) for d in uploads]))
        finally:
            await service.close()
    assert cosine_rows(vectors[0], vectors[1]).min() >= 0.9999
    assert float(vectors[1][0] @ vectors[1][1]) < 0.9  # different photos stay apart


def test_auto_picks_onnx_for_efficientnet_which_has_no_linear_layers(
    exact: EfficientNetLiteEmbedder, onnx_cache: Path
) -> None:
    chosen = optimise(exact, "auto", onnx_cache)
    assert isinstance(chosen, OnnxEmbedder) and chosen.backend == "onnx"


def test_exported_models_are_cached_and_keyed_by_the_weights(
    exact: EfficientNetLiteEmbedder, onnx_fp32: OnnxEmbedder, onnx_cache: Path
) -> None:
    path = onnx_fp32.model_path
    assert path is not None and path.parent == onnx_cache
    stamp = path.stat().st_mtime_ns
    again = optimise(exact, "onnx", onnx_cache)
    assert isinstance(again, OnnxEmbedder) and again.model_path == path
    assert path.stat().st_mtime_ns == stamp  # reused, not re-exported
    other = EfficientNetLiteEmbedder("cpu")
    other.load()
    assert other._model is not None
    with torch.no_grad():
        next(other._model.parameters()).mul_(1.5)  # different weights...
    changed = optimise(other, "onnx", onnx_cache)
    assert isinstance(changed, OnnxEmbedder) and changed.model_path != path  # ...another export


def test_int8_clip_agrees_with_fp32_and_text_is_untouched(
    tiny_clip_dir: Path, onnx_cache: Path
) -> None:
    exact, _ = load_embedder(str(tiny_clip_dir), "cpu", backend="torch")
    int8, _ = load_embedder(str(tiny_clip_dir), "cpu", onnx_cache, backend="int8")
    assert isinstance(int8, OnnxEmbedder) and int8.backend == "int8"
    assert int8.model_path is not None and "-int8" in int8.model_path.name
    _, quantised = int8.int8_path()
    assert quantised > 0  # Linear layers really are int8
    assert isinstance(exact, ClipEmbedder)
    batch = np.stack([exact.preprocess(photo(name)) for name in PHOTOS])
    assert cosine_rows(exact.embed_images(batch), int8.embed_images(batch)).min() >= 0.99
    texts = ["red running shoes", "a blue bag"]
    assert np.allclose(exact.embed_texts(texts), int8.embed_texts(texts), atol=1e-6)


def test_the_gate_refuses_int8_that_disagrees(
    tiny_clip_dir: Path, onnx_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    passes, _ = load_embedder(str(tiny_clip_dir), "cpu", onnx_cache, backend="auto")
    assert isinstance(passes, OnnxEmbedder) and passes.backend == "int8"
    monkeypatch.setattr(optimised, "GATE_COSINE", 1.0000001)  # no int8 path can agree this well
    refused, _ = load_embedder(str(tiny_clip_dir), "cpu", onnx_cache, backend="auto")
    assert isinstance(refused, OnnxEmbedder) and refused.backend == "onnx"


async def test_backend_from_the_settings_and_unknown_names(
    tiny_clip_dir: Path, onnx_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # VISUALSEARCH_EMBED_BACKEND is a setting: the factory hands it to the loader.
    monkeypatch.setenv("VISUALSEARCH_EMBED_BACKEND", "torch")
    settings = Settings(model=str(tiny_clip_dir), device="cpu", model_cache_dir=onnx_cache)
    embedding = await create_embedding(settings)
    try:
        assert isinstance(embedding, LocalEmbeddingService)
        # the colours join the model's features (VISUALSEARCH_COLOUR_WEIGHT's default)
        assert isinstance(embedding.embedder, ColourEmbedder)
        assert isinstance(embedding.embedder.inner, ClipEmbedder)
    finally:
        await embedding.close()
    with pytest.raises(ModelLoadError, match="Unknown embedding backend"):
        load_embedder(str(tiny_clip_dir), "cpu", onnx_cache, backend="tensorrt")


def test_an_unwritable_cache_falls_back_to_a_temp_dir(
    exact: EfficientNetLiteEmbedder, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")  # mkdir under a file fails, even for root
    fast = optimise(exact, "onnx", blocker / "onnx")
    assert isinstance(fast, OnnxEmbedder) and fast.model_path is not None
    assert fast.model_path.parent == Path(tempfile.gettempdir()) / "visualsearch-onnx"
    batch = batch_of(exact, [photo("coffee.png")])
    assert cosine_rows(exact.embed_images(batch), fast.embed_images(batch)).min() >= 0.9999


def test_auto_degrades_to_plain_torch_when_export_fails(
    exact: EfficientNetLiteEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(embedder: object, path: Path) -> None:
        raise RuntimeError("exporter crashed")

    monkeypatch.setattr(optimised, "export_onnx", broken)
    assert optimise(exact, "auto", tmp_path / "empty-cache") is exact
    with pytest.raises(RuntimeError, match="exporter crashed"):
        optimise(exact, "onnx", tmp_path / "empty-cache")  # asked for by name: an error
