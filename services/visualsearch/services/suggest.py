"""Suggestions for the search box (``GET /suggest``) and the "did you mean" of a text search
that found nothing, both from the catalogue's trigram-indexed words."""

from __future__ import annotations

from visualsearch.retrieval.synonyms import query_words
from visualsearch.schemas import Suggestion, Suggestions
from visualsearch.storage.suggestions import SuggestionStore

MAX_SUGGESTIONS = 20
TYPO_SIMILARITY = 0.45
"""The least ``pg_trgm`` word similarity of a completion to what was typed, beyond prefixes."""
DID_YOU_MEAN_SIMILARITY = 0.3
"""The least trigram similarity of a catalogue word to a typed word to be offered instead."""


class SuggestService:
    def __init__(self, store: SuggestionStore) -> None:
        self._store = store

    async def suggest(self, q: str, limit: int = 8) -> Suggestions:
        words = query_words(q)
        if not words:
            return Suggestions(query=q, suggestions=[])
        found = await self._store.complete(words, min(limit, MAX_SUGGESTIONS), TYPO_SIMILARITY)
        return Suggestions(
            query=q,
            suggestions=[
                Suggestion(text=c.text, kind=c.kind, product_id=c.product_id)  # type: ignore[arg-type]
                for c in found
            ],
        )

    async def did_you_mean(self, text: str) -> str | None:
        """The query with each word the catalogue does not have replaced by its closest
        catalogue word; ``None`` when nothing would change or nothing is close."""
        words = query_words(text)
        if not words:
            return None
        closest = await self._store.closest_words(words, DID_YOU_MEAN_SIMILARITY)
        if any(c is None for _, c in closest):
            closest = [(w, c) for w, c in closest if c is not None]
        if not closest or all(w == c for w, c in closest):
            return None
        return " ".join(c for _, c in closest if c is not None)
