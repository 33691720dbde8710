"""PostgreSQL and Qdrant going away under a running service: 503 with a message, then recovery.

Each test states what was lost: nothing. Products accepted before an outage are still there
after it, and a product accepted during a vector-index outage becomes searchable afterwards
without restarting anything.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pgserver
import pytest

from tests.api.helpers import index, product_form, search, wait_job
from tests.conftest import Api, SettingsFactory, start_api
from tests.reliability.pgserver_own import OwnPostgres, running_postgres
from tests.support.images import jpeg
from tests.support.servers import QdrantStandin
from visualsearch.storage import postgres

HANG = 60.0  # seconds after which a call counts as hung (a bound, not a speed claim)


@pytest.fixture
def own_pgvector() -> Iterator[OwnPostgres]:
    """A PostgreSQL with pgvector (pgserver's binaries) of this test's own: it may be stopped."""
    with running_postgres(Path(pgserver.__file__).parent / "pginstall" / "bin") as server:
        yield server


async def eventually_ok(api: Api, path: str, timeout: float = 15) -> httpx.Response:
    """The first 200 from ``path`` within ``timeout`` (the service reconnects by itself)."""
    deadline = time.monotonic() + timeout
    while True:
        response = await api.client.get(path)
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        await asyncio.sleep(0.2)


async def retried_during_outage(api: Api, job_id: str, tries: int) -> dict[str, object]:
    """Wait until the worker has tried the job ``tries`` times and put it back each time
    (queued again with the error: every failure stamps its own ``updated_at``)."""
    failures: set[float] = set()
    deadline = time.monotonic() + HANG
    while True:
        job = (await api.client.get(f"/index/jobs/{job_id}")).json()
        if job["status"] == "queued" and job["error"]:
            failures.add(job["updated_at"])
            if len(failures) >= tries:
                return job  # type: ignore[no-any-return]
        assert job["status"] in ("queued", "running") and time.monotonic() < deadline, job
        await asyncio.sleep(0.05)


def assert_unavailable(response: httpx.Response, store: str, port: int | None = None) -> None:
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["code"] == "store_unavailable"
    assert store in body["detail"] and "try again" in body["detail"]
    assert int(response.headers["retry-after"]) > 0
    if port is not None:  # the driver's error names the server: that stays in the log
        assert str(port) not in body["detail"] and "127.0.0.1" not in body["detail"]


async def test_postgres_down_is_503_then_recovers_without_restart(
    make_settings: SettingsFactory, own_postgres: OwnPostgres
) -> None:
    url = own_postgres.create_database("shop")
    api, lifespan = await start_api(make_settings(database_url=url))
    try:
        await index(api, "pg-before", jpeg(seed=70))
        own_postgres.stop("immediate")  # what a crash looks like to the clients
        try:
            assert_unavailable(
                await api.client.get("/products/"), "catalogue database", own_postgres.port
            )
            # Known down now: the next requests wait DOWN_TIMEOUT, not the pool's full timeout
            # (the condition, not a wall-clock limit; bench/ measures how fast that answers).
            assert api.context.catalog._pool in postgres._down
            assert_unavailable(await api.client.get("/products/pg-before"), "catalogue database")
            assert_unavailable(
                await api.client.post(
                    "/search", files={"file": ("q.jpg", jpeg(seed=70), "image/jpeg")}
                ),
                "catalogue database",
            )
            refused = await api.client.post(
                "/index",
                data=product_form("pg-during"),
                headers=api.headers,
                files={"file": ("a.jpg", jpeg(seed=71), "image/jpeg")},
            )
            assert_unavailable(refused, "catalogue database")
            # nothing half-written: no image left behind, no job queued for the refused product
            assert await api.context.objects.keys("products/pg-during/") == []
            assert await api.context.queue.pending() == 0
            ready = await api.client.get("/ready")
            assert ready.status_code == 503
            checks = ready.json()["checks"]
            assert checks["catalogue"] in ("unavailable", "timeout")
            assert checks["objects"] == checks["queue"] == "ok"
            assert str(own_postgres.port) not in ready.text  # the address stays in the log
            assert (await api.client.get("/health")).status_code == 200  # no restart asked for
        finally:
            own_postgres.start()
        # recovery without restarting the service: same process, same pool
        assert (await eventually_ok(api, "/ready")).status_code == 200
        assert (await api.client.get("/products/pg-before")).status_code == 200
        assert (await search(api, jpeg(seed=70)))["results"][0]["product_id"] == "pg-before"
        await index(api, "pg-after", jpeg(seed=72))  # the worker survived the outage too
        # lost: nothing (the refused product was never accepted)
        ids = {p["product_id"] for p in (await api.client.get("/products/")).json()["items"]}
        assert ids == {"pg-before", "pg-after"}
    finally:
        await api.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]


async def test_postgres_restart_fails_no_request(
    make_settings: SettingsFactory, own_postgres: OwnPostgres
) -> None:
    """An orderly restart (an upgrade, a failover) between requests: every request answers 200."""
    url = own_postgres.create_database("shop")
    api, lifespan = await start_api(make_settings(database_url=url, database_pool_size=2))
    try:
        await index(api, "restart-1", jpeg(seed=73))
        for _ in range(3):  # warm every pooled connection
            assert (await api.client.get("/products/")).status_code == 200
        own_postgres.stop("fast")
        own_postgres.start()
        # the pool's connections all died with the server; each checkout is checked first
        statuses = [(await api.client.get("/products/restart-1")).status_code for _ in range(5)]
        assert statuses == [200] * 5
    finally:
        await api.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]


async def test_qdrant_down_readiness_fails_search_is_503_and_recovers(
    make_settings: SettingsFactory, qdrant_standin: QdrantStandin
) -> None:
    """Qdrant killed (connection refused), then frozen (accepts, never answers), then back.

    The vector index is a Qdrant-compatible server process (see ``qdrant_standin``) reached by
    URL exactly as in production; the faults are real process faults.
    """
    settings = make_settings(qdrant_url=qdrant_standin.url, qdrant_path=None)
    api, lifespan = await start_api(settings)
    try:
        await index(api, "q-before", jpeg(seed=80))
        assert (await search(api, jpeg(seed=80)))["results"][0]["product_id"] == "q-before"
        qdrant_standin.stop(kill=True)
        ready = await api.client.get("/ready")
        assert ready.status_code == 503 and ready.json()["checks"]["vectors"] != "ok"
        assert ready.json()["checks"]["catalogue"] == "ok"
        query = jpeg(seed=81)  # not cached: the search must reach the index
        assert_unavailable(
            await api.client.post("/search", files={"file": ("q.jpg", query, "image/jpeg")}),
            "vector index",
            qdrant_standin.port,
        )
        # browsing the catalogue does not need the vector index
        assert (await api.client.get("/products/q-before")).status_code == 200
        # a product accepted during the outage is queued, and waits for the index to return
        job = await index(api, "q-during", jpeg(seed=82), wait=False)
        retried = await retried_during_outage(api, job["job_id"], tries=2)
        # the outage is not the job's fault: no attempt spent, so no outage dead-letters it
        assert retried["attempts"] == 0 and "StoreUnavailableError" in str(retried["error"])

        qdrant_standin.start()
        qdrant_standin.freeze()  # up but hung: connections are accepted, nothing answers
        # the readiness probe's own deadline answers "timeout"; a hung call would never return
        ready = await asyncio.wait_for(api.client.get("/ready"), HANG)
        assert ready.status_code == 503 and ready.json()["checks"]["vectors"] == "timeout"
        searched = api.client.post("/search", files={"file": ("q.jpg", query, "image/jpeg")})
        assert_unavailable(await asyncio.wait_for(searched, HANG), "vector index")
        qdrant_standin.thaw()

        assert (await eventually_ok(api, "/ready")).status_code == 200
        # lost: nothing. The job accepted during the outage completes by itself.
        done = await wait_job(api, job["job_id"], timeout=60)
        assert done["status"] == "done"
        assert (await search(api, jpeg(seed=82)))["results"][0]["product_id"] == "q-during"
        assert (await search(api, jpeg(seed=80)))["results"][0]["product_id"] == "q-before"
        assert (await api.client.get("/index/dead-letters")).json()["jobs"] == []
    finally:
        await api.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]


async def test_pgvector_down_search_is_503_browsing_works_and_recovers(
    make_settings: SettingsFactory, own_pgvector: OwnPostgres
) -> None:
    """VECTOR_STORE=pgvector on a database of its own, crashed then started again; the catalogue
    lives in another PostgreSQL, so browsing never notices."""
    settings = make_settings(
        vector_store="pgvector", pgvector_url=own_pgvector.create_database("vectors")
    )
    api, lifespan = await start_api(settings)
    try:
        assert api.context.vectors.kind == "pgvector"
        await index(api, "pgv-before", jpeg(seed=90))
        own_pgvector.stop("immediate")
        try:
            query = jpeg(seed=91)  # not cached: the search must reach the vector index
            assert_unavailable(
                await api.client.post("/search", files={"file": ("q.jpg", query, "image/jpeg")}),
                "vector index",
                own_pgvector.port,
            )
            ready = await api.client.get("/ready")
            assert ready.status_code == 503
            assert ready.json()["checks"]["vectors"] in ("unavailable", "timeout")
            assert ready.json()["checks"]["catalogue"] == "ok"
            # browsing the catalogue reads the other database
            assert (await api.client.get("/products/pgv-before")).status_code == 200
            listed = (await api.client.get("/products/")).json()["items"]
            assert [p["product_id"] for p in listed] == ["pgv-before"]
        finally:
            own_pgvector.start()
        # recovery without restarting the service: the same pool reconnects
        assert (await eventually_ok(api, "/ready", timeout=HANG)).status_code == 200
        assert (await search(api, query))["count"] >= 1
        assert (await search(api, jpeg(seed=90)))["results"][0]["product_id"] == "pgv-before"
    finally:
        await api.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]
