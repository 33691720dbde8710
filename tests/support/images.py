"""Test images: real photographs shipped with scikit-image, and made-to-measure files."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

PHOTOS = Path(__import__("skimage").__file__).parent / "data"


def photo(name: str) -> Image.Image:
    """A real photograph from scikit-image's data folder (e.g. 'chelsea.png', 'coffee.png')."""
    return Image.open(PHOTOS / name).convert("RGB")


def encode(image: Image.Image, fmt: str = "JPEG", **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def jpeg(
    image: Image.Image | None = None, seed: int = 0, size: tuple[int, int] = (96, 96)
) -> bytes:
    """A JPEG: the given image, or a distinct random-textured one per seed."""
    if image is None:
        rng = np.random.default_rng(seed)
        base = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
        image = Image.fromarray(base).resize(size, Image.Resampling.BICUBIC)
    return encode(image, "JPEG", quality=90)
