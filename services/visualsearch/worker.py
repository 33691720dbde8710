"""The indexing worker: takes jobs from the queue and stores their vectors.

Runs as its own process (``visualsearch worker``) or as a task inside ``visualsearch serve``.
A store outage pauses it with backoff; it never crash-loops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket

from visualsearch.exceptions import StoreUnavailableError
from visualsearch.factory import Context

log = logging.getLogger(__name__)


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


async def run_worker(context: Context, stop: asyncio.Event, concurrency: int = 4) -> None:
    """Process jobs until ``stop`` is set. First requeue catalogue rows that lack vectors,
    rewrite vector payloads that disagree with their rows, and sweep the images no row refers
    to (what a crash between an image and its row left)."""
    try:
        doctor = context.doctor()
        requeued = await doctor.requeue_missing_vectors()
        if requeued:
            log.info("requeued products without vectors", extra={"count": requeued})
        synced = await doctor.sync_payloads()  # e.g. a collection from before brand/price/stock
        if synced:
            log.info("vector payloads rewritten from the catalogue", extra={"count": synced})
    except StoreUnavailableError as exc:
        log.warning("start-up sweep skipped", extra={"error": exc.message})
    consumer = consumer_name()
    await asyncio.gather(
        _sweep_orphans(context, stop),
        *(_loop(context, stop, f"{consumer}-{i}") for i in range(concurrency)),
    )


async def _sweep_orphans(context: Context, stop: asyncio.Event) -> None:
    """Remove orphan images at start-up; those still within the grace period (maybe an upload
    whose row is being written) are looked at again once it has passed, then no more."""
    grace = context.settings.orphan_grace_seconds
    for attempt in range(2):
        try:
            deleted, young = await context.doctor().sweep_orphans()
        except StoreUnavailableError as exc:
            log.warning("orphan sweep skipped", extra={"error": exc.message})
            return
        except Exception:  # the sweep is housekeeping: it must never stop the worker
            log.exception("orphan sweep failed")
            return
        if deleted:
            log.info("removed images no product refers to", extra={"count": deleted})
        if not young or attempt:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), grace + 1)
        if stop.is_set():
            return


async def _loop(context: Context, stop: asyncio.Event, consumer: str) -> None:
    indexer = context.vector_indexer()
    delay = 0.5
    while not stop.is_set():
        try:
            job = await context.queue.claim(consumer, block_seconds=1.0)
            if job is not None:
                await indexer.process(job)
            delay = 0.5
        except StoreUnavailableError as exc:
            log.warning(
                "worker paused: store unavailable", extra={"error": exc.message, "retry_in": delay}
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, 30.0)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("worker error; continuing")
            await asyncio.sleep(1.0)
