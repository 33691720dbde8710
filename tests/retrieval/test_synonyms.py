"""Synonym rules (the Solr/Elasticsearch format) and the keyword query they expand, on the demo
catalogue in a real PostgreSQL; sharing and reloading across processes is tests/api's."""

from __future__ import annotations

import pytest

from visualsearch.exceptions import ValidationError
from visualsearch.filters import ProductFilter
from visualsearch.retrieval import Query
from visualsearch.retrieval.keyword import KeywordRetriever
from visualsearch.retrieval.synonyms import SynonymRules, Term
from visualsearch.services.synonyms import SynonymService
from visualsearch.storage.catalog import CatalogStore
from visualsearch.storage.synonyms import SynonymStore

RULES = """
# furniture
couch, sofa, settee
sneakers, trainers => running shoes   # a mapping: searched as the right side
tee => t shirt
"""


def test_equivalence_groups_and_mappings_parse() -> None:
    rules = SynonymRules.parse(RULES)
    assert rules.rules == 3
    assert rules.expansions[("couch",)] == (("couch",), ("sofa",), ("settee",))
    assert rules.expansions[("sneakers",)] == (("running", "shoes"),)
    assert ("running", "shoes") not in rules.expansions  # a mapping goes one way
    assert SynonymRules.parse("").rules == 0


def test_terms_match_the_longest_phrase_and_keep_the_last_word_a_prefix() -> None:
    rules = SynonymRules.parse("running shoes, sneakers\nrunning, jogging")
    terms = rules.terms(["red", "running", "shoes", "lap"])
    assert [t.text for t in terms] == ["red", "running shoes", "lap"]
    assert terms[1].alternatives == (("running", "shoes"), ("sneakers",))
    assert terms[2].prefix and terms[2].tsquery() == "'lap':*"
    assert terms[1].tsquery() == "('running' <-> 'shoes') | ('sneakers')"
    assert Term("a", (("a",),)).tsquery() == "('a')"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("couch", "line 1"),
        ("a, b\n\nsofa, , couch", "line 3"),
        ("a => b => c", "more than one '=>'"),
        ("=> sofa", "empty term"),
        ("&&, ||", "without letters or digits"),
        ("a,\x00b", "NUL"),
    ],
)
def test_bad_rules_are_refused_naming_the_line(text: str, says: str) -> None:
    with pytest.raises(ValidationError) as raised:
        SynonymRules.parse(text)
    assert says in str(raised.value)


def test_rules_cannot_inject_tsquery_syntax() -> None:
    rules = SynonymRules.parse("sofa, couch:* & | ! ' \\ <->")
    assert [t.tsquery() for t in rules.terms(["sofa"])] == ["('sofa') | ('couch')"]


async def _names(retriever: KeywordRetriever, catalog: CatalogStore, text: str) -> list[str]:
    hits = await retriever.retrieve(Query(text=text), 10, ProductFilter())
    records = await catalog.get_many([h.product_id for h in hits])
    return [records[h.product_id].name.lower() for h in hits]


async def test_a_synonym_changes_keyword_results(catalog: CatalogStore) -> None:
    synonyms = SynonymService(SynonymStore(catalog))
    retriever = KeywordRetriever(catalog, synonyms.rules)
    await synonyms.put("")
    assert not any("sofa" in n for n in await _names(retriever, catalog, "couch"))
    await synonyms.put("couch, sofa")
    found = await _names(retriever, catalog, "couch")
    assert found and all("sofa" in n for n in found[:3]), found
    # a mapping searches the right side only: 'laptop' no longer means itself
    await synonyms.put("laptop => sunglasses")
    found = await _names(retriever, catalog, "laptop")
    assert found and not any("laptop" in n for n in found), found
    await synonyms.put("")
    assert any("laptop" in n for n in await _names(retriever, catalog, "laptop"))
