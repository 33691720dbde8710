"""Consistency between the catalogue, the vector index and the object store.

``visualsearch doctor`` reports drift and, with ``--repair``, fixes it: rows without a current
vector are re-queued, vectors without a row are deleted, images no row refers to are deleted,
and vector payloads that disagree with their row (category, brand, price, stock) are rewritten
from the row, without re-embedding. The worker runs the first and the last repair at start-up,
so jobs lost with a Redis that kept nothing on disk are recovered, and a collection written
before payloads carried brand, price and stock is backfilled (as ``visualsearch migrate`` does).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from visualsearch.storage.vectors import VectorPayload

if TYPE_CHECKING:
    from visualsearch.factory import Context

log = logging.getLogger(__name__)


@dataclass
class DriftReport:
    rows_without_vector: list[str] = field(default_factory=list)
    stale_vectors: list[str] = field(default_factory=list)
    vectors_without_row: list[str] = field(default_factory=list)
    orphan_objects: list[str] = field(default_factory=list)
    rows_without_image: list[str] = field(default_factory=list)
    stale_payloads: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not any(vars(self).values())

    def lines(self) -> list[str]:
        return [
            f"{name.replace('_', ' ')}: {len(items)}"
            + (f" (e.g. {', '.join(items[:5])})" if items else "")
            for name, items in vars(self).items()
        ]


class Doctor:
    def __init__(self, context: Context) -> None:
        self._ctx = context

    async def examine(self) -> DriftReport:
        rows = await self._ctx.catalog.all_ids_and_images()
        vectors = await self._ctx.vectors.all_ids()
        keys = set(await self._ctx.objects.keys("products/"))
        report = DriftReport()
        for pid, (key, sha) in sorted(rows.items()):
            if pid not in vectors:
                report.rows_without_vector.append(pid)
            elif vectors[pid] != sha:
                report.stale_vectors.append(pid)
            if key not in keys:
                report.rows_without_image.append(pid)
        report.vectors_without_row = sorted(set(vectors) - set(rows))
        referenced = {key for key, _ in rows.values()}
        report.orphan_objects = sorted(keys - referenced)
        report.stale_payloads = sorted(await self.payload_drift())
        return report

    async def repair(self, report: DriftReport) -> None:
        """Fix what can be fixed without the shop's help (rows without image need re-upload)."""
        for pid in report.rows_without_vector + report.stale_vectors:
            if pid not in report.rows_without_image:
                await self._ctx.queue.enqueue(pid)
        await self._ctx.vectors.delete(report.vectors_without_row)
        for key in report.orphan_objects:
            await self._ctx.objects.delete(key)
        if report.vectors_without_row:
            await self._ctx.catalog.bump_version()
        if report.stale_payloads:
            await self.sync_payloads()

    async def payload_drift(self) -> dict[str, VectorPayload]:
        """Vectors whose payload disagrees with their row (or lacks a field), with the payload
        each should have."""
        stored = await self._ctx.vectors.payloads()
        ids = sorted(stored)
        wrong: dict[str, VectorPayload] = {}
        for start in range(0, len(ids), 1000):
            rows = await self._ctx.catalog.get_many(ids[start : start + 1000])
            for pid, record in rows.items():
                wanted = VectorPayload.of(record)
                if stored[pid] != wanted:
                    wrong[pid] = wanted
        return wrong

    async def sync_payloads(self) -> int:
        """Rewrite every payload that disagrees with its row; return how many."""
        wrong = await self.payload_drift()
        if wrong:
            await self._ctx.vectors.set_payloads(wrong)
            await self._ctx.catalog.bump_version()
        return len(wrong)

    async def requeue_missing_vectors(self) -> int:
        """Queue every row whose vector is missing or stale, unless a job is already pending."""
        if await self._ctx.queue.pending():
            return 0
        rows = await self._ctx.catalog.all_ids_and_images()
        vectors = await self._ctx.vectors.all_ids()
        todo = [pid for pid, (_, sha) in rows.items() if vectors.get(pid) != sha]
        for pid in todo:
            await self._ctx.queue.enqueue(pid)
        return len(todo)
