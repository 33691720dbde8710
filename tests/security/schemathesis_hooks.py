"""Schemathesis hooks: what the OpenAPI document cannot say about valid requests.

OpenAPI has no way to relate two parameters, so a positive case may carry
``price_min > price_max`` or ``offset + top_k > 500``, which the API rightly refuses (422).
Such cases get their bounds swapped or their offset pulled back, so positive data stays valid
and ``positive_data_acceptance`` keeps its full force.
"""

from __future__ import annotations

from typing import Any

import schemathesis


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
    return query
