"""Filtered vector search through the product's own store adapters, against unfiltered search
and an exact filtered scan (issue 15).

The data are ``bench.vectors``' clustered 512-dim unit vectors, each given a brand (one of 20),
a price (uniform 0-1000) and a stock (0 for 30 %). Two shop filters, both inside the ANN scan:

- **5 %**: two brands, price ≤ 700, in stock (0.10 x 0.70 x 0.70 ≈ 4.9 % of the catalogue);
- **0.5 %**: one brand, price 100-250, in stock (0.05 x 0.15 x 0.70 ≈ 0.5 %);
- **28 %**: price ≤ 400, in stock (0.40 x 0.70 ≈ 28 %): a broad filter, searched in the graph.

Recall@12 compares a store's top 12 with numpy's exact top 12 over the rows the filter keeps.
The stores are the product's adapters (``QdrantEdgeVectorStore``, ``PgVectorStore``) loaded
through their ``upsert``, so what is timed is what a search runs.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import numpy as np

from bench.report import Report
from bench.timing import percentiles
from bench.vectors import DIM, TOP_K, dataset
from visualsearch.filters import ProductFilter
from visualsearch.storage.vectors.base import VectorItem, VectorStore

BRANDS = 20
FILTERS = {
    "none": ProductFilter(),
    "~5 %": ProductFilter(brands=("b00", "b01"), price_max=Decimal(700), in_stock=True),
    "~0.5 %": ProductFilter(
        brands=("b02",), price_min=Decimal(100), price_max=Decimal(250), in_stock=True
    ),
    "~28 %": ProductFilter(price_max=Decimal(400), in_stock=True),
}


def attributes(count: int, seed: int = 11) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    brands = rng.integers(0, BRANDS, count)
    prices = np.round(rng.uniform(0, 1000, count), 2)
    stock = np.where(rng.random(count) < 0.3, 0, rng.integers(1, 50, count))
    return brands, prices, stock


def mask(flt: ProductFilter, brands: np.ndarray, prices: np.ndarray, stock: np.ndarray):  # type: ignore[no-untyped-def]
    keep = np.ones(len(brands), dtype=bool)
    if flt.brands:
        keep &= np.isin(brands, [int(b[1:]) for b in flt.brands])
    if flt.price_min is not None:
        keep &= prices >= float(flt.price_min)
    if flt.price_max is not None:
        keep &= prices <= float(flt.price_max)
    if flt.in_stock:
        keep &= stock > 0
    return keep


def exact(points: np.ndarray, keep: np.ndarray, query: np.ndarray) -> list[int]:
    ids = np.flatnonzero(keep)
    scores = points[ids] @ query
    top = np.argsort(-scores)[:TOP_K]
    return ids[top].tolist()


async def load(store: VectorStore, points: np.ndarray, attrs: tuple[np.ndarray, ...]) -> float:
    brands, prices, stock = attrs
    await store.ensure_collection(DIM)
    start = time.perf_counter()
    for begin in range(0, len(points), 2000):
        await store.upsert(
            [
                VectorItem(
                    str(i),
                    points[i],
                    "c",
                    f"b{brands[i]:02d}",
                    float(prices[i]),
                    int(stock[i]),
                    f"h{i}",
                )
                for i in range(begin, min(begin + 2000, len(points)))
            ]
        )
    return time.perf_counter() - start


async def measure(store: VectorStore, points: np.ndarray, attrs: tuple[np.ndarray, ...],
                  queries: np.ndarray) -> list[list[object]]:  # fmt: skip
    rows: list[list[object]] = []
    for label, flt in FILTERS.items():
        keep = mask(flt, *attrs)
        for query in queries[:5]:  # warm-up
            await store.search(query, TOP_K, flt)
        times, recalls = [], []
        for query in queries:
            start = time.perf_counter()
            hits = await store.search(query, TOP_K, flt)
            times.append(time.perf_counter() - start)
            want = exact(points, keep, query)
            got = [int(h.product_id) for h in hits]
            assert all(keep[i] for i in got), f"{label}: a hit the filter excludes"
            recalls.append(len(set(got) & set(want)) / max(1, len(want)))
        p = percentiles(times)
        rows.append(
            [
                label,
                f"{keep.mean() * 100:.2f} %",
                p["p50"],
                p["p95"],
                f"{np.mean(recalls):.3f}",
                len(times),
            ]
        )
    return rows


def _edge(directory: Path) -> VectorStore:
    from visualsearch.storage.vectors.qdrant_edge import QdrantEdgeVectorStore

    return QdrantEdgeVectorStore("bench", directory / "edge")


_postgres: list[object] = []


def _pgvector(directory: Path) -> VectorStore:
    from visualsearch.storage.embedded_postgres import EmbeddedPostgres
    from visualsearch.storage.vectors.pgvector import PgVectorStore

    postgres = EmbeddedPostgres(directory / "pg")
    _postgres.append(postgres)
    return PgVectorStore("bench", postgres.start())


def stores(size: int) -> dict[str, Callable[[Path], VectorStore]]:
    chosen = {"Qdrant Edge": _edge}
    if size <= 10_000:  # row-by-row HNSW inserts into pgvector take many minutes at 100k here
        chosen["pgvector"] = _pgvector
    return chosen


def run(report: Report, quick: bool) -> dict[str, float]:
    sizes = [10_000] if quick else [10_000, 100_000]
    queries_n = 40 if quick else 100
    report.section("Filtered vector search (price + brand + stock inside the ANN scan)")
    report.note(__doc__.split("\n\n", 1)[1].strip())  # Markdown: the list keeps its lines
    figures: dict[str, float] = {}
    rows: list[list[object]] = []
    for size in sizes:
        points, _, queries = dataset(size, queries_n)
        attrs = attributes(size)
        for name, make in stores(size).items():
            directory = Path(tempfile.mkdtemp(prefix="bench-filtered-"))
            loop = asyncio.new_event_loop()
            try:
                store = make(directory)
                loop.run_until_complete(store.open())
                built = loop.run_until_complete(load(store, points, attrs))
                measured = loop.run_until_complete(measure(store, points, attrs, queries))
                base = float(measured[0][2])  # type: ignore[arg-type]
                for row in measured:
                    ratio = float(row[2]) / base  # type: ignore[arg-type]
                    rows.append([f"{size:,}", name, *row[:4], f"{ratio:.2f}x", *row[4:], built])
                    key = f"{name.replace(' ', '')}_{size}_{row[0]}"
                    figures[f"{key}_ratio"] = ratio
                    figures[f"{key}_recall"] = float(row[4])  # type: ignore[arg-type]
                loop.run_until_complete(store.drop_collection())
                loop.run_until_complete(store.close())
            finally:
                loop.close()
                while _postgres:
                    _postgres.pop().stop()  # type: ignore[attr-defined]
                shutil.rmtree(directory, ignore_errors=True)
    report.table(
        [
            "points",
            "store",
            "filter",
            "kept",
            "p50 ms",
            "p95 ms",
            "vs unfiltered",
            "recall@12",
            "queries",
            "load s",
        ],
        rows,
        digits=2,
    )
    return figures
