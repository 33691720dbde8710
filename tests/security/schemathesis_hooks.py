"""Schemathesis hooks: what the OpenAPI document cannot say about valid requests.

OpenAPI has no way to relate two parameters, so a positive case may carry
``price_min > price_max`` or ``offset + top_k > 500``, which the API rightly refuses (422).
Nor can it say that a ``category`` or ``brand`` parameter is a comma-separated list whose
values are each at most 200 characters and at most 100 in all (a parameter may be 20,100
characters long, one value may not). Such cases get their bounds swapped, their offset pulled
back or their lists trimmed, so positive data stays valid and ``positive_data_acceptance``
keeps its full force.
"""

from __future__ import annotations

from typing import Any

import schemathesis

from visualsearch.filters import MAX_VALUE_LENGTH, MAX_VALUES

LIST_FILTERS = ("category", "brand")


def _trim_list(raw: Any) -> Any:
    """Each comma-separated value cut to the longest allowed, at most MAX_VALUES values."""
    chunks = [raw] if isinstance(raw, str) else raw
    if not isinstance(chunks, list) or not all(isinstance(chunk, str) for chunk in chunks):
        return raw
    budget = MAX_VALUES
    trimmed: list[str] = []
    for chunk in chunks:
        parts = [part[:MAX_VALUE_LENGTH] for part in chunk.split(",")][:budget]
        budget -= len(parts)
        trimmed.append(",".join(parts))
        if budget <= 0:
            break
    return trimmed[0] if isinstance(raw, str) else trimmed


@schemathesis.hook
def map_query(context: Any, query: dict[str, Any] | None) -> dict[str, Any] | None:
    if not query:
        return query
    low, high = query.get("price_min"), query.get("price_max")
    numbers = (int, float)
    if isinstance(low, numbers) and isinstance(high, numbers) and low > high:
        query = {**query, "price_min": high, "price_max": low}
    # pages end at rank 500 (offset + top_k <= 500), another relation OpenAPI cannot state
    offset, top_k = query.get("offset"), query.get("top_k")
    if isinstance(offset, int) and offset + (top_k if isinstance(top_k, int) else 12) > 500:
        query = {**query, "offset": max(0, 500 - (top_k if isinstance(top_k, int) else 12))}
    for name in LIST_FILTERS:
        if name in query:
            query = {**query, name: _trim_list(query[name])}
    return query
