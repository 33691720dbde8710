"""The vector index in PostgreSQL with pgvector: HNSW, cosine, every filter in the scan.

For shops that already run PostgreSQL (the catalogue's own database by default) and for the
one-machine mode (the embedded PostgreSQL ships pgvector). The payload is typed columns
(category, brand, price, stock) with B-tree indexes; iterative index scans keep a filter from
starving the top-K, and a filter keeping few rows is ranked by an exact scan of those rows.
Each generation is a table; the ``vector_collections`` row naming the live one is switched in
one transaction by a re-index. A row is one image (primary key: product id, image index); a
search over-fetches rows and keeps each product's best (``base.group_best``).

Vectors stay in the row (storage MAIN): pgvector's default storage moves any vector over
~2 KB (512 floats and up) to the TOAST table, and then every distance a query computes from
the row, the exact scan's thousands included, first fetches it from there. The HNSW index is
on ``embedding::halfvec``: half the bytes per graph step (and dimensions up to 4000); the
graph's candidates are ranked by their exact float32 distance. Generations made before this
keep their ``vector`` index and TOASTed rows and are searched as such; the next re-index
writes the new layout (see ``bench/RESULTS.md``, "pgvector filtered at 100 k").
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from visualsearch.exceptions import ModelMismatchError, StoreUnavailableError
from visualsearch.filters import ProductFilter
from visualsearch.storage.postgres import Connection, connection, create_pool, open_pool
from visualsearch.storage.vectors.base import (
    COLLECTION_NAME_LIMIT,
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
SCAN_SETTINGS = (
    "SELECT set_config('hnsw.ef_search', %s, false), "
    "set_config('hnsw.iterative_scan', 'relaxed_order', false)"
)
"""The graph walk's settings, for the session: every HNSW query sets them first."""
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


@dataclass(frozen=True)
class Generation:
    """A generation's table, its vectors' dimension, and whether its HNSW index holds them as
    ``halfvec`` (generations made before that index ``vector`` directly)."""

    table: str
    dim: int
    half: bool


LIVE = """
SELECT c.physical, c.dim, EXISTS (SELECT 1 FROM pg_indexes i WHERE i.tablename = c.physical
    AND i.indexdef LIKE '%%USING hnsw%%halfvec_cosine_ops%%') AS half
FROM vector_collections c WHERE c.alias = %s
"""


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
        filtered_ef: int = 200,
    ) -> None:
        if not re.fullmatch(rf"[a-z][a-z0-9_]{{0,{COLLECTION_NAME_LIMIT - 1}}}", collection):
            raise ValueError(f"invalid pgvector collection name {collection!r}")
        self.collection = collection
        self._url = url
        self._owns_pool = pool is None
        self._pool = pool or create_pool(url, max_size=8)
        # A re-index builder writes to its own generation, which it created (halfvec index).
        self._builds = physical is not None and dim is not None
        self._live: Generation | None = (
            Generation(physical, dim, True) if physical is not None and dim is not None else None
        )
        self._ef_search = ef_search
        self._exact_below = exact_below
        self._filtered_ef = filtered_ef
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

    async def _generation(
        self, conn: Connection | None = None, *, fresh: bool = True
    ) -> Generation:
        """The generation this store reads and writes.

        Writes look it up every time (a primary-key read): another process may have switched
        generations. A search (``fresh=False``) reuses the last one it saw: a switch drops the
        old table in the same transaction, so a search on a stale name fails with
        ``UndefinedTable`` and is retried once after a fresh lookup (``search``).
        """
        if self._builds or (not fresh and self._live is not None):
            assert self._live is not None
            return self._live
        if conn is None:
            async with self._conn() as own:
                return await self._generation(own)
        cur = await conn.execute(LIVE, [self.collection])
        row = await cur.fetchone()
        if row is None:
            raise StoreUnavailableError(STORE, f"collection {self.collection!r} does not exist")
        self._live = Generation(row["physical"], row["dim"], row["half"])
        return self._live

    async def _table(self) -> tuple[str, int]:
        """The physical table this store reads and writes, and its dimension."""
        live = await self._generation()
        return live.table, live.dim

    async def _create(self, conn: psycopg.AsyncConnection[Any], name: str, dim: int) -> None:
        # STORAGE MAIN keeps the vector in the row (pgvector's default, EXTERNAL, moves any
        # row over ~2 KB to TOAST); only a row too big for a page would still go there. The
        # graph holds half-precision copies (half the bytes per step, up to 4000 dims); the
        # rows keep float32, which ranks the graph's candidates and answers exact scans.
        await conn.execute(
            sql.SQL(
                "CREATE TABLE {t} (product_id text NOT NULL, "
                "image_index integer NOT NULL DEFAULT 0, category text NOT NULL, "
                "image_sha256 text NOT NULL DEFAULT '', embedding vector({dim}) NOT NULL, "
                "PRIMARY KEY (product_id, image_index));"
                "ALTER TABLE {t} ALTER COLUMN embedding SET STORAGE MAIN;"
                "CREATE INDEX {hnsw} ON {t} USING hnsw ((embedding::halfvec({dim})) "
                "halfvec_cosine_ops) WITH (m = 16, ef_construction = 128);"
            ).format(
                t=sql.Identifier(name),
                dim=sql.Literal(dim),
                hnsw=sql.Identifier(f"{name}_hnsw"),
            )
        )
        await self._upgrade(conn, name)

    @staticmethod
    async def _upgrade(conn: psycopg.AsyncConnection[Any], name: str) -> None:
        """The payload columns and their indexes, and a row per image (idempotent: an older
        generation gets them; its missing price and stock stay NULL until
        ``Doctor.sync_payloads`` fills them; its rows become main images, index 0; its vectors
        written from now on stay in the row, those already in TOAST stay there until the next
        re-index)."""
        t = sql.Identifier(name)
        cur = await conn.execute(
            "SELECT (SELECT count(*) FROM pg_indexes WHERE tablename = %(t)s "
            "AND indexname = %(stock)s) AS n, (SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = %(t)s AND column_name = 'image_index') AS galleries, "
            "(SELECT attstorage FROM pg_attribute WHERE attrelid = to_regclass(quote_ident(%(t)s)) "
            "AND attname = 'embedding') AS storage",
            {"t": name, "stock": f"{name}_stock"},
        )
        row = await cur.fetchone()
        if row and row["n"] and row["galleries"] and row["storage"] == "m":  # up to date: no
            return  # ALTER (no exclusive lock)
        await conn.execute(
            sql.SQL("ALTER TABLE {t} ALTER COLUMN embedding SET STORAGE MAIN").format(t=t)
        )
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
        self._forget()

    def _forget(self) -> None:
        """Drop what this store remembers of the live generation (it changed here)."""
        if not self._builds:
            self._live = None
        self._sizes.clear()

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
        self._forget()

    async def ping(self) -> None:
        async with self._conn() as conn:
            await conn.execute("SELECT 1")

    async def upsert(self, items: Sequence[VectorItem]) -> None:
        if not items:
            return
        live = await self._generation()
        query = sql.SQL(
            "INSERT INTO {t} (product_id, image_index, category, brand, price, stock, "
            "image_sha256, embedding) VALUES (%s, %s, %s, %s, %s, %s, %s, %s::vector) "
            "ON CONFLICT (product_id, image_index) DO UPDATE SET "
            "category = EXCLUDED.category, brand = EXCLUDED.brand, price = EXCLUDED.price, "
            "stock = EXCLUDED.stock, image_sha256 = EXCLUDED.image_sha256, "
            "embedding = EXCLUDED.embedding"
        ).format(t=sql.Identifier(live.table))
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
        faster there. Whether a filter is small is a bounded count, cached for 30 s. The graph
        walk's beam (``ef_search``) widens as the filter narrows, so that the rows it keeps
        still hold the filtered top-K.

        One pooled connection and, once the generation and the filter's size are known, one
        round trip per fetch: the scan settings go in the same pipeline as the query.
        """
        try:
            return await self._search(vector, top_k, filter, offset, min_score)
        except psycopg.errors.UndefinedTable:
            if self._builds:
                raise
            self._live = None  # another process switched generations: look it up again
            return await self._search(vector, top_k, filter, offset, min_score)

    async def _search(
        self,
        vector: np.ndarray,
        top_k: int,
        filter: ProductFilter,
        offset: int,
        min_score: float | None,
    ) -> list[VectorHit]:
        where, params = _where(filter)
        params["q"] = _literal(vector)
        if min_score is not None:
            params["maxd"] = 1.0 - min_score
        async with self._conn() as conn:
            live = await self._generation(conn, fresh=False)
            size = None
            if not filter.is_empty:
                size = await self._matching(conn, live.table, filter, where, params)
            exact = size is not None and size <= self._exact_below
            if exact:
                query = self._exact_query(live, where, min_score is not None)
            else:
                query = self._hnsw_query(live, where, min_score is not None)

            async def fetch(limit: int) -> list[VectorHit]:
                if exact:
                    cur = await conn.execute(query, {**params, "k": limit})
                    rows = await cur.fetchall()
                else:
                    async with conn.pipeline():
                        await conn.execute(SCAN_SETTINGS, [str(self._beam(limit, size))])
                        cur = await conn.execute(query, {**params, "k": limit})
                        rows = await cur.fetchall()
                return [
                    VectorHit(r["product_id"], 1.0 - float(r["d"]), VectorPayload.read(r),
                              r["image_index"])
                    for r in rows
                ]  # fmt: skip

            return await group_best(fetch, offset, top_k)

    def _beam(self, limit: int, size: int | None) -> int:
        """``hnsw.ef_search`` for a graph walk returning ``limit`` rows of a filter keeping
        more than ``size`` rows (None: no filter)."""
        ef = max(self._ef_search, limit)
        if size is not None:
            ef = max(ef, self._filtered_ef)
        return min(ef, MAX_EF_SEARCH)

    @staticmethod
    def _hnsw_query(live: Generation, where: sql.Composable, cut: bool) -> sql.Composed:
        """The graph's candidates in its (half-precision) order, ranked by exact distance."""
        keep = sql.SQL("WHERE d <= %(maxd)s") if cut else sql.SQL("")
        walk: sql.Composable = sql.SQL("embedding <=> %(q)s::vector")
        if live.half:
            walk = sql.SQL("embedding::halfvec({dim}) <=> %(q)s::halfvec({dim})").format(
                dim=sql.Literal(live.dim)
            )
        return sql.SQL(
            "WITH hits AS MATERIALIZED (SELECT product_id, image_index, category, brand, price, "
            "stock, embedding <=> %(q)s::vector AS d FROM {t} {where} ORDER BY {walk} "
            "LIMIT %(k)s) SELECT * FROM hits {keep} ORDER BY d, product_id, image_index"
        ).format(t=sql.Identifier(live.table), walk=walk, where=where, keep=keep)

    @staticmethod
    def _exact_query(live: Generation, where: sql.Composable, cut: bool) -> sql.Composed:
        # '+ 0' keeps the planner off the HNSW index: the filter's rows are ranked exactly.
        distance = sql.SQL("(embedding <=> %(q)s::vector)")
        keep = sql.SQL(" AND {} <= %(maxd)s").format(distance) if cut else sql.SQL("")
        return sql.SQL(
            "SELECT product_id, image_index, category, brand, price, stock, {distance} AS d "
            "FROM {t} {where}{keep} ORDER BY {distance} + 0, product_id, image_index "
            "LIMIT %(k)s"
        ).format(t=sql.Identifier(live.table), distance=distance, where=where, keep=keep)

    async def _matching(
        self,
        conn: Connection,
        table: str,
        product_filter: ProductFilter,
        where: sql.Composable,
        params: dict[str, Any],
    ) -> int:
        """Vectors passing the filter, counted up to ``exact_below + 1``, reused for 30 s."""
        key = json.dumps([table, product_filter.cache_key()])
        now = time.monotonic()
        cached = self._sizes.get(key)
        if cached is not None and now - cached[1] <= FILTER_SIZES_TTL:
            return cached[0]
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
        assert isinstance(builder, PgVectorStore) and builder._builds and builder._live
        built = builder._live
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
                [self.collection, built.table, built.dim],
            )
            if row is not None and row["physical"] != built.table:
                await conn.execute(
                    sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(row["physical"]))
                )
        self._forget()

    async def abort_rebuild(self, builder: VectorStore) -> None:
        assert isinstance(builder, PgVectorStore) and builder._builds and builder._live
        async with self._conn() as conn:
            await conn.execute(
                sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(builder._live.table))
            )

    async def _live_name(self) -> str | None:
        async with self._conn() as conn:
            cur = await conn.execute(
                "SELECT physical FROM vector_collections WHERE alias = %s", [self.collection]
            )
            row = await cur.fetchone()
            return str(row["physical"]) if row else None
