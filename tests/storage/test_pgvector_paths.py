"""pgvector's two filtered-search paths (HNSW iterative scan, exact scan of a small category)
agree with an exact numpy ranking."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from tests.storage.test_vector_stores import category_of, exact, fill, unit_vectors
from visualsearch.filters import ProductFilter
from visualsearch.storage.vectors.pgvector import PgVectorStore


@pytest.mark.parametrize("exact_below", [0, 1_000_000], ids=["hnsw", "exact"])
async def test_filtered_paths_agree_with_numpy(pgvector_url: str, exact_below: int) -> None:
    store = PgVectorStore(f"t{uuid.uuid4().hex[:10]}", pgvector_url, exact_below=exact_below)
    await store.open()
    try:
        vectors = unit_vectors(3000, seed=9)
        await fill(store, vectors)
        for category in ("rare", "c1"):
            allowed = [i for i in range(3000) if category_of(i) == category]
            for q in range(4):
                query = unit_vectors(1, seed=300 + q)[0]
                hits = await store.search(query, 12, ProductFilter(categories=(category,)))
                assert [h.product_id for h in hits] == exact(vectors, query, 12, allowed)
                best = float(max(vectors[allowed] @ query))
                assert hits[0].score == pytest.approx(best, abs=1e-3)
    finally:
        await store.drop_collection()
        await store.close()


async def test_an_older_table_gains_the_payload_columns(pgvector_url: str) -> None:
    """A generation from before brand/price/stock: ensure_collection adds the columns and their
    indexes, its rows read as incomplete (for doctor to backfill), then filter normally."""
    import psycopg
    from psycopg import sql

    from tests.storage.test_vector_stores import DIM
    from visualsearch.storage.vectors.base import VectorPayload

    name = f"t{uuid.uuid4().hex[:10]}"
    store = PgVectorStore(name, pgvector_url)
    await store.open()
    table = f"{name}__g1"
    vectors = unit_vectors(20, seed=2)
    try:
        async with await psycopg.AsyncConnection.connect(pgvector_url, autocommit=True) as conn:
            await conn.execute(
                sql.SQL(
                    "CREATE TABLE {t} (product_id text PRIMARY KEY, category text NOT NULL, "
                    "image_sha256 text NOT NULL DEFAULT '', embedding vector({d}) NOT NULL)"
                ).format(t=sql.Identifier(table), d=sql.Literal(DIM))
            )
            for i, v in enumerate(vectors):
                literal = "[" + ",".join(f"{x:.7g}" for x in v.tolist()) + "]"
                await conn.execute(
                    sql.SQL("INSERT INTO {} VALUES (%s, 'c', 'h', %s::vector)").format(
                        sql.Identifier(table)
                    ),
                    [f"p{i}", literal],
                )
            await conn.execute(
                "INSERT INTO vector_collections VALUES (%s, %s, %s)", [name, table, DIM]
            )
        await store.ensure_collection(DIM)
        await store.ensure_collection(DIM)  # and again: nothing left to do
        assert set((await store.payloads()).values()) == {None}
        await store.set_payloads(
            {f"p{i}": VectorPayload("c", "b", float(i), i % 2) for i in range(20)}
        )
        hits = await store.search(vectors[3], 5, ProductFilter(in_stock=True, price_max=Decimal(9)))
        assert hits[0].product_id == "p3"
        assert all(int(h.product_id[1:]) % 2 == 1 and int(h.product_id[1:]) <= 9 for h in hits)
    finally:
        await store.drop_collection()
        await store.close()


async def test_a_generation_from_before_galleries_gains_image_rows_in_place(
    pgvector_url: str,
) -> None:
    from tests.storage.test_vector_stores import item

    name = f"g{uuid.uuid4().hex[:10]}"
    store = PgVectorStore(name, pgvector_url)
    await store.open()
    vectors = unit_vectors(5)
    await fill(store, vectors)
    table, _ = await store._table()
    async with store._conn() as conn:  # the table as it was: one row per product
        await conn.execute(
            f'ALTER TABLE "{table}" DROP CONSTRAINT "{table}_pkey", DROP COLUMN image_index, '
            "ADD PRIMARY KEY (product_id)"
        )
    await store.close()
    upgraded = PgVectorStore(name, pgvector_url)
    await upgraded.open()
    await upgraded.ensure_collection(vectors.shape[1])
    assert (await upgraded.images(["p1"]))["p1"] == {0: "h1"}  # the old row: the main image
    second = item(1, vectors[3])
    await upgraded.upsert([type(second)(**{**vars(second), "image_index": 1})])
    assert (await upgraded.images(["p1"]))["p1"] == {0: "h1", 1: "h1"}
    hits = await upgraded.search(vectors[3], 5)
    assert [h.product_id for h in hits].count("p1") == 1
    await upgraded.drop_collection()
    await upgraded.close()


async def test_a_search_follows_a_generation_switch_made_elsewhere(pgvector_url: str) -> None:
    """A search reuses the live table it last saw; after another process re-indexes (the old
    table dropped), the next search finds the new generation instead of failing."""
    from tests.storage.test_vector_stores import item

    name = f"s{uuid.uuid4().hex[:10]}"
    searcher, indexer = PgVectorStore(name, pgvector_url), PgVectorStore(name, pgvector_url)
    await searcher.open()
    await indexer.open()
    try:
        old, new = unit_vectors(4, seed=1), unit_vectors(4, seed=2)
        await fill(searcher, old)
        assert (await searcher.search(old[2], 1))[0].product_id == "p2"
        builder = await indexer.begin_rebuild(old.shape[1])
        await builder.upsert([item(10 + i, v) for i, v in enumerate(new)])
        await indexer.commit_rebuild(builder)
        hits = await searcher.search(new[1], 1)
        assert [h.product_id for h in hits] == ["p11"]
    finally:
        await indexer.drop_collection()
        await searcher.close()
        await indexer.close()
