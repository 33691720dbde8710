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


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Time the enclosed block into the stage histogram."""
    start = time.perf_counter()
    try:
        yield
    finally:
        STAGE_SECONDS.labels(name).observe(time.perf_counter() - start)
