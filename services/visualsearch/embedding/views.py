"""The views of a query image that a search embeds and matches together (issue 18).

A shopper's picture is often more than the product: a photo of it on a desk, a screenshot of
another shop's page. The catalogue's images show the product filling the frame, so beside the
whole picture (``whole``) the ``grid`` views also cut a 3x3 grid of overlapping windows, each
``GRID_SHARE`` of the picture's width and height, and embed each window as an image of its own.
A product's score is then its best over every view (``VectorStore.search_views``): the window
that frames the product matches the catalogue at the catalogue's own scale. The whole picture
stays a view, embedded exactly as without the grid, so no product scores lower than it would
with ``whole`` alone. ``fine`` adds a 4x4 grid of windows of ``FINE_SHARE`` (26 views: finds
smaller products in a busy picture, at 2.6x the grid's model time). The catalogue's side is
untouched: one vector per gallery image, so the
setting can change without a re-index. ``docs/search-quality.md`` gives the measurements.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from PIL import Image

QueryViews = Literal["whole", "grid", "fine"]
WHOLE: QueryViews = "whole"
GRID: QueryViews = "grid"
FINE: QueryViews = "fine"
QUERY_VIEWS: tuple[QueryViews, ...] = (WHOLE, GRID, FINE)
GRID_SIDE = 3
"""Windows per row and per column."""
GRID_SHARE = 0.6
"""A window's share of the picture's width (and of its height)."""
FINE_SIDE, FINE_SHARE = 4, 0.45
LAYOUTS: dict[QueryViews, tuple[tuple[int, float], ...]] = {
    WHOLE: (),
    GRID: ((GRID_SIDE, GRID_SHARE),),
    FINE: ((GRID_SIDE, GRID_SHARE), (FINE_SIDE, FINE_SHARE)),
}
"""Each setting's grids of windows: (windows per side, share of the picture's side)."""

Box = tuple[int, int, int, int]


def grid_boxes(
    width: int, height: int, share: float = GRID_SHARE, side: int = GRID_SIDE
) -> list[Box]:
    """``side`` x ``side`` overlapping windows (left, top, right, bottom), row by row, evenly
    spaced from one edge of the picture to the other."""
    w, h = max(1, round(width * share)), max(1, round(height * share))
    xs = np.linspace(0, width - w, side).round().astype(int)
    ys = np.linspace(0, height - h, side).round().astype(int)
    return [(int(x), int(y), int(x) + w, int(y) + h) for y in ys for x in xs]


def grid_windows(image: Image.Image, views: QueryViews = GRID) -> list[Image.Image]:
    """The windows of ``image`` that ``views`` searches beside it, each an image of its own."""
    return [
        image.crop(box)
        for side, share in LAYOUTS[views]
        for box in grid_boxes(*image.size, share, side)
    ]


def decode_side(input_size: int, views: QueryViews) -> int:
    """How large the picture must be decoded for its smallest window to keep ``input_size``."""
    return round(input_size / min((share for _, share in LAYOUTS[views]), default=1.0))
