"""Reciprocal rank fusion (Cormack, Clarke and Büttcher, 2009).

A product's fused score is ``Σ_r w_r / (K + rank_r)`` over the retrievers ``r`` that found it
(``rank_r`` from 1), divided by the most any product could get, ``Σ_r w_r / (K + 1)`` (first in
every retriever that ran). So a fused ``score`` is in [0, 1]: 1 means every retriever ranked the
product first; a product that only one of two equally weighted retrievers found, first, scores
0.5. It measures agreement between the retrievers, not a similarity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from visualsearch.retrieval.base import Candidate

K = 60
"""RRF's constant: the value its authors found robust (and the one OpenSearch, Elasticsearch
and Qdrant use); larger flattens the difference between ranks."""


def fuse(
    rankings: Mapping[str, Sequence[Candidate]], weights: Mapping[str, float] | None = None
) -> list[Candidate]:
    """Fuse each retriever's ranking (best first) into one, best first, ties by product id."""
    weights = weights or {}
    scores: dict[str, float] = {}
    matched: dict[str, int] = {}  # the image an image retriever matched (the first to say)
    best = 0.0
    for name, ranking in rankings.items():
        weight = weights.get(name, 1.0)
        if weight <= 0:
            continue
        best += weight / (K + 1)
        for rank, candidate in enumerate(ranking, start=1):
            if candidate.image_index is not None:
                matched.setdefault(candidate.product_id, candidate.image_index)
            scores[candidate.product_id] = scores.get(candidate.product_id, 0.0) + weight / (
                K + rank
            )
    if best == 0:
        return []
    fused = [
        Candidate(pid, min(score / best, 1.0), matched.get(pid)) for pid, score in scores.items()
    ]
    fused.sort(key=lambda c: (-c.score, c.product_id))
    return fused
