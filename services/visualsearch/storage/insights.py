"""Shopper insights in PostgreSQL: the searches answered, what shoppers did with them, and the
figures a shop reads from both; also ``doctor``'s reports, so the admin view shows the last one.

The tables are the catalogue's (``storage.catalog.MIGRATIONS``), but this store has its own small
pool: batch writes and the admin's figures never wait for a connection a search needs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import astuple, dataclass
from datetime import date, datetime
from typing import Any

from visualsearch.storage.postgres import Connection, connection, create_pool, open_pool

STORE = "insights database"


@dataclass(frozen=True)
class SearchRecord:
    """One search answered (a cached answer too): what was asked and how it went."""

    search_id: str
    at: datetime
    kind: str  # image | text | both | similar
    query: str | None
    results: int
    top_score: float | None
    latency_ms: float
    variant: str | None
    tab_id: str | None


@dataclass(frozen=True)
class EventRecord:
    """What a shopper did with one result of a search."""

    search_id: str
    type: str  # click | add_to_cart | purchase
    product_id: str
    position: int
    tab_id: str | None
    at: datetime


@dataclass(frozen=True)
class FigureRow:
    """Additive counts of one (day, kind, variant): rates are computed from sums of these."""

    day: date
    kind: str
    variant: str | None
    searches: int
    clicked: int
    clicks: int
    reciprocal_rank_sum: float
    zero_results: int
    low_score: int
    carted: int
    purchased: int
    latency_ms_sum: float
    latency_ms_max: float


FIGURES_SQL = """
WITH s AS (
    SELECT search_id, (at AT TIME ZONE 'UTC')::date AS day, kind, variant, results, top_score,
           latency_ms
    FROM search_log WHERE at >= %(since)s
),
e AS (
    SELECT ev.search_id,
           count(*) FILTER (WHERE ev.type = 'click') AS clicks,
           sum(1.0 / ev.position) FILTER (WHERE ev.type = 'click') AS rr,
           bool_or(ev.type = 'add_to_cart') AS carted,
           bool_or(ev.type = 'purchase') AS bought
    FROM search_events ev JOIN s USING (search_id)
    GROUP BY ev.search_id
)
SELECT s.day, s.kind, s.variant,
       count(*) AS searches,
       count(*) FILTER (WHERE e.clicks > 0) AS clicked,
       coalesce(sum(e.clicks), 0) AS clicks,
       coalesce(sum(e.rr), 0)::float8 AS rr,
       count(*) FILTER (WHERE s.results = 0) AS zero,
       count(*) FILTER (WHERE s.results > 0 AND s.top_score < %(low)s) AS low,
       count(*) FILTER (WHERE e.carted) AS carted,
       count(*) FILTER (WHERE e.bought) AS bought,
       sum(s.latency_ms)::float8 AS latency_sum,
       max(s.latency_ms)::float8 AS latency_max
FROM s LEFT JOIN e USING (search_id)
GROUP BY s.day, s.kind, s.variant
ORDER BY s.day, s.kind, s.variant NULLS FIRST
"""

SLOWEST_SQL = """
SELECT search_id, at, kind, query, results, latency_ms::float8 AS latency_ms, variant
FROM search_log WHERE at >= %(since)s
ORDER BY latency_ms DESC, at DESC LIMIT %(limit)s
"""

NO_CLICK_SQL = """
WITH clicked AS (SELECT DISTINCT search_id FROM search_events WHERE type = 'click')
SELECT lower(btrim(s.query)) AS query, count(*) AS searches,
       round(avg(s.results), 1)::float8 AS mean_results
FROM search_log s LEFT JOIN clicked c USING (search_id)
WHERE s.at >= %(since)s AND s.query IS NOT NULL AND s.kind IN ('text', 'both')
GROUP BY 1
HAVING count(c.search_id) = 0
ORDER BY searches DESC, query ASC LIMIT %(limit)s
"""


class InsightsStore:
    def __init__(self, url: str, pool_size: int = 2) -> None:
        self._pool = create_pool(url, pool_size)

    async def open(self) -> None:
        await open_pool(self._pool, STORE)

    async def close(self) -> None:
        await self._pool.close()

    def _conn(self) -> AbstractAsyncContextManager[Connection]:
        return connection(self._pool, STORE)

    async def write_searches(self, records: Sequence[SearchRecord]) -> None:
        if not records:
            return
        async with self._conn() as conn, conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO search_log (search_id, at, kind, query, results, top_score, "
                "latency_ms, variant, tab_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (search_id) DO NOTHING",
                [astuple(r) for r in records],
            )

    async def write_events(self, records: Sequence[EventRecord]) -> None:
        if not records:
            return
        async with (
            self._conn() as conn,
            conn.cursor() as cur,
            cur.copy(
                "COPY search_events (search_id, type, product_id, position, tab_id, at) FROM STDIN"
            ) as copy,
        ):
            for record in records:
                await copy.write_row(astuple(record))

    async def delete_older_than(self, days: int) -> int:
        """Forget searches, events and reports older than ``days``; how many rows went."""
        removed = 0
        async with self._conn() as conn:
            for table in ("search_events", "search_log", "doctor_reports"):
                cur = await conn.execute(
                    f"DELETE FROM {table} WHERE at < now() - make_interval(days => %s)",  # noqa: S608
                    [days],
                )
                removed += cur.rowcount
        return removed

    async def figures(self, since: datetime, low_score: float) -> list[FigureRow]:
        async with self._conn() as conn:
            cur = await conn.execute(FIGURES_SQL, {"since": since, "low": low_score})
            rows = await cur.fetchall()
        return [
            FigureRow(
                r["day"],
                r["kind"],
                r["variant"],
                r["searches"],
                r["clicked"],
                int(r["clicks"]),
                float(r["rr"]),
                r["zero"],
                r["low"],
                r["carted"],
                r["bought"],
                float(r["latency_sum"]),
                float(r["latency_max"]),
            )
            for r in rows
        ]

    async def slowest(self, since: datetime, limit: int) -> list[dict[str, Any]]:
        async with self._conn() as conn:
            cur = await conn.execute(SLOWEST_SQL, {"since": since, "limit": limit})
            return list(await cur.fetchall())

    async def queries_without_clicks(self, since: datetime, limit: int) -> list[dict[str, Any]]:
        async with self._conn() as conn:
            cur = await conn.execute(NO_CLICK_SQL, {"since": since, "limit": limit})
            return list(await cur.fetchall())

    async def count(self) -> tuple[int, int]:
        """Searches and events stored (all time within retention)."""
        async with self._conn() as conn:
            cur = await conn.execute(
                "SELECT (SELECT count(*) FROM search_log) AS s, "
                "(SELECT count(*) FROM search_events) AS e"
            )
            row = await cur.fetchone()
        return (int(row["s"]), int(row["e"])) if row else (0, 0)

    # -- doctor's reports ------------------------------------------------------------------

    async def save_doctor_report(self, clean: bool, lines: Sequence[str]) -> None:
        async with self._conn() as conn:
            await conn.execute(
                "INSERT INTO doctor_reports (clean, lines) VALUES (%s, %s)",
                [clean, json.dumps(list(lines))],
            )

    async def last_doctor_report(self) -> tuple[datetime, bool, list[str]] | None:
        async with self._conn() as conn:
            cur = await conn.execute(
                "SELECT at, clean, lines FROM doctor_reports ORDER BY id DESC LIMIT 1"
            )
            row = await cur.fetchone()
        return (row["at"], row["clean"], list(row["lines"])) if row else None
