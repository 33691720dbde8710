"""Indexing jobs in a Redis stream with a consumer group (the Kubernetes default)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from visualsearch import metrics
from visualsearch.exceptions import StoreUnavailableError
from visualsearch.storage.queue.base import JOB_TTL_SECONDS, STORE, Job, JobQueue, QueuePolicy

# Moves due retries from the delayed set back onto the stream, atomically.
PROMOTE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 100)
for _, job_id in ipairs(due) do
  if redis.call('ZREM', KEYS[1], job_id) == 1 then
    redis.call('XADD', KEYS[2], '*', 'job_id', job_id)
  end
end
return #due
"""


class RedisJobQueue(JobQueue):
    """A Redis stream with a consumer group; job state in a hash per job."""

    GROUP = "workers"

    def __init__(self, client: aioredis.Redis, stream: str, policy: QueuePolicy) -> None:
        super().__init__(policy)
        self._redis = client
        self._stream = stream
        self._delayed = f"{stream}:delayed"
        self._dead = f"{stream}:dead"
        self._promote = client.register_script(PROMOTE_DUE)

    def _job_key(self, job_id: str) -> str:
        return f"{self._stream}:job:{job_id}"

    async def _call(self, coro: Any) -> Any:
        try:
            return await coro
        except RedisError as exc:
            raise StoreUnavailableError(STORE, str(exc) or type(exc).__name__) from exc

    async def open(self) -> None:
        await self._ensure_group()

    async def _ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self._stream, self.GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise StoreUnavailableError(STORE, str(exc)) from exc
        except RedisError as exc:
            raise StoreUnavailableError(STORE, str(exc)) from exc

    async def _queue(self, job: Job) -> Job:
        """Store the job's record and put it on the stream, in one transaction."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._job_key(job.job_id), mapping=_to_hash(job))
            pipe.expire(self._job_key(job.job_id), JOB_TTL_SECONDS)
            pipe.xadd(self._stream, {"job_id": job.job_id})
            await self._call(pipe.execute())
        metrics.JOBS.labels("enqueued").inc()
        return job

    async def enqueue(self, product_id: str) -> Job:
        job = Job(job_id=uuid.uuid4().hex, product_id=product_id)
        return await self._queue(job)

    async def get(self, job_id: str) -> Job | None:
        data = await self._call(self._redis.hgetall(self._job_key(job_id)))
        return _from_hash(data) if data else None

    async def claim(self, consumer: str, block_seconds: float) -> Job | None:
        await self._call(self._promote(keys=[self._delayed, self._stream], args=[time.time()]))
        try:
            _, reclaimed, _ = await self._redis.xautoclaim(
                self._stream,
                self.GROUP,
                consumer,
                min_idle_time=int(self.policy.claim_idle * 1000),
                start_id="0-0",
                count=1,
            )
            if reclaimed:
                metrics.JOBS.labels("reclaimed").inc()
                return await self._start(reclaimed[0])
            entries: Any = await self._redis.xreadgroup(
                self.GROUP,
                consumer,
                {self._stream: ">"},
                count=1,
                block=max(int(block_seconds * 1000), 1),
            )
        except ResponseError as exc:
            if "NOGROUP" in str(exc):  # the stream was flushed (Redis restarted empty)
                await self._ensure_group()
                return None
            raise StoreUnavailableError(STORE, str(exc)) from exc
        except RedisError as exc:
            raise StoreUnavailableError(STORE, str(exc) or type(exc).__name__) from exc
        if not entries:
            return None
        return await self._start(entries[0][1][0])

    async def _start(self, entry: tuple[bytes, dict[bytes, bytes]]) -> Job | None:
        entry_id, fields = entry
        job_id = fields.get(b"job_id", b"").decode()
        job = await self.get(job_id)
        if job is None:  # its record expired or was lost: nothing to do but drop the entry
            await self._call(self._drop(entry_id))
            return None
        job.handle = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
        job.attempts += 1
        job.status = "running"
        job.updated_at = time.time()
        await self._call(self._redis.hset(self._job_key(job_id), mapping=_to_hash(job)))
        if job.attempts > self.policy.max_attempts:
            await self.fail(job, job.error or "the worker died while processing this job")
            return None
        return job

    async def _drop(self, entry_id: Any) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(self._stream, self.GROUP, entry_id)
            pipe.xdel(self._stream, entry_id)
            await pipe.execute()

    async def ack(self, job: Job) -> None:
        job.status, job.error, job.updated_at = "done", None, time.time()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._job_key(job.job_id), mapping=_to_hash(job))
            pipe.expire(self._job_key(job.job_id), JOB_TTL_SECONDS)
            pipe.xack(self._stream, self.GROUP, job.handle or "0-0")
            pipe.xdel(self._stream, job.handle or "0-0")
            await self._call(pipe.execute())
        metrics.JOBS.labels("done").inc()

    async def fail(self, job: Job, error: str) -> None:
        job.error, job.updated_at = error, time.time()
        dead = job.attempts >= self.policy.max_attempts
        job.status = "failed" if dead else "queued"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._job_key(job.job_id), mapping=_to_hash(job))
            if dead:
                pipe.lpush(self._dead, json.dumps(job.public()))
                pipe.ltrim(self._dead, 0, 9999)
            else:
                pipe.zadd(
                    self._delayed, {job.job_id: time.time() + self.policy.backoff(job.attempts)}
                )
            pipe.xack(self._stream, self.GROUP, job.handle or "0-0")
            pipe.xdel(self._stream, job.handle or "0-0")
            await self._call(pipe.execute())
        metrics.JOBS.labels("dead_lettered" if dead else "retried").inc()

    async def dead_letters(self, limit: int = 100) -> list[Job]:
        raw = await self._call(self._redis.lrange(self._dead, 0, limit - 1))
        return [Job(**json.loads(item)) for item in raw]

    async def retry(self, job_id: str) -> Job | None:
        raw = await self._call(self._redis.lrange(self._dead, 0, -1))
        entry = next((item for item in raw if json.loads(item).get("job_id") == job_id), None)
        if entry is None or not await self._call(self._redis.lrem(self._dead, 1, entry)):
            return None  # unknown, or another admin retried it first
        job = Job(**json.loads(entry))
        job.status, job.attempts, job.error, job.updated_at = "queued", 0, None, time.time()
        return await self._queue(job)

    async def pending(self) -> int:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xlen(self._stream)
            pipe.zcard(self._delayed)
            length, delayed = await self._call(pipe.execute())
        return int(length) + int(delayed)

    async def ping(self) -> None:
        await self._call(self._redis.ping())


def _to_hash(job: Job) -> dict[Any, Any]:
    data = job.public()
    return {k: "" if v is None else str(v) for k, v in data.items()}


def _from_hash(data: dict[bytes, bytes]) -> Job:
    d = {k.decode(): v.decode() for k, v in data.items()}
    return Job(
        job_id=d["job_id"],
        product_id=d["product_id"],
        status=d.get("status", "queued"),
        attempts=int(d.get("attempts") or 0),
        error=d.get("error") or None,
        created_at=float(d.get("created_at") or 0),
        updated_at=float(d.get("updated_at") or 0),
    )
