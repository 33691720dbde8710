"""The vector index in PostgreSQL with pgvector: HNSW, cosine, the category filter in the scan.

For shops that already run PostgreSQL (the catalogue's own database by default) and for the
one-machine mode (the embedded PostgreSQL ships pgvector). Iterative index scans keep a
selective category filter from starving the top-K. Each generation is a table; the
``vector_collections`` row naming the live one is switched in one transaction by a re-index.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import numpy as np
import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from visualsearch.exceptions import ModelMismatchError, StoreUnavailableError
from visualsearch.storage.postgres import Connection, connection, create_pool, open_pool
from visualsearch.storage.vectors import (
    STORE,
    VectorHit,
    VectorItem,
    VectorStore,
    generation_name,
    generation_number,
)

CATEGORY_SIZES_TTL = 30.0  # seconds the per-category counts that pick exact scans are reused
HNSW_MAX_DIM = 2000  # pgvector indexes `vector` up to 2000 dimensions, `halfvec` up to 4000
REGISTRY = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE IF NOT EXISTS vector_collections (
    alias    text PRIMARY KEY,
    physical text NOT NULL,
    dim      integer NOT NULL
);
"""


def _literal(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in vector.tolist()) + "]"


class PgVectorStore(VectorStore):
    kind = "pgvector"

    def __init__(
        self,
        collection: str,
        url: str,
        *,
        pool: AsyncConnectionPool | None = None,
        physical: str | None = None,
        dim: int | None = None,
        ef_search: int = 100,
        exact_below: int = 20_000,
    ) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,40}", collection):
            raise ValueError(f"invalid pgvector collection name {collection!r}")
        self.collection = collection
        self._url = url
        self._owns_pool = pool is None
        self._pool = pool or create_pool(url, max_size=8)
        self._physical = physical  # a re-index builder writes to its own generation
        self._dim = dim
        self._ef_search = ef_search
        self._exact_below = exact_below
        self._sizes: dict[str, int] = {}
        self._sizes_table = ""
        self._sizes_at = 0.0

    async def open(self) -> None:
        if self._owns_pool:
            await open_pool(self._pool, STORE)
        async with self._conn() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(7242002)")
            await conn.execute(REGISTRY)

    async def close(self) -> None:
        if self._owns_pool:
            await self._pool.close()

    def _conn(self) -> AbstractAsyncContextManager[Connection]:
        return connection(self._pool, STORE)

    async def _table(self) -> tuple[str, int]:
        """The physical table this store reads and writes, and its dimension."""
        if self._physical is not None and self._dim is not None:
            return self._physical, self._dim
        # Looked up on every call (a primary-key read): another process may switch generations.
        async with self._conn() as conn:
            cur = await conn.execute(
                "SELECT physical, dim FROM vector_collections WHERE alias = %s", [self.collection]
            )
            row = await cur.fetchone()
        if row is None:
            raise StoreUnavailableError(STORE, f"collection {self.collection!r} does not exist")
        return row["physical"], row["dim"]

    @staticmethod
    def _type(dim: int) -> str:
        return "vector" if dim <= HNSW_MAX_DIM else "halfvec"

    async def _create(self, conn: psycopg.AsyncConnection[Any], name: str, dim: int) -> None:
        kind = self._type(dim)
        await conn.execute(
            sql.SQL(
                "CREATE TABLE {t} (product_id text PRIMARY KEY, category text NOT NULL, "
                "image_sha256 text NOT NULL DEFAULT '', embedding {kind}({dim}) NOT NULL);"
                "CREATE INDEX {hnsw} ON {t} USING hnsw (embedding {ops}) "
                "WITH (m = 16, ef_construction = 128);"
                "CREATE INDEX {cat} ON {t} (category);"
            ).format(
                t=sql.Identifier(name),
                kind=sql.SQL(kind),
                dim=sql.Literal(dim),
                hnsw=sql.Identifier(f"{name}_hnsw"),
                cat=sql.Identifier(f"{name}_category"),
                ops=sql.SQL(f"{kind}_cosine_ops"),
            )
        )

    async def ensure_collection(self, dim: int) -> None:
        async with self._conn() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(7242002)")
            cur = await conn.execute(
                "SELECT physical, dim FROM vector_collections WHERE alias = %s", [self.collection]
            )
            row = await cur.fetchone()
            if row is None:
                name = generation_name(self.collection, 1)
                await conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))
                await self._create(conn, name, dim)
                await conn.execute(
                    "INSERT INTO vector_collections (alias, physical, dim) VALUES (%s, %s, %s)",
                    [self.collection, name, dim],
                )
            elif row["dim"] != dim:
                raise ModelMismatchError(
                    f"The vector collection holds {row['dim']}-dim vectors but the model makes "
                    f"{dim}-dim ones. Re-index with `visualsearch reindex` to switch models."
                )

    async def drop_collection(self) -> None:
        async with self._conn() as conn, conn.transaction():
            cur = await conn.execute(
                "DELETE FROM vector_collections WHERE alias = %s RETURNING physical",
                [self.collection],
            )
            row = await cur.fetchone()
            if row is not None:
                await conn.execute(
                    sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(row["physical"]))
                )

    async def ping(self) -> None:
        async with self._conn() as conn:
            await conn.execute("SELECT 1")

    async def upsert(self, items: Sequence[VectorItem]) -> None:
        if not items:
            return
        table, dim = await self._table()
        kind = self._type(dim)
        query = sql.SQL(
            "INSERT INTO {t} (product_id, category, image_sha256, embedding) "
            "VALUES (%s, %s, %s, %s::{kind}) ON CONFLICT (product_id) DO UPDATE SET "
            "category = EXCLUDED.category, image_sha256 = EXCLUDED.image_sha256, "
            "embedding = EXCLUDED.embedding"
        ).format(t=sql.Identifier(table), kind=sql.SQL(kind))
        rows = [
            (pid, str(payload.get("category", "")), str(payload.get("image_sha256", "")),
             _literal(vec))
            for pid, vec, payload in items
        ]  # fmt: skip
        async with self._conn() as conn, conn.transaction(), conn.cursor() as cur:
            await cur.executemany(query, rows)

    async def search(
        self, vector: np.ndarray, top_k: int, category: str | None = None
    ) -> list[VectorHit]:
        """HNSW with an iterative scan; an exact scan for a category small enough to afford it.

        A selective filter makes a graph walk visit many neighbours it must then drop; scanning
        the category's own rows (found through its B-tree index) is exact and faster there.
        """
        table, dim = await self._table()
        params = {"q": _literal(vector), "k": top_k, "category": category}
        exact = category is not None and await self._category_size(table, category) <= (
            self._exact_below
        )
        async with self._conn() as conn, conn.transaction():
            if exact:
                query = self._exact_query(table, dim)
            else:
                query = self._hnsw_query(table, dim, category is not None)
                ef = sql.Literal(max(self._ef_search, top_k))
                await conn.execute(sql.SQL("SET LOCAL hnsw.ef_search = {}").format(ef))
                await conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
            cur = await conn.execute(query, params)
            rows = await cur.fetchall()
        return [VectorHit(r["product_id"], 1.0 - float(r["d"])) for r in rows]

    def _hnsw_query(self, table: str, dim: int, filtered: bool) -> sql.Composed:
        where = sql.SQL("WHERE category = %(category)s") if filtered else sql.SQL("")
        return sql.SQL(
            "WITH hits AS MATERIALIZED (SELECT product_id, embedding <=> %(q)s::{kind} AS d "
            "FROM {t} {where} ORDER BY d LIMIT %(k)s) SELECT product_id, d FROM hits ORDER BY d"
        ).format(t=sql.Identifier(table), kind=sql.SQL(self._type(dim)), where=where)

    def _exact_query(self, table: str, dim: int) -> sql.Composed:
        # '+ 0' keeps the planner off the HNSW index: the category's rows are ranked exactly.
        return sql.SQL(
            "SELECT product_id, embedding <=> %(q)s::{kind} AS d FROM {t} "
            "WHERE category = %(category)s ORDER BY (embedding <=> %(q)s::{kind}) + 0 LIMIT %(k)s"
        ).format(t=sql.Identifier(table), kind=sql.SQL(self._type(dim)))

    async def _category_size(self, table: str, category: str) -> int:
        """Vectors in ``category``, from counts refreshed at most every 30 s."""
        now = time.monotonic()
        if self._sizes_table != table or now - self._sizes_at > CATEGORY_SIZES_TTL:
            async with self._conn() as conn:
                cur = await conn.execute(
                    sql.SQL("SELECT category, count(*) AS n FROM {} GROUP BY category").format(
                        sql.Identifier(table)
                    )
                )
                self._sizes = {r["category"]: int(r["n"]) for r in await cur.fetchall()}
            self._sizes_table, self._sizes_at = table, now
        return self._sizes.get(category, 0)

    async def delete(self, product_ids: Sequence[str]) -> None:
        if not product_ids:
            return
        table, _ = await self._table()
        async with self._conn() as conn:
            await conn.execute(
                sql.SQL("DELETE FROM {} WHERE product_id = ANY(%s)").format(sql.Identifier(table)),
                [list(product_ids)],
            )

    async def existing(self, product_ids: Sequence[str]) -> dict[str, str]:
        if not product_ids:
            return {}
        table, _ = await self._table()
        async with self._conn() as conn:
            cur = await conn.execute(
                sql.SQL(
                    "SELECT product_id, image_sha256 FROM {} WHERE product_id = ANY(%s)"
                ).format(sql.Identifier(table)),
                [list(product_ids)],
            )
            return {r["product_id"]: r["image_sha256"] for r in await cur.fetchall()}

    async def count(self) -> int:
        table, _ = await self._table()
        async with self._conn() as conn:
            cur = await conn.execute(
                sql.SQL("SELECT count(*) AS n FROM {}").format(sql.Identifier(table))
            )
            row = await cur.fetchone()
            return int(row["n"]) if row else 0

    async def all_ids(self) -> dict[str, str]:
        table, _ = await self._table()
        async with self._conn() as conn:
            cur = await conn.execute(
                sql.SQL("SELECT product_id, image_sha256 FROM {}").format(sql.Identifier(table))
            )
            return {r["product_id"]: r["image_sha256"] for r in await cur.fetchall()}

    async def begin_rebuild(self, dim: int) -> VectorStore:
        live = await self._live_name()
        name = generation_name(self.collection, generation_number(live or "") + 1)
        async with self._conn() as conn, conn.transaction():
            await conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))
            await self._create(conn, name, dim)
        return PgVectorStore(self.collection, self._url, pool=self._pool, physical=name, dim=dim)

    async def commit_rebuild(self, builder: VectorStore) -> None:
        assert isinstance(builder, PgVectorStore) and builder._physical and builder._dim
        async with self._conn() as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT physical FROM vector_collections WHERE alias = %s FOR UPDATE",
                [self.collection],
            )
            row = await cur.fetchone()
            await conn.execute(
                "INSERT INTO vector_collections (alias, physical, dim) VALUES (%s, %s, %s) "
                "ON CONFLICT (alias) DO UPDATE SET physical = EXCLUDED.physical, "
                "dim = EXCLUDED.dim",
                [self.collection, builder._physical, builder._dim],
            )
            if row is not None and row["physical"] != builder._physical:
                await conn.execute(
                    sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(row["physical"]))
                )

    async def abort_rebuild(self, builder: VectorStore) -> None:
        assert isinstance(builder, PgVectorStore) and builder._physical
        async with self._conn() as conn:
            await conn.execute(
                sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(builder._physical))
            )

    async def _live_name(self) -> str | None:
        async with self._conn() as conn:
            cur = await conn.execute(
                "SELECT physical FROM vector_collections WHERE alias = %s", [self.collection]
            )
            row = await cur.fetchone()
            return str(row["physical"]) if row else None
