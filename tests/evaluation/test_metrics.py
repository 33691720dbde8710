"""The harness's metrics on hand-made rankings (one relevant product per query)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from tests.support.images import jpeg
from visualsearch.services.evaluation import (
    Evaluator,
    Outcome,
    Product,
    QuerySet,
    markdown_table,
    ndcg_at,
    rank_of,
    recall_at,
    reciprocal_rank,
    score,
)


def outcome(kind: str, rank: int | None, ms: float = 10.0) -> Outcome:
    return Outcome(kind, "p", 0, rank, ms / 1000)


def test_rank_is_the_first_occurrence_and_none_when_absent() -> None:
    assert rank_of("b", ["a", "b", "c", "b"]) == 2
    assert rank_of("a", ["a"]) == 1
    assert rank_of("z", ["a", "b"]) is None
    assert rank_of("z", []) is None


def test_recall_at_k() -> None:
    assert recall_at(1, 1) == 1.0
    assert recall_at(2, 1) == 0.0
    assert recall_at(5, 5) == 1.0
    assert recall_at(6, 5) == 0.0
    assert recall_at(None, 10) == 0.0


def test_reciprocal_rank_and_ndcg() -> None:
    assert reciprocal_rank(1) == 1.0
    assert reciprocal_rank(4) == 0.25
    assert reciprocal_rank(None) == 0.0
    assert ndcg_at(1) == 1.0
    assert ndcg_at(3) == pytest.approx(0.5)  # 1 / log2(4)
    assert ndcg_at(10) == pytest.approx(1 / math.log2(11))
    assert ndcg_at(11) == 0.0
    assert ndcg_at(None) == 0.0


def test_scores_per_kind_and_overall() -> None:
    outcomes = [
        outcome("photo", 1, 10),
        outcome("photo", 3, 20),
        outcome("photo", 7, 30),
        outcome("photo", None, 40),
        outcome("self", 1, 5),
        outcome("self", 1, 5),
    ]
    photo, self_, everything = score(outcomes, ["photo", "self"])
    assert photo.kind == "photo" and photo.queries == 4
    assert photo.recall == {1: 0.25, 5: 0.5, 10: 0.75}
    assert photo.mrr == pytest.approx((1 + 1 / 3 + 1 / 7 + 0) / 4)
    assert photo.ndcg10 == pytest.approx((1 + 0.5 + 1 / math.log2(8) + 0) / 4)
    assert photo.p50_ms == pytest.approx(25.0)
    assert self_.recall == {1: 1.0, 5: 1.0, 10: 1.0} and self_.mrr == 1.0
    assert everything.kind == "all" and everything.queries == 6
    assert everything.recall[1] == pytest.approx(3 / 6)
    table = markdown_table([photo, self_, everything])
    assert "| photo | 4 | 0.250 | 0.500 | 0.750 |" in table
    assert "**all**" in table


def test_one_kind_has_no_overall_row_and_empty_kinds_are_left_out() -> None:
    rows = score([outcome("crop", 2)], ["crop", "phone"])
    assert [r.kind for r in rows] == ["crop"]


def test_query_set_samples_by_seed_and_checks_its_kinds() -> None:
    products = [Product(f"p{i}", b"") for i in range(50)]
    first = QuerySet(limit=10, seed=3).sample(products)
    assert first == QuerySet(limit=10, seed=3).sample(products)
    assert len(first) == 10 and first != QuerySet(limit=10, seed=4).sample(products)
    assert [p.product_id for p in first] == sorted(
        (p.product_id for p in first), key=lambda s: int(s[1:])
    )
    assert QuerySet().sample(products) == products
    assert QuerySet(kinds=["self", "photo"], variants=3).count(products[:10]) == 10 + 30
    with pytest.raises(ValueError, match="unknown query kinds"):
        QuerySet(kinds=["selfie"])


class RecordingSearch:
    """A stand-in ``SearchService``: records each query's bytes, answers a fixed ranking."""

    def __init__(self) -> None:
        self.queries: list[bytes] = []

    async def search(self, *, image: bytes, top_k: int) -> SimpleNamespace:
        self.queries.append(image)
        hits = [SimpleNamespace(product_id=p) for p in ("b", "a")]
        return SimpleNamespace(results=hits)


async def test_view_queries_are_the_products_further_images_one_each() -> None:
    """'view' sends each further image of a product as it is (no generator, no variants), and a
    product without further images gives no view query."""
    main_a, view_a1, view_a2, main_b = (jpeg(seed=i) for i in range(4))
    products = [Product("a", main_a, (view_a1, view_a2)), Product("b", main_b)]
    queries = QuerySet(kinds=["self", "view"], variants=3)
    assert queries.count(products) == 2 + 2
    search = RecordingSearch()
    outcomes = await Evaluator(search).run(products, queries, photos=[])  # type: ignore[arg-type]
    assert search.queries == [main_a, view_a1, view_a2, main_b]
    assert [(o.kind, o.product_id, o.variant, o.rank) for o in outcomes] == [
        ("self", "a", 0, 2),
        ("view", "a", 0, 2),
        ("view", "a", 1, 2),
        ("self", "b", 0, 1),
    ]
