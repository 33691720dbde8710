"""Search-box completions and "did you mean" from the catalogue's PostgreSQL: product names,
brands and categories by word prefix, then by pg_trgm word similarity (typos)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from visualsearch.storage.catalog import CatalogStore

COMPLETE_SQL = """
WITH c AS (
    SELECT name AS text, 'product' AS kind, min(product_id) AS product_id, 2 AS kind_rank
    FROM products
    WHERE lower(replace(name, '-', ' ')) LIKE %(anywhere)s
       OR %(typed)s <%% lower(replace(name, '-', ' '))
    GROUP BY name
    UNION ALL
    SELECT brand, 'brand', NULL, 1 FROM products
    WHERE brand <> '' AND (lower(replace(brand, '-', ' ')) LIKE %(anywhere)s
                           OR %(typed)s <%% lower(replace(brand, '-', ' ')))
    GROUP BY brand
    UNION ALL
    SELECT category, 'category', NULL, 0 FROM products
    WHERE lower(replace(category, '-', ' ')) LIKE %(anywhere)s
       OR %(typed)s <%% lower(replace(category, '-', ' '))
    GROUP BY category
),
m AS (
    SELECT text, kind, product_id, kind_rank, lower(replace(text, '-', ' ')) AS words
    FROM c
),
scored AS (
    SELECT text, kind, product_id, kind_rank,
           CASE WHEN words LIKE %(start)s THEN 0
                WHEN words LIKE %(inside)s THEN 1
                ELSE 2 END AS tier,
           word_similarity(%(typed)s, words) AS similarity
    FROM m
)
SELECT text, kind, product_id FROM scored
WHERE tier < 2 OR similarity >= %(typo)s
ORDER BY tier, kind_rank, similarity DESC, length(text), text
LIMIT %(limit)s
"""
"""Names, brands and categories whose words start with the typed words (tier 0: the whole
text; tier 1: a later word), then those within the typo similarity; categories and brands first
in a tier, since they are the broader completion. Only the rows the trigram indexes on the three
columns find are grouped (``LIKE '%typed%'`` and ``<%``, word similarity at the typo threshold,
``pg_trgm.word_similarity_threshold`` set per query), not the whole table."""

CLOSEST_SQL = """
WITH vocabulary AS (
    SELECT DISTINCT regexp_split_to_table(search_words, '[^[:alnum:]]+') AS word FROM products
),
typed AS (SELECT w, i FROM unnest(%(words)s::text[]) WITH ORDINALITY AS u(w, i))
SELECT t.w AS typed,
       (SELECT v.word FROM vocabulary v
        WHERE v.word <> '' AND (v.word = t.w OR similarity(v.word, t.w) >= %(least)s)
        ORDER BY v.word = t.w DESC, similarity(v.word, t.w) DESC, v.word
        LIMIT 1) AS closest
FROM typed t ORDER BY t.i
"""
"""Each typed word and the catalogue word (of names, brands and categories) most like it by
trigram similarity, itself where it is one, NULL where none is close enough."""


@dataclass(frozen=True)
class Completion:
    text: str
    kind: str
    product_id: str | None


class SuggestionStore:
    def __init__(self, catalog: CatalogStore) -> None:
        self._catalog = catalog

    async def complete(
        self, words: Sequence[str], limit: int, typo_similarity: float
    ) -> list[Completion]:
        """Completions of the typed words (letters and digits only, so no LIKE wildcards)."""
        typed = " ".join(words)
        async with self._catalog.transaction() as conn:
            await conn.execute(
                "SELECT set_config('pg_trgm.word_similarity_threshold', %s, true)",
                [str(typo_similarity)],
            )
            cur = await conn.execute(
                COMPLETE_SQL,
                {
                    "anywhere": f"%{typed}%",
                    "start": f"{typed}%",
                    "inside": f"% {typed}%",
                    "typed": typed,
                    "typo": typo_similarity,
                    "limit": limit,
                },
            )
            rows = await cur.fetchall()
        return [Completion(r["text"], r["kind"], r["product_id"]) for r in rows]

    async def closest_words(
        self, words: Sequence[str], least_similarity: float
    ) -> list[tuple[str, str | None]]:
        """Each word with the catalogue word closest to it (or ``None``)."""
        async with self._catalog.connection() as conn:
            cur = await conn.execute(CLOSEST_SQL, {"words": list(words), "least": least_similarity})
            return [(r["typed"], r["closest"]) for r in await cur.fetchall()]
