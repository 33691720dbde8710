"""Recording what shoppers do, off the search's critical path.

A search or an event is appended to an in-memory buffer (no I/O, no await) and counted in
Prometheus; a background task writes the buffer to PostgreSQL in batches every
``flush_seconds`` (sooner when it fills up) and deletes what passed the retention. A full buffer
drops new records and counts them; a failed write drops its batch and counts it: a slow or
absent database never slows a search.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime

from visualsearch import metrics
from visualsearch.schemas import SearchResponse
from visualsearch.storage.insights import EventRecord, InsightsStore, SearchRecord

log = logging.getLogger(__name__)
RETENTION_EVERY_SECONDS = 3600.0
RECENT_SEARCHES = 50_000
"""Searches remembered in memory (id → kind, variant) so events get Prometheus labels."""
NO_VARIANT = "none"


@dataclass
class _Recent:
    kind: str
    variant: str
    clicked: bool = False


@dataclass(frozen=True)
class RecorderStats:
    buffered: int
    written: int
    dropped: int


class InsightsRecorder:
    def __init__(
        self,
        store: InsightsStore,
        *,
        buffer_size: int = 10_000,
        flush_seconds: float = 1.0,
        retention_days: int = 90,
        low_score: float = 0.3,
    ) -> None:
        self._store = store
        self.buffer_size = buffer_size
        self.flush_seconds = flush_seconds
        self.retention_days = retention_days
        self.low_score = low_score
        self._searches: list[SearchRecord] = []
        self._events: list[EventRecord] = []
        self._recent: OrderedDict[str, _Recent] = OrderedDict()
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self.written = 0
        self.dropped = 0

    @property
    def buffered(self) -> int:
        return len(self._searches) + len(self._events)

    def stats(self) -> RecorderStats:
        return RecorderStats(self.buffered, self.written, self.dropped)

    def _admit(self, what: str) -> bool:
        if self.buffered >= self.buffer_size:
            self.dropped += 1
            metrics.INSIGHTS_DROPPED.labels(what, "buffer_full").inc()
            self._wake.set()
            return False
        if self.buffered + 1 >= self.buffer_size // 2:
            self._wake.set()  # half full: write now rather than at the next tick
        return True

    def search(
        self,
        response: SearchResponse,
        *,
        kind: str,
        query: str | None,
        started: float,
        variant: str | None,
        tab_id: str | None,
    ) -> None:
        """Record a search answered (``started``: its ``time.perf_counter()`` at arrival)."""
        seconds = time.perf_counter() - started
        label = variant or NO_VARIANT
        top = response.results[0].score if response.results else None
        metrics.SHOPPER_SEARCHES.labels(kind, label).inc()
        metrics.SEARCH_SECONDS.labels(kind, label).observe(seconds)
        if top is None:
            metrics.ZERO_RESULT_SEARCHES.labels(kind, label).inc()
        elif top < self.low_score:
            metrics.LOW_SCORE_SEARCHES.labels(kind, label).inc()
        self._recent[response.search_id] = _Recent(kind, label)
        while len(self._recent) > RECENT_SEARCHES:
            self._recent.popitem(last=False)
        if self._admit("search"):
            self._searches.append(
                SearchRecord(
                    response.search_id,
                    datetime.now(UTC),
                    kind,
                    query,
                    response.count,
                    top,
                    round(seconds * 1000, 3),
                    variant,
                    tab_id,
                )
            )
            metrics.INSIGHTS_BUFFERED.set(self.buffered)

    def event(
        self, search_id: str, type: str, product_id: str, position: int, tab_id: str | None
    ) -> None:
        """Record what a shopper did with result ``position`` (1-based) of a search."""
        recent = self._recent.get(search_id)
        kind, label = (recent.kind, recent.variant) if recent else ("unknown", "unknown")
        metrics.SHOPPER_EVENTS.labels(type, kind, label).inc()
        if type == "click":
            metrics.CLICK_RECIPROCAL_RANK.labels(kind, label).inc(1 / position)
            metrics.CLICK_POSITION.labels(kind).observe(position)
            if recent is not None and not recent.clicked:
                recent.clicked = True
                metrics.CLICKED_SEARCHES.labels(kind, label).inc()
        if self._admit("event"):
            self._events.append(
                EventRecord(search_id, type, product_id, position, tab_id, datetime.now(UTC))
            )
            metrics.INSIGHTS_BUFFERED.set(self.buffered)

    async def flush(self) -> None:
        """Write what is buffered in one batch per table (one flush at a time)."""
        async with self._lock:
            searches, self._searches = self._searches, []
            events, self._events = self._events, []
            metrics.INSIGHTS_BUFFERED.set(self.buffered)
            if searches:
                await self._write("search", len(searches), self._store.write_searches(searches))
            if events:
                await self._write("event", len(events), self._store.write_events(events))

    async def _write(self, what: str, count: int, write: Awaitable[None]) -> None:
        try:
            await write
        except Exception as exc:  # the batch is lost, counted, and the loop goes on
            self.dropped += count
            metrics.INSIGHTS_DROPPED.labels(what, "write_failed").inc(count)
            log.warning(
                "insights batch not written",
                extra={"what": what, "records": count, "error": str(exc)},
            )
        else:
            self.written += count
            metrics.INSIGHTS_WRITTEN.labels(what).inc(count)

    async def forget_old(self) -> None:
        try:
            removed = await self._store.delete_older_than(self.retention_days)
        except Exception as exc:
            log.warning("insights retention not applied", extra={"error": str(exc)})
            return
        if removed:
            log.info("insights retention", extra={"removed": removed, "days": self.retention_days})

    async def run(self, stop: asyncio.Event) -> None:
        """The background writer: batches every ``flush_seconds``, retention hourly, a last
        flush when ``stop`` is set."""
        next_retention = 0.0
        loop = asyncio.get_running_loop()
        try:
            while not stop.is_set():
                if loop.time() >= next_retention:
                    await self.forget_old()
                    next_retention = loop.time() + RETENTION_EVERY_SECONDS
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.flush_seconds)
                self._wake.clear()
                await self.flush()
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.flush())
