"""Indexing jobs: the interface every queue keeps (Redis Streams, PostgreSQL).

Guarantees every adapter keeps: a job is acknowledged only after the worker stored its vector;
a job held by a dead worker is reclaimed after ``claim_idle`` seconds; a failing job is retried
with exponential backoff and, after ``max_attempts``, moved to the dead-letter list with its
error. Jobs carry only the product id: the worker indexes the catalogue row's current state, so
replays are harmless upserts.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any

STORE = "job queue"
JOB_TTL_SECONDS = 7 * 24 * 3600


@dataclass
class Job:
    job_id: str
    product_id: str
    status: str = "queued"  # queued | running | done | failed
    attempts: int = 0
    error: str | None = None
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    handle: str | None = None  # the adapter's delivery id (stream entry, row lock...)

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("handle")
        return data


@dataclass(frozen=True)
class QueuePolicy:
    max_attempts: int = 5
    retry_base: float = 1.0
    claim_idle: float = 60.0

    def backoff(self, attempts: int) -> float:
        return self.retry_base * (2 ** max(attempts - 1, 0))


class JobQueue(ABC):
    """Where ``POST /index`` puts jobs and the worker takes them."""

    def __init__(self, policy: QueuePolicy) -> None:
        self.policy = policy

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    @abstractmethod
    async def enqueue(self, product_id: str) -> Job: ...

    @abstractmethod
    async def get(self, job_id: str) -> Job | None: ...

    @abstractmethod
    async def claim(self, consumer: str, block_seconds: float) -> Job | None:
        """The next job for ``consumer`` (a reclaimed or a new one), or None after blocking."""

    @abstractmethod
    async def ack(self, job: Job) -> None:
        """Mark done: only after the job's effects are stored."""

    @abstractmethod
    async def fail(self, job: Job, error: str) -> None:
        """Retry later with backoff, or dead-letter after the last attempt."""

    @abstractmethod
    async def dead_letters(self, limit: int = 100) -> list[Job]: ...

    @abstractmethod
    async def retry(self, job_id: str) -> Job | None:
        """Take a dead-lettered job out of the dead-letter list and queue it again with fresh
        attempts; None when no dead letter has this id."""

    @abstractmethod
    async def pending(self) -> int:
        """Jobs not yet done (queued, delayed or running)."""

    @abstractmethod
    async def ping(self) -> None: ...
