"""Shared fixtures: real PostgreSQL, Redis and S3 servers on loopback, and the real model."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from tests.reliability.pgserver_own import OwnPostgres, running_postgres
from tests.support.servers import (
    S3_ACCESS_KEY,
    S3_SECRET_KEY,
    ManagedProcess,
    QdrantStandin,
    embedded_pgvector,
    postgres_database,
    qdrant_standin_server,
    redis_server,
    s3_server,
    shared_tmpdir,
)
from visualsearch.app import create_app
from visualsearch.config import Settings

API_KEY = "test-key-0123456789"


@pytest.fixture(scope="session")
def redis_proc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedProcess]:
    server = redis_server(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_proc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedProcess]:
    server = s3_server(tmp_path_factory.mktemp("s3"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def qdrant_standin(tmp_path: Path) -> Iterator[QdrantStandin]:
    """A Qdrant-compatible server of this test's own, started: it may be killed or frozen."""
    server = qdrant_standin_server(tmp_path)
    server.start()
    yield server
    if server.proc is not None:
        server.thaw()
    server.stop(kill=True)


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    """A PostgreSQL only this test uses (never the machine's shared one), started: the test may
    stop, kill and restart it."""
    with running_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def pgvector_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An embedded PostgreSQL with pgvector (the machine's PostgreSQL has no pgvector)."""
    with shared_tmpdir("vs-pgvector-") as directory, embedded_pgvector(directory / "pg") as url:
        yield url


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def make_settings(
    tmp_path: Path, redis_proc: ManagedProcess, s3_proc: ManagedProcess
) -> Iterator[SettingsFactory]:
    """Settings on real servers: a fresh database, bucket, stream and Qdrant directory each."""
    databases = []

    def factory(**overrides: object) -> Settings:
        cm = postgres_database()
        url = cm.__enter__()
        databases.append(cm)
        tag = uuid.uuid4().hex[:8]
        values: dict[str, object] = {
            "database_url": url,
            "database_pool_size": 4,
            "qdrant_path": tmp_path / f"qdrant-{tag}",
            "s3_endpoint": f"127.0.0.1:{s3_proc.port}",
            "s3_access_key": S3_ACCESS_KEY,
            "s3_secret_key": SecretStr(S3_SECRET_KEY),
            "s3_bucket": f"products-{tag}",
            "redis_url": f"redis://127.0.0.1:{redis_proc.port}/0",
            "queue_stream": f"test:{tag}:jobs",
            "model": "efficientnet-lite0",
            "api_key": SecretStr(API_KEY),
            "data_dir": tmp_path / f"data-{tag}",
            "rate_limit_per_minute": 0,
            "job_retry_base_seconds": 0.1,
            "job_claim_idle_seconds": 2.0,
            "batch_max_wait_ms": 2.0,
        }
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    yield factory
    for cm in databases:
        cm.__exit__(None, None, None)


class Api:
    """A running application (with its worker) and an HTTP client bound to it."""

    def __init__(self, app: object, client: httpx.AsyncClient, settings: Settings) -> None:
        self.app = app
        self.client = client
        self.settings = settings
        self.headers = {"X-API-Key": API_KEY}

    @property
    def context(self):  # type: ignore[no-untyped-def]
        return self.app.state.context  # type: ignore[attr-defined]


async def start_api(settings: Settings, worker: bool = True) -> tuple[Api, object]:
    app = create_app(settings, run_worker_inside=worker)
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=60
    )
    return Api(app, client, settings), lifespan


@pytest.fixture
async def api(make_settings: SettingsFactory) -> AsyncIterator[Api]:
    running, lifespan = await start_api(make_settings())
    yield running
    await running.client.aclose()
    await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The browser tests run last: sync Playwright keeps an event loop running in the main
    thread for the rest of the session, and an async test after it could not start its own."""
    items.sort(key=lambda item: "tests/storefront/" in item.nodeid.replace("\\", "/"))
