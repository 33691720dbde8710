"""Request and response models of the shopper-insights and admin API (``POST /events``,
``GET /admin/insights``, ``GET /admin/status``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from visualsearch.experiments import TAB_ID_PATTERN
from visualsearch.schemas import PRODUCT_ID_PATTERN, SEARCH_ID_PATTERN, JobOut

EventType = Literal["click", "add_to_cart", "purchase"]
QueryKind = Literal["image", "text", "both", "similar"]


class EventIn(BaseModel):
    """What a shopper did with one result of a search."""

    model_config = ConfigDict(extra="forbid")

    search_id: str = Field(pattern=SEARCH_ID_PATTERN, description="The answer's `search_id`.")
    type: EventType
    product_id: str = Field(pattern=PRODUCT_ID_PATTERN)
    position: int = Field(ge=1, le=500, description="The result's rank, 1 for the first.")
    tab_id: str | None = Field(
        None,
        pattern=TAB_ID_PATTERN,
        description="The storefront tab's random id (no personal data); also sent on searches "
        "as X-Tab-Id, it places the tab in an experiment's variant.",
    )


class EventAccepted(BaseModel):
    status: Literal["accepted"] = "accepted"


class Figures(BaseModel):
    """What shoppers did with the searches of one group (a day, a kind, a variant, or all)."""

    searches: int
    clicks: int
    click_through_rate: float = Field(description="Searches with at least one click / searches.")
    mean_reciprocal_rank: float | None = Field(
        description="Mean of 1/position over clicks (1: every click on the first result); "
        "null without clicks."
    )
    zero_result_rate: float = Field(description="Searches that found nothing / searches.")
    low_score_rate: float = Field(
        description="Searches with results whose best score was below the low-score setting "
        "/ searches."
    )
    add_to_cart_rate: float = Field(description="Searches with an add to cart / searches.")
    purchase_rate: float = Field(description="Searches with a purchase / searches.")
    mean_latency_ms: float | None
    max_latency_ms: float | None


class DayFigures(Figures):
    day: date
    kind: str
    variant: str | None


class KindFigures(Figures):
    kind: str


class VariantFigures(Figures):
    variant: str | None


class SlowSearch(BaseModel):
    search_id: str
    at: datetime
    kind: str
    query: str | None
    results: int
    latency_ms: float
    variant: str | None


class UnclickedQuery(BaseModel):
    query: str
    searches: int
    mean_results: float


class RecorderOut(BaseModel):
    buffered: int = Field(description="Waiting in memory for the next batch write.")
    written: int = Field(description="Written by this process since it started.")
    dropped: int = Field(description="Dropped by this process (buffer full or write failed).")


class Insights(BaseModel):
    since: datetime
    days: int
    low_score: float = Field(
        description="The low-score threshold (VISUALSEARCH_INSIGHTS_LOW_SCORE)."
    )
    experiment: str | None = Field(description="The running experiment's name, if any.")
    totals: Figures
    by_day: list[DayFigures] = Field(description="Per UTC day, query kind and variant.")
    by_kind: list[KindFigures]
    by_variant: list[VariantFigures]
    slowest: list[SlowSearch]
    unclicked_queries: list[UnclickedQuery] = Field(
        description="The text queries searched most often that no shopper clicked."
    )
    recorder: RecorderOut


class DoctorReport(BaseModel):
    at: datetime
    clean: bool
    lines: list[str]


class AdminStatus(BaseModel):
    queue_depth: int = Field(description="Indexing jobs not yet done (queued, delayed, running).")
    dead_letters: list[JobOut]
    doctor: DoctorReport | None = Field(
        description="The last `visualsearch doctor` report, if one was run."
    )
    searches_stored: int
    events_stored: int
