"""A catalogue image's low-resolution copy, blended into the vector it is indexed with.

Shoppers often search with a small picture: a thumbnail from a listing, a chat preview, a
screenshot of a product grid. Its features are those of a blurred, blocky image, while the
catalogue's vector is made from the sharp original. With ``VISUALSEARCH_CATALOGUE_LOWRES=N``
each catalogue image is also embedded as an N x N JPEG shown at its size again, and the image is
indexed with the normalised mean of both vectors: still one vector per image, in the same space
as every query (so it needs no new model name, and `visualsearch reindex` applies it to products
indexed before), at twice the embedding work per catalogue image. Queries are untouched.
bench/catalogue_views.py and ``visualsearch eval`` measure it (bench/RESULTS.md).
"""

from __future__ import annotations

import io

from PIL import Image

from visualsearch.imaging import ImageLimits, decode_image

SHOWN_SIDE = 512
"""The copy is shown again at the original's size, but no larger than this on its longer side
(the model sees 224-300 pixels; a full-size copy would only cost decoding)."""
THUMBNAIL_QUALITY = 75
SHOWN_QUALITY = 95


def low_resolution(data: bytes, side: int, limits: ImageLimits) -> bytes:
    """The image as a ``side`` x ``side`` JPEG thumbnail, enlarged back to (about) its size."""
    image = decode_image(data, limits)
    small = image.resize((side, side), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=THUMBNAIL_QUALITY)
    scale = min(1.0, SHOWN_SIDE / max(image.size))
    shown = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    with Image.open(io.BytesIO(buffer.getvalue())) as thumbnail:
        enlarged = thumbnail.convert("RGB").resize(shown, Image.Resampling.BILINEAR)
    out = io.BytesIO()
    enlarged.save(out, "JPEG", quality=SHOWN_QUALITY)  # 5x faster to write than PNG
    return out.getvalue()
