"""Where the one object in a query picture is: the box the storefront offers as a suggested crop.

Found from the picture alone, no model: shoppers' pictures that show one object are mostly a
product shot on a transparent or plain background, or a screenshot of a shop's page, where the
product's picture sits on the page's plain colour among thin chrome (header bar, text, price,
buttons, smaller thumbnails). So:

1. **Alpha.** Where the image has transparent pixels, the object is the box of the opaque ones.
2. **Plain border.** Otherwise the background is the colour of the picture's outer frame, one
   colour or two (a page's white and its header bar; a studio backdrop and its floor). When the
   frame is not mostly such colours (a real photograph's scene), there is no suggestion.
   Pixels far from the background colours are foreground; an opening (3 px at the working
   scale) removes JPEG specks and text lines; connected parts of what is left (scipy.ndimage,
   in C: a pure-Python labelling cost ~100 ms a picture) are the candidates, bars along the
   picture's edge (a header, a side rail) are chrome, and the largest part, with the parts
   touching it, is the object.
3. **One clear object, or nothing.** No box when the object covers almost the whole picture
   (nothing to crop), when it is a speck, or when a second part is at least half its size (two
   products side by side: which one is the shopper's is not ours to guess).

The box is padded a little (CLIP and our CNN see a product better with a margin around it) and
returned as a :class:`~visualsearch.imaging.Crop`, fractions of the upright picture, so the
client can send it back unchanged as ``crop=``. Pure CPU work on a small copy of the picture
(at most ``WORK_SIDE`` pixels a side): a few milliseconds; callers run it on a thread.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps
from scipy import ndimage

from visualsearch.imaging import Crop

WORK_SIDE = 192
"""The working copy's longer side: large enough that a screenshot's product picture is tens of
pixels, small enough that a page's text lines are one or two and vanish in the opening."""
MIN_SIDE = 16
"""Pictures smaller than this either way get no suggestion (nothing to crop)."""
OPAQUE = 16
"""Alpha above this is the object (anti-aliased edges and shadows at a few percent are not)."""
FRAME = 2
"""Width in working pixels of the outer frame whose colour is the background."""
INLIER = 40.0
"""RGB distance within which a frame pixel has the background colour (JPEG noise, soft
gradients of studio backdrops)."""
PLAIN_FRAME = 0.9
"""Share of the frame that the (at most two) background colours must cover."""
SECOND_COLOUR = 0.1
"""Share of the frame a second colour needs to count as background (a header bar, a floor)."""
MARGIN = 20.0
"""Foreground is farther than the frame's own spread plus this from every background colour."""
MAX_COVER = 0.85
"""A box covering this share of the picture or more: nothing to crop."""
MIN_COVER = 0.01
"""A box below this share of the picture: a speck, not the object."""
TOUCH_GAP = 0.015
"""Parts closer than this (share of the picture's longer side) belong to the same object."""
RIVAL = 0.5
"""A second part at least this share of the object's pixels: two objects, no suggestion."""
PAD = 0.03
"""Padding added on each side of the box, as a share of the box's side."""
EIGHT = np.ones((3, 3), dtype=bool)
"""8-connectivity, and the 3 px square of the opening."""


@dataclass(frozen=True)
class Part:
    """A connected part of the foreground: its pixel count and box (left, top, right, bottom)."""

    pixels: int
    left: int
    top: int
    right: int
    bottom: int

    def near(self, box: tuple[int, int, int, int], gap: float) -> bool:
        left, top, right, bottom = box
        dx = max(left - self.right, self.left - right, 0)
        dy = max(top - self.bottom, self.top - bottom, 0)
        return max(dx, dy) <= gap


MAX_PIXELS = 64_000_000
"""Pictures with more pixels are not looked at (a decompression bomb, or far beyond a query)."""


def suggest_crop(data: bytes, max_pixels: int = MAX_PIXELS) -> Crop | None:
    """The suggested box for an encoded picture, or None when it shows no single clear object
    on a transparent or plain background (or is no picture, or has over ``max_pixels``)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.width * img.height > max_pixels:
                    return None
                if img.format == "JPEG":
                    img.draft("RGB", (WORK_SIDE, WORK_SIDE))
                img.seek(0)
                img.load()
                upright = ImageOps.exif_transpose(img) or img
                return locate(upright)
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
        return None
    except Image.DecompressionBombWarning:
        return None


def locate(image: Image.Image) -> Crop | None:
    """The suggested box of a decoded (upright) picture, or None (module docstring)."""
    width, height = image.size
    if min(width, height) < MIN_SIDE:
        return None
    small = image.copy()
    small.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.BILINEAR)
    alpha = _alpha(small)
    if alpha is not None:
        return _alpha_box(alpha)
    rgb = np.asarray(small.convert("RGB"), dtype=np.float32)
    foreground = _foreground(rgb)
    if foreground is None:
        return None
    return _object_box(foreground)


def _alpha(image: Image.Image) -> np.ndarray | None:
    """The alpha channel where the picture has transparent pixels, else None."""
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode not in ("RGBA", "LA", "PA", "RGBa", "La"):
        return None
    alpha = np.asarray(image.getchannel("A"))
    return alpha if int(alpha.min()) <= OPAQUE else None


def _alpha_box(alpha: np.ndarray) -> Crop | None:
    rows = np.flatnonzero((alpha > OPAQUE).any(axis=1))
    cols = np.flatnonzero((alpha > OPAQUE).any(axis=0))
    if rows.size == 0:
        return None  # fully transparent: nothing to find
    box = (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
    return _to_crop(box, alpha.shape[1], alpha.shape[0])


def _frame(rgb: np.ndarray) -> np.ndarray:
    f = FRAME
    return np.concatenate(
        [
            rgb[:f].reshape(-1, 3),
            rgb[-f:].reshape(-1, 3),
            rgb[f:-f, :f].reshape(-1, 3),
            rgb[f:-f, -f:].reshape(-1, 3),
        ]
    )


def _distance(pixels: np.ndarray, colour: np.ndarray) -> np.ndarray:
    difference = pixels - colour.astype(np.float32)
    return np.sqrt(np.einsum("...c,...c->...", difference, difference))


def _foreground(rgb: np.ndarray) -> np.ndarray | None:
    """Pixels unlike the frame's one or two colours, opened; None when the frame is not plain."""
    frame = _frame(rgb)
    colours = [np.median(frame, axis=0)]
    near = _distance(frame, colours[0]) <= INLIER
    rest = frame[~near]
    if rest.shape[0] >= SECOND_COLOUR * frame.shape[0]:
        colours.append(np.median(rest, axis=0))
        near |= _distance(frame, colours[1]) <= INLIER
    if near.mean() < PLAIN_FRAME:
        return None  # a scene, not a backdrop or a page
    spread = max(
        float(np.percentile(_distance(frame[near], c), 95)) if near.any() else 0.0 for c in colours
    )
    threshold = min(spread, INLIER) + MARGIN
    far = np.ones(rgb.shape[:2], dtype=bool)
    for colour in colours:
        far &= _distance(rgb, colour) > threshold
    opened: np.ndarray = ndimage.binary_opening(far, structure=EIGHT)
    return opened


def _parts(mask: np.ndarray) -> list[Part]:
    """Connected parts (8-connected) of a boolean mask, with their pixel counts and boxes."""
    labels, count = ndimage.label(mask, structure=EIGHT)
    if count == 0:
        return []
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    parts = []
    for index, found in enumerate(ndimage.find_objects(labels), start=1):
        if found is None:
            continue
        rows, cols = found
        parts.append(Part(int(sizes[index]), cols.start, rows.start, cols.stop, rows.stop))
    return parts


def _is_chrome(part: Part, width: int, height: int) -> bool:
    """A bar along the picture's edge: a page's header or footer, a side rail."""
    touches = part.left == 0 or part.top == 0 or part.right == width or part.bottom == height
    wide = part.right - part.left >= 0.9 * width and part.bottom - part.top <= 0.25 * height
    tall = part.bottom - part.top >= 0.9 * height and part.right - part.left <= 0.25 * width
    return touches and (wide or tall)


def _object_box(mask: np.ndarray) -> Crop | None:
    height, width = mask.shape
    parts = [p for p in _parts(mask) if not _is_chrome(p, width, height)]
    if not parts:
        return None
    parts.sort(key=lambda p: p.pixels, reverse=True)
    largest = parts[0]
    box = (largest.left, largest.top, largest.right, largest.bottom)
    pixels = largest.pixels
    gap = TOUCH_GAP * max(width, height)
    rest = parts[1:]
    merged = True
    while merged:  # grow the object by the parts that touch it
        merged = False
        for part in list(rest):
            if part.near(box, gap):
                box = (
                    min(box[0], part.left),
                    min(box[1], part.top),
                    max(box[2], part.right),
                    max(box[3], part.bottom),
                )
                pixels += part.pixels
                rest.remove(part)
                merged = True
    if any(p.pixels >= RIVAL * pixels for p in rest):
        return None  # two objects of a size
    return _to_crop(box, width, height)


def _to_crop(box: tuple[int, int, int, int], width: int, height: int) -> Crop | None:
    left, top, right, bottom = box
    cover = (right - left) * (bottom - top) / (width * height)
    if cover >= MAX_COVER or cover < MIN_COVER:
        return None
    pad_x = max(1.0, PAD * (right - left))
    pad_y = max(1.0, PAD * (bottom - top))
    x0, y0 = max(0.0, left - pad_x) / width, max(0.0, top - pad_y) / height
    x1, y1 = min(width, right + pad_x) / width, min(height, bottom + pad_y) / height
    x, y = round(x0, 4), round(y0, 4)
    return Crop(x, y, round(min(x1 - x, 1 - x), 4), round(min(y1 - y, 1 - y), 4))
