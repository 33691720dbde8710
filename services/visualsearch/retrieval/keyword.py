"""Keyword retrieval in the catalogue's PostgreSQL: weighted full text (name > brand > category >
description, English stemming), the last word as a prefix, typos by pg_trgm word similarity, the
shop's synonyms expanding the query (:mod:`.synonyms`).

The query text is never handed to PostgreSQL's tsquery parser: it is split here into words of
letters and digits only (any script), so operators, quotes, NUL bytes and emoji cannot reach it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from visualsearch.filters import ProductFilter
from visualsearch.retrieval.base import Candidate, Query, Retriever
from visualsearch.retrieval.synonyms import (
    MAX_WORD_LENGTH,
    MAX_WORDS,
    NO_SYNONYMS,
    SynonymRules,
    query_words,
)
from visualsearch.storage.catalog import CatalogStore

__all__ = ["MAX_WORDS", "MAX_WORD_LENGTH", "KeywordRetriever", "query_words"]

SynonymSource = Callable[[], Awaitable[SynonymRules]]
"""Gives the shop's current synonyms (``services.synonyms.SynonymService.rules``)."""


async def _no_synonyms() -> SynonymRules:
    return NO_SYNONYMS


class KeywordRetriever(Retriever):
    name = "keyword"

    def __init__(self, catalog: CatalogStore, synonyms: SynonymSource = _no_synonyms) -> None:
        self._catalog = catalog
        self._synonyms = synonyms

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
        rules = await self._synonyms()
        terms = [(t.tsquery(), t.fuzzy) for t in rules.terms(query_words(query.text))]
        rows = await self._catalog.keyword_search(terms, filter, offset + depth)
        hits = [Candidate(pid, min(max(score, 0.0), 1.0)) for pid, score in rows[offset:]]
        return [h for h in hits if min_score is None or h.score >= min_score]
