"""bench.similar measures what it says: its store part runs the service's own call on a real
Qdrant Edge, checks the answers against exact ranking without the product, and its verdicts
follow issue 17's targets."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
from bench import similar
from bench.vectors import dataset

from visualsearch.storage.vectors.qdrant_edge import QdrantEdgeVectorStore


def test_the_store_part_times_the_three_ways_and_finds_the_exact_neighbours(
    tmp_path: Path,
) -> None:
    points, _, queries = dataset(600, 12)
    products = np.arange(12) * 37

    async def go() -> dict[str, object]:
        store = QdrantEdgeVectorStore("bench", tmp_path / "edge")
        await store.open()
        try:
            await similar.load(store, points)
            assert await store.count() == 600
            return await similar.measure_store(store, points, queries, products)
        finally:
            await store.close()

    figures = asyncio.run(go())
    assert figures["recall"] == 1.0  # 600 points: under the HNSW threshold, exact
    for way in ("similar", "two", "fetch", "search"):
        timing = figures[way]
        assert isinstance(timing, dict) and 0 < timing["p50"] <= timing["p95"]


def test_the_load_builds_the_graph_once_and_puts_the_setting_back() -> None:
    from visualsearch.storage.vectors import qdrant_edge

    saved = qdrant_edge.OPTIMISE_EVERY
    with similar.edge_graph_built_once():
        assert qdrant_edge.OPTIMISE_EVERY > 10**9
    assert saved == qdrant_edge.OPTIMISE_EVERY


def test_verdicts_follow_the_targets() -> None:
    rows = similar.target_rows(
        {
            "api_miss_p50": 2.9,
            "api_hit_p50": 1.0,
            "api_product_p50": 0.8,
            "store_QdrantEdge_100000_similar_p50": 5.2,
            "store_QdrantEdge_100000_recall": 0.99,
            "crop_320_ratio": 0.98,
            "crop_1600_ratio": 1.3,
        }
    )
    verdicts = {str(row[0]): row[2] for row in rows}
    assert [v for k, v in verdicts.items() if "demo catalogue" in k] == ["met"]
    assert [v for k, v in verdicts.items() if "100k" in k] == ["**missed**"]
    crops = {k.split("(")[1].split()[0]: v for k, v in verdicts.items() if "crop" in k}
    assert crops == {"320": "met", "1600": "**missed**"}
