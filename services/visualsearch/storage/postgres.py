"""What every PostgreSQL adapter shares: a pool made one way, and errors mapped at the boundary.

The catalogue, the pgvector index and the one-machine job queue each keep their own pool (they
may point at different databases) but open and use it through these helpers, so an outage is
always a ``StoreUnavailableError`` naming the store and bad input is always an ``InputError``.

A pool that timed out is marked down: until it hands out a connection again, requests wait
``DOWN_TIMEOUT`` for one instead of the pool's full timeout, so during an outage every request
after the first is answered 503 at once rather than after seconds.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from visualsearch.exceptions import InputError, StoreUnavailableError

Connection = psycopg.AsyncConnection[Any]

DOWN_TIMEOUT = 0.5
"""Seconds a request waits for a connection from a pool that last timed out."""

_down: weakref.WeakSet[AsyncConnectionPool] = weakref.WeakSet()


def create_pool(url: str, max_size: int, timeout: float = 5.0) -> AsyncConnectionPool:
    """A pool of autocommit connections with dict rows, checked before use, opened later."""
    return AsyncConnectionPool(
        url,
        min_size=1,
        max_size=max_size,
        timeout=timeout,
        open=False,
        kwargs={"row_factory": dict_row, "autocommit": True},
        check=AsyncConnectionPool.check_connection,
    )


async def open_pool(pool: AsyncConnectionPool, store: str) -> None:
    try:
        await pool.open(wait=True, timeout=30)
    except PoolTimeout as exc:
        raise StoreUnavailableError(store, str(exc)) from exc


@asynccontextmanager
async def connection(pool: AsyncConnectionPool, store: str) -> AsyncIterator[Connection]:
    """A pooled connection; library errors leave as ours."""
    try:
        async with pool.connection(timeout=DOWN_TIMEOUT if pool in _down else None) as conn:
            _down.discard(pool)
            yield conn
    except PoolTimeout as exc:
        _down.add(pool)
        raise StoreUnavailableError(store, str(exc).strip()) from exc
    except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
        raise StoreUnavailableError(store, str(exc).strip()) from exc
    except psycopg.DataError as exc:  # e.g. a NUL byte in an id or a filter: the input's fault
        raise InputError(f"The request contains a value the {store} cannot hold: {exc}") from exc
