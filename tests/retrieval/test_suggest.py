"""Search-box suggestions and "did you mean" on the demo catalogue in a real PostgreSQL."""

from __future__ import annotations

from visualsearch.retrieval.keyword import KeywordRetriever
from visualsearch.services.search import SearchService
from visualsearch.services.suggest import SuggestService
from visualsearch.storage.cache.memory import MemoryResultCache
from visualsearch.storage.catalog import CatalogStore
from visualsearch.storage.suggestions import SuggestionStore


async def test_prefixes_complete_categories_brands_and_names(catalog: CatalogStore) -> None:
    service = SuggestService(SuggestionStore(catalog))
    found = (await service.suggest("lap", 8)).suggestions
    assert found[0].kind == "category" and found[0].text == "laptops"
    assert any(s.kind == "product" and "laptop" in s.text.lower() for s in found)
    assert all(s.product_id for s in found if s.kind == "product")
    brand = (await service.suggest("quil")).suggestions
    assert brand[0].kind == "brand" and brand[0].text == "Quill"
    words = (await service.suggest("red sk")).suggestions
    assert words[0].text == "Flowing Red Skater Dress", words
    assert len((await service.suggest("a", 3)).suggestions) == 3


async def test_typos_suggest_by_trigram_and_junk_suggests_nothing(catalog: CatalogStore) -> None:
    service = SuggestService(SuggestionStore(catalog))
    assert any("laptop" in s.text.lower() for s in (await service.suggest("laptpo")).suggestions)
    for junk in ("", "   ", "&|!:*", "\x00", "😀", "zzqqxx", "'; DROP TABLE products;--"):
        assert (await service.suggest(junk)).suggestions == [], junk


async def test_a_search_that_finds_nothing_says_what_was_meant(catalog: CatalogStore) -> None:
    suggest = SuggestService(SuggestionStore(catalog))
    assert await suggest.did_you_mean("lapptopz") == "laptop"
    assert await suggest.did_you_mean("laptop") is None  # nothing to correct
    assert await suggest.did_you_mean("qqqq") is None  # nothing close
    from tests.retrieval.test_text_search_quality import NoTextTower

    service = SearchService(
        NoTextTower(), None, catalog, MemoryResultCache(), 0,  # type: ignore[arg-type]
        retrievers=[KeywordRetriever(catalog)], did_you_mean=suggest.did_you_mean,
    )  # fmt: skip
    found = await service.search(text="sunglasses")
    assert found.results and found.did_you_mean is None
    none = await service.search(text="qqzzx labtop", mode="keyword")
    assert none.results == [] and none.did_you_mean == "laptop"
    assert (await service.search(text="laptop", mode="keyword")).results
