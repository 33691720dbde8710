"""Keyword retrieval in the catalogue's PostgreSQL: weighted full text (name > brand > category >
description, English stemming), the last word as a prefix, typos by pg_trgm word similarity.

The query text is never handed to PostgreSQL's tsquery parser: it is split here into words of
letters and digits only (any script), so operators, quotes, NUL bytes and emoji cannot reach it.
"""

from __future__ import annotations

import re

from visualsearch.filters import ProductFilter
from visualsearch.retrieval.base import Candidate, Query, Retriever
from visualsearch.storage.catalog import CatalogStore

MAX_WORDS = 16
MAX_WORD_LENGTH = 40
_WORD = re.compile(r"[^\W_]+")


def query_words(text: str | None) -> list[str]:
    """Lower-case words of letters and digits, at most ``MAX_WORDS`` of ``MAX_WORD_LENGTH``."""
    if not text:
        return []
    return [w[:MAX_WORD_LENGTH] for w in _WORD.findall(text.lower())][:MAX_WORDS]


class KeywordRetriever(Retriever):
    name = "keyword"

    def __init__(self, catalog: CatalogStore) -> None:
        self._catalog = catalog

    def applies(self, query: Query) -> bool:
        return bool(query_words(query.text))

    async def retrieve(
        self,
        query: Query,
        depth: int,
        filter: ProductFilter,
        *,
        offset: int = 0,
        min_score: float | None = None,
    ) -> list[Candidate]:
        rows = await self._catalog.keyword_search(query_words(query.text), filter, offset + depth)
        hits = [Candidate(pid, min(max(score, 0.0), 1.0)) for pid, score in rows[offset:]]
        return [h for h in hits if min_score is None or h.score >= min_score]
