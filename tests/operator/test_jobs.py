"""The CatalogSource indexing Job: its name, its command, and reading its outcome."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from visualsearch_operator.builders.common import Owner
from visualsearch_operator.builders.jobs import (
    build_sync_args,
    build_sync_job,
    spec_hash,
    sync_job_name,
)
from visualsearch_operator.services.jobs import job_outcome, parse_report
from visualsearch_operator.spec import parse_index_spec, parse_source_spec

OWNER = Owner("CatalogSource", "spring", "shop", "uid-src")
INDEX = parse_index_spec({})


def source(**spec: Any) -> Any:
    return parse_source_spec({"indexRef": {"name": "demo"}, **spec})


def test_hash_names_the_job_and_changes_with_the_spec() -> None:
    url = source(type="Url", url="https://x.example/a.csv")
    digest = spec_hash(url)
    assert digest == spec_hash(source(type="Url", url="https://x.example/a.csv", schedule="@daily"))
    assert digest != spec_hash(source(type="Url", url="https://x.example/b.csv"))
    assert digest != spec_hash(source(type="Url", url="https://x.example/a.csv", prune=True))
    assert sync_job_name("spring", digest) == f"spring-{digest}"
    slot = datetime(2025, 2, 1, 2, 30, tzinfo=UTC)
    assert sync_job_name("spring", digest, slot) == f"spring-{digest}-202502010230"


def test_job_names_fit_a_label_value() -> None:
    name = sync_job_name("a" * 80, "0123456789", datetime(2025, 1, 1, tzinfo=UTC))
    assert len(name) == 63
    assert name.endswith("-0123456789-202501010000")


@pytest.mark.parametrize(
    ("spec", "args"),
    [
        ({"type": "Demo"}, ["--demo", "0", "_sources/shop/spring.json"]),
        (
            {"type": "Url", "url": "https://x.example/f.jsonl", "prune": True},
            ["/feed/f.jsonl", "1", "_sources/shop/spring.json"],
        ),
        (
            {"type": "Url", "url": "https://x.example/feed?id=1", "format": "csv"},
            ["/feed/feed.csv", "0", "_sources/shop/spring.json"],
        ),
        (
            {"type": "Url", "url": "https://x.example/export"},
            ["/feed/export.json", "0", "_sources/shop/spring.json"],
        ),
        (
            {"type": "ConfigMap", "configMap": {"name": "cm", "key": "items.csv"}},
            ["/feed/items.csv", "0", "_sources/shop/spring.json"],
        ),
        (
            {"type": "S3", "s3": {"bucket": "feeds", "key": "x/cat.json"}, "format": "jsonl"},
            ["/feed/cat.jsonl", "0", "_sources/shop/spring.json"],
        ),
    ],
)
def test_sync_arguments(spec: dict, args: list[str]) -> None:
    assert build_sync_args(OWNER, source(**spec)) == args


def test_sync_job_runs_seed_with_the_index_settings() -> None:
    src = source(type="ConfigMap", configMap={"name": "cm", "key": "items.csv"}, backoffLimit=4)
    job = build_sync_job(OWNER, src, INDEX, "abcdef0123")
    assert job["metadata"]["name"] == "spring-abcdef0123"
    assert job["metadata"]["labels"]["visualsearch.dev/source"] == "spring"
    assert job["metadata"]["labels"]["visualsearch.dev/spec-hash"] == "abcdef0123"
    assert job["metadata"]["ownerReferences"][0]["uid"] == "uid-src"
    assert job["spec"]["backoffLimit"] == 4
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (seed,) = pod["containers"]
    assert seed["command"][:2] == ["sh", "-c"]
    assert "visualsearch seed --file" in seed["command"][2]
    assert seed["envFrom"] == [{"configMapRef": {"name": "demo-config"}}]
    env = {e["name"]: e for e in seed["env"]}
    assert (
        env["VISUALSEARCH_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "demo-credentials"
    )
    assert env["VS_API_URL"]["value"] == "http://demo-api:8000"
    assert "def left_the_source" in env["VS_TRACK_SCRIPT"]["value"]
    assert seed["terminationMessagePolicy"] == "FallbackToLogsOnError"
    item = {"key": "items.csv", "path": "items.csv"}
    assert {"name": "feed", "configMap": {"name": "cm", "items": [item]}} in pod["volumes"]
    assert "initContainers" not in pod


@pytest.mark.parametrize(
    ("spec", "fetch"),
    [
        (
            {
                "type": "S3",
                "s3": {"bucket": "feeds", "key": "x/cat.json", "endpoint": "s3.example.com"},
            },
            ["s3", "s3.example.com", "true", "feeds", "x/cat.json", "/feed/cat.json"],
        ),
        (
            {"type": "S3", "s3": {"bucket": "feeds", "key": "cat.csv"}},
            [
                "s3",
                "$(VISUALSEARCH_S3_ENDPOINT)",
                "$(VISUALSEARCH_S3_SECURE)",
                "feeds",
                "cat.csv",
                "/feed/cat.csv",
            ],
        ),
        (
            {"type": "Url", "url": "https://x.example/a.csv"},
            ["url", "https://x.example/a.csv", "/feed/a.csv"],
        ),
    ],
)
def test_remote_feeds_are_fetched_first(spec: dict, fetch: list[str]) -> None:
    pod = build_sync_job(OWNER, source(**spec), INDEX, "abcdef0123")["spec"]["template"]["spec"]
    (init,) = pod["initContainers"]
    assert init["args"] == fetch
    assert "def fetch_s3" in init["command"][2]
    assert {"name": "feed", "emptyDir": {}} in pod["volumes"]


def job(conditions: list[dict[str, Any]] | None = None, **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "j"}, "status": {**status, "conditions": conditions or []}}


def pod(message: str) -> dict[str, Any]:
    terminated = {"exitCode": 0, "message": message}
    return {
        "metadata": {"name": "p", "creationTimestamp": "2025-01-01T00:00:00Z"},
        "status": {"containerStatuses": [{"name": "seed", "state": {"terminated": terminated}}]},
    }


def test_outcome_of_a_finished_job_carries_the_report() -> None:
    done = job(
        [{"type": "Complete", "status": "True"}], succeeded=1, completionTime="2025-01-01T00:05:00Z"
    )
    outcome = job_outcome(done, [pod('{"indexed": 194, "failed": 2, "pruned": 3}')])
    assert (outcome.phase, outcome.indexed, outcome.failed, outcome.pruned) == ("Synced", 194, 2, 3)
    assert outcome.finished_at == "2025-01-01T00:05:00Z"


def test_outcome_of_a_failed_and_of_a_running_job() -> None:
    failed = job(
        [
            {
                "type": "Failed",
                "status": "True",
                "reason": "BackoffLimitExceeded",
                "message": "Job has reached the specified backoff limit",
            }
        ],
        failed=3,
    )
    assert job_outcome(failed, []).phase == "Failed"
    assert "backoff limit" in job_outcome(failed, []).message
    running = job_outcome(job(active=1, failed=1), [])
    assert (running.phase, running.message) == ("Syncing", "indexing (attempt 2)")
    assert running.indexed is None


def test_report_of_the_sync_script() -> None:
    text = "216 rows: 200 added, 10 updated, 4 unchanged, 2 rejected.\npruned=3\n"
    assert parse_report(text) == {"indexed": 214, "failed": 2, "pruned": 3}


def test_report_formats() -> None:
    assert parse_report('progress...\n{"indexed": 5, "failed": 0}') == {"indexed": 5, "failed": 0}
    assert parse_report("done: indexed=12 failed=1") == {"indexed": 12, "failed": 1}
    assert parse_report("Traceback: boom") == {}
    assert parse_report(None) == {}
