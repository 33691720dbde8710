"""The product catalogue in PostgreSQL (psycopg 3 with a connection pool).

The schema is migrated idempotently at start-up under an advisory lock, writes are upserts
(``ON CONFLICT``), and the index version (which keys the search cache) is bumped by every write.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg

from visualsearch.exceptions import ModelMismatchError
from visualsearch.storage.postgres import Connection, connection, create_pool, open_pool

log = logging.getLogger(__name__)
STORE = "catalogue database"

MIGRATIONS: list[str] = [
    """
    CREATE TABLE products (
        product_id   text PRIMARY KEY,
        name         text NOT NULL,
        brand        text NOT NULL DEFAULT '',
        price        numeric(12, 2) NOT NULL CHECK (price >= 0),
        category     text NOT NULL,
        description  text NOT NULL DEFAULT '',
        rating       real CHECK (rating BETWEEN 0 AND 5),
        stock        integer NOT NULL DEFAULT 0 CHECK (stock >= 0),
        warranty     text NOT NULL DEFAULT '',
        image_key    text NOT NULL,
        image_sha256 text NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        updated_at   timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX products_category_name ON products (category, name);
    CREATE INDEX products_name ON products (name);
    CREATE TABLE index_state (
        id       integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
        version  bigint NOT NULL DEFAULT 0,
        model    text,
        dim      integer
    );
    INSERT INTO index_state (id) VALUES (1);
    """,
    # An identity per index, so indexes sharing one Redis never share cached results.
    "ALTER TABLE index_state ADD COLUMN index_id uuid NOT NULL DEFAULT gen_random_uuid();",
]

SORTS = {
    "name": "name ASC, product_id ASC",
    "price_asc": "price ASC, product_id ASC",
    "price_desc": "price DESC, product_id ASC",
    "rating": "rating DESC NULLS LAST, product_id ASC",
}
COLUMNS = (
    "product_id, name, brand, price, category, description, rating, stock, warranty, "
    "image_key, image_sha256"
)
FIELDS = tuple(c.strip() for c in COLUMNS.split(","))


@dataclass(frozen=True)
class ProductRecord:
    """One catalogue row."""

    product_id: str
    name: str
    brand: str
    price: Decimal
    category: str
    description: str
    rating: float | None
    stock: int
    warranty: str
    image_key: str
    image_sha256: str

    def values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f) for f in FIELDS)


class CatalogStore:
    """PostgreSQL adapter for products and the index state."""

    def __init__(self, url: str, pool_size: int = 10, timeout: float = 5.0) -> None:
        self._pool = create_pool(url, pool_size, timeout)

    async def open(self) -> None:
        await open_pool(self._pool, STORE)
        await self.migrate()

    async def close(self) -> None:
        await self._pool.close()

    def _conn(self) -> AbstractAsyncContextManager[Connection]:
        return connection(self._pool, STORE)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A connection inside one transaction; commits on success, rolls back on error."""
        async with self._conn() as conn, conn.transaction():
            yield conn

    async def migrate(self) -> None:
        """Apply pending migrations once, whoever starts first (advisory lock)."""
        async with self.transaction() as conn:
            await conn.execute("SELECT pg_advisory_xact_lock(7242001)")
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            cur = await conn.execute("SELECT coalesce(max(version), 0) AS v FROM schema_migrations")
            row = await cur.fetchone()
            current = int(row["v"]) if row else 0
            for version, sql in enumerate(MIGRATIONS[current:], start=current + 1):
                log.info("applying catalogue migration", extra={"version": version})
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", [version])

    async def ping(self) -> None:
        async with self._conn() as conn:
            await conn.execute("SELECT 1")

    # -- products --------------------------------------------------------------------------

    async def upsert(
        self, products: Sequence[ProductRecord], conn: psycopg.AsyncConnection[Any] | None = None
    ) -> None:
        """Insert or update rows by product_id and bump the index version."""
        if not products:
            return
        set_clause = ", ".join(f"{f} = EXCLUDED.{f}" for f in FIELDS[1:])
        sql = (
            f"INSERT INTO products ({COLUMNS}) VALUES ({', '.join(['%s'] * len(FIELDS))}) "  # noqa: S608
            f"ON CONFLICT (product_id) DO UPDATE SET {set_clause}, updated_at = now()"
        )
        async with self._maybe_tx(conn) as c:
            async with c.cursor() as cur:
                await cur.executemany(sql, [p.values() for p in products])
            await self._bump(c)

    async def update(self, product_id: str, changes: dict[str, Any]) -> ProductRecord | None:
        """Change some fields of one row and bump the index version; ``None``: no such row."""
        fields = [f for f in FIELDS[1:-2] if f in changes]  # not the id, nor the image
        if len(fields) != len(changes):
            raise ValueError(f"not updatable: {sorted(set(changes) - set(fields))}")
        assignments = ", ".join(f"{f} = %s" for f in fields)
        async with self.transaction() as conn:
            cur = await conn.execute(
                f"UPDATE products SET {assignments}, updated_at = now() "  # noqa: S608
                f"WHERE product_id = %s RETURNING {COLUMNS}",
                [*(changes[f] for f in fields), product_id],
            )
            row = await cur.fetchone()
            if row is None:
                return None
            await self._bump(conn)
        return ProductRecord(**row)

    async def delete(self, product_id: str) -> bool:
        async with self.transaction() as conn:
            cur = await conn.execute("DELETE FROM products WHERE product_id = %s", [product_id])
            if cur.rowcount:
                await self._bump(conn)
            return bool(cur.rowcount)

    async def get(self, product_id: str) -> ProductRecord | None:
        rows = await self.get_many([product_id])
        return rows.get(product_id)

    async def get_many(self, product_ids: Sequence[str]) -> dict[str, ProductRecord]:
        """All rows for the ids in ONE query, keyed by id (missing ids are absent)."""
        if not product_ids:
            return {}
        async with self._conn() as conn:
            cur = await conn.execute(
                f"SELECT {COLUMNS} FROM products WHERE product_id = ANY(%s)",  # noqa: S608
                [list(product_ids)],
            )
            return {r["product_id"]: ProductRecord(**r) for r in await cur.fetchall()}

    async def page(
        self, skip: int, limit: int, category: str | None, sort: str
    ) -> tuple[list[ProductRecord], int]:
        """One page of products and the total count of the filtered catalogue."""
        where, params = ("WHERE category = %s", [category]) if category else ("", [])
        async with self._conn() as conn:
            cur = await conn.execute(
                f"SELECT {COLUMNS}, count(*) OVER () AS total FROM products {where} "  # noqa: S608
                f"ORDER BY {SORTS[sort]} OFFSET %s LIMIT %s",
                [*params, skip, limit],
            )
            rows = await cur.fetchall()
            if rows:
                total = int(rows[0].pop("total"))
                for r in rows[1:]:
                    r.pop("total")
            else:
                cur = await conn.execute(f"SELECT count(*) AS n FROM products {where}", params)  # noqa: S608
                total = int((await cur.fetchone() or {"n": 0})["n"])
        return [ProductRecord(**r) for r in rows], total

    async def categories(self) -> list[tuple[str, int]]:
        async with self._conn() as conn:
            cur = await conn.execute(
                "SELECT category, count(*) AS n FROM products GROUP BY category ORDER BY category"
            )
            return [(r["category"], int(r["n"])) for r in await cur.fetchall()]

    async def count(self) -> int:
        async with self._conn() as conn:
            cur = await conn.execute("SELECT count(*) AS n FROM products")
            row = await cur.fetchone()
            return int(row["n"]) if row else 0

    async def all_ids_and_images(self) -> dict[str, tuple[str, str]]:
        """Every product id with its image key and hash (for consistency checks)."""
        async with self._conn() as conn:
            cur = await conn.execute("SELECT product_id, image_key, image_sha256 FROM products")
            return {
                r["product_id"]: (r["image_key"], r["image_sha256"]) for r in await cur.fetchall()
            }

    # -- index state -----------------------------------------------------------------------

    async def index_version(self) -> int:
        async with self._conn() as conn:
            cur = await conn.execute("SELECT version FROM index_state WHERE id = 1")
            row = await cur.fetchone()
            return int(row["version"]) if row else 0

    async def cache_scope(self) -> str:
        """``<index id>:<version>``: changes with every write, unique across indexes."""
        async with self._conn() as conn:
            cur = await conn.execute("SELECT index_id, version FROM index_state WHERE id = 1")
            row = await cur.fetchone()
            return f"{row['index_id']}:{row['version']}" if row else ""

    async def bump_version(self) -> int:
        async with self._conn() as conn:
            return await self._bump(conn)

    async def recorded_model(self) -> str | None:
        """The model the index was built with, if any vectors were made yet."""
        async with self._conn() as conn:
            cur = await conn.execute("SELECT model FROM index_state WHERE id = 1")
            row = await cur.fetchone()
            return row["model"] if row else None

    async def record_model(self, model: str, dim: int) -> None:
        """Record the index's model on first use; refuse a different one afterwards."""
        async with self.transaction() as conn:
            cur = await conn.execute("SELECT model, dim FROM index_state WHERE id = 1 FOR UPDATE")
            row = await cur.fetchone()
            if row and row["model"] and (row["model"], row["dim"]) != (model, dim):
                raise ModelMismatchError(
                    f"This index was built with {row['model']} ({row['dim']}-dim vectors) but the "
                    f"service runs {model} ({dim}-dim). Set VISUALSEARCH_MODEL={row['model']}, or "
                    f"re-index with `visualsearch reindex` to switch models."
                )
            await conn.execute(
                "UPDATE index_state SET model = %s, dim = %s WHERE id = 1", [model, dim]
            )

    async def reset_model(self) -> None:
        async with self._conn() as conn:
            await conn.execute("UPDATE index_state SET model = NULL, dim = NULL WHERE id = 1")
            await self._bump(conn)

    @staticmethod
    async def _bump(conn: psycopg.AsyncConnection[Any]) -> int:
        cur = await conn.execute(
            "UPDATE index_state SET version = version + 1 WHERE id = 1 RETURNING version"
        )
        row = await cur.fetchone()
        return int(row["version"]) if row else 0

    @asynccontextmanager
    async def _maybe_tx(
        self, conn: psycopg.AsyncConnection[Any] | None
    ) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        if conn is not None:
            yield conn
        else:
            async with self.transaction() as c:
                yield c
