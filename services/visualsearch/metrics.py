"""Prometheus metrics: a latency histogram per search stage and counters for requests and jobs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Gauge, Histogram

STAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

STAGE_SECONDS = Histogram(
    "visualsearch_stage_seconds",
    "Time spent in one stage of a request (decode, embed, ann, metadata, cache).",
    ["stage"],
    buckets=STAGE_BUCKETS,
)
SEARCHES = Counter(
    "visualsearch_searches_total",
    "Searches answered, by kind and cache outcome.",
    ["kind", "cache"],
)
JOBS = Counter(
    "visualsearch_jobs_total",
    "Indexing jobs by outcome (enqueued, done, retried, dead_lettered, reclaimed).",
    ["outcome"],
)
EMBED_BATCH_SIZE = Histogram(
    "visualsearch_embed_batch_size",
    "Items embedded per forward pass (micro-batching).",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
RATE_LIMITED = Counter("visualsearch_rate_limited_total", "Requests refused with 429.")
PRODUCTS = Gauge("visualsearch_products", "Products in the catalogue at the last /info.")
QUEUE_DEPTH = Gauge(
    "visualsearch_queue_depth",
    "Indexing jobs not yet done (queued, delayed, running), read from the queue at each scrape.",
)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Time the enclosed block into the stage histogram."""
    start = time.perf_counter()
    try:
        yield
    finally:
        STAGE_SECONDS.labels(name).observe(time.perf_counter() - start)


# -- what shoppers do (issue 22): rates are ratios of these, e.g. CTR per kind =
# clicked_searches_total / shopper_searches_total, MRR of clicks =
# click_reciprocal_rank_total / shopper_events_total{type="click"}
SHOPPER_LABELS = ["kind", "variant"]
SHOPPER_SEARCHES = Counter(
    "visualsearch_shopper_searches_total",
    "Searches answered to shoppers, by query kind (image, text, both, similar) and variant.",
    SHOPPER_LABELS,
)
ZERO_RESULT_SEARCHES = Counter(
    "visualsearch_zero_result_searches_total", "Searches that found nothing.", SHOPPER_LABELS
)
LOW_SCORE_SEARCHES = Counter(
    "visualsearch_low_score_searches_total",
    "Searches whose best result scored below VISUALSEARCH_INSIGHTS_LOW_SCORE.",
    SHOPPER_LABELS,
)
SEARCH_SECONDS = Histogram(
    "visualsearch_search_seconds",
    "Time to answer a search, by query kind and variant.",
    SHOPPER_LABELS,
    buckets=STAGE_BUCKETS,
)
SHOPPER_EVENTS = Counter(
    "visualsearch_shopper_events_total",
    "Shopper events (click, add_to_cart, purchase) by the kind and variant of their search "
    "('unknown' when another process answered it).",
    ["type", *SHOPPER_LABELS],
)
CLICKED_SEARCHES = Counter(
    "visualsearch_clicked_searches_total", "Searches with at least one click.", SHOPPER_LABELS
)
CLICK_RECIPROCAL_RANK = Counter(
    "visualsearch_click_reciprocal_rank_total",
    "Sum of 1/position over clicks (divide by the clicks for the MRR of clicks).",
    SHOPPER_LABELS,
)
CLICK_POSITION = Histogram(
    "visualsearch_click_position",
    "Rank (1-based) of the clicked result.",
    ["kind"],
    buckets=(1, 2, 3, 4, 5, 10, 20, 50, 100, 500),
)
INSIGHTS_DROPPED = Counter(
    "visualsearch_insights_dropped_total",
    "Searches and events not recorded: the buffer was full, or the batch write failed.",
    ["what", "reason"],
)
INSIGHTS_WRITTEN = Counter(
    "visualsearch_insights_written_total", "Searches and events written to PostgreSQL.", ["what"]
)
INSIGHTS_BUFFERED = Gauge(
    "visualsearch_insights_buffered", "Searches and events waiting for the next batch write."
)
