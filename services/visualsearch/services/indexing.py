"""The indexing path: accept a product (its images → object store, row → catalogue, job →
queue) and, in the worker, turn a job into a stored vector per image."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from visualsearch.embedding.service import EmbeddingService
from visualsearch.exceptions import (
    InputError,
    NotFoundError,
    StoreUnavailableError,
    ValidationError,
    VisualSearchError,
)
from visualsearch.imaging import SUPPORTED_FORMATS, ImageLimits, decode_image, sniff_format
from visualsearch.schemas import ProductInput
from visualsearch.storage.catalog import CatalogStore, ImageRef, ProductRecord
from visualsearch.storage.objects.base import ObjectStore
from visualsearch.storage.queue.base import Job, JobQueue
from visualsearch.storage.vectors.base import VectorItem, VectorStore

if TYPE_CHECKING:
    from visualsearch.services.text_vectors import TextVectors

log = logging.getLogger(__name__)

EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp"}


@dataclass(frozen=True)
class StoredImage:
    key: str
    sha256: str
    content_type: str


def image_key(product_id: str, sha256: str, fmt: str) -> str:
    """Content-addressed: the same bytes always land on the same key."""
    return f"products/{product_id}/{sha256[:32]}.{EXTENSIONS[fmt]}"


def validate_image(data: bytes, limits: ImageLimits) -> tuple[str, str]:
    """Check that ``data`` is an acceptable image; return (format, sha256). CPU work: thread it."""
    decode_image(data, limits)
    fmt = sniff_format(data) or ""
    return fmt, hashlib.sha256(data).hexdigest()


def check_gallery_size(count: int, limits: ImageLimits) -> None:
    """A product has one image at least and ``max_images`` at most (a 422 otherwise)."""
    if count < 1:
        raise ValidationError("A product needs at least one image.")
    if count > limits.max_images:
        raise ValidationError(
            f"A product has at most {limits.max_images} images "
            f"(VISUALSEARCH_MAX_IMAGES_PER_PRODUCT); {count} were sent."
        )


def record_of(product: ProductInput, images: Sequence[StoredImage]) -> ProductRecord:
    """The catalogue row of a product and its gallery (the first image is the main one)."""
    image = images[0]
    return ProductRecord(
        product_id=product.product_id,
        name=product.name,
        brand=product.brand,
        price=product.price,
        category=product.category,
        description=product.description,
        rating=product.rating,
        stock=product.stock,
        warranty=product.warranty,
        image_key=image.key,
        image_sha256=image.sha256,
        gallery=tuple(ImageRef(i.key, i.sha256) for i in images),
    )


class IndexingService:
    def __init__(
        self,
        catalog: CatalogStore,
        objects: ObjectStore,
        queue: JobQueue,
        limits: ImageLimits,
    ) -> None:
        self._catalog = catalog
        self._objects = objects
        self._queue = queue
        self._limits = limits

    def check_gallery_size(self, count: int) -> None:
        """Refuse a gallery of ``count`` images before reading them (see ``check_gallery_size``)."""
        check_gallery_size(count, self._limits)

    async def check_images(self, product_id: str, images: Sequence[bytes]) -> list[StoredImage]:
        """Validate a whole gallery before anything is stored (one bad image rejects it all);
        the images' future keys and hashes, in order."""
        check_gallery_size(len(images), self._limits)
        stored = []
        for number, data in enumerate(images, start=1):
            try:
                fmt, sha = await asyncio.to_thread(validate_image, data, self._limits)
            except InputError as exc:
                if len(images) == 1:
                    raise
                raise type(exc)(f"Image {number} of {len(images)}: {exc.message}") from exc
            stored.append(StoredImage(image_key(product_id, sha, fmt), sha, SUPPORTED_FORMATS[fmt]))
        return stored

    async def store_image(self, product_id: str, data: bytes) -> tuple[StoredImage, bool]:
        """Validate and store an image; the flag says whether this call created the object."""
        fmt, sha = await asyncio.to_thread(validate_image, data, self._limits)
        stored = StoredImage(image_key(product_id, sha, fmt), sha, SUPPORTED_FORMATS[fmt])
        return stored, await self.put_image(stored, data)

    async def put_image(self, stored: StoredImage, data: bytes) -> bool:
        """Store a validated image; True when this call created the object.

        An image already stored is refreshed, not skipped: its row is about to be written, and
        the orphan sweep must see a new object (its grace period starts now), not an old one.
        """
        existed = await self._objects.exists(stored.key)
        if existed and await self._objects.refresh(stored.key):
            return False
        await self._objects.put(stored.key, data, stored.content_type)  # new, or written again
        return not existed

    async def submit(self, product: ProductInput, images: Sequence[bytes]) -> Job:
        """Store the gallery and the row, then enqueue the job, or leave nothing half-written.

        Every image is validated before any is stored (a corrupt one rejects the product whole).
        The job is enqueued after the row commits (so the worker always sees the row); if the
        queue refuses, the row is put back as it was and the images this call created are
        removed. Images of the previous gallery that the new one lacks are removed afterwards.
        """
        gallery = await self.check_images(product.product_id, images)
        created: list[str] = []
        try:
            for stored, data in zip(gallery, images, strict=True):
                if await self.put_image(stored, data):
                    created.append(stored.key)
            previous = await self._catalog.get(product.product_id)
            await self._catalog.upsert([record_of(product, gallery)])
            try:
                job = await self._queue.enqueue(product.product_id)
            except BaseException:
                await self._restore(product.product_id, previous)
                raise
        except BaseException:
            for key in created:
                await self._forget(key)
            raise
        kept = {i.key for i in gallery}
        for old in previous.images if previous is not None else ():
            if old.key not in kept:
                await self._forget(old.key)
        log.info("product accepted", extra={"product_id": product.product_id, "job_id": job.job_id})
        return job

    async def _restore(self, product_id: str, previous: ProductRecord | None) -> None:
        try:
            if previous is None:
                await self._catalog.delete(product_id)
            else:
                await self._catalog.upsert([previous])
        except VisualSearchError:
            log.error(
                "could not restore the row; run `visualsearch doctor --repair`",
                extra={"product_id": product_id},
            )

    async def job(self, job_id: str) -> Job:
        job = await self._queue.get(job_id)
        if job is None:
            raise NotFoundError(f"No indexing job with id {job_id!r}.")
        return job

    async def dead_letters(self, limit: int = 100) -> list[Job]:
        return await self._queue.dead_letters(limit)

    async def retry(self, job_id: str) -> Job:
        """Queue a dead-lettered job again (fresh attempts); 404 when it is not dead."""
        job = await self._queue.retry(job_id)
        if job is None:
            raise NotFoundError(f"No dead-lettered job with id {job_id!r}.")
        return job

    async def _forget(self, key: str) -> None:
        try:
            await self._objects.delete(key)
        except VisualSearchError:
            log.warning("could not remove image; doctor will", extra={"key": key})


class VectorIndexer:
    """The worker's half: a job becomes a vector in the index, then the job is acknowledged."""

    def __init__(
        self,
        catalog: CatalogStore,
        objects: ObjectStore,
        vectors: VectorStore,
        embedding: EmbeddingService,
        queue: JobQueue,
        text: TextVectors | None = None,
    ) -> None:
        self._catalog = catalog
        self._objects = objects
        self._vectors = vectors
        self._embedding = embedding
        self._queue = queue
        self._text = text

    async def process(self, job: Job) -> None:
        """Index the product's current row, a vector per image (the gallery replaces the stored
        one); ack only after the vectors are stored."""
        try:
            record = await self._catalog.get(job.product_id)
            if record is not None:
                items = []
                for index, image in enumerate(record.images):
                    data, _ = await self._objects.get(image.key)
                    vector = await self._embedding.embed_catalogue_image(data)
                    items.append(VectorItem.of(record, vector, index))
                if self._text is not None:  # first: the image vectors mark the product done
                    await self._text.upsert([record])
                await self._vectors.replace_galleries(items)
                await self._catalog.bump_version()
        except InputError as exc:  # the stored image itself is unusable: retrying cannot help
            job.attempts = max(job.attempts, self._queue.policy.max_attempts)
            await self._queue.fail(job, f"{type(exc).__name__}: {exc}")
            return
        except StoreUnavailableError as exc:
            # An outage is not the job's fault: requeue it without spending an attempt (a long
            # outage must not dead-letter every job) and let the worker pause with backoff.
            job.attempts = max(job.attempts - 1, 0)
            await self._queue.fail(job, f"{type(exc).__name__}: {exc}")
            raise
        except Exception as exc:  # the unexpected: retry with backoff, then dead-letter
            log.warning(
                "job failed",
                extra={"job_id": job.job_id, "attempt": job.attempts, "error": str(exc)},
            )
            await self._queue.fail(job, f"{type(exc).__name__}: {exc}")
            return
        await self._queue.ack(job)
        log.info("product indexed", extra={"product_id": job.product_id, "job_id": job.job_id})
