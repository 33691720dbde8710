"""Re-embedding the whole catalogue with another model, without a gap in search.

The new vectors go into a generation built beside the live one; only when every product is in
it does the collection switch (one alias or row update), and the old generation is dropped.
Searches meanwhile keep using the old generation.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from visualsearch.embedding.service import EmbeddingService
from visualsearch.storage.catalog import CatalogStore, ProductRecord
from visualsearch.storage.objects.base import ObjectStore
from visualsearch.storage.vectors.base import VectorItem, VectorStore

log = logging.getLogger(__name__)


class Reindexer:
    def __init__(
        self,
        catalog: CatalogStore,
        objects: ObjectStore,
        vectors: VectorStore,
        embedding: EmbeddingService,
        batch_size: int = 32,
    ) -> None:
        self._catalog = catalog
        self._objects = objects
        self._vectors = vectors
        self._embedding = embedding
        self._batch = batch_size

    async def run(self, progress: Callable[[int], None] | None = None) -> int:
        """Build the new generation, switch to it, record the model; return the product count."""
        info = self._embedding.info
        builder = await self._vectors.begin_rebuild(info.dim)
        done = 0
        try:
            skip = 0
            while True:
                records, _ = await self._catalog.page(skip, self._batch, None, "name")
                if not records:
                    break
                skip += len(records)
                galleries = await asyncio.gather(*(self._gallery(r) for r in records))
                await builder.upsert([item for gallery in galleries for item in gallery])
                done += len(records)
                if progress:
                    progress(len(records))
        except BaseException:
            await self._vectors.abort_rebuild(builder)
            raise
        await self._vectors.commit_rebuild(builder)
        await self._catalog.reset_model()
        await self._catalog.record_model(info.name, info.dim)
        log.info("re-index switched", extra={"model": info.name, "products": done})
        return done

    async def _gallery(self, record: ProductRecord) -> list[VectorItem]:
        """A vector per image of the product (embedded together, micro-batched)."""
        images = await asyncio.gather(*(self._objects.get(i.key) for i in record.images))
        vectors = await asyncio.gather(
            *(self._embedding.embed_catalogue_image(d) for d, _ in images)
        )
        return [VectorItem.of(record, v, n) for n, v in enumerate(vectors)]
