"""Indexing jobs in PostgreSQL, for the one-machine mode (no Redis on a laptop).

Same guarantees as the Redis adapter, and durable across restarts: a job is a row, claimed with
``FOR UPDATE SKIP LOCKED`` and a lease (``locked_until``) that a dead worker lets lapse.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

from visualsearch import metrics
from visualsearch.storage.postgres import connection, create_pool, open_pool
from visualsearch.storage.queue.base import Job, JobQueue, QueuePolicy

STORE = "job queue"

SCHEMA = """
CREATE TABLE IF NOT EXISTS index_jobs (
    job_id       text PRIMARY KEY,
    product_id   text NOT NULL,
    status       text NOT NULL DEFAULT 'queued',
    attempts     integer NOT NULL DEFAULT 0,
    error        text,
    available_at timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS index_jobs_ready ON index_jobs (status, available_at);
"""

CLAIM = """
UPDATE index_jobs SET status = 'running', attempts = attempts + 1, updated_at = now(),
       locked_until = now() + make_interval(secs => %(lease)s)
WHERE job_id = (
    SELECT job_id FROM index_jobs
    WHERE (status = 'queued' AND available_at <= now())
       OR (status = 'running' AND locked_until < now())
    ORDER BY available_at, created_at
    FOR UPDATE SKIP LOCKED
    LIMIT 1
)
RETURNING *
"""


class PostgresJobQueue(JobQueue):
    def __init__(self, url: str, policy: QueuePolicy) -> None:
        super().__init__(policy)
        self._pool = create_pool(url, max_size=4)
        self._wakeup = asyncio.Event()

    async def _execute(self, sql: str, params: dict[str, Any] | list[Any] | None = None) -> Any:
        async with connection(self._pool, STORE) as conn:
            cur = await conn.execute(sql, params)
            return await cur.fetchall() if cur.description else None

    async def open(self) -> None:
        await open_pool(self._pool, STORE)
        await self._execute(SCHEMA)

    async def close(self) -> None:
        await self._pool.close()

    async def enqueue(self, product_id: str) -> Job:
        job = Job(job_id=uuid.uuid4().hex, product_id=product_id)
        await self._execute(
            "INSERT INTO index_jobs (job_id, product_id) VALUES (%s, %s)", [job.job_id, product_id]
        )
        self._wakeup.set()
        metrics.JOBS.labels("enqueued").inc()
        return job

    async def get(self, job_id: str) -> Job | None:
        rows = await self._execute("SELECT * FROM index_jobs WHERE job_id = %s", [job_id])
        return _job(rows[0]) if rows else None

    async def claim(self, consumer: str, block_seconds: float) -> Job | None:
        deadline = asyncio.get_running_loop().time() + block_seconds
        while True:
            rows = await self._execute(CLAIM, {"lease": self.policy.claim_idle})
            if rows:
                job = _job(rows[0])
                job.handle = job.job_id
                if job.attempts > self.policy.max_attempts:
                    await self.fail(job, job.error or "the worker died while processing this job")
                    continue
                return job
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return None
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), min(remaining, 0.5))

    async def ack(self, job: Job) -> None:
        await self._execute(
            "UPDATE index_jobs SET status = 'done', error = NULL, locked_until = NULL, "
            "updated_at = now() WHERE job_id = %s",
            [job.job_id],
        )
        metrics.JOBS.labels("done").inc()

    async def fail(self, job: Job, error: str) -> None:
        dead = job.attempts >= self.policy.max_attempts
        await self._execute(
            "UPDATE index_jobs SET status = %s, error = %s, locked_until = NULL, "
            "updated_at = now(), available_at = now() + make_interval(secs => %s) "
            "WHERE job_id = %s",
            ["failed" if dead else "queued", error, self.policy.backoff(job.attempts), job.job_id],
        )
        metrics.JOBS.labels("dead_lettered" if dead else "retried").inc()

    async def dead_letters(self, limit: int = 100) -> list[Job]:
        rows = await self._execute(
            "SELECT * FROM index_jobs WHERE status = 'failed' ORDER BY updated_at DESC LIMIT %s",
            [limit],
        )
        return [_job(r) for r in rows]

    async def retry(self, job_id: str) -> Job | None:
        rows = await self._execute(
            "UPDATE index_jobs SET status = 'queued', attempts = 0, error = NULL, "
            "available_at = now(), locked_until = NULL, updated_at = now() "
            "WHERE job_id = %s AND status = 'failed' RETURNING *",
            [job_id],
        )
        if not rows:
            return None
        self._wakeup.set()
        metrics.JOBS.labels("enqueued").inc()
        return _job(rows[0])

    async def pending(self) -> int:
        rows = await self._execute(
            "SELECT count(*) AS n FROM index_jobs WHERE status IN ('queued', 'running')"
        )
        return int(rows[0]["n"])

    async def ping(self) -> None:
        await self._execute("SELECT 1")


def _job(row: dict[str, Any]) -> Job:
    return Job(
        job_id=row["job_id"],
        product_id=row["product_id"],
        status=row["status"],
        attempts=row["attempts"],
        error=row["error"],
        created_at=row["created_at"].timestamp(),
        updated_at=row["updated_at"].timestamp(),
    )
