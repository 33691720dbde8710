"""The scripts the indexing Job runs: pure parts here; they run for real in the platform image."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

from tests.support.servers import S3_ACCESS_KEY, S3_SECRET_KEY, ManagedProcess
from visualsearch.config import Settings
from visualsearch_operator.jobscripts import SYNC_SH, source_of
from visualsearch_operator.jobscripts.fetch_feed import fetch_url
from visualsearch_operator.jobscripts.track import left_the_source, object_store


def test_products_that_left_the_source() -> None:
    assert left_the_source({"a", "b", "c"}, {"b", "d"}) == ["a", "c"]
    assert left_the_source(set(), {"a"}) == []


def test_the_object_store_is_the_services_own_setting() -> None:
    settings = Settings(
        s3_endpoint="minio.shop.svc:9000",
        s3_access_key="key",
        s3_secret_key="secret",
        s3_bucket="shop",
        s3_secure=True,
    )
    client, bucket = object_store(settings)
    assert bucket == "shop"
    assert client._base_url.host == "minio.shop.svc:9000" and client._base_url.is_https
    with pytest.raises(SystemExit, match="VISUALSEARCH_S3_ENDPOINT is not set"):
        object_store(Settings(s3_endpoint=None))


def test_only_http_feeds_are_fetched(tmp_path) -> None:
    with pytest.raises(SystemExit, match="only http"):
        fetch_url("file:///etc/passwd", str(tmp_path / "x"))


def test_scripts_are_shipped_as_text() -> None:
    for module in ("fetch_feed", "track"):
        text = source_of(module)
        compile(text, module, "exec")  # valid Python, runnable with python -c
        assert "visualsearch_operator" not in text.replace("visualsearch_operator.jobscripts", "")
    assert "/dev/termination-log" in SYNC_SH and 'python -c "$VS_TRACK_SCRIPT"' in SYNC_SH


def test_feed_ids_are_read_with_the_platform_parser(tmp_path) -> None:
    from visualsearch_operator.jobscripts.track import feed_ids

    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        '{"id": 7, "title": "Red shoe", "image": "a.png", "price": 10}\n'
        '{"product_id": "b-2", "name": "Blue hat", "image": "b.png"}\n'
        '{"product_id": "c-3", "name": "No image"}\n'
    )
    assert feed_ids(str(feed)) == {"7", "b-2"}  # a row that cannot load is not the source's
    assert len(feed_ids("--demo")) > 100


def test_track_records_the_feed_in_the_object_store_the_settings_name(
    tmp_path, s3_proc: ManagedProcess
) -> None:
    # As the Job runs it: `python -c "$VS_TRACK_SCRIPT"`, configured by VISUALSEARCH_* only.
    env = {
        **os.environ,
        "VISUALSEARCH_S3_ENDPOINT": f"127.0.0.1:{s3_proc.port}",
        "VISUALSEARCH_S3_ACCESS_KEY": S3_ACCESS_KEY,
        "VISUALSEARCH_S3_SECRET_KEY": S3_SECRET_KEY,
        "VISUALSEARCH_S3_SECURE": "false",
        "VISUALSEARCH_S3_BUCKET": f"track-{uuid.uuid4().hex[:8]}",
    }
    settings = Settings(
        s3_endpoint=env["VISUALSEARCH_S3_ENDPOINT"],
        s3_access_key=S3_ACCESS_KEY,
        s3_secret_key=S3_SECRET_KEY,
        s3_bucket=env["VISUALSEARCH_S3_BUCKET"],
    )
    client, bucket = object_store(settings)
    client.make_bucket(bucket)
    feed = tmp_path / "feed.jsonl"
    feed.write_text('{"product_id": "a-1", "name": "Red shoe", "image": "a.png"}\n')
    run = subprocess.run(
        [sys.executable, "-c", source_of("track"), str(feed), "0", "_sources/shop/spring.json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == "pruned=0"
    response = client.get_object(bucket, "_sources/shop/spring.json")
    try:
        assert json.loads(response.read()) == ["a-1"]
    finally:
        response.close()
        response.release_conn()
