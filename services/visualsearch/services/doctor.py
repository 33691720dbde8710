"""Consistency between the catalogue, the vector index and the object store.

``visualsearch doctor`` reports drift and, with ``--repair``, fixes it: rows without a current
vector for each of their images are re-queued, vectors without a row (or of an image no longer
in the product's gallery) are deleted, images no row refers to are deleted, vector payloads that
disagree with their row (category, brand, price, stock) are rewritten from the row, without
re-embedding, and product text vectors (semantic retrieval) are made for rows that have none and
deleted where the row is gone. The worker runs the first and the last repair and an orphan sweep
at start-up, so jobs lost with a Redis that kept nothing on disk are recovered, a collection
written before payloads carried brand, price and stock is backfilled (as
``visualsearch migrate`` does), and a crash leaves no drift behind.

An image no row refers to is an orphan only once it is older than ``orphan_grace_seconds``:
indexing stores the image first and writes its row second, so a younger one is an upload whose
row may be on its way. It is counted apart (``images being written``) and is not drift.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from visualsearch.storage.vectors.base import VectorPayload

if TYPE_CHECKING:
    from visualsearch.services.text_vectors import TextVectors
    from visualsearch.storage.catalog import CatalogStore
    from visualsearch.storage.objects.base import ObjectStore
    from visualsearch.storage.queue.base import JobQueue
    from visualsearch.storage.vectors.base import VectorStore

log = logging.getLogger(__name__)


@dataclass
class DriftReport:
    rows_without_vector: list[str] = field(default_factory=list)
    stale_vectors: list[str] = field(default_factory=list)
    vectors_without_row: list[str] = field(default_factory=list)
    # "<product id>#<image index>": a vector of an image the gallery no longer has
    vectors_without_image: list[str] = field(default_factory=list)
    orphan_objects: list[str] = field(default_factory=list)
    rows_without_image: list[str] = field(default_factory=list)
    stale_payloads: list[str] = field(default_factory=list)
    rows_without_text_vector: list[str] = field(default_factory=list)
    text_vectors_without_row: list[str] = field(default_factory=list)
    # not drift: unreferenced images younger than the grace period (their row may be coming)
    young_objects: list[str] = field(default_factory=list)

    def _drift(self) -> dict[str, list[str]]:
        return {k: v for k, v in vars(self).items() if k != "young_objects"}

    @property
    def clean(self) -> bool:
        return not any(self._drift().values())

    def lines(self) -> list[str]:
        lines = [
            f"{name.replace('_', ' ')}: {len(items)}"
            + (f" (e.g. {', '.join(items[:5])})" if items else "")
            for name, items in self._drift().items()
        ]
        if self.young_objects:
            lines.append(
                f"images being written (unreferenced, within the grace period; not drift): "
                f"{len(self.young_objects)}"
            )
        return lines


class Doctor:
    """Checks and repairs the agreement of the catalogue, the vectors and the images."""

    def __init__(
        self,
        catalog: CatalogStore,
        vectors: VectorStore,
        objects: ObjectStore,
        queue: JobQueue,
        orphan_grace_seconds: float,
        text_vectors: TextVectors | None = None,
    ) -> None:
        self._catalog = catalog
        self._vectors = vectors
        self._objects = objects
        self._queue = queue
        self._grace = orphan_grace_seconds
        self._text = text_vectors

    async def examine(self, *, payloads: bool = True) -> DriftReport:
        """What disagrees; ``payloads=False`` skips the payload scan (the orphan sweep's case)."""
        # The objects are listed BEFORE the rows are read: indexing writes the object first, so
        # every listed object whose row has committed by now is seen as referenced.
        now = time.time()
        listed = await self._objects.listing("products/")
        keys = set(listed)
        rows = await self._catalog.all_galleries()
        vectors = await self._vectors.images()
        report = DriftReport()
        for pid, gallery in sorted(rows.items()):
            have = vectors.get(pid, {})
            if not have:
                report.rows_without_vector.append(pid)
            elif any(have.get(n) != image.sha256 for n, image in enumerate(gallery)):
                report.stale_vectors.append(pid)  # an image's vector is missing or stale
            report.vectors_without_image += [
                f"{pid}#{n}" for n in sorted(have) if n >= len(gallery)
            ]
            if any(image.key not in keys for image in gallery):
                report.rows_without_image.append(pid)
        report.vectors_without_row = sorted(set(vectors) - set(rows))
        referenced = {image.key for gallery in rows.values() for image in gallery}
        cutoff = now - self._grace
        for key in sorted(keys - referenced):
            (report.orphan_objects if listed[key] < cutoff else report.young_objects).append(key)
        if payloads:
            report.stale_payloads = sorted(await self.payload_drift())
        if self._text is not None:
            texts = await self._text.vectors.all_ids()
            report.rows_without_text_vector = sorted(set(rows) - set(texts))
            report.text_vectors_without_row = sorted(set(texts) - set(rows))
        return report

    async def repair(self, report: DriftReport) -> None:
        """Fix what can be fixed without the shop's help (rows without image need re-upload)."""
        for pid in report.rows_without_vector + report.stale_vectors:
            if pid not in report.rows_without_image:
                await self._queue.enqueue(pid)
        await self._vectors.delete(report.vectors_without_row)
        await self._vectors.delete_images(
            [
                (pid, int(n))
                for pid, _, n in (k.rpartition("#") for k in report.vectors_without_image)
            ]
        )
        await self._delete_orphans(report.orphan_objects)
        if report.vectors_without_row or report.vectors_without_image:
            await self._catalog.bump_version()
        if report.stale_payloads:
            await self.sync_payloads()
        if self._text is not None:
            await self._text.delete(report.text_vectors_without_row)
            for start in range(0, len(report.rows_without_text_vector), 500):
                records = await self._catalog.get_many(
                    report.rows_without_text_vector[start : start + 500]
                )
                await self._text.upsert(list(records.values()))
            if report.text_vectors_without_row or report.rows_without_text_vector:
                await self._catalog.bump_version()

    async def payload_drift(self) -> dict[str, VectorPayload]:
        """Vectors whose payload disagrees with their row (or lacks a field), with the payload
        each should have."""
        stored = await self._vectors.payloads()
        ids = sorted(stored)
        wrong: dict[str, VectorPayload] = {}
        for start in range(0, len(ids), 1000):
            rows = await self._catalog.get_many(ids[start : start + 1000])
            for pid, record in rows.items():
                wanted = VectorPayload.of(record)
                if stored[pid] != wanted:
                    wrong[pid] = wanted
        return wrong

    async def sync_payloads(self) -> int:
        """Rewrite every payload that disagrees with its row; return how many."""
        wrong = await self.payload_drift()
        if wrong:
            await self._vectors.set_payloads(wrong)
            await self._catalog.bump_version()
        return len(wrong)

    async def sweep_orphans(self) -> tuple[int, int]:
        """Delete the images no row refers to that are older than the grace period.

        Returns (deleted, kept because younger than the grace period).
        """
        # the worker has just synced payloads: the sweep needs no second scan of them
        report = await self.examine(payloads=False)
        deleted = await self._delete_orphans(report.orphan_objects)
        return deleted, len(report.young_objects)

    async def _delete_orphans(self, keys: list[str]) -> int:
        # An orphan refreshed since it was listed (its product is being indexed again with the
        # same image) is newer than the cutoff now and is kept.
        cutoff = time.time() - self._grace
        deleted = 0
        for key in keys:
            deleted += await self._objects.delete_if_older(key, cutoff)
        return deleted

    async def requeue_missing_vectors(self) -> int:
        """Queue every row whose vector is missing or stale, unless a job is already pending."""
        if await self._queue.pending():
            return 0
        rows = await self._catalog.all_galleries()
        vectors = await self._vectors.images()
        todo = [
            pid
            for pid, gallery in rows.items()
            if any(vectors.get(pid, {}).get(n) != image.sha256 for n, image in enumerate(gallery))
        ]
        for pid in todo:
            await self._queue.enqueue(pid)
        return len(todo)
