"""The semantic retriever keeps recent query vectors: the next page or filter of a search does
not run the sentence encoder again, and the oldest vector goes when the cache is full."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from visualsearch.embedding.text import MAX_TOKENS, TextEncoder
from visualsearch.retrieval import semantic
from visualsearch.retrieval.semantic import SemanticRetriever


class CountingEncoder(TextEncoder):
    name, dim = "counting", 2

    def __init__(self) -> None:
        self.asked: list[str] = []

    def encode(self, texts: Sequence[str], max_tokens: int = MAX_TOKENS) -> np.ndarray:
        self.asked += texts
        return np.array([[float(len(t)), 1.0] for t in texts], dtype=np.float32)


async def test_a_query_is_encoded_once_while_it_is_recent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(semantic, "QUERY_VECTORS", 2)
    encoder = CountingEncoder()
    retriever = SemanticRetriever(encoder, vectors=None)  # type: ignore[arg-type]
    first = await retriever.vector("sofa")
    assert np.array_equal(await retriever.vector("sofa"), first)
    assert encoder.asked == ["sofa"]
    await retriever.vector("couch")
    await retriever.vector("sofa")  # used again: "couch" is now the oldest
    await retriever.vector("lamp")  # the cache holds 2: "couch" goes
    await retriever.vector("sofa")
    await retriever.vector("couch")
    assert encoder.asked == ["sofa", "couch", "lamp", "couch"]
