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
from visualsearch.services.doctor import Doctor

log = logging.getLogger(__name__)


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


async def run_worker(context: Context, stop: asyncio.Event, concurrency: int = 4) -> None:
    """Process jobs until ``stop`` is set; first requeue catalogue rows that lack vectors and
    rewrite vector payloads that disagree with their rows."""
    try:
        doctor = Doctor(context)
        requeued = await doctor.requeue_missing_vectors()
        if requeued:
            log.info("requeued products without vectors", extra={"count": requeued})
        synced = await doctor.sync_payloads()  # e.g. a collection from before brand/price/stock
        if synced:
            log.info("vector payloads rewritten from the catalogue", extra={"count": synced})
    except StoreUnavailableError as exc:
        log.warning("start-up sweep skipped", extra={"error": exc.message})
    consumer = consumer_name()
    await asyncio.gather(*(_loop(context, stop, f"{consumer}-{i}") for i in range(concurrency)))


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
