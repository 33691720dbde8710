"""The CatalogSource's indexing Job, run for real on this machine.

The containers of :func:`build_sync_job` (``fetch-feed``, then ``seed``) are executed as their
command lines say (``python -c <fetch_feed>``, ``sh -c <SYNC_SH>`` with ``VS_TRACK_SCRIPT``) by
a tiny stand-in of the kubelet: ``$(VAR)`` references expanded, the feed volume a directory, the
termination message a file. The feed is served over HTTP on loopback or lies in the S3 server;
the stores are the tests' real ones (PostgreSQL, pgvector, S3), shared with a ``visualsearch
api`` process that the prune step deletes through, as ``VS_API_URL`` names it in a cluster.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import API_KEY, SettingsFactory
from tests.reliability.helpers import store_env
from tests.support.images import jpeg
from tests.support.servers import free_port
from visualsearch.config import Settings
from visualsearch_operator.builders.common import Owner
from visualsearch_operator.builders.jobs import FEED_DIR, REPORT_PATH, build_sync_job
from visualsearch_operator.services.jobs import parse_report
from visualsearch_operator.spec import parse_index_spec, parse_source_spec

OWNER = Owner("CatalogSource", "spring", "shop", "uid-src")
STATE_KEY = "_sources/shop/spring.json"
SHOP = {"price": 3.5, "category": "fruit"}
_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


class FeedServer:
    """A directory served over HTTP on loopback (a thread of this process)."""

    def __init__(self, root: Path) -> None:
        handler = partial(_QuietHandler, directory=str(root))
        self.root = root
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FeedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def job_env(settings: Settings) -> dict[str, str]:
    """What the index's ConfigMap and Secret put in the Job's pods: the stores' settings."""
    env = store_env(settings)
    env.update(
        {
            "VISUALSEARCH_VECTOR_STORE": settings.vector_store,
            "VISUALSEARCH_PGVECTOR_URL": str(settings.pgvector_url),
            "VISUALSEARCH_VECTOR_COLLECTION": settings.vector_collection,
            "VISUALSEARCH_S3_SECURE": "false",
            "VISUALSEARCH_API_KEY": API_KEY,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        }
    )
    env.pop("VISUALSEARCH_QDRANT_PATH", None)
    return env


def run_container(
    container: dict[str, Any], base: dict[str, str], feed_dir: Path, report: Path, api_url: str
) -> subprocess.CompletedProcess[str]:
    """Run one container of the Job as the kubelet would, on this machine's paths."""
    env = dict(base)
    for entry in container.get("env", []):
        if "value" in entry and not entry["name"].startswith("VISUALSEARCH_"):
            env[entry["name"]] = _REF.sub(lambda m: env.get(m[1], m[0]), entry["value"])
    env["VS_API_URL"] = api_url  # the API Service's DNS name in a cluster

    def local(arg: str) -> str:
        arg = _REF.sub(lambda m: env.get(m[1], m[0]), arg)
        arg = arg.replace(REPORT_PATH, str(report))
        return str(feed_dir) + arg[len(FEED_DIR) :] if arg.startswith(f"{FEED_DIR}/") else arg

    argv = [local(a) for a in [*container["command"], *container.get("args", [])]]
    if argv[0] == "python":
        argv[0] = sys.executable
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=180)


def run_job(job: dict[str, Any], env: dict[str, str], work: Path, api_url: str) -> dict[str, int]:
    """Init containers, then the seed container; the counts of its termination message."""
    pod = job["spec"]["template"]["spec"]
    feed_dir, report = work / "feed", work / "termination-log"
    feed_dir.mkdir(exist_ok=True)
    report.unlink(missing_ok=True)
    for container in [*pod.get("initContainers", []), *pod["containers"]]:
        run = run_container(container, env, feed_dir, report, api_url)
        assert run.returncode == 0, f"{container['name']}: {run.stdout}\n{run.stderr}"
    return parse_report(report.read_text())


@pytest.fixture
def index_settings(make_settings: SettingsFactory, pgvector_url: str) -> Settings:
    return make_settings(
        vector_store="pgvector",
        pgvector_url=pgvector_url,
        qdrant_path=None,
        vector_collection=f"sync{uuid.uuid4().hex[:8]}",
    )


@pytest.fixture
def api_url(index_settings: Settings, tmp_path: Path) -> Iterator[str]:
    """``visualsearch api`` on the index's stores (what the prune step deletes through)."""
    port = free_port()
    log = (tmp_path / "api.log").open("ab")
    argv = [sys.executable, "-m", "visualsearch", "api", "--host", "127.0.0.1"]
    proc = subprocess.Popen(
        [*argv, "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=job_env(index_settings),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, proc, tmp_path / "api.log")
        yield url
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the API exited: {log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the API is not ready: {log.read_text()[-3000:]}")


def write_feed(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def product_ids(api_url: str) -> dict[str, str]:
    """Every product in the catalogue: id -> title."""
    body = httpx.get(f"{api_url}/products/", params={"limit": 100}, timeout=30).json()
    return {item["product_id"]: item["name"] for item in body["items"]}


def bucket_client(settings: Settings) -> Any:
    from minio import Minio

    return Minio(
        str(settings.s3_endpoint),
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key.get_secret_value(),
        secure=False,
    )


def recorded(settings: Settings) -> list[str]:
    """The product ids the source's last sync recorded in the index's bucket."""
    response = bucket_client(settings).get_object(settings.s3_bucket, STATE_KEY)
    try:
        return list(json.loads(response.read()))
    finally:
        response.close()
        response.release_conn()


def image_keys(settings: Settings) -> set[str]:
    objects = bucket_client(settings).list_objects(settings.s3_bucket, recursive=True)
    return {
        str(o.object_name) for o in objects if not str(o.object_name).startswith(("_", "feeds/"))
    }


def test_a_url_feed_syncs_twice_and_prunes_what_left_it(
    index_settings: Settings, api_url: str, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    for seed in range(4):
        (site / f"{seed}.jpg").write_bytes(jpeg(seed=seed))

    def row(pid: str, name: str, seed: int) -> dict[str, Any]:
        return {"product_id": pid, "name": name, "image": f"{feed.url}/{seed}.jpg", **SHOP}

    with FeedServer(site) as feed:
        source = parse_source_spec(
            {
                "indexRef": {"name": "demo"},
                "type": "Url",
                "url": f"{feed.url}/catalog/feed.jsonl?token=x",
                "format": "jsonl",
                "prune": True,
            }
        )
        job = build_sync_job(OWNER, source, parse_index_spec({}), "abcdef0123")
        (site / "catalog").mkdir()
        write_feed(
            site / "catalog" / "feed.jsonl",
            [row("a", "Apple", 0), row("b", "Banana", 1), row("c", "Cherry", 2)],
        )
        env = job_env(index_settings)
        first = run_job(job, env, tmp_path, api_url)
        assert first == {"indexed": 3, "failed": 0, "pruned": 0}
        assert product_ids(api_url) == {"a": "Apple", "b": "Banana", "c": "Cherry"}
        assert recorded(index_settings) == ["a", "b", "c"]

        # A product from elsewhere (another catalogue seeded by hand) is not the source's.
        other = tmp_path / "other"
        other.mkdir()
        (other / "own.jpg").write_bytes(jpeg(seed=9))
        write_feed(
            other / "own.jsonl", [{"product_id": "own", "name": "Own", "image": "own.jpg", **SHOP}]
        )
        seeded = subprocess.run(
            ["visualsearch", "seed", "--file", str(other / "own.jsonl"), "--no-progress"],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert seeded.returncode == 0, seeded.stderr
        images_before = image_keys(index_settings)

        write_feed(
            site / "catalog" / "feed.jsonl",
            [row("a", "Apple", 0), row("c", "Cherry, ripe", 2), row("d", "Date", 3)],
        )
        second = run_job(job, env, tmp_path, api_url)

    assert second == {"indexed": 3, "failed": 0, "pruned": 1}
    assert product_ids(api_url) == {"a": "Apple", "c": "Cherry, ripe", "d": "Date", "own": "Own"}
    assert httpx.get(f"{api_url}/products/b", timeout=10).status_code == 404
    assert recorded(index_settings) == ["a", "c", "d"]
    images_after = image_keys(index_settings)
    assert len(images_before - images_after) == 1  # b's image went with it
    info = httpx.get(f"{api_url}/info", timeout=10).json()
    assert info["vectors"] == 4


def test_an_s3_feed_is_fetched_from_the_index_bucket_and_synced(
    index_settings: Settings, api_url: str, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "s1.jpg").write_bytes(jpeg(seed=21))
    (site / "s2.jpg").write_bytes(jpeg(seed=22))
    minio = bucket_client(index_settings)
    with FeedServer(site) as feed:
        rows = [
            {"product_id": p, "name": p.upper(), "image": f"{feed.url}/{p}.jpg", **SHOP}
            for p in ("s1", "s2")
        ]
        body = "".join(json.dumps(r) + "\n" for r in rows).encode()
        key = "feeds/spring/catalog.jsonl"
        minio.put_object(index_settings.s3_bucket, key, io.BytesIO(body), len(body))
        # No endpoint in the spec: the index's own object store, through $(VISUALSEARCH_S3_*).
        source = parse_source_spec(
            {
                "indexRef": {"name": "demo"},
                "type": "S3",
                "s3": {"bucket": index_settings.s3_bucket, "key": key},
            }
        )
        job = build_sync_job(OWNER, source, parse_index_spec({}), "abcdef0124")
        counts = run_job(job, job_env(index_settings), tmp_path, api_url)
    assert counts == {"indexed": 2, "failed": 0, "pruned": 0}
    assert (tmp_path / "feed" / "catalog.jsonl").read_bytes() == body
    assert product_ids(api_url) == {"s1": "S1", "s2": "S2"}
    assert recorded(index_settings) == ["s1", "s2"]
