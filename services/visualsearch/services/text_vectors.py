"""Product text vectors for semantic retrieval: made from a catalogue row (name, brand, category,
description) by the sentence encoder, batched, stored in the text collection with the same
payload as the image vectors, so the same filters apply."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from visualsearch.embedding.text import DOCUMENT_TOKENS, TextEncoder, product_text
from visualsearch.storage.catalog import CatalogStore, ProductRecord
from visualsearch.storage.vectors.base import VectorItem, VectorStore

log = logging.getLogger(__name__)
BATCH = 64


class TextVectors:
    def __init__(
        self, encoder: TextEncoder, vectors: VectorStore, max_tokens: int = DOCUMENT_TOKENS
    ) -> None:
        self.encoder = encoder
        self.vectors = vectors
        self.max_tokens = max_tokens
        """A product's text is read up to here (``embedding.text.DOCUMENT_TOKENS``)."""

    async def upsert(self, records: Sequence[ProductRecord]) -> None:
        """Encode and store these products' text vectors (batches of ``BATCH``)."""
        for start in range(0, len(records), BATCH):
            chunk = records[start : start + BATCH]
            texts = [product_text(r.name, r.brand, r.category, r.description) for r in chunk]
            encoded = await asyncio.to_thread(self.encoder.encode, texts, self.max_tokens)
            await self.vectors.upsert(
                [VectorItem.of(r, v) for r, v in zip(chunk, encoded, strict=True)]
            )

    async def delete(self, product_ids: Sequence[str]) -> None:
        await self.vectors.delete(product_ids)

    async def rebuild(self, catalog: CatalogStore) -> int:
        """Make every product's text vector again (in place: search keeps working) and drop
        those without a row; return how many were made."""
        done, skip = 0, 0
        while True:
            records, _ = await catalog.page(skip, BATCH, None, "name")
            if not records:
                break
            skip += len(records)
            await self.upsert(records)
            done += len(records)
        await self.delete(
            sorted(set(await self.vectors.all_ids()) - set(await catalog.all_ids_and_images()))
        )
        return done

    async def backfill(self, catalog: CatalogStore) -> int:
        """Text vectors for catalogue rows that have none (an index made before them)."""
        rows = await catalog.all_ids_and_images()
        have = await self.vectors.all_ids()
        missing = sorted(set(rows) - set(have))
        for start in range(0, len(missing), BATCH):
            records = await catalog.get_many(missing[start : start + BATCH])
            await self.upsert(list(records.values()))
        if missing:
            log.info("product text vectors backfilled", extra={"products": len(missing)})
        return len(missing)
