"""Colour in the image vector (``embedding.colour``): the signature reads the product, not its
background; the joined vector's dot product is the documented blend; the weight is part of the
model's name and survives a restart with ``VISUALSEARCH_MODEL=auto``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tests.conftest import SettingsFactory
from tests.support.tiny_clip import build_tiny_clip
from visualsearch.embedding import loader
from visualsearch.embedding.clip import ClipEmbedder
from visualsearch.embedding.colour import (
    BINS,
    STRIDE,
    ColourEmbedder,
    model_name,
    signatures,
    split_model,
    text_score_scale,
)
from visualsearch.embedding.efficientnet import EfficientNetLiteEmbedder
from visualsearch.factory import Context
from visualsearch.storage.catalog import CatalogStore


def product(colour: tuple[int, int, int], background: tuple[int, int, int]) -> Image.Image:
    """A studio shot: a coloured disc on a plain background."""
    image = Image.new("RGB", (224, 224), background)
    ImageDraw.Draw(image).ellipse((60, 50, 170, 180), fill=colour)
    return image


def signature(image: Image.Image) -> np.ndarray:
    return signatures(np.asarray(image, dtype=np.float32)[None] / 255.0)[0]


RED, BLUE = (200, 30, 40), (30, 60, 200)


def test_the_signature_reads_the_product_not_its_background() -> None:
    on_white = signature(product(RED, (250, 250, 250)))
    on_grey = signature(product(RED, (120, 125, 130)))
    blue = signature(product(BLUE, (250, 250, 250)))
    assert on_white.shape == (BINS,) and np.isclose(np.linalg.norm(on_white), 1.0)
    assert on_white @ on_grey > 0.95  # the same red disc, whatever it stands on
    assert on_white @ blue < 0.2  # another colourway of the same disc


def test_a_picture_with_no_foreground_counts_whole() -> None:
    plain = signature(Image.new("RGB", (64, 64), RED))
    assert np.isclose(np.linalg.norm(plain), 1.0) and plain.max() > 0.99  # one bin: red


def test_the_weight_is_part_of_the_model_name() -> None:
    assert model_name("efficientnet-lite0", 0.25) == "efficientnet-lite0+colour0.25"
    assert model_name("efficientnet-lite0", 0.0) == "efficientnet-lite0"
    assert split_model("efficientnet-lite0+colour0.25") == ("efficientnet-lite0", 0.25)
    assert split_model("efficientnet-lite0") == ("efficientnet-lite0", None)
    assert split_model("/models/my+colourful-clip") == ("/models/my+colourful-clip", None)
    with pytest.raises(ValueError, match="less than 1"):
        split_model("efficientnet-lite0+colour1.5")


@pytest.fixture(scope="module")
def efficientnet() -> EfficientNetLiteEmbedder:
    embedder = EfficientNetLiteEmbedder("cpu")
    embedder.load()
    return embedder


def test_the_dot_product_is_the_documented_blend(efficientnet: EfficientNetLiteEmbedder) -> None:
    joined = ColourEmbedder(efficientnet, 0.25)
    assert joined.info.name == "efficientnet-lite0+colour0.25"
    assert joined.info.dim == efficientnet.info.dim + BINS
    pictures = [product(RED, (250, 250, 250)), product(BLUE, (250, 250, 250))]
    batch = np.stack([efficientnet.preprocess(p) for p in pictures])
    vectors = joined.embed_images(batch)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    features = efficientnet.embed_images(batch)
    colours = signatures(efficientnet.pictures(batch[:, :, ::STRIDE, ::STRIDE]))
    expected = 0.75 * (features[0] @ features[1]) + 0.25 * (colours[0] @ colours[1])
    assert np.isclose(vectors[0] @ vectors[1], expected, atol=1e-5)
    # the colour part is what tells the two colourways apart
    assert vectors[0] @ vectors[1] < features[0] @ features[1] - 0.1


def test_the_loader_joins_colour_by_setting_or_by_name() -> None:
    plain, _ = loader.load_embedder("efficientnet-lite0", "cpu", backend="torch")
    assert not isinstance(plain, ColourEmbedder)
    by_setting, _ = loader.load_embedder(
        "efficientnet-lite0", "cpu", backend="torch", colour_weight=0.25
    )
    assert isinstance(by_setting, ColourEmbedder) and by_setting.weight == 0.25
    by_name, _ = loader.load_embedder(
        "efficientnet-lite0+colour0.3", "cpu", backend="torch", colour_weight=0.25
    )
    assert isinstance(by_name, ColourEmbedder) and by_name.weight == 0.3  # the name wins


async def test_auto_keeps_an_index_made_without_colour_as_it_is(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    """An index built before colour (its name has no weight) keeps plain vectors on 'auto';
    naming the model with the new default weight is refused with a way out."""
    settings = make_settings(model="efficientnet-lite0", colour_weight=0.0, embed_backend="torch")
    async with Context.open(settings) as context:
        assert context.embedding is not None and context.embedding.info.dim == 1280
    auto = settings.model_copy(update={"model": "auto", "colour_weight": 0.25})
    async with Context.open(auto) as context:
        assert context.embedding is not None
        assert context.embedding.info.name == "efficientnet-lite0"
    catalog = CatalogStore(settings.database_url, 2)
    await catalog.open()
    try:
        assert await catalog.recorded_model() == "efficientnet-lite0"
    finally:
        await catalog.close()
    named = settings.model_copy(update={"colour_weight": 0.25})
    with pytest.raises(Exception, match="VISUALSEARCH_COLOUR_WEIGHT=0"):
        async with Context.open(named):
            pass


def test_a_text_match_scores_the_text_towers_cosine(tmp_path: Path) -> None:
    """A text has no colours: its vector's colour part is zero, so the stores' cosine with an
    image vector is sqrt(1 - w) x the towers'; ``text_score_scale`` gives the towers' back."""
    clip = ClipEmbedder(str(build_tiny_clip(tmp_path)), "cpu")
    joined = ColourEmbedder(clip, 0.25)
    assert joined.info.text_search and joined.info.dim == clip.info.dim + BINS
    image = np.stack([clip.preprocess(product(RED, (250, 250, 250)))])
    text = joined.embed_texts(["a red disc"])
    assert np.isclose(np.linalg.norm(text), 1.0, atol=1e-5) and not text[0, -BINS:].any()
    stored = joined.embed_images(image)[0] @ text[0]
    towers = clip.embed_images(image)[0] @ clip.embed_texts(["a red disc"])[0]
    assert np.isclose(stored * text_score_scale(joined.info.name), towers, atol=1e-5)
    assert text_score_scale("efficientnet-lite0") == 1.0
