"""Dynamic micro-batching: concurrent requests share one forward pass.

A request puts its preprocessed image on a queue and awaits a future; one task drains the queue
into batches of up to ``max_size`` items and runs the model on a dedicated thread so the event
loop never blocks on inference. Requests that arrive while a pass runs form the next batch. It
waits up to ``max_wait`` for stragglers only when the previous batch was shared (requests are
arriving together): a lone request never waits, so an idle service answers at model speed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from visualsearch import metrics


class MicroBatcher:
    """Coalesce single items into batched calls of ``fn`` (an (N, ...) array → (N, dim) array)."""

    def __init__(
        self, fn: Callable[[np.ndarray], np.ndarray], max_size: int = 16, max_wait: float = 0.005
    ) -> None:
        self._fn = fn
        self._max_size = max_size
        self._max_wait = max_wait
        self._queue: asyncio.Queue[tuple[np.ndarray, asyncio.Future[np.ndarray]]] = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: np.ndarray) -> np.ndarray:
        """The model's output row for ``item``, computed in a shared batch."""
        return (await self.submit_many([item]))[0]

    async def submit_many(self, items: list[np.ndarray]) -> np.ndarray:
        """The output rows for ``items`` (stacked), queued together so that they share a pass."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="micro-batcher")
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[np.ndarray]] = []
        for item in items:
            futures.append(loop.create_future())
            self._queue.put_nowait((item, futures[-1]))
        return np.stack(await asyncio.gather(*futures))

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        shared = False
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            deadline = loop.time() + (self._max_wait if shared else 0.0)
            while len(batch) < self._max_size:
                timeout = deadline - loop.time()
                if timeout <= 0 and self._queue.empty():
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), max(timeout, 0)))
                except TimeoutError:
                    break
            shared = len(batch) > 1
            live = [(item, fut) for item, fut in batch if not fut.cancelled()]
            if not live:
                continue
            metrics.EMBED_BATCH_SIZE.observe(len(live))
            stacked = np.stack([item for item, _ in live])
            try:
                output = await loop.run_in_executor(self._executor, self._fn, stacked)
            except Exception as exc:  # the error belongs to every request of this batch
                for _, fut in live:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            for row, (_, fut) in zip(output, live, strict=True):
                if not fut.done():
                    fut.set_result(row)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._executor.shutdown(wait=False, cancel_futures=True)
