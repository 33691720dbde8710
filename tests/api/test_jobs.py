"""Indexing jobs: status, retries into the dead-letter list, and a worker killed mid-job."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.api.helpers import index, product_form, search, wait_job
from tests.conftest import Api, SettingsFactory, start_api
from tests.support.images import jpeg
from visualsearch.config import Settings
from visualsearch.worker import run_worker


async def test_job_lifecycle_and_unknown_job(api: Api) -> None:
    job = await index(api, "j-1", jpeg(seed=300))
    assert job["status"] == "done" and job["attempts"] == 1 and job["error"] is None
    assert (await api.client.get("/index/jobs/" + "0" * 32)).status_code == 404
    assert (await api.client.get("/index/jobs/not-a-job")).status_code == 422


async def test_failing_job_is_retried_then_dead_lettered(make_settings: SettingsFactory) -> None:
    running, lifespan = await start_api(make_settings(job_max_attempts=3), worker=False)
    stop = asyncio.Event()
    try:
        job = await index(running, "doomed", jpeg(seed=301), wait=False)
        record = await running.context.catalog.get("doomed")
        # The image vanishes before any worker reads it (an operator deleted the object by hand).
        await running.context.objects.delete(record.image_key)
        worker = asyncio.create_task(run_worker(running.context, stop, concurrency=1))
        failed = await wait_job(running, job["job_id"], status="failed", timeout=30)
        assert failed["attempts"] == 3
        assert "image" in failed["error"].lower()
        dead = (await running.client.get("/index/dead-letters")).json()["jobs"]
        assert [d["job_id"] for d in dead] == [job["job_id"]]
        assert await running.context.vectors.count() == 0
        stop.set()
        await worker
    finally:
        stop.set()
        await running.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]


@pytest.mark.parametrize("queue", ["redis", "postgres"])
async def test_an_admin_retry_of_a_dead_letter_indexes_the_product(
    make_settings: SettingsFactory, queue: str
) -> None:
    overrides: dict[str, object] = {"job_max_attempts": 1}
    if queue == "postgres":
        overrides["redis_url"] = None  # the one-machine queue, in the catalogue's database
    running, lifespan = await start_api(make_settings(**overrides), worker=False)
    stop = asyncio.Event()
    worker = None
    try:
        image = jpeg(seed=302)
        job = await index(running, "revived", image, wait=False)
        record = await running.context.catalog.get("revived")
        # the image vanishes before any worker reads it, so the only attempt fails
        await running.context.objects.delete(record.image_key)
        worker = asyncio.create_task(run_worker(running.context, stop, concurrency=1))
        await wait_job(running, job["job_id"], status="failed")
        # the shop puts the image back and presses "Retry" in the admin view
        await running.context.objects.put(record.image_key, image, "image/jpeg")
        retry = await running.client.post(
            f"/admin/dead-letters/{job['job_id']}/retry", headers=running.headers
        )
        assert retry.status_code == 202, retry.text
        assert (retry.json()["job_id"], retry.json()["attempts"]) == (job["job_id"], 0)
        done = await wait_job(running, job["job_id"])
        assert done["attempts"] == 1 and done["error"] is None
        status = (await running.client.get("/admin/status", headers=running.headers)).json()
        assert status["dead_letters"] == []
        assert await running.context.vectors.count() == 1
        found = await search(running, image, top_k=1)
        assert [r["product_id"] for r in found["results"]] == ["revived"]
        again = await running.client.post(
            f"/admin/dead-letters/{job['job_id']}/retry", headers=running.headers
        )
        assert again.status_code == 404  # no longer a dead letter
    finally:
        stop.set()
        if worker is not None:
            await worker
        await running.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]


def worker_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VISUALSEARCH_")}
    env.update(
        {
            "VISUALSEARCH_DATABASE_URL": str(settings.database_url),
            "VISUALSEARCH_QDRANT_PATH": str(settings.qdrant_path),
            "VISUALSEARCH_S3_ENDPOINT": str(settings.s3_endpoint),
            "VISUALSEARCH_S3_ACCESS_KEY": settings.s3_access_key,
            "VISUALSEARCH_S3_SECRET_KEY": settings.s3_secret_key.get_secret_value(),
            "VISUALSEARCH_S3_BUCKET": settings.s3_bucket,
            "VISUALSEARCH_QUEUE_STREAM": settings.queue_stream,
            "VISUALSEARCH_MODEL": settings.model,
            "VISUALSEARCH_JOB_CLAIM_IDLE_SECONDS": "2",
            "VISUALSEARCH_DATA_DIR": str(settings.data_dir),
        }
    )
    if settings.redis_url:  # without it the worker takes its jobs from the PostgreSQL queue
        env["VISUALSEARCH_REDIS_URL"] = str(settings.redis_url)
    return env


def start_worker(settings: Settings, log: str) -> subprocess.Popen[bytes]:
    handle = open(log, "ab")  # kept open for the child's lifetime
    return subprocess.Popen(
        [sys.executable, "-m", "visualsearch", "worker", "--concurrency", "1"],
        env=worker_env(settings),
        stdout=handle,
        stderr=subprocess.STDOUT,
    )


@pytest.mark.parametrize("queue", ["redis", "postgres"])
async def test_worker_killed_mid_job_loses_nothing(
    make_settings: SettingsFactory, tmp_path, queue: str
) -> None:  # type: ignore[no-untyped-def]
    """SIGKILL a real worker process while it works through jobs; a second one finishes all.

    On both queues: Redis Streams, and the one-machine mode's PostgreSQL queue (no Redis URL).
    A job is acknowledged only once its vector is stored, so the jobs the dead worker held
    come back, and every product ends with exactly one vector.
    """
    settings = make_settings(**({"redis_url": None} if queue == "postgres" else {}))
    expected_queue = "RedisJobQueue" if queue == "redis" else "PostgresJobQueue"
    api_only, lifespan = await start_api(settings, worker=False)
    log = str(tmp_path / "worker.log")
    try:
        jobs = []
        for i in range(12):
            response = await api_only.client.post(
                "/index",
                headers=api_only.headers,
                data=product_form(f"w-{i}"),
                files={"file": ("a.jpg", jpeg(seed=400 + i), "image/jpeg")},
            )
            jobs.append(response.json()["job_id"])
        assert type(api_only.context.queue).__name__ == expected_queue
        # The embedded Qdrant belongs to one process at a time: hand it to the workers.
        await api_only.context.vectors.close()

        first = start_worker(settings, log)
        deadline = time.monotonic() + 60
        # kill it once it has indexed something and holds a job it has not finished
        while True:
            assert first.poll() is None, open(log).read()[-3000:]
            assert time.monotonic() < deadline, "the first worker indexed nothing"
            if "product indexed" in open(log).read():
                held = [await api_only.context.queue.get(j) for j in jobs]
                if any(job is not None and job.status == "running" for job in held):
                    break
            await asyncio.sleep(0.01)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        done_by_first = open(log).read().count("product indexed")
        assert done_by_first < 12, "the worker finished everything before it was killed"
        # the kill really caught work in flight: jobs it had claimed and not acknowledged
        states = {j: await api_only.context.queue.get(j) for j in jobs}
        in_flight = [j for j, job in states.items() if job is not None and job.status == "running"]
        assert in_flight, {j: job.status for j, job in states.items() if job is not None}

        second = start_worker(settings, log)
        try:
            statuses: list[str] = []
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                statuses = [(await api_only.context.queue.get(j)).status for j in jobs]
                if all(s == "done" for s in statuses):
                    break
                await asyncio.sleep(0.2)
            assert statuses == ["done"] * 12, (statuses, open(log).read()[-3000:])
            for job_id in in_flight:  # taken back from the dead worker and done by the second
                reclaimed = await api_only.context.queue.get(job_id)
                assert reclaimed is not None and reclaimed.attempts >= 2, reclaimed
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(20)
    finally:
        await api_only.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]
    # every product has exactly one vector: nothing lost, nothing duplicated
    from visualsearch.storage.vectors.qdrant import QdrantVectorStore

    vectors = QdrantVectorStore(settings.vector_collection, path=settings.qdrant_path)
    try:
        ids = await vectors.all_ids()
        assert sorted(ids) == sorted(f"w-{i}" for i in range(12))
        assert await vectors.count() == 12
    finally:
        await vectors.close()
