"""Text search on the demo catalogue, with the offline model (no text tower): a labelled query
set scored per retriever and fused, keyword retrieval with filters, and bad input.

precision@5 = relevant products in the top 5 / min(5, how many relevant products exist);
first hit = the top result is relevant. Figures: bench/RESULTS.md ("Text search").
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.retrieval.demo import demo_records
from tests.support.servers import postgres_database
from visualsearch.embedding.base import ModelInfo
from visualsearch.embedding.service import EmbeddingService
from visualsearch.embedding.text import MiniLMEncoder
from visualsearch.exceptions import InputError, TextSearchUnavailableError
from visualsearch.filters import ProductFilter
from visualsearch.retrieval.keyword import KeywordRetriever, query_words
from visualsearch.retrieval.semantic import SemanticRetriever
from visualsearch.services.search import SearchService
from visualsearch.services.text_vectors import TextVectors
from visualsearch.storage.cache.memory import MemoryResultCache
from visualsearch.storage.catalog import CatalogStore
from visualsearch.storage.vectors.qdrant_edge import QdrantEdgeVectorStore

CATALOGUE = Path(__file__).parents[2] / "services/visualsearch/demo/catalogue.json"


@dataclass(frozen=True)
class Case:
    query: str
    kind: str
    categories: tuple[str, ...]
    name_has: tuple[str, ...] = ()
    brand: str | None = None

    def relevant(self, p: dict[str, Any]) -> bool:
        name = p["name"].lower()
        return (
            p["category"] in self.categories
            and all(w in name for w in self.name_has)
            and (self.brand is None or p["brand"] == self.brand)
        )


CASES = [
    Case("laptop", "plain", ("laptops",)),
    Case("sofa", "plain", ("furniture",), ("sofa",)),
    Case("lipstick", "plain", ("beauty",), ("lipstick",)),
    Case("headphones", "plain", ("mobile-accessories",)),
    Case("sunglasses", "plain", ("sunglasses",)),
    Case("ring", "plain", ("womens-jewellery",)),
    Case("laptops", "plural", ("laptops",)),
    Case("apples", "plural", ("groceries",), ("apple",)),
    Case("tomato", "plural", ("groceries",), ("tomato",)),
    Case("tablets", "plural", ("tablets",)),
    Case("laptpo", "typo", ("laptops",)),
    Case("hedphones", "typo", ("mobile-accessories",)),
    Case("sunglases", "typo", ("sunglasses",)),
    Case("lipstik", "typo", ("beauty",), ("lipstick",)),
    Case("volleybal", "typo", ("sports-accessories",), ("volleyball",)),
    Case("quill laptop", "brand + product", ("laptops",), (), "Quill"),
    Case("voltix headphones", "brand + product", ("mobile-accessories",), (), "Voltix"),
    Case("marlowe tote bag", "brand + product", ("womens-bags",), ("tote",), "Marlowe"),
    Case("red dress", "colour + product", ("womens-dresses",), ("red",)),
    Case("blue handbag", "colour + product", ("womens-bags",), ("blue",)),
    Case("green smartphone", "colour + product", ("smartphones",), ("green",)),
    Case("orange basketball", "colour + product", ("sports-accessories",), ("orange", "basket")),
    Case("running shoes", "phrase", ("mens-shoes",), ("running",)),
    Case("pocket watch", "phrase", ("mens-watches",), ("pocket",)),
    Case("sneakers", "synonym", ("mens-shoes",)),
    Case("couch", "synonym", ("furniture",), ("sofa",)),
    Case("perfume", "synonym", ("fragrances",)),
    Case("mobile phone", "synonym", ("smartphones",)),
    Case("notebook computer", "synonym", ("laptops",)),
    Case("moisturiser", "synonym", ("skin-care",)),
]


class NoTextTower(EmbeddingService):
    """The offline image model as search sees it: no text tower (never asked for vectors)."""

    def __init__(self) -> None:
        self.info = ModelInfo("efficientnet-lite0", 1280, False)

    async def embed_image(self, data: bytes) -> np.ndarray:
        raise AssertionError("no image in these tests")

    async def embed_text(self, text: str) -> np.ndarray:
        raise TextSearchUnavailableError("no text tower")


@dataclass
class Bench:
    service: SearchService
    products: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
async def bench(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Bench]:
    products = json.loads(CATALOGUE.read_text())["products"]
    with postgres_database() as url:
        catalog = CatalogStore(url, 4)
        await catalog.open()
        records = demo_records()
        await catalog.upsert(records)
        text_store = QdrantEdgeVectorStore("t_text", tmp_path_factory.mktemp("edge"))
        await text_store.open()
        encoder = MiniLMEncoder()
        await text_store.ensure_collection(encoder.dim)
        await TextVectors(encoder, text_store).upsert(records)
        service = SearchService(
            NoTextTower(), text_store, catalog, MemoryResultCache(), 0,
            retrievers=[KeywordRetriever(catalog), SemanticRetriever(encoder, text_store)],
        )  # fmt: skip
        yield Bench(service, {p["product_id"]: p for p in products})
        await text_store.close()
        await catalog.close()


async def evaluate(bench: Bench, mode: str) -> tuple[float, float, list[str]]:
    precisions, firsts, misses = [], [], []
    for case in CASES:
        relevant = {i for i, p in bench.products.items() if case.relevant(p)}
        assert relevant, case
        response = await bench.service.search(text=case.query, top_k=5, mode=mode)
        ids = [r.product_id for r in response.results]
        precisions.append(len(relevant & set(ids)) / min(5, len(relevant)))
        firsts.append(bool(ids) and ids[0] in relevant)
        if not firsts[-1]:
            misses.append(case.query)
    return float(np.mean(precisions)), float(np.mean(firsts)), misses


THRESHOLDS = {  # a little below what was measured (bench/RESULTS.md)
    "keyword": (0.80, 0.80),  # measured 0.827 / 0.833
    "semantic": (0.87, 0.87),  # measured 0.892 / 0.900 (product text cut at 16 tokens)
    "hybrid": (0.92, 0.93),  # measured 0.945 / 0.967: fused beats each retriever alone
}


@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
async def test_labelled_queries(bench: Bench, mode: str) -> None:
    precision, first, misses = await evaluate(bench, mode)
    print(f"\n{mode}: precision@5 {precision:.3f}, first hit {first:.3f}, missed {misses}")
    low_p, low_first = THRESHOLDS[mode]
    assert precision >= low_p and first >= low_first, (precision, first, misses)


async def test_a_repeated_text_search_gives_the_same_ranking(bench: Bench) -> None:
    """Text search is deterministic: the second answer (from the result cache, the query-vector
    cache or a fresh fusion) ranks and scores exactly as the first. Its speed is a benchmark's
    business (``python -m bench.text``), not a test's."""
    for case in CASES:
        first = await bench.service.search(text=case.query, top_k=12)
        again = await bench.service.search(text=case.query, top_k=12)
        assert [(r.product_id, r.score) for r in again.results] == [
            (r.product_id, r.score) for r in first.results
        ], case.query


async def test_keyword_retrieval_applies_every_filter(bench: Bench) -> None:
    flt = ProductFilter(brands=("Quill",), price_max=Decimal("10000"), in_stock=True)
    response = await bench.service.search(text="laptop", top_k=20, filter=flt, mode="keyword")
    assert response.results
    for r in response.results:
        p = bench.products[r.product_id]
        assert p["brand"] == "Quill" and p["stock"] > 0 and p["category"] == "laptops"
    nothing = await bench.service.search(
        text="laptop", filter=ProductFilter(categories=("beauty",)), mode="keyword"
    )
    assert nothing.results == []
    faceted = await bench.service.search(
        text="laptop", filter=ProductFilter(brands=("Quill",)), facets=("brand", "category")
    )
    assert faceted.facets is not None and faceted.facets.brand
    assert "Quill" in faceted.facets.brand and len(faceted.facets.brand) > 1


async def test_scores_are_in_unit_range_and_pages_do_not_overlap(bench: Bench) -> None:
    first = await bench.service.search(text="blue", top_k=5)
    second = await bench.service.search(text="blue", top_k=5, offset=5)
    assert first.has_more
    ids = [r.product_id for r in first.results + second.results]
    assert len(ids) == len(set(ids)) == 10
    assert all(0.0 <= r.score <= 1.0 for r in first.results + second.results)
    assert [r.score for r in first.results] == sorted(
        (r.score for r in first.results), reverse=True
    )


BAD = [
    "&", "|", "!", ":*", "a & b | !c:*", "'", '"unbalanced', "((()", "laptop'); DROP TABLE products;--",
    "\x00laptop\x00", "\x00", "😀", "laptop 😀", "حاسوب محمول", "שלום", "...!!!???", "x" * 499,
    " ".join(["laptop"] * 200)[:499], "<->", "lap:*", "\\", "%_%",
]  # fmt: skip


@pytest.mark.parametrize("text", BAD)
async def test_bad_input_never_breaks_the_query(bench: Bench, text: str) -> None:
    for mode in ("hybrid", "keyword"):
        try:
            response = await bench.service.search(text=text, top_k=5, mode=mode)
        except InputError:  # nothing left once NUL bytes go: a clean 400, "send a text"
            assert not text.replace("\x00", "").strip()
            continue
        assert all(0.0 <= r.score <= 1.0 for r in response.results)


def test_query_words_keep_letters_and_digits_only() -> None:
    assert query_words("Red & running:* shoes!") == ["red", "running", "shoes"]
    assert query_words("5G phone") == ["5g", "phone"]
    assert query_words("\x00 ' \" :* |") == []
    assert len(query_words("a " * 100)) == 16
