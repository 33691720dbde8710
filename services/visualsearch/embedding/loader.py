"""Choose and load the embedder that ``VISUALSEARCH_MODEL`` names."""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

from visualsearch.embedding.base import Embedder
from visualsearch.embedding.clip import DEFAULT_CLIP, ClipEmbedder
from visualsearch.embedding.colour import ColourEmbedder, split_model
from visualsearch.embedding.efficientnet import VARIANTS, EfficientNetLiteEmbedder
from visualsearch.embedding.optimised import default_cache_dir, optimise
from visualsearch.exceptions import ModelLoadError

log = logging.getLogger(__name__)

FALLBACK_WARNING = (
    "CLIP weights could not be loaded, so this index uses EfficientNet-Lite0: image search works "
    "and text search runs on the product text (keywords and sentence vectors), but words are not "
    "matched against the pictures. Put a CLIP model in the Hugging Face cache or set "
    "VISUALSEARCH_MODEL to a local CLIP directory to add text-to-image search."
)


def hub_reachable(timeout: float = 2.0) -> bool:
    """Whether the Hugging Face hub can be reached at all (offline mode counts as no)."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or ""
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError:
        return False
    return True


def load_embedder(
    model: str,
    device: str = "auto",
    cache_dir: Path | None = None,
    backend: str = "auto",
    prebuilt_dir: Path | None = None,
    colour_weight: float = 0.0,
) -> tuple[Embedder, str | None]:
    """The loaded embedder for ``model`` and a warning for people, if one is due.

    ``auto`` tries CLIP ViT-B/32 and falls back to EfficientNet-Lite0 with a loud warning; any
    explicitly named model that cannot be loaded is an error (never a silent fallback). The
    image tower then runs on ``backend`` (the factory passes ``Settings.embed_backend``; see
    ``optimised``): the fastest path that agrees with fp32 by default, exact fp32 with ``torch``.
    ``prebuilt_dir`` holds models made at image build time (``visualsearch model quantize``).
    With a ``colour_weight`` above 0 (or a name such as ``efficientnet-lite0+colour0.25``, whose
    weight wins) each image vector carries its colours too (``embedding.colour``).
    """
    name, named_weight = split_model(model)
    weight = colour_weight if named_weight is None else named_weight
    base, warning = load_base(name, device, cache_dir)
    embedder = optimise(base, backend, default_cache_dir(cache_dir), prebuilt_dir)
    return (ColourEmbedder(embedder, weight) if weight > 0 else embedder), warning


def load_base(model: str, device: str, cache_dir: Path | None) -> tuple[Embedder, str | None]:
    """The plain fp32 model that ``model`` names."""
    if model in VARIANTS:
        embedder: Embedder = EfficientNetLiteEmbedder(device, model)
        embedder.load()
        return embedder, None
    if model == "auto":
        try:
            # The cache first; the hub only when it answers (its retries take half a minute).
            embedder = ClipEmbedder(DEFAULT_CLIP, device, cache_dir, local_only=not hub_reachable())
            embedder.load()
            return embedder, None
        except ModelLoadError as exc:
            log.warning("%s (%s)", FALLBACK_WARNING, str(exc).splitlines()[0])
            embedder = EfficientNetLiteEmbedder(device)
            embedder.load()
            return embedder, FALLBACK_WARNING
    embedder = ClipEmbedder(model, device, cache_dir)
    try:
        embedder.load()
    except ModelLoadError:
        raise
    return embedder, None
