"""The vector index in PostgreSQL with pgvector: HNSW, cosine, every filter in the scan.

For shops that already run PostgreSQL (the catalogue's own database by default) and for the
one-machine mode (the embedded PostgreSQL ships pgvector). The payload is typed columns
(category, brand, price, stock) with B-tree indexes; iterative index scans keep a filter from
starving the top-K, and a filter keeping few rows is ranked by an exact scan of those rows.
Each generation is a table; the ``vector_collections`` row naming the live one is switched in
one transaction by a re-index. A row is one image (primary key: product id, image index); a
search over-fetches rows and keeps each product's best (``base.group_best``).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import numpy as np
import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from visualsearch.exceptions import ModelMismatchError, StoreUnavailableError
from visualsearch.filters import ProductFilter
from visualsearch.storage.postgres import Connection, connection, create_pool, open_pool
from visualsearch.storage.vectors.base import (
    NO_FILTER,
    STORE,
    ImageKey,
    VectorHit,
    VectorItem,
    VectorPayload,
    VectorStore,
    generation_name,
    generation_number,
    group_best,
)

FILTER_SIZES_TTL = 30.0  # seconds the per-filter counts that pick exact scans are reused
MAX_EF_SEARCH = 1000  # pgvector's upper bound of hnsw.ef_search
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


def _where(product_filter: ProductFilter) -> tuple[sql.Composable, dict[str, Any]]:
    """A :class:`ProductFilter` as a WHERE clause on the typed payload columns."""
    parts: list[sql.Composable] = []
    params: dict[str, Any] = {}
    if product_filter.categories:
        parts.append(sql.SQL("category = ANY(%(categories)s)"))
        params["categories"] = list(product_filter.categories)
    if product_filter.brands:
        parts.append(sql.SQL("brand = ANY(%(brands)s)"))
        params["brands"] = list(product_filter.brands)
    if product_filter.price_min is not None:
        parts.append(sql.SQL("price >= %(price_min)s"))
        params["price_min"] = product_filter.price_min
    if product_filter.price_max is not None:
        parts.append(sql.SQL("price <= %(price_max)s"))
        params["price_max"] = product_filter.price_max
    if product_filter.in_stock:
        parts.append(sql.SQL("stock > 0"))
    if not parts:
        return sql.SQL(""), params
    return sql.SQL("WHERE ") + sql.SQL(" AND ").join(parts), params


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
        self._sizes: dict[str, tuple[int, float]] = {}

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
                "CREATE TABLE {t} (product_id text NOT NULL, "
                "image_index integer NOT NULL DEFAULT 0, category text NOT NULL, "
                "image_sha256 text NOT NULL DEFAULT '', embedding {kind}({dim}) NOT NULL, "
                "PRIMARY KEY (product_id, image_index));"
                "CREATE INDEX {hnsw} ON {t} USING hnsw (embedding {ops}) "
                "WITH (m = 16, ef_construction = 128);"
            ).format(
                t=sql.Identifier(name),
                kind=sql.SQL(kind),
                dim=sql.Literal(dim),
                hnsw=sql.Identifier(f"{name}_hnsw"),
                ops=sql.SQL(f"{kind}_cosine_ops"),
            )
        )
        await self._upgrade(conn, name)

    @staticmethod
    async def _upgrade(conn: psycopg.AsyncConnection[Any], name: str) -> None:
        """The payload columns and their indexes, and a row per image (idempotent: an older
        generation gets them; its missing price and stock stay NULL until
        ``Doctor.sync_payloads`` fills them; its rows become main images, index 0)."""
        t = sql.Identifier(name)
        cur = await conn.execute(
            "SELECT (SELECT count(*) FROM pg_indexes WHERE tablename = %(t)s "
            "AND indexname = %(stock)s) AS n, (SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = %(t)s AND column_name = 'image_index') AS galleries",
            {"t": name, "stock": f"{name}_stock"},
        )
        row = await cur.fetchone()
        if row and row["n"] and row["galleries"]:  # up to date: no ALTER (no exclusive lock)
            return
        if row and not row["galleries"]:  # a generation from before galleries
            await conn.execute(
                sql.SQL(
                    "ALTER TABLE {t} ADD COLUMN image_index integer NOT NULL DEFAULT 0, "
                    "DROP CONSTRAINT {pkey}, ADD PRIMARY KEY (product_id, image_index)"
                ).format(t=t, pkey=sql.Identifier(f"{name}_pkey"))
            )
        await conn.execute(
            sql.SQL(
                "ALTER TABLE {t} ADD COLUMN IF NOT EXISTS brand text NOT NULL DEFAULT '', "
                "ADD COLUMN IF NOT EXISTS price numeric(12, 2), "
                "ADD COLUMN IF NOT EXISTS stock integer"
            ).format(t=t)
        )
        for column in ("category", "brand", "price", "stock"):
            await conn.execute(
                sql.SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} ({c})").format(
                    i=sql.Identifier(f"{name}_{column}"), t=t, c=sql.Identifier(column)
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
            else:
                await self._upgrade(conn, row["physical"])

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
            "INSERT INTO {t} (product_id, image_index, category, brand, price, stock, "
            "image_sha256, embedding) VALUES (%s, %s, %s, %s, %s, %s, %s, %s::{kind}) "
            "ON CONFLICT (product_id, image_index) DO UPDATE SET "
            "category = EXCLUDED.category, brand = EXCLUDED.brand, price = EXCLUDED.price, "
            "stock = EXCLUDED.stock, image_sha256 = EXCLUDED.image_sha256, "
            "embedding = EXCLUDED.embedding"
        ).format(t=sql.Identifier(table), kind=sql.SQL(kind))
        rows = [
            (i.product_id, i.image_index, i.category, i.brand, i.price, i.stock, i.image_sha256,
             _literal(i.vector))
            for i in items
        ]  # fmt: skip
        async with self._conn() as conn, conn.transaction(), conn.cursor() as cur:
            await cur.executemany(query, rows)

    async def search(
        self,
        vector: np.ndarray,
        top_k: int,
        filter: ProductFilter = NO_FILTER,
        *,
        offset: int = 0,
        min_score: float | None = None,
    ) -> list[VectorHit]:
        """HNSW with an iterative scan; an exact scan for a filter small enough to afford it.

        A selective filter makes a graph walk visit many neighbours it must then drop; scanning
        the filter's own rows (found through the B-tree indexes of its columns) is exact and
        faster there. Whether a filter is small is a bounded count, cached for 30 s.
        """
        table, dim = await self._table()
        where, params = _where(filter)
        params["q"] = _literal(vector)
        if min_score is not None:
            params["maxd"] = 1.0 - min_score
        exact = not filter.is_empty and (
            await self._matching(table, filter, where, params) <= self._exact_below
        )

        async def fetch(limit: int) -> list[VectorHit]:
            async with self._conn() as conn, conn.transaction():
                if exact:
                    query = self._exact_query(table, dim, where, min_score is not None)
                else:
                    query = self._hnsw_query(table, dim, where, min_score is not None)
                    ef = sql.Literal(min(max(self._ef_search, limit), MAX_EF_SEARCH))
                    await conn.execute(sql.SQL("SET LOCAL hnsw.ef_search = {}").format(ef))
                    await conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
                cur = await conn.execute(query, {**params, "k": limit})
                rows = await cur.fetchall()
            return [
                VectorHit(r["product_id"], 1.0 - float(r["d"]), VectorPayload.read(r),
                          r["image_index"])
                for r in rows
            ]  # fmt: skip

        return await group_best(fetch, offset, top_k)

    def _hnsw_query(self, table: str, dim: int, where: sql.Composable, cut: bool) -> sql.Composed:
        keep = sql.SQL("WHERE d <= %(maxd)s") if cut else sql.SQL("")
        return sql.SQL(
            "WITH hits AS MATERIALIZED (SELECT product_id, image_index, category, brand, price, "
            "stock, embedding <=> %(q)s::{kind} AS d FROM {t} {where} ORDER BY d LIMIT %(k)s) "
            "SELECT * FROM hits {keep} ORDER BY d, product_id, image_index"
        ).format(t=sql.Identifier(table), kind=sql.SQL(self._type(dim)), where=where, keep=keep)

    def _exact_query(self, table: str, dim: int, where: sql.Composable, cut: bool) -> sql.Composed:
        # '+ 0' keeps the planner off the HNSW index: the filter's rows are ranked exactly.
        distance = sql.SQL("(embedding <=> %(q)s::{kind})").format(kind=sql.SQL(self._type(dim)))
        keep = sql.SQL(" AND {} <= %(maxd)s").format(distance) if cut else sql.SQL("")
        return sql.SQL(
            "SELECT product_id, image_index, category, brand, price, stock, {distance} AS d "
            "FROM {t} {where}{keep} ORDER BY {distance} + 0, product_id, image_index "
            "LIMIT %(k)s"
        ).format(t=sql.Identifier(table), distance=distance, where=where, keep=keep)

    async def _matching(
        self, table: str, product_filter: ProductFilter, where: sql.Composable, params: dict
    ) -> int:
        """Vectors passing the filter, counted up to ``exact_below + 1``, reused for 30 s."""
        key = json.dumps([table, product_filter.cache_key()])
        now = time.monotonic()
        cached = self._sizes.get(key)
        if cached is not None and now - cached[1] <= FILTER_SIZES_TTL:
            return cached[0]
        async with self._conn() as conn:
            cur = await conn.execute(
                sql.SQL(
                    "SELECT count(*) AS n FROM (SELECT 1 FROM {t} {where} LIMIT %(bound)s) s"
                ).format(t=sql.Identifier(table), where=where),
                {**params, "bound": self._exact_below + 1},
            )
            row = await cur.fetchone()
        size = int(row["n"]) if row else 0
        if len(self._sizes) >= 1024:
            self._sizes.clear()
        self._sizes[key] = (size, now)
        return size

    async def set_payloads(self, payloads: Mapping[str, VectorPayload]) -> None:
        if not payloads:
            return
        table, _ = await self._table()
        query = sql.SQL(
            "UPDATE {t} SET category = %s, brand = %s, price = %s, stock = %s WHERE product_id = %s"
        ).format(t=sql.Identifier(table))
        rows = [(p.category, p.brand, p.price, p.stock, pid) for pid, p in payloads.items()]
        async with self._conn() as conn, conn.transaction(), conn.cursor() as cur:
            await cur.executemany(query, rows)
        self._sizes.clear()

    async def payloads(self) -> dict[str, VectorPayload | None]:
        table, _ = await self._table()
        async with self._conn() as conn:
            cur = await conn.execute(
                sql.SQL("SELECT product_id, category, brand, price, stock FROM {}").format(
                    sql.Identifier(table)
                )
            )
            return {r["product_id"]: VectorPayload.read(r) for r in await cur.fetchall()}

    async def delete(self, product_ids: Sequence[str]) -> None:
        if not product_ids:
            return
        table, _ = await self._table()
        async with self._conn() as conn:
            await conn.execute(
                sql.SQL("DELETE FROM {} WHERE product_id = ANY(%s)").format(sql.Identifier(table)),
                [list(product_ids)],
            )

    async def delete_images(self, keys: Sequence[ImageKey]) -> None:
        if not keys:
            return
        table, _ = await self._table()
        async with self._conn() as conn:
            await conn.execute(
                sql.SQL(
                    "DELETE FROM {} WHERE (product_id, image_index) IN "
                    "(SELECT * FROM unnest(%s::text[], %s::integer[]))"
                ).format(sql.Identifier(table)),
                [[p for p, _ in keys], [i for _, i in keys]],
            )

    async def images(self, product_ids: Sequence[str] | None = None) -> dict[str, dict[int, str]]:
        if product_ids is not None and not product_ids:
            return {}
        table, _ = await self._table()
        where = sql.SQL("" if product_ids is None else "WHERE product_id = ANY(%s)")
        async with self._conn() as conn:
            cur = await conn.execute(
                sql.SQL("SELECT product_id, image_index, image_sha256 FROM {} {}").format(
                    sql.Identifier(table), where
                ),
                None if product_ids is None else [list(product_ids)],
            )
            found: dict[str, dict[int, str]] = {}
            for r in await cur.fetchall():
                found.setdefault(r["product_id"], {})[r["image_index"]] = r["image_sha256"]
            return found

    async def vector_of(self, product_id: str) -> np.ndarray | None:
        table, _ = await self._table()
        async with self._conn() as conn:
            cur = await conn.execute(
                sql.SQL(
                    "SELECT embedding::text AS v FROM {} WHERE product_id = %s AND image_index = 0"
                ).format(sql.Identifier(table)),
                [product_id],
            )
            row = await cur.fetchone()
        if row is None:
            return None
        return np.asarray(json.loads(row["v"]), dtype=np.float32)  # '[0.1,0.2,...]'

    async def count(self) -> int:
        table, _ = await self._table()
        async with self._conn() as conn:
            cur = await conn.execute(
                sql.SQL("SELECT count(*) AS n FROM {}").format(sql.Identifier(table))
            )
            row = await cur.fetchone()
            return int(row["n"]) if row else 0

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
