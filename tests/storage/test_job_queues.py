"""One contract for both job queues, on real servers: Redis Streams and PostgreSQL.

The PostgreSQL queue is the one-machine mode's default, so it must keep every promise the Redis
queue keeps (storage/queue/base.py): acknowledged jobs are done and never handed out again, a
job held by a dead worker comes back after ``claim_idle``, a failing job is retried with backoff
and dead-lettered with its error after the last attempt, and two workers never hold one job.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
import redis.asyncio as aioredis

from tests.reliability.pgserver_own import OwnPostgres
from tests.support.servers import ManagedProcess, postgres_database
from visualsearch.exceptions import StoreUnavailableError
from visualsearch.storage.queue.base import Job, JobQueue, QueuePolicy
from visualsearch.storage.queue.postgres import PostgresJobQueue
from visualsearch.storage.queue.redis import RedisJobQueue

IDLE = 1.0  # claim_idle: seconds after which a silent worker's job is taken back
POLICY = QueuePolicy(max_attempts=3, retry_base=0.4, claim_idle=IDLE)

QueueFactory = Callable[[QueuePolicy], JobQueue]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


@pytest.fixture(params=["redis", "postgres"])
async def make_queue(
    request: pytest.FixtureRequest, redis_proc: ManagedProcess
) -> AsyncIterator[QueueFactory]:
    """Queues of one kind sharing one backing stream/table (as worker processes do)."""
    opened: list[JobQueue] = []
    clients: list[aioredis.Redis] = []
    stream = f"test:{uuid.uuid4().hex[:8]}:jobs"
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else ""

    def factory(policy: QueuePolicy = POLICY) -> JobQueue:
        if request.param == "redis":
            client = aioredis.Redis.from_url(f"redis://127.0.0.1:{redis_proc.port}/0")
            clients.append(client)
            queue: JobQueue = RedisJobQueue(client, stream, policy)
        else:
            queue = PostgresJobQueue(url, policy)
        opened.append(queue)
        return queue

    yield factory
    for queue in opened:
        await queue.close()
    for client in clients:
        await client.aclose()


async def opened(factory: QueueFactory, policy: QueuePolicy = POLICY) -> JobQueue:
    queue = factory(policy)
    await queue.open()
    return queue


async def claim_within(queue: JobQueue, consumer: str, seconds: float) -> Job | None:
    """Claim, polling until ``seconds`` have passed (claim itself blocks a little each time)."""
    deadline = time.monotonic() + seconds
    while True:
        job = await queue.claim(consumer, block_seconds=0.2)
        if job is not None or time.monotonic() >= deadline:
            return job


async def test_an_acknowledged_job_is_done_and_never_handed_out_again(
    make_queue: QueueFactory,
) -> None:
    queue = await opened(make_queue)
    job = await queue.enqueue("p1")
    assert (await queue.get(job.job_id)).status == "queued"  # type: ignore[union-attr]
    claimed = await claim_within(queue, "w1", 5)
    assert claimed is not None and claimed.job_id == job.job_id and claimed.attempts == 1
    assert (await queue.get(job.job_id)).status == "running"  # type: ignore[union-attr]
    await queue.ack(claimed)
    done = await queue.get(job.job_id)
    assert done is not None and done.status == "done" and done.error is None
    assert await queue.pending() == 0
    assert await claim_within(queue, "w2", IDLE * 2) is None  # not even after the idle time


async def test_a_job_is_not_taken_from_a_live_worker_but_comes_back_from_a_dead_one(
    make_queue: QueueFactory,
) -> None:
    queue, other = await opened(make_queue), await opened(make_queue)
    job = await queue.enqueue("p1")
    held = await claim_within(queue, "dies", 5)
    assert held is not None
    assert await other.claim("lives", block_seconds=IDLE / 4) is None  # still within its lease
    assert await queue.pending() == 1  # an unacknowledged job is not done
    reclaimed = await claim_within(other, "lives", IDLE * 4)
    assert reclaimed is not None and reclaimed.job_id == job.job_id
    assert reclaimed.attempts == 2
    await other.ack(reclaimed)
    assert (await other.get(job.job_id)).status == "done"  # type: ignore[union-attr]


async def test_a_failing_job_is_retried_after_its_backoff_then_dead_lettered_with_its_error(
    make_queue: QueueFactory,
) -> None:
    queue = await opened(make_queue)
    job = await queue.enqueue("p1")
    for attempt in range(1, POLICY.max_attempts + 1):
        claimed = await claim_within(queue, "w", 5)
        assert claimed is not None and claimed.job_id == job.job_id
        assert claimed.attempts == attempt
        failed_at = time.monotonic()
        await queue.fail(claimed, f"boom {attempt}")
        if attempt < POLICY.max_attempts:
            state = await queue.get(job.job_id)
            assert state is not None and state.status == "queued"
            assert state.error == f"boom {attempt}"
            # not before its backoff (retry_base * 2^(attempt-1))
            early = await queue.claim("w", block_seconds=0.0)
            if early is not None:
                assert time.monotonic() - failed_at >= POLICY.backoff(attempt) * 0.9
    dead = await queue.dead_letters()
    assert [(d.job_id, d.status, d.error) for d in dead] == [
        (job.job_id, "failed", f"boom {POLICY.max_attempts}")
    ]
    assert await queue.pending() == 0
    assert await claim_within(queue, "w", POLICY.backoff(POLICY.max_attempts) + 1) is None


async def test_the_backoff_delays_a_retry(make_queue: QueueFactory) -> None:
    slow = QueuePolicy(max_attempts=3, retry_base=2.0, claim_idle=IDLE)
    queue = await opened(make_queue, slow)
    await queue.enqueue("p1")
    claimed = await claim_within(queue, "w", 5)
    assert claimed is not None
    await queue.fail(claimed, "transient")
    assert await claim_within(queue, "w", 1.0) is None  # the 2 s backoff holds it back
    again = await claim_within(queue, "w", 4.0)
    assert again is not None and again.job_id == claimed.job_id and again.attempts == 2


async def test_a_worker_dying_on_the_last_attempt_dead_letters_the_job(
    make_queue: QueueFactory,
) -> None:
    one = QueuePolicy(max_attempts=1, retry_base=0.1, claim_idle=IDLE)
    queue = await opened(make_queue, one)
    job = await queue.enqueue("p1")
    held = await claim_within(queue, "dies", 5)
    assert held is not None and held.attempts == 1  # ... and its worker is never heard from
    assert await claim_within(queue, "next", IDLE * 4) is None  # attempts > max: not handed out
    dead = await queue.dead_letters()
    assert [d.job_id for d in dead] == [job.job_id]
    assert "died" in (dead[0].error or "")
    assert await queue.pending() == 0


async def test_two_workers_never_hold_the_same_job(make_queue: QueueFactory) -> None:
    queues = [await opened(make_queue) for _ in range(2)]
    jobs = [await queues[0].enqueue(f"p{i}") for i in range(40)]
    taken: dict[str, list[str]] = {}

    async def work(queue: JobQueue, consumer: str) -> None:
        while True:
            job = await queue.claim(consumer, block_seconds=0.3)
            if job is None:
                return
            taken.setdefault(job.job_id, []).append(consumer)
            await asyncio.sleep(0)  # let the other worker interleave
            await queue.ack(job)

    await asyncio.gather(*(work(q, f"w{i}") for i, q in enumerate(queues) for _ in range(3)))
    assert sorted(taken) == sorted(j.job_id for j in jobs)
    assert all(len(holders) == 1 for holders in taken.values()), taken
    assert {h[0] for h in taken.values()} == {"w0", "w1"}  # both really worked
    assert await queues[0].pending() == 0


async def test_the_postgres_queue_survives_a_restart_mid_job(own_postgres: OwnPostgres) -> None:
    url = own_postgres.create_database("jobs")
    queue = PostgresJobQueue(url, POLICY)
    await queue.open()
    try:
        job = await queue.enqueue("p1")
        held = await claim_within(queue, "w", 5)
        assert held is not None
        own_postgres.stop()
        with pytest.raises(StoreUnavailableError):
            await queue.ack(held)  # the store is down: a clear 503-kind error, not a hang
        own_postgres.start()
        # the job survived on disk, still running; the worker's acknowledgement goes through now
        deadline = time.monotonic() + 15
        while True:
            try:
                state = await queue.get(job.job_id)
                break
            except StoreUnavailableError:
                assert time.monotonic() < deadline, "the pool did not reconnect"
                await asyncio.sleep(0.2)
        assert state is not None and state.status == "running"
        await queue.ack(held)
        assert (await queue.get(job.job_id)).status == "done"  # type: ignore[union-attr]
        assert await queue.pending() == 0
    finally:
        await queue.close()
