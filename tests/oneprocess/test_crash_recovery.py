"""An interrupted first start, and a crash, leave a complete and consistent shop.

Real signals on a real ``visualsearch serve`` in a session of its own: Ctrl+C (SIGINT) and a
SIGKILL of everything (serve and the embedded PostgreSQL) while the demo catalogue loads, then a
restart. The next start finishes the load, ``visualsearch doctor`` is clean with no manual step,
and once the last command has exited no process of ours is left on the data directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.demo import DEMO_IMAGES, DEMO_PRODUCTS
from tests.support.images import jpeg
from tests.support.serve import ServeProcess, processes_of
from tests.support.servers import postgres_database

ENV = {"VISUALSEARCH_RATE_LIMIT_PER_MINUTE": "0"}


def partway(server: ServeProcess, timeout: float = 120) -> int:
    """Wait until the demo load has written its first batch but not its last; the count."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        products = int(httpx.get(f"{server.url}/info", timeout=10).json()["products"])
        if products >= DEMO_PRODUCTS:
            pytest.fail("the demo load finished before the test could interrupt it")
        if products > 0:
            return products
        time.sleep(0.02)
    raise AssertionError(f"no demo product after {timeout} s:\n{server.tail()}")


def doctor(server: ServeProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "visualsearch", "doctor", "--data-dir", str(server.data_dir), *args],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_nothing_left(data_dir: Path, timeout: float = 15) -> None:
    """No process works on ``data_dir`` (the embedded PostgreSQL stopped with the last user)."""
    deadline = time.monotonic() + timeout
    while (left := processes_of(data_dir)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, [" ".join(p.cmdline()) for p in left]


def wait_for_log(server: ServeProcess, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in server.output():
        assert time.monotonic() < deadline, f"{text!r} not logged:\n{server.tail()}"
        time.sleep(0.1)


def finish_and_check(server: ServeProcess) -> dict[str, object]:
    """Restart, wait for the whole demo catalogue, stop; doctor must be clean with no --repair."""
    server.start()
    _, info = server.wait_indexed(DEMO_PRODUCTS, vectors=DEMO_IMAGES)
    assert (info["products"], info["vectors"]) == (DEMO_PRODUCTS, DEMO_IMAGES)
    assert "resuming the demo catalogue load" in server.output()
    server.stop()
    checked = doctor(server)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Everything agrees." in checked.stdout
    assert_nothing_left(server.data_dir)
    return info


@pytest.mark.slow
def test_ctrl_c_during_the_demo_load_is_resumed_and_never_after_completion(
    data_dir: Path,
) -> None:
    server = ServeProcess(data_dir, env=ENV, session=True)
    server.start()
    loaded = partway(server)
    assert server.interrupt() == 0, server.tail()
    assert_nothing_left(data_dir)
    assert loaded < DEMO_PRODUCTS
    finish_and_check(server)

    # Completed: what the shop deletes from now on stays deleted across restarts.
    server.start()
    gone = httpx.delete(
        f"{server.url}/index/demo-0001", headers={"X-API-Key": server.api_key()}, timeout=30
    )
    assert gone.status_code in (200, 204), gone.text
    server.stop()
    server.start()
    wait_for_log(server, "demo catalogue loaded on an earlier start; not seeding")
    assert httpx.get(f"{server.url}/info").json()["products"] == DEMO_PRODUCTS - 1
    assert httpx.get(f"{server.url}/products/demo-0001").status_code == 404
    server.stop()
    assert_nothing_left(data_dir)


@pytest.mark.slow
def test_sigkill_of_everything_during_the_demo_load_leaves_no_drift(data_dir: Path) -> None:
    server = ServeProcess(data_dir, env=ENV, session=True)
    server.start()
    partway(server)
    server.kill_all()  # serve's process group and the embedded PostgreSQL
    assert not processes_of(data_dir)
    finish_and_check(server)  # no --repair, and the dead pid does not keep PostgreSQL up


@pytest.mark.slow
def test_start_up_sweep_removes_old_orphans_and_keeps_young_ones(data_dir: Path) -> None:
    products = data_dir / "objects" / "products"
    old = products / "never-committed" / ("0" * 32 + ".jpg")
    young = products / "being-written" / ("1" * 32 + ".jpg")
    for path, seed in ((old, 1), (young, 2)):
        path.parent.mkdir(parents=True)
        path.write_bytes(jpeg(seed=seed))
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    server = ServeProcess(
        data_dir, env={**ENV, "VISUALSEARCH_ORPHAN_GRACE_SECONDS": "600"}, seed=False
    )
    server.start()
    deadline = time.monotonic() + 30
    while old.exists():
        assert time.monotonic() < deadline, f"the old orphan was not swept:\n{server.tail()}"
        time.sleep(0.1)
    assert young.exists()  # within the grace period: maybe an upload whose row is coming
    server.stop()
    checked = doctor(server)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "images being written (unreferenced, within the grace period" in checked.stdout
    assert young.exists()
    assert_nothing_left(data_dir)


async def test_a_shops_own_catalogue_is_never_seeded(tmp_path: Path) -> None:
    from decimal import Decimal

    from visualsearch.oneprocess import seed_demo_if_empty
    from visualsearch.storage.catalog import CatalogStore, ProductRecord

    own = ProductRecord(
        "own-1", "Own", "", Decimal("1.00"), "own", "", None, 0, "", "products/own-1/x.jpg", "x"
    )
    with postgres_database() as url:
        catalog = CatalogStore(url, pool_size=2)
        await catalog.open()
        try:
            await catalog.upsert([own])

            class Ctx:  # seed_demo_if_empty decides from the catalogue before anything else
                pass

            ctx = Ctx()
            ctx.catalog = catalog  # type: ignore[attr-defined]
            await seed_demo_if_empty(ctx)  # type: ignore[arg-type]
            assert await catalog.count() == 1
            assert await catalog.demo_load_state() is None
            assert not await catalog.begin_demo_load()
        finally:
            await catalog.close()


async def test_a_refreshed_image_survives_the_sweep(tmp_path: Path) -> None:
    """Indexing refreshes an image it finds stored; the sweep deletes only what stayed old."""
    from visualsearch.storage.objects.local import LocalObjectStore

    store = LocalObjectStore(tmp_path / "objects")
    await store.open()
    key = "products/p/" + "2" * 32 + ".jpg"
    await store.put(key, b"bytes", "image/jpeg")
    path = tmp_path / "objects" / key
    os.utime(path, (0, 0))
    cutoff = time.time() - 60
    assert (await store.listing("products/"))[key] == 0
    assert await store.refresh(key)
    assert not await store.delete_if_older(key, cutoff) and path.exists()
    os.utime(path, (0, 0))
    assert await store.delete_if_older(key, cutoff) and not path.exists()
    assert not await store.refresh(key)  # gone: the caller writes it again
    assert not await store.delete_if_older(key, cutoff)
