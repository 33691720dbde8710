"""The scripts the indexing Job runs: pure parts here; they run for real in the platform image."""

from __future__ import annotations

import pytest

from visualsearch_operator.jobscripts import SYNC_SH, source_of
from visualsearch_operator.jobscripts.fetch_feed import fetch_url
from visualsearch_operator.jobscripts.track import left_the_source


def test_products_that_left_the_source() -> None:
    assert left_the_source({"a", "b", "c"}, {"b", "d"}) == ["a", "c"]
    assert left_the_source(set(), {"a"}) == []


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
