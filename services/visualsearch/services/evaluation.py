"""Search quality: labelled queries through the search service, scored per kind of query.

Every query is a transformed image of one catalogue product (``visualsearch.query_images``), or
for the ``view`` kind one of the product's further catalogue images (a gallery's second view),
and that product is its one relevant answer. The query goes through ``SearchService.search`` (the
path ``POST /search`` takes: decode, embed, vector search, metadata), and the rank of its product
in the answer gives the metrics:

- Recall@K: the share of queries whose product is among the first K results.
- MRR: the mean of 1/rank (0 when the product is not in the ``top_k`` returned).
- nDCG@10: with one relevant product, 1/log2(rank + 1) when rank <= 10, else 0.

Latency is the wall time of each ``search`` call (the result cache should be off: the caller
sets ``redis_cache_ttl=0``), reported per kind as p50 and p95.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from visualsearch.query_images import CATALOGUE_KINDS, KINDS, Inputs, decode, generate, query_rng
from visualsearch.services.search import SearchService

CUTOFFS = (1, 5, 10)
TOP_K = 50  # the most the search API answers; ranks beyond count as not found


# -- metrics (one relevant product per query) -----------------------------------------------


def rank_of(product_id: str, ranking: Sequence[str]) -> int | None:
    """The 1-based rank of the first result that is ``product_id``, or None if absent."""
    for position, found in enumerate(ranking, start=1):
        if found == product_id:
            return position
    return None


def recall_at(rank: int | None, k: int) -> float:
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(rank: int | None) -> float:
    return 0.0 if rank is None else 1.0 / rank


def ndcg_at(rank: int | None, k: int = 10) -> float:
    """nDCG@k with a single relevant item: the ideal DCG is 1 (the item at rank 1)."""
    return 1.0 / math.log2(rank + 1) if rank is not None and rank <= k else 0.0


@dataclass(frozen=True)
class Outcome:
    kind: str
    product_id: str
    variant: int
    rank: int | None
    latency_s: float
    top: tuple[str, ...] = ()  # the first results, for reading misses


@dataclass(frozen=True)
class KindScore:
    kind: str
    queries: int
    recall: dict[int, float]
    mrr: float
    ndcg10: float
    p50_ms: float
    p95_ms: float


def score(outcomes: Sequence[Outcome], kinds: Sequence[str] | None = None) -> list[KindScore]:
    """One row per kind (in ``kinds`` order, else first-seen order), plus 'all' if several."""
    order = list(kinds) if kinds else list(dict.fromkeys(o.kind for o in outcomes))
    rows = [_score(kind, [o for o in outcomes if o.kind == kind]) for kind in order]
    rows = [row for row in rows if row.queries]
    if len(rows) > 1:
        rows.append(_score("all", list(outcomes)))
    return rows


def _score(kind: str, outcomes: Sequence[Outcome]) -> KindScore:
    if not outcomes:
        return KindScore(kind, 0, dict.fromkeys(CUTOFFS, 0.0), 0.0, 0.0, 0.0, 0.0)
    ranks = [o.rank for o in outcomes]
    latencies = np.array([o.latency_s for o in outcomes]) * 1000
    return KindScore(
        kind=kind,
        queries=len(outcomes),
        recall={k: float(np.mean([recall_at(r, k) for r in ranks])) for k in CUTOFFS},
        mrr=float(np.mean([reciprocal_rank(r) for r in ranks])),
        ndcg10=float(np.mean([ndcg_at(r, 10) for r in ranks])),
        p50_ms=float(np.percentile(latencies, 50)),
        p95_ms=float(np.percentile(latencies, 95)),
    )


def markdown_table(rows: Sequence[KindScore]) -> str:
    lines = [
        "| kind | queries | R@1 | R@5 | R@10 | MRR | nDCG@10 | p50 ms | p95 ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        name = f"**{row.kind}**" if row.kind == "all" else row.kind
        lines.append(
            f"| {name} | {row.queries} | {row.recall[1]:.3f} | {row.recall[5]:.3f} | "
            f"{row.recall[10]:.3f} | {row.mrr:.3f} | {row.ndcg10:.3f} | "
            f"{row.p50_ms:.1f} | {row.p95_ms:.1f} |"
        )
    return "\n".join(lines)


# -- the run --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    product_id: str
    image: bytes  # the catalogue's main file, as indexed
    views: tuple[bytes, ...] = ()  # its further images (the 'view' queries), not indexed


@dataclass
class QuerySet:
    """Which queries to make: kinds x products x variants, all from one seed."""

    kinds: Sequence[str] = KINDS
    seed: int = 0
    variants: int = 2  # queries per product and generated kind ('self': one, 'view': per image)
    limit: int | None = None  # products to query (a seeded sample); the gallery stays whole

    def __post_init__(self) -> None:
        unknown = [k for k in self.kinds if k not in KINDS]
        if unknown:
            raise ValueError(f"unknown query kinds {unknown}; choose from {', '.join(KINDS)}")
        if self.variants < 1:
            raise ValueError("variants must be at least 1")

    def sample(self, products: Sequence[Product]) -> list[Product]:
        """The products to query: all, or a seeded sample of ``limit`` in catalogue order."""
        if self.limit is None or self.limit >= len(products):
            return list(products)
        rng = np.random.default_rng([self.seed, 0x5A11])
        chosen = sorted(rng.choice(len(products), size=self.limit, replace=False))
        return [products[int(i)] for i in chosen]

    def per_product(self, kind: str, product: Product) -> int:
        """How many queries of ``kind`` one product gives: one for 'self', one per further
        image for 'view' (none without a gallery), ``variants`` for a generated kind."""
        if kind == "self":
            return 1
        if kind in CATALOGUE_KINDS:
            return len(product.views)
        return self.variants

    def count(self, products: Sequence[Product]) -> int:
        return sum(self.per_product(kind, p) for p in products for kind in self.kinds)


class Evaluator:
    """Runs a query set through a ``SearchService`` and records each query's outcome."""

    def __init__(self, search: SearchService, top_k: int = TOP_K) -> None:
        self._search = search
        self._top_k = top_k

    async def run(
        self,
        gallery: Sequence[Product],
        queries: QuerySet,
        photos: Sequence[Image.Image],
        progress: Callable[[int], object] = lambda n: None,
    ) -> list[Outcome]:
        """Query every sampled product in every kind; ``gallery`` gives the other products'
        images that screenshot pages show around the product."""
        images = await asyncio.to_thread(lambda: [decode(p.image) for p in gallery])
        index = {p.product_id: i for i, p in enumerate(gallery)}
        outcomes = []
        for product in queries.sample(gallery):
            others = [im for i, im in enumerate(images) if i != index.get(product.product_id)]
            inputs = Inputs(photos, others)
            for kind in queries.kinds:
                for variant in range(queries.per_product(kind, product)):
                    data = await asyncio.to_thread(
                        self._make, queries, kind, variant, product, inputs
                    )
                    outcomes.append(await self._query(product.product_id, kind, variant, data))
                    progress(1)
        return outcomes

    @staticmethod
    def _make(
        queries: QuerySet, kind: str, variant: int, product: Product, inputs: Inputs
    ) -> bytes:
        """The query's bytes: the product's ``variant``-th further image for 'view', else the
        kind's generator applied to its main image."""
        if kind in CATALOGUE_KINDS:
            return product.views[variant]
        rng = query_rng(queries.seed, product.product_id, kind, variant)
        return generate(kind, product.image, rng, inputs).data

    async def _query(self, product_id: str, kind: str, variant: int, data: bytes) -> Outcome:
        start = time.perf_counter()
        response = await self._search.search(image=data, top_k=self._top_k)
        latency = time.perf_counter() - start
        ranking = [hit.product_id for hit in response.results]
        return Outcome(
            kind, product_id, variant, rank_of(product_id, ranking), latency, tuple(ranking[:5])
        )
