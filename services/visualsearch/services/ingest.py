"""Bulk ingestion of whole catalogues: batched, resumable, idempotent.

Each batch is compared with what the stores already hold: a product whose row and vectors match
(same metadata, same image hashes, image by image) is skipped, so a second run changes nothing
and a run that was interrupted resumes where it stopped. Changed and new products are written
batch by batch: images, then vectors embedded together (micro-batched, one per gallery image),
then rows in one transaction and vectors in one upsert. A bad row (one of its images corrupt,
or too many of them) is reported and skipped whole, never fatal. At the end, the products whose
vectors were written are checked for near-duplicate main images (:mod:`.duplicates`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from pydantic import ValidationError

from visualsearch.embedding.service import EmbeddingService
from visualsearch.exceptions import StoreUnavailableError, VisualSearchError
from visualsearch.schemas import IngestSummary, ProductInput, Rejected
from visualsearch.services.catalog_files import CatalogEntry
from visualsearch.services.duplicates import DuplicateFinder
from visualsearch.services.indexing import IndexingService, StoredImage, record_of
from visualsearch.storage.catalog import CatalogStore, ProductRecord
from visualsearch.storage.vectors.base import VectorItem, VectorPayload, VectorStore

if TYPE_CHECKING:
    from visualsearch.services.text_vectors import TextVectors

log = logging.getLogger(__name__)

ImageLoader = Callable[[str], Awaitable[bytes]]
"""Loads an image by the reference a catalogue row gives (a path, a URL, an upload's name)."""
Progress = Callable[[int], None]


@dataclass
class _Prepared:
    row: int
    product: ProductInput
    images: list[StoredImage]
    data: list[bytes]


def describe(exc: Exception) -> str:
    """A one-line reason a person can act on."""
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg']}" for e in exc.errors()
        )
    if isinstance(exc, VisualSearchError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


class BulkIngester:
    def __init__(
        self,
        catalog: CatalogStore,
        vectors: VectorStore,
        embedding: EmbeddingService,
        indexing: IndexingService,
        batch_size: int = 32,
        text: TextVectors | None = None,
    ) -> None:
        self._catalog = catalog
        self._vectors = vectors
        self._embedding = embedding
        self._indexing = indexing
        self.batch_size = batch_size
        self._text = text

    async def ingest(
        self,
        entries: Iterable[CatalogEntry],
        load_image: ImageLoader,
        progress: Progress | None = None,
    ) -> IngestSummary:
        summary = IngestSummary()
        written: list[str] = []  # products whose vectors this load stored
        batch: list[CatalogEntry] = []
        for entry in entries:
            batch.append(entry)
            if len(batch) >= self.batch_size:
                written += await self._batch(batch, load_image, summary)
                if progress:
                    progress(len(batch))
                batch = []
        if batch:
            written += await self._batch(batch, load_image, summary)
            if progress:
                progress(len(batch))
        if written:
            summary.duplicates = await DuplicateFinder(self._vectors).pairs(written)
        return summary

    async def _batch(
        self, entries: Sequence[CatalogEntry], load_image: ImageLoader, summary: IngestSummary
    ) -> list[str]:
        """Ingest one batch into ``summary``; the ids of the products whose vectors it wrote."""
        valid: list[tuple[CatalogEntry, ProductInput]] = []
        for entry in entries:
            if entry.error:
                summary.rejected.append(
                    Rejected(row=entry.row, product_id=entry.product_id, reason=entry.error)
                )
                continue
            try:
                valid.append((entry, ProductInput.model_validate(entry.fields)))
            except ValidationError as exc:
                summary.rejected.append(
                    Rejected(row=entry.row, product_id=entry.product_id, reason=describe(exc))
                )
        ids = [p.product_id for _, p in valid]
        rows = await self._catalog.get_many(ids)
        vectors = await self._vectors.images(ids)

        prepared = await asyncio.gather(
            *(self._prepare(entry, product, load_image) for entry, product in valid),
            return_exceptions=True,
        )
        todo: list[_Prepared] = []
        relabelled: list[ProductRecord] = []  # same image, new metadata: no re-embedding
        for (entry, product), result in zip(valid, prepared, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception) or _is_outage(result):
                    raise result
                summary.rejected.append(
                    Rejected(row=entry.row, product_id=product.product_id, reason=describe(result))
                )
                continue
            current = rows.get(product.product_id)
            record = record_of(product, result.images)
            hashes = {n: image.sha256 for n, image in enumerate(result.images)}
            if current is not None and vectors.get(product.product_id) == hashes:
                if current == record:
                    summary.unchanged += 1
                else:
                    relabelled.append(record)
                    summary.updated += 1
                continue
            todo.append(result)
        if relabelled:
            await self._catalog.upsert(relabelled)
            await self._vectors.set_payloads(
                {r.product_id: VectorPayload.of(r) for r in relabelled}
            )
            if self._text is not None:  # the text may be what changed: encode it again
                await self._text.upsert(relabelled)
            if not todo:
                await self._catalog.bump_version()
        if not todo:
            return []
        # The text vectors need no image: encoded and stored while the galleries embed, and
        # stored before the image vectors, which mark a product done (a load stopped between
        # them redoes the product).
        text = None
        if self._text is not None:
            text = asyncio.create_task(
                self._text.upsert([record_of(p.product, p.images) for p in todo])
            )
        try:
            embedded = await asyncio.gather(
                *(self._embed_gallery(p.data) for p in todo), return_exceptions=True
            )
        finally:
            if text is not None:
                await text
        records: list[ProductRecord] = []
        points: list[VectorItem] = []
        unwritten: list[str] = []
        for item, gallery in zip(todo, embedded, strict=True):
            if isinstance(gallery, BaseException):
                if not isinstance(gallery, Exception) or _is_outage(gallery):
                    raise gallery
                summary.rejected.append(
                    Rejected(
                        row=item.row, product_id=item.product.product_id, reason=describe(gallery)
                    )
                )
                unwritten.append(item.product.product_id)
                continue
            record = record_of(item.product, item.images)
            records.append(record)
            points += [VectorItem.of(record, v, n) for n, v in enumerate(gallery)]
            if item.product.product_id in rows:
                summary.updated += 1
            else:
                summary.added += 1
        if self._text is not None and unwritten:  # a rejected gallery: its row's text again
            await self._text.delete([p for p in unwritten if p not in rows])
            await self._text.upsert([rows[p] for p in unwritten if p in rows])
        await self._catalog.upsert(records)
        await self._vectors.replace_galleries(points)
        await self._catalog.bump_version()
        return [r.product_id for r in records]

    async def _prepare(
        self, entry: CatalogEntry, product: ProductInput, load_image: ImageLoader
    ) -> _Prepared:
        """Load and check the whole gallery, then store it (nothing is stored for a bad one)."""
        self._indexing.check_gallery_size(len(entry.images))
        data = [await load_image(ref) for ref in entry.images]
        images = await self._indexing.check_images(product.product_id, data)
        for image, content in zip(images, data, strict=True):
            await self._indexing.put_image(image, content)
        return _Prepared(entry.row, product, images, data)

    async def _embed_gallery(self, images: Sequence[bytes]) -> list[np.ndarray]:
        return list(
            await asyncio.gather(*(self._embedding.embed_catalogue_image(d) for d in images))
        )


def _is_outage(exc: BaseException) -> bool:
    return isinstance(exc, StoreUnavailableError)
