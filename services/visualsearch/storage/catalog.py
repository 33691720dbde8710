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
from visualsearch.filters import FacetField, ProductFilter
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
    # Catalogue pages filter by brand, price and stock and sort by name, price or rating.
    """
    CREATE INDEX products_brand_name ON products (brand, name, product_id);
    CREATE INDEX products_price ON products (price, product_id);
    CREATE INDEX products_rating ON products (rating DESC NULLS LAST, product_id);
    CREATE INDEX products_in_stock_name ON products (name, product_id) WHERE stock > 0;
    """,
    # The demo load of a first start: begun (completed_at NULL) until its last batch is written.
    """
    CREATE TABLE demo_load (
        id           integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
        started_at   timestamptz NOT NULL DEFAULT now(),
        completed_at timestamptz
    );
    """,
    # Keyword search (issue 16): a weighted full-text document (name A > brand B > category C >
    # description D, English stemming) and the words typos are matched against by trigram. Both
    # are generated columns, so every upsert and PATCH keeps them in step with the row.
    """
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    ALTER TABLE products ADD COLUMN search_doc tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, name), 'A')
        || setweight(to_tsvector('english'::regconfig, brand), 'B')
        || setweight(to_tsvector('english'::regconfig, replace(category, '-', ' ')), 'C')
        || setweight(to_tsvector('english'::regconfig, description), 'D')
    ) STORED;
    ALTER TABLE products ADD COLUMN search_words text GENERATED ALWAYS AS (
        lower(name || ' ' || brand || ' ' || replace(category, '-', ' '))
    ) STORED;
    CREATE INDEX products_search_doc ON products USING gin (search_doc);
    CREATE INDEX products_search_words ON products USING gin (search_words gin_trgm_ops);
    """,
    # Shopper insights (issue 22): every search answered and what shoppers did with it, written
    # in batches by storage.insights; no personal data beyond a random per-tab id.
    """
    CREATE TABLE search_log (
        search_id   text PRIMARY KEY,
        at          timestamptz NOT NULL,
        kind        text NOT NULL,
        query       text,
        results     integer NOT NULL,
        top_score   real,
        latency_ms  real NOT NULL,
        variant     text,
        tab_id      text
    );
    CREATE INDEX search_log_at ON search_log (at);
    CREATE TABLE search_events (
        id          bigserial PRIMARY KEY,
        search_id   text NOT NULL,
        type        text NOT NULL CHECK (type IN ('click', 'add_to_cart', 'purchase')),
        product_id  text NOT NULL,
        position    integer NOT NULL CHECK (position >= 1),
        tab_id      text,
        at          timestamptz NOT NULL
    );
    CREATE INDEX search_events_search ON search_events (search_id);
    CREATE INDEX search_events_at ON search_events (at);
    CREATE TABLE doctor_reports (
        id          bigserial PRIMARY KEY,
        at          timestamptz NOT NULL DEFAULT now(),
        clean       boolean NOT NULL,
        lines       jsonb NOT NULL
    );
    """,
    # The shop's synonyms (issue 16): one row, the rules' text and a version every replica
    # checks per keyword query; file_sha256 is the synonyms file's content last imported.
    """
    CREATE TABLE synonyms (
        id          integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
        rules       text NOT NULL DEFAULT '',
        version     bigint NOT NULL DEFAULT 0,
        file_sha256 text,
        updated_at  timestamptz NOT NULL DEFAULT now()
    );
    INSERT INTO synonyms (id) VALUES (1);
    """,
    # A gallery per product (issue 17): position 0 is the main image (products.image_key keeps
    # it too, for every reader of one image); existing rows get their one image as position 0.
    """
    CREATE TABLE product_images (
        product_id   text NOT NULL REFERENCES products (product_id) ON DELETE CASCADE,
        position     integer NOT NULL CHECK (position >= 0),
        image_key    text NOT NULL,
        image_sha256 text NOT NULL,
        PRIMARY KEY (product_id, position)
    );
    INSERT INTO product_images (product_id, position, image_key, image_sha256)
    SELECT product_id, 0, image_key, image_sha256 FROM products;
    """,
    # Suggestions (issue 16) find names, brands and categories through these trigram indexes
    # (LIKE and word similarity) instead of grouping the whole table: storage.suggestions.
    """
    CREATE INDEX products_name_words ON products
        USING gin (lower(replace(name, '-', ' ')) gin_trgm_ops);
    CREATE INDEX products_brand_words ON products
        USING gin (lower(replace(brand, '-', ' ')) gin_trgm_ops);
    CREATE INDEX products_category_words ON products
        USING gin (lower(replace(category, '-', ' ')) gin_trgm_ops);
    """,
]

KEYWORD_SQL = """
WITH terms AS (
    SELECT to_tsquery('english', t) AS tq, w
    FROM unnest(%(terms)s::text[], %(words)s::text[]) AS u(t, w)
),
kept AS (SELECT tq, w FROM terms WHERE numnode(tq) > 0),
n AS (SELECT greatest(count(*), 1) AS n FROM kept),
anyq AS (SELECT to_tsquery('english', %(any)s) AS q),
found AS (
    SELECT product_id FROM products, anyq WHERE search_doc @@ anyq.q
    UNION
    SELECT product_id FROM products, kept WHERE search_words %%> kept.w
),
scored AS (
    SELECT p.product_id, p.name,
           sum(CASE
                 WHEN ts_filter(p.search_doc, '{a,b,c}') @@ k.tq THEN 1.0
                 WHEN p.search_doc @@ k.tq THEN 0.6
                 WHEN word_similarity(k.w, p.search_words) >= %(typo)s
                     THEN 0.8 * word_similarity(k.w, p.search_words)
                 ELSE 0 END) / (SELECT n FROM n) AS coverage,
           ts_rank('{0.1,0.2,0.4,1.0}', p.search_doc, (SELECT q FROM anyq), 32) AS rank
    FROM products p CROSS JOIN kept k
    WHERE p.product_id IN (SELECT product_id FROM found) AND {where}
    GROUP BY p.product_id, p.name
)
SELECT product_id, (0.8 * coverage + 0.2 * least(rank * 2, 1.0))::float8 AS score
FROM scored WHERE coverage > 0
ORDER BY score DESC, name ASC, product_id ASC
LIMIT %(limit)s
"""
"""Keyword candidates: each query word scores 1 where it matches the name, brand or category
(stemmed; the last word as a prefix), 0.6 where only the description has it, and up to 0.8 by
trigram word similarity (typos) otherwise; ``score`` = 0.8 * the mean over the words (English
stop words left out) + 0.2 * the weighted ``ts_rank``, so it lies in [0, 1]."""

TYPO_SIMILARITY = 0.45
"""The least ``pg_trgm`` word similarity that counts a misspelt word as found."""

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
GALLERY = (
    "(SELECT coalesce(json_agg(json_build_array(g.image_key, g.image_sha256) ORDER BY g.position),"
    " '[]'::json) FROM product_images g WHERE g.product_id = products.product_id) AS gallery"
)
"""A row's images in gallery order, read beside its columns (one index lookup per row)."""
WITH_GALLERY = f"{COLUMNS}, {GALLERY}"


@dataclass(frozen=True)
class ImageRef:
    """One stored image of a product: its object key and the hash of its bytes."""

    key: str
    sha256: str


@dataclass(frozen=True)
class ProductRecord:
    """One catalogue row; ``gallery`` lists every image, the main one (``image_key``) first."""

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
    gallery: tuple[ImageRef, ...] = ()

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ProductRecord:
        gallery = tuple(ImageRef(k, h) for k, h in row.get("gallery") or ())
        return cls(**{f: row[f] for f in FIELDS}, gallery=gallery)

    @property
    def images(self) -> tuple[ImageRef, ...]:
        """Every image, the main one first (just the main one for a row read without them)."""
        return self.gallery or (ImageRef(self.image_key, self.image_sha256),)

    def values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f) for f in FIELDS)


@dataclass(frozen=True)
class FacetCounts:
    """Facet counts over the filtered catalogue, each field counted without its own filter."""

    category: dict[str, int]
    brand: dict[str, int]
    price_min: Decimal | None
    price_max: Decimal | None
    in_stock: int


@dataclass(frozen=True)
class BrowseResult:
    records: list[ProductRecord]
    total: int
    facets: FacetCounts | None


def filter_conditions(flt: ProductFilter) -> tuple[dict[FacetField, str], dict[str, Any]]:
    """One SQL condition per facet field the filter sets, with its named parameters."""
    conditions: dict[FacetField, str] = {}
    params: dict[str, Any] = {}
    if flt.categories:
        conditions["category"] = "category = ANY(%(categories)s)"
        params["categories"] = list(flt.categories)
    if flt.brands:
        conditions["brand"] = "brand = ANY(%(brands)s)"
        params["brands"] = list(flt.brands)
    prices = []
    if flt.price_min is not None:
        prices.append("price >= %(price_min)s")
        params["price_min"] = flt.price_min
    if flt.price_max is not None:
        prices.append("price <= %(price_max)s")
        params["price_max"] = flt.price_max
    if prices:
        conditions["price"] = " AND ".join(prices)
    if flt.in_stock:
        conditions["in_stock"] = "stock > 0"
    return conditions, params


def _all(conditions: dict[FacetField, str], *, but: FacetField | None = None) -> str:
    parts = [f"({c})" for f, c in conditions.items() if f != but]
    return " AND ".join(parts) or "TRUE"


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

    def connection(self) -> AbstractAsyncContextManager[Connection]:
        """A pooled connection (autocommit) for the adapters that share this database."""
        return self._conn()

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
        """Insert or update rows by product_id, replace their galleries (``images``), and bump
        the index version."""
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
                await cur.execute(
                    "DELETE FROM product_images WHERE product_id = ANY(%s)",
                    [[p.product_id for p in products]],
                )
                await cur.executemany(
                    "INSERT INTO product_images (product_id, position, image_key, image_sha256) "
                    "VALUES (%s, %s, %s, %s)",
                    [
                        (p.product_id, n, image.key, image.sha256)
                        for p in products
                        for n, image in enumerate(p.images)
                    ],
                )
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
                f"WHERE product_id = %s RETURNING {WITH_GALLERY}",
                [*(changes[f] for f in fields), product_id],
            )
            row = await cur.fetchone()
            if row is None:
                return None
            await self._bump(conn)
        return ProductRecord.from_row(row)

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
                f"SELECT {WITH_GALLERY} FROM products WHERE product_id = ANY(%s)",  # noqa: S608
                [list(product_ids)],
            )
            return {r["product_id"]: ProductRecord.from_row(r) for r in await cur.fetchall()}

    async def page(
        self, skip: int, limit: int, category: str | None, sort: str
    ) -> tuple[list[ProductRecord], int]:
        """One page of products (of one category, or all) and the total count."""
        flt = ProductFilter(categories=(category,) if category else ())
        result = await self.browse(flt, sort, skip, limit)
        return result.records, result.total

    async def browse(
        self, flt: ProductFilter, sort: str, skip: int, limit: int, facets: bool = False
    ) -> BrowseResult:
        """One page of the filtered catalogue, its total count and (optionally) its facets.

        ONE query whatever is asked: a single summary row (the total and, with facets, the
        counts) left-joined to the page, so an empty page still carries its total. Facets are
        counted with ``GROUPING SETS ((category), (brand), ())`` over the rows that fail at most
        one filter, each aggregate keeping (``FILTER``) the rows that pass every other field's
        filter: selecting a brand still shows the other brands' counts.
        """
        conditions, params = filter_conditions(flt)
        where = _all(conditions)
        if facets:
            ok = {f: conditions.get(f, "TRUE") for f in ("category", "brand", "price", "in_stock")}
            misses = " + ".join(f"(NOT ({c}))::int" for c in conditions.values())
            scope_where = f"WHERE {misses} <= 1" if len(conditions) > 1 else ""
            # only code-made conditions are spliced in; every value travels as a parameter
            summary = f"""
            scope AS (
                SELECT category, brand, price, stock,
                       {ok["category"]} AS ok_category, {ok["brand"]} AS ok_brand,
                       {ok["price"]} AS ok_price, {ok["in_stock"]} AS ok_in_stock
                FROM products {scope_where}
            ),
            counts AS (
                SELECT GROUPING(category, brand) AS level, category, brand,
                       count(*) FILTER (WHERE ok_brand AND ok_price AND ok_in_stock) AS n_category,
                       count(*) FILTER (WHERE ok_category AND ok_price AND ok_in_stock) AS n_brand,
                       min(price) FILTER (WHERE ok_category AND ok_brand AND ok_in_stock)
                           AS facet_price_min,
                       max(price) FILTER (WHERE ok_category AND ok_brand AND ok_in_stock)
                           AS facet_price_max,
                       count(*) FILTER (WHERE ok_category AND ok_brand AND ok_price AND stock > 0)
                           AS facet_in_stock,
                       count(*) FILTER (WHERE ok_category AND ok_brand AND ok_price AND ok_in_stock)
                           AS n_all
                FROM scope GROUP BY GROUPING SETS ((category), (brand), ())
            ),
            summary AS (
                SELECT (SELECT n_all FROM counts WHERE level = 3) AS total,
                       (SELECT json_object_agg(category, n_category ORDER BY category)
                          FROM counts WHERE level = 1 AND n_category > 0) AS facet_category,
                       (SELECT json_object_agg(brand, n_brand ORDER BY brand)
                          FROM counts WHERE level = 2 AND n_brand > 0 AND brand <> '')
                           AS facet_brand,
                       t.facet_price_min, t.facet_price_max, t.facet_in_stock
                FROM counts t WHERE t.level = 3
            )"""  # noqa: S608
        else:
            summary = f"summary AS (SELECT count(*) AS total FROM products WHERE {where})"  # noqa: S608
        sql = (
            f"WITH {summary} "  # noqa: S608
            f"SELECT s.*, p.* FROM summary s LEFT JOIN LATERAL ("
            f"SELECT {WITH_GALLERY} FROM products WHERE {where} "
            f"ORDER BY {SORTS[sort]} OFFSET %(skip)s LIMIT %(limit)s) p ON true "
            f"ORDER BY {SORTS[sort]}"
        )
        async with self._conn() as conn:
            cur = await conn.execute(sql, {**params, "skip": skip, "limit": limit})
            rows = await cur.fetchall()
        head: dict[str, Any] = rows[0] if rows else {"total": 0}
        records = [ProductRecord.from_row(r) for r in rows if r["product_id"]]
        counts = None
        if facets:
            counts = FacetCounts(
                category=dict(head.get("facet_category") or {}),
                brand=dict(head.get("facet_brand") or {}),
                price_min=head.get("facet_price_min"),
                price_max=head.get("facet_price_max"),
                in_stock=int(head.get("facet_in_stock") or 0),
            )
        return BrowseResult(records=records, total=int(head["total"] or 0), facets=counts)

    async def keyword_search(
        self, terms: Sequence[tuple[str, str]], flt: ProductFilter, limit: int
    ) -> list[tuple[str, float]]:
        """Products matching the query terms, each ``(tsquery, words)``: a valid tsquery
        (``retrieval.synonyms.Term``) and the shopper's words typos are matched against. Best
        first, as ``(product_id, score)`` with ``score`` in [0, 1] (see ``KEYWORD_SQL``); every
        filter is applied in the SQL."""
        if not terms or limit <= 0:
            return []
        conditions, params = filter_conditions(flt)
        sql = KEYWORD_SQL.replace("{where}", _all(conditions))
        async with self.transaction() as conn:
            await conn.execute(
                "SELECT set_config('pg_trgm.word_similarity_threshold', %s, true)",
                [str(TYPO_SIMILARITY)],
            )
            cur = await conn.execute(
                sql,
                {
                    **params,
                    "terms": [t for t, _ in terms],
                    "words": [w for _, w in terms],
                    "any": " | ".join(f"({t})" for t, _ in terms),
                    "typo": TYPO_SIMILARITY,
                    "limit": limit,
                },
            )
            return [(r["product_id"], float(r["score"])) for r in await cur.fetchall()]

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
        """Every product id with its main image's key and hash."""
        async with self._conn() as conn:
            cur = await conn.execute("SELECT product_id, image_key, image_sha256 FROM products")
            return {
                r["product_id"]: (r["image_key"], r["image_sha256"]) for r in await cur.fetchall()
            }

    async def all_galleries(self) -> dict[str, list[ImageRef]]:
        """Every product id with its images in gallery order (for consistency checks)."""
        async with self._conn() as conn:
            cur = await conn.execute(
                "SELECT product_id, image_key, image_sha256 FROM product_images "
                "ORDER BY product_id, position"
            )
            found: dict[str, list[ImageRef]] = {}
            for r in await cur.fetchall():
                found.setdefault(r["product_id"], []).append(
                    ImageRef(r["image_key"], r["image_sha256"])
                )
            return found

    # -- the demo load of a first start ----------------------------------------------------

    async def demo_load_state(self) -> str | None:
        """``None`` (never begun), ``"started"`` (begun, not finished) or ``"completed"``."""
        async with self._conn() as conn:
            cur = await conn.execute("SELECT completed_at FROM demo_load WHERE id = 1")
            row = await cur.fetchone()
        if row is None:
            return None
        return "started" if row["completed_at"] is None else "completed"

    async def begin_demo_load(self) -> bool:
        """Record that the demo load begins, only into an empty catalogue that never had one.

        False when the catalogue holds products (the shop's own) or a load was begun already.
        """
        async with self.transaction() as conn:
            await conn.execute("LOCK TABLE demo_load IN EXCLUSIVE MODE")
            cur = await conn.execute(
                "INSERT INTO demo_load (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM products) "
                "ON CONFLICT (id) DO NOTHING"
            )
            return bool(cur.rowcount)

    async def complete_demo_load(self) -> None:
        async with self._conn() as conn:
            await conn.execute(
                "UPDATE demo_load SET completed_at = now() WHERE id = 1 AND completed_at IS NULL"
            )

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

    async def record_model(self, model: str, dim: int, exclusive: bool = True) -> None:
        """Record the index's model on first use; refuse a different one afterwards.

        Not ``exclusive`` (a collection per model, each named by its model): another model's
        pods may serve beside this one, so a different record is left as it is.
        """
        async with self.transaction() as conn:
            cur = await conn.execute("SELECT model, dim FROM index_state WHERE id = 1 FOR UPDATE")
            row = await cur.fetchone()
            if row and row["model"] and not exclusive:
                return
            if row and row["model"] and (row["model"], row["dim"]) != (model, dim):
                raise ModelMismatchError(
                    f"This index was built with {row['model']} ({row['dim']}-dim vectors) but the "
                    f"service runs {model} ({dim}-dim). Set VISUALSEARCH_MODEL=auto (it keeps the "
                    f"index's model and colour weight) or {row['model']}"
                    f"{'' if '+colour' in row['model'] else ' with VISUALSEARCH_COLOUR_WEIGHT=0'}, "
                    f"or re-index with `visualsearch reindex` to switch models."
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
