"""Embedding as the API and worker use it: local (micro-batched) or a remote embedding service."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np

from visualsearch import metrics
from visualsearch.embedding.base import Embedder, ModelInfo
from visualsearch.embedding.batcher import MicroBatcher
from visualsearch.embedding.catalogue import low_resolution
from visualsearch.embedding.views import WHOLE, QueryViews, decode_side, grid_windows
from visualsearch.exceptions import (
    StoreUnavailableError,
    TextSearchUnavailableError,
    VisualSearchError,
)
from visualsearch.imaging import Crop, ImageLimits, decode_image

log = logging.getLogger(__name__)

START_WAIT_SECONDS = 120.0
"""How long a process waits at start for its embedding service to answer."""
START_RETRY_SECONDS = 2.0
START_LOG_SECONDS = 15.0


class EmbeddingService(ABC):
    """Bytes or text in, one unit vector out."""

    info: ModelInfo
    warning: str | None = None
    backend: str = "torch"
    """The image tower's runtime: torch, onnx, int8, or remote."""
    catalogue_lowres: int = 0
    """``VISUALSEARCH_CATALOGUE_LOWRES``: the side of the low-resolution copy blended into
    each catalogue image's vector (``embedding.catalogue``); 0, none."""
    catalogue_limits: ImageLimits = ImageLimits(max_bytes=64 * 1048576, max_pixels=100_000_000)
    """The limits the copy is decoded under (the factory sets the configured ones)."""

    @abstractmethod
    async def embed_image(self, data: bytes, crop: Crop | None = None) -> np.ndarray:
        """The unit vector of the image, or of its ``crop`` region only."""

    @abstractmethod
    async def embed_text(self, text: str) -> np.ndarray: ...

    async def embed_catalogue_image(self, data: bytes) -> np.ndarray:
        """The unit vector a catalogue image is indexed with: ``embed_image``'s, or with
        ``catalogue_lowres`` the normalised mean of it and its low-resolution copy's."""
        if not self.catalogue_lowres:
            return await self.embed_image(data)
        vector, copy = await asyncio.gather(
            self.embed_image(data),  # a corrupt image fails both alike (decode_image)
            asyncio.to_thread(low_resolution, data, self.catalogue_lowres, self.catalogue_limits),
        )
        blended = vector + await self.embed_image(copy)
        return (blended / np.linalg.norm(blended)).astype(np.float32)

    async def embed_image_views(
        self, data: bytes, crop: Crop | None = None, views: QueryViews = WHOLE
    ) -> np.ndarray:
        """The unit vectors of the image's ``views`` (``embedding.views``), one row each; the
        first row is the whole image's vector, as ``embed_image`` gives it."""
        if views != WHOLE:
            raise NotImplementedError(f"{type(self).__name__} cannot embed {views} views")
        return (await self.embed_image(data, crop))[None]

    async def close(self) -> None:
        return None


class LocalEmbeddingService(EmbeddingService):
    """Decodes and preprocesses on a thread pool, then shares forward passes via the batcher."""

    def __init__(
        self,
        embedder: Embedder,
        limits: ImageLimits,
        max_batch: int = 16,
        max_wait: float = 0.005,
        warning: str | None = None,
    ) -> None:
        self.embedder = embedder
        self.info = embedder.info
        self.backend = str(getattr(embedder, "backend", "torch"))
        self.warning = warning
        self._limits = limits
        self._decode_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="decode")
        self._batcher = MicroBatcher(embedder.embed_images, max_batch, max_wait)

    def _prepare(self, data: bytes, crop: Crop | None = None) -> np.ndarray:
        with metrics.stage("decode"):
            image = decode_image(data, self._limits, self.embedder.input_size, crop)
            return self.embedder.preprocess(image)

    def _prepare_windows(
        self, data: bytes, crop: Crop | None, views: QueryViews
    ) -> list[np.ndarray]:
        """The views' windows, decoded large enough that each keeps the model's resolution."""
        with metrics.stage("decode"):
            size = decode_side(self.embedder.input_size, views)
            image = decode_image(data, self._limits, size, crop)
            return [self.embedder.preprocess(window) for window in grid_windows(image, views)]

    async def embed_image(self, data: bytes, crop: Crop | None = None) -> np.ndarray:
        loop = asyncio.get_running_loop()
        pixels = await loop.run_in_executor(self._decode_pool, self._prepare, data, crop)
        with metrics.stage("embed"):
            return await self._batcher.submit(pixels)

    async def embed_image_views(
        self, data: bytes, crop: Crop | None = None, views: QueryViews = WHOLE
    ) -> np.ndarray:
        if views == WHOLE:
            return await super().embed_image_views(data, crop, views)
        loop = asyncio.get_running_loop()
        whole, windows = await asyncio.gather(
            loop.run_in_executor(self._decode_pool, self._prepare, data, crop),
            loop.run_in_executor(self._decode_pool, self._prepare_windows, data, crop, views),
        )
        with metrics.stage("embed"):  # the whole image and its windows share forward passes
            return await self._batcher.submit_many([whole, *windows])

    async def embed_text(self, text: str) -> np.ndarray:
        if not self.info.text_search:
            raise TextSearchUnavailableError(
                f"Text search needs a model with a text tower (CLIP); this index uses "
                f"{self.info.name}. Search with an image instead."
            )
        with metrics.stage("embed"):
            vectors = await asyncio.to_thread(self.embedder.embed_texts, [text])
        return vectors[0]

    async def close(self) -> None:
        await self._batcher.close()
        self._decode_pool.shutdown(wait=False, cancel_futures=True)


class RemoteEmbeddingService(EmbeddingService):
    """Client of ``visualsearch embedder`` (the Deployment the HPA scales in Kubernetes)."""

    backend = "remote"

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self._client = httpx.AsyncClient(base_url=url.rstrip("/"), timeout=timeout)

    async def start(self, wait_seconds: float = START_WAIT_SECONDS) -> None:
        """Learn the service's model, waiting up to ``wait_seconds`` for it to be reachable.

        Pods that start beside their embedder (a fresh index, a model switch's new model) would
        otherwise exit and be restarted with a growing back-off while it loads its model; an
        answer that is an error (not a connection failure) is raised at once."""
        deadline = time.monotonic() + wait_seconds
        logged = -math.inf
        while True:
            try:
                body = await self._call("GET", "/embed/info")
                break
            except StoreUnavailableError as exc:
                now = time.monotonic()
                if now >= deadline:
                    raise
                if now - logged >= START_LOG_SECONDS:
                    logged = now
                    log.warning(
                        "embedding service not reachable yet; waiting for it",
                        extra={
                            "url": str(self._client.base_url),
                            "error": str(exc),
                            "seconds_left": round(deadline - now),
                        },
                    )
                await asyncio.sleep(min(START_RETRY_SECONDS, deadline - now))
        self.info = ModelInfo(body["model"], int(body["dim"]), bool(body["text_search"]))
        self.warning = body.get("warning")

    async def _call(self, method: str, path: str, **kwargs: object) -> dict:
        try:
            response = await self._client.request(method, path, **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            raise StoreUnavailableError(
                "embedding service", str(exc) or type(exc).__name__
            ) from exc
        if response.status_code >= 400:
            body = (
                response.json()
                if response.headers.get("content-type", "").startswith("application/json")
                else {}
            )
            error = VisualSearchError(body.get("detail", response.text))
            error.status_code = response.status_code
            error.code = body.get("code", "embedder_error")
            raise error
        answer = response.json()
        made_by = answer.get("model") if path != "/embed/info" else None
        if made_by is not None and made_by != self.info.name:
            # the Service reached a pod of another model (a switch rolling through the
            # embedding pods): its vector must not query, or land in, this model's index
            raise StoreUnavailableError(
                "embedding service",
                f"it answered with {made_by} vectors, this process serves {self.info.name}",
            )
        return answer

    async def embed_image(self, data: bytes, crop: Crop | None = None) -> np.ndarray:
        with metrics.stage("embed"):
            body = await self._call(
                "POST",
                "/embed/image",
                params={"crop": str(crop)} if crop is not None else None,
                content=data,
                headers={"content-type": "application/octet-stream"},
            )
        return np.asarray(body["vector"], dtype=np.float32)

    async def embed_text(self, text: str) -> np.ndarray:
        with metrics.stage("embed"):
            body = await self._call("POST", "/embed/text", json={"text": text})
        return np.asarray(body["vector"], dtype=np.float32)

    async def embed_image_views(
        self, data: bytes, crop: Crop | None = None, views: QueryViews = WHOLE
    ) -> np.ndarray:
        """The views from the embedding service; one that predates them answers the whole
        image's vector only, which is searched alone."""
        if views == WHOLE:
            return await super().embed_image_views(data, crop, views)
        params = {"views": views} | ({"crop": str(crop)} if crop is not None else {})
        with metrics.stage("embed"):
            body = await self._call(
                "POST",
                "/embed/image",
                params=params,
                content=data,
                headers={"content-type": "application/octet-stream"},
            )
        rows = body.get("views") or [body["vector"]]
        return np.asarray(rows, dtype=np.float32)

    async def close(self) -> None:
        await self._client.aclose()
