"""Colour in the image vector (issue 18): each picture's colour signature joined to the model's
features, so that a search tells colourways of one object apart.

Most first results the plain features get wrong are another colourway of the right object: a
model pooled over the whole picture says *what* is shown and averages *which colours* away. So
every image vector (catalogue images, query pictures and each of a query's windows alike) is the
model's unit vector scaled by ``sqrt(1 - w)`` followed by a unit colour signature scaled by
``sqrt(w)``. The dot product that every vector store ranks by is then

    (1 - w) * cosine(model features) + w * BC(colour histograms)

where BC, the Bhattacharyya coefficient (the sum over bins of ``sqrt(p * q)``), is 1 for the same
colours in the same proportions and 0 for none in common; a score stays in [0, 1].

**The signature** is a histogram of the picture's foreground as the model sees it (its input,
every ``STRIDE``-th pixel): coloured pixels by hue (``HUES`` bins) and saturation (``SATURATIONS``),
the rest by grey level (``GREYS``). The foreground is what differs from the picture's border,
interpolated along each row and column (a studio shot's plain or graded background); a picture
where nothing stands out counts whole. The bins hold square roots of the shares, so the
signature has unit length and the dot product of two is their BC.

**The weight** belongs to the vectors: it is part of the model's name
(``efficientnet-lite0+colour0.25``), which the index records, so vectors made with one weight
never mix with another's, and ``VISUALSEARCH_MODEL=auto`` keeps what the index was built with.
``docs/search-quality.md`` has the measurements that chose it.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image

from visualsearch.embedding.base import Embedder, ModelInfo

HUES, SATURATIONS, GREYS = 24, 3, 4
BINS = HUES * SATURATIONS + GREYS
"""The signature's length: what the colour part adds to the model's dimension."""
MIN_SATURATION, MIN_VALUE = 0.2, 0.15
"""Less saturated (or darker) pixels count by grey level, not by hue."""
FOREGROUND_DISTANCE = 30 / 255
"""RGB distance from the interpolated border colour beyond which a pixel is foreground."""
MIN_FOREGROUND = 0.02
"""Below this share of foreground pixels the whole picture counts."""
SUFFIX = "+colour"
STRIDE = 4
"""Every fourth pixel of the model's input (56 x 56 of 224 x 224) is read: on the harness the
same recall as every second one, at a quarter of the cost."""


def split_model(name: str) -> tuple[str, float | None]:
    """``efficientnet-lite0+colour0.25`` → (``efficientnet-lite0``, 0.25); no suffix: ``None``."""
    base, sep, weight = name.rpartition(SUFFIX)
    if not sep or not base:
        return name, None
    try:
        value = float(weight)
    except ValueError:
        return name, None  # a CLIP directory that happens to contain the suffix
    if not 0.0 <= value < 1.0:
        raise ValueError(f"The colour weight in {name!r} must be at least 0 and less than 1.")
    return base, value


def model_name(base: str, weight: float) -> str:
    """The name vectors of ``base`` with colour weight ``weight`` are recorded under."""
    return f"{base}{SUFFIX}{weight:g}" if weight > 0 else base


def text_score_scale(model: str) -> float:
    """What a text's match with an image vector of ``model`` is multiplied by to be the text
    tower's own cosine again: a text has no colours, so its vector has a zero colour part, and
    the stores' cosine of it with an image vector is ``sqrt(1 - w)`` x the towers' cosine."""
    weight = split_model(model)[1] or 0.0
    return 1.0 / math.sqrt(1.0 - weight)


def foreground(rgb: np.ndarray) -> np.ndarray:
    """(N, H, W) weights, 1 where a pixel of the (N, H, W, 3) pictures in [0, 1] differs from
    its row's and column's border colour, 0 elsewhere; all 1 for a picture with no foreground."""
    planes = np.ascontiguousarray(rgb.transpose(0, 3, 1, 2))  # (N, 3, H, W): long inner loops
    height, width = planes.shape[2:]
    left = planes[..., :3].mean(axis=3, keepdims=True)  # (N, 3, H, 1)
    right = planes[..., -3:].mean(axis=3, keepdims=True)
    top = planes[:, :, :3].mean(axis=2, keepdims=True)  # (N, 3, 1, W)
    bottom = planes[:, :, -3:].mean(axis=2, keepdims=True)
    fx = np.linspace(0.0, 0.5, width, dtype=np.float32)
    fy = np.linspace(0.0, 0.5, height, dtype=np.float32)[:, None]
    difference = left * (0.5 - fx) + right * fx  # the mean of the row and column estimates
    difference += top * (0.5 - fy) + bottom * fy
    difference -= planes
    difference *= difference
    weights = (difference.sum(axis=1) > FOREGROUND_DISTANCE**2).astype(np.float32)
    weights[weights.mean(axis=(1, 2)) < MIN_FOREGROUND] = 1.0
    return weights


_LEVELS = np.arange(256)
_SAT_LOW, _VALUE_LOW = round(MIN_SATURATION * 255), round(MIN_VALUE * 255)
_HUE_BIN = _LEVELS * HUES // 256
_SAT_BIN = np.clip((_LEVELS - _SAT_LOW) * SATURATIONS // (256 - _SAT_LOW), 0, SATURATIONS - 1)
_GREY_BIN = HUES * SATURATIONS + _LEVELS * GREYS // 256
"""Bin of each 8-bit hue, saturation and grey level (PIL's HSV)."""


def histogram_bins(rgb: np.ndarray) -> np.ndarray:
    """Each pixel's bin, from one (H, W, 3) uint8 picture: hue x saturation for coloured pixels,
    grey level for the others (PIL's HSV: hue, saturation and value each in 0..255)."""
    hsv = np.asarray(Image.fromarray(rgb).convert("HSV"))
    hue, saturation, value = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    coloured = (saturation >= _SAT_LOW) & (value >= _VALUE_LOW)
    return np.where(coloured, _HUE_BIN[hue] * SATURATIONS + _SAT_BIN[saturation], _GREY_BIN[value])


def signatures(rgb: np.ndarray) -> np.ndarray:
    """(N, ``BINS``) unit float32 rows: the square roots of each picture's foreground colour
    shares, for (N, H, W, 3) pictures in [0, 1]."""
    rgb = np.ascontiguousarray(rgb, dtype=np.float32)
    weights = foreground(rgb).reshape(len(rgb), -1)
    pixels = (rgb * 255 + 0.5).astype(np.uint8)
    out = np.zeros((len(rgb), BINS), dtype=np.float32)
    for row in range(len(rgb)):
        bins = histogram_bins(pixels[row]).reshape(-1)
        out[row] = np.bincount(bins, weights=weights[row], minlength=BINS)
    out /= np.maximum(out.sum(axis=1, keepdims=True), 1e-12)
    return np.sqrt(out, dtype=np.float32)


class ColourEmbedder(Embedder):
    """``inner``'s vectors joined to the colour signatures of the same inputs (module doc);
    texts, which have no colours, get a zero colour part (``text_score_scale``)."""

    def __init__(self, inner: Embedder, weight: float) -> None:
        if not 0.0 < weight < 1.0:
            raise ValueError(f"A colour weight is more than 0 and less than 1, not {weight}.")
        super().__init__(str(inner.device))
        self.inner = inner
        self.weight = weight
        self._features = math.sqrt(1.0 - weight)
        self._colour = math.sqrt(weight)

    @property
    def backend(self) -> str:
        return str(getattr(self.inner, "backend", "torch"))

    @property
    def info(self) -> ModelInfo:
        inner = self.inner.info
        return ModelInfo(model_name(inner.name, self.weight), inner.dim + BINS, inner.text_search)

    @property
    def input_size(self) -> int:
        return self.inner.input_size

    def _load(self) -> None:
        self.inner.load()

    def preprocess(self, image: Image.Image) -> np.ndarray:
        return self.inner.preprocess(image)

    def _forward_images(self, pixels: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("ColourEmbedder.embed_images runs the inner model itself")

    def embed_images(self, batch: np.ndarray) -> np.ndarray:
        features = self.inner.embed_images(batch)
        colours = signatures(self.inner.pictures(batch[:, :, ::STRIDE, ::STRIDE]))
        return np.hstack([features * self._features, colours * self._colour]).astype(np.float32)

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        vectors = self.inner.embed_texts(texts)  # unit: a zero colour part keeps the length
        return np.hstack([vectors, np.zeros((len(vectors), BINS), dtype=np.float32)])
