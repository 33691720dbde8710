"""The shop's figures: searches, click-through, MRR of clicks, zero-result and low-score rates per
day, query kind and experiment variant, the slowest searches and the top queries nobody clicked.

The store returns additive counts per (day, kind, variant); every other grouping is their sum,
and the rates are computed once, here, from those sums.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from visualsearch.insight_schemas import (
    AdminStatus,
    DayFigures,
    DoctorReport,
    Figures,
    Insights,
    KindFigures,
    RecorderOut,
    SlowSearch,
    UnclickedQuery,
    VariantFigures,
)
from visualsearch.schemas import JobOut
from visualsearch.services.recorder import InsightsRecorder
from visualsearch.storage.insights import FigureRow, InsightsStore
from visualsearch.storage.queue.base import JobQueue

LIST_LENGTH = 20


def _ratio(part: float, whole: float) -> float:
    return round(part / whole, 6) if whole else 0.0


def figures(rows: Iterable[FigureRow]) -> Figures:
    """The figures of a group from its rows' sums."""
    rows = list(rows)
    searches = sum(r.searches for r in rows)
    clicks = sum(r.clicks for r in rows)
    return Figures(
        searches=searches,
        clicks=clicks,
        click_through_rate=_ratio(sum(r.clicked for r in rows), searches),
        mean_reciprocal_rank=round(sum(r.reciprocal_rank_sum for r in rows) / clicks, 6)
        if clicks
        else None,
        zero_result_rate=_ratio(sum(r.zero_results for r in rows), searches),
        low_score_rate=_ratio(sum(r.low_score for r in rows), searches),
        add_to_cart_rate=_ratio(sum(r.carted for r in rows), searches),
        purchase_rate=_ratio(sum(r.purchased for r in rows), searches),
        mean_latency_ms=round(sum(r.latency_ms_sum for r in rows) / searches, 3)
        if searches
        else None,
        max_latency_ms=max((r.latency_ms_max for r in rows), default=None),
    )


def _grouped(
    rows: list[FigureRow], key: Callable[[FigureRow], str | None]
) -> dict[str | None, list[FigureRow]]:
    groups: dict[str | None, list[FigureRow]] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    return groups


class InsightsService:
    def __init__(
        self,
        store: InsightsStore,
        recorder: InsightsRecorder,
        queue: JobQueue,
        experiment: str | None,
    ) -> None:
        self._store = store
        self._recorder = recorder
        self._queue = queue
        self._experiment = experiment

    async def status(self) -> AdminStatus:
        """The queue's depth, its dead letters, doctor's last report, what is stored."""
        depth, dead, report, (searches, events) = await asyncio.gather(
            self._queue.pending(),
            self._queue.dead_letters(100),
            self._store.last_doctor_report(),
            self._store.count(),
        )
        return AdminStatus(
            queue_depth=depth,
            dead_letters=[JobOut(**job.public()) for job in dead],
            doctor=DoctorReport(at=report[0], clean=report[1], lines=report[2]) if report else None,
            searches_stored=searches,
            events_stored=events,
        )

    async def report(self, days: int) -> Insights:
        """The figures of the last ``days`` days (what is buffered is written first)."""
        await self._recorder.flush()
        since = datetime.now(UTC) - timedelta(days=days)
        low = self._recorder.low_score
        rows = await self._store.figures(since, low)
        slowest = await self._store.slowest(since, LIST_LENGTH)
        unclicked = await self._store.queries_without_clicks(since, LIST_LENGTH)
        stats = self._recorder.stats()
        return Insights(
            since=since,
            days=days,
            low_score=low,
            experiment=self._experiment,
            totals=figures(rows),
            by_day=[
                DayFigures(day=r.day, kind=r.kind, variant=r.variant, **figures([r]).model_dump())
                for r in rows
            ],
            by_kind=[
                KindFigures(kind=kind or "", **figures(group).model_dump())
                for kind, group in sorted(
                    _grouped(rows, lambda r: r.kind).items(), key=lambda kv: kv[0] or ""
                )
            ],
            by_variant=[
                VariantFigures(variant=variant, **figures(group).model_dump())
                for variant, group in sorted(
                    _grouped(rows, lambda r: r.variant).items(), key=lambda kv: kv[0] or ""
                )
            ],
            slowest=[SlowSearch(**row) for row in slowest],
            unclicked_queries=[UnclickedQuery(**row) for row in unclicked],
            recorder=RecorderOut(
                buffered=stats.buffered, written=stats.written, dropped=stats.dropped
            ),
        )
