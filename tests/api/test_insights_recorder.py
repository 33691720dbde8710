"""The insights recorder's promises on real stores: a running API deletes searches, events and
doctor's reports older than the retention, and a full event buffer (PostgreSQL stuck behind a
lock) drops what does not fit, counts it in Prometheus, and never fails or holds up a search."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.api.helpers import index
from tests.conftest import Api, SettingsFactory, start_api
from tests.support.images import jpeg
from visualsearch.services import recorder
from visualsearch.storage.insights import EventRecord, SearchRecord

T = TypeVar("T")
HANG = 30.0
"""Seconds after which a request that should not wait at all is called stuck (not a timing)."""


def _search(search_id: str, at: datetime) -> SearchRecord:
    return SearchRecord(search_id, at, "text", "red shoe", 3, 0.8, 12.5, None, "tab-12345678")


def _click(search_id: str, at: datetime) -> EventRecord:
    return EventRecord(search_id, "click", "p0", 1, "tab-12345678", at)


async def _stored_ids(url: str) -> tuple[set[str], set[str], int]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        searches = await (await conn.execute("SELECT search_id FROM search_log")).fetchall()
        events = await (await conn.execute("SELECT search_id FROM search_events")).fetchall()
        reports = await (await conn.execute("SELECT count(*) FROM doctor_reports")).fetchone()
    return {r[0] for r in searches}, {r[0] for r in events}, reports[0] if reports else 0


async def test_a_running_api_deletes_what_passed_the_retention(
    make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recorder, "RETENTION_EVERY_SECONDS", 0.2)  # hourly in production
    running, lifespan = await start_api(make_settings(events_retention_days=30), worker=False)
    url = str(running.settings.database_url)
    try:
        now = datetime.now(UTC)
        old, recent = now - timedelta(days=31), now - timedelta(days=29)
        store = running.context.insights
        await store.write_searches([_search("a" * 32, old), _search("b" * 32, recent)])
        await store.write_events([_click("a" * 32, old), _click("b" * 32, recent)])
        await store.save_doctor_report(True, ["all clean"])
        async with await psycopg.AsyncConnection.connect(url) as conn:
            await conn.execute(
                "INSERT INTO doctor_reports (at, clean, lines) VALUES (%s, %s, %s)",
                [old, True, "[]"],
            )
        # (the next pass, at most 0.2 s away, may already have run: only its outcome is checked)
        deadline = asyncio.get_running_loop().time() + HANG
        while (stored := await _stored_ids(url)) != ({"b" * 32}, {"b" * 32}, 1):
            assert asyncio.get_running_loop().time() < deadline, f"retention never ran: {stored}"
            await asyncio.sleep(0.1)
    finally:
        await running.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]


async def _metric(api: Api, name: str, **labels: str) -> float:
    """The sum of a counter's samples over the given labels, from GET /metrics."""
    text = (await api.client.get("/metrics")).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


async def _soon(request: Awaitable[T]) -> T:
    return await asyncio.wait_for(request, HANG)


async def test_a_full_buffer_drops_and_counts_and_searches_go_on(
    make_settings: SettingsFactory,
) -> None:
    running, lifespan = await start_api(
        make_settings(events_buffer_size=4, events_flush_seconds=0.05)
    )
    url = str(running.settings.database_url)
    try:
        for n in range(3):
            await index(running, f"p{n}", jpeg(seed=n), name=f"Red shoe {n}")
        before = await running.client.get("/admin/insights", headers=running.headers)
        written = before.json()["recorder"]["written"]
        dropped = await _metric(
            running, "visualsearch_insights_dropped_total", reason="buffer_full"
        )

        async with await psycopg.AsyncConnection.connect(url) as locker:
            # the insights tables stuck behind a lock: every batch write waits for it
            await locker.execute("LOCK TABLE search_log, search_events IN ACCESS EXCLUSIVE MODE")
            sent = 12
            for _ in range(sent):
                answer = await _soon(running.client.get("/search", params={"q": "red shoe"}))
                assert answer.status_code == 200 and answer.json()["count"] == 3
                event = {
                    "search_id": answer.json()["search_id"],
                    "type": "click",
                    "product_id": "p0",
                    "position": 1,
                }
                assert (await _soon(running.client.post("/events", json=event))).status_code == 202
            waiting = await locker.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                "WHERE NOT l.granted AND d.datname = current_database()"
            )
            row = await waiting.fetchone()
            assert row and row[0] >= 1, "no batch write was waiting for the lock"
            lost = await _metric(
                running, "visualsearch_insights_dropped_total", reason="buffer_full"
            )
            # one batch in flight and a full buffer at most: the rest of 2 * sent was dropped
            assert lost - dropped >= 2 * sent - 2 * 4
            await locker.rollback()

        after = (await running.client.get("/admin/insights", headers=running.headers)).json()
        assert after["recorder"]["buffered"] == 0
        assert after["recorder"]["written"] - written + (lost - dropped) == 2 * sent
        searches, events, _ = await _stored_ids(url)
        assert len(searches) + len(events) == after["recorder"]["written"]
    finally:
        await running.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]
