"""The indexing Job of a CatalogSource, named after a hash of what it would do.

An unchanged spec hashes to the same name, so a Job that exists (or ran) is not launched again;
a changed spec gets a new name and so a new run. Scheduled re-syncs add the slot's time.
The Job fetches the feed into a volume when it is remote (URL, S3), runs the platform's bulk
path (``visualsearch seed``), then records the source's product ids and prunes those that left
(:mod:`visualsearch_operator.jobscripts`); its termination message carries the counts.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from visualsearch_operator import constants as c
from visualsearch_operator.builders.common import (
    TMP_DIR,
    Manifest,
    Owner,
    bounded_name,
    container_security_context,
    index_labels,
    metadata,
    pod_security_context,
)
from visualsearch_operator.builders.job_env import build_platform_env
from visualsearch_operator.builders.values import component_name
from visualsearch_operator.jobscripts import SYNC_SH, source_of
from visualsearch_operator.spec import IndexSpec, SourceSpec

FEED_DIR = "/feed"
REPORT_PATH = "/dev/termination-log"
FEED_EXTENSIONS = (".json", ".jsonl", ".ndjson", ".csv")


def spec_hash(source: SourceSpec) -> str:
    """A stable digest of what the sync does (a model change re-indexes without re-syncing)."""
    text = json.dumps(source.identity(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def sync_job_name(source: str, digest: str, slot: datetime | None = None) -> str:
    """``<source>-<hash>`` (``-<yyyymmddhhmm>`` for a scheduled run), at most 63 characters."""
    suffix = f"-{digest}" + (f"-{slot:%Y%m%d%H%M}" if slot else "")
    return bounded_name(source, suffix)


def feed_file(source: SourceSpec) -> str:
    """Where the feed lies in the Job; the seeder reads the format from the file's extension."""
    if source.type == "ConfigMap" and source.config_map:
        name = posixpath.basename(source.config_map["key"])
    elif source.type == "S3" and source.s3:
        name = posixpath.basename(source.s3["key"])
    else:
        name = posixpath.basename(urlparse(source.url or "").path)
    if source.format != "auto":
        stem = posixpath.splitext(name)[0] or "feed"
        name = f"{stem}.{source.format}"
    elif not name.endswith(FEED_EXTENSIONS):
        name = f"{name or 'feed'}.json"
    return f"{FEED_DIR}/{name}"


def state_key(namespace: str, source: str) -> str:
    """Object key (in the index's bucket) of the ids the source delivered last time."""
    return f"_sources/{namespace}/{source}.json"


def build_sync_args(owner: Owner, source: SourceSpec) -> list[str]:
    """Arguments of the sync script: the feed (or ``--demo``), prune (1/0), the state key."""
    feed = "--demo" if source.type == "Demo" else feed_file(source)
    return [feed, "1" if source.prune else "0", state_key(owner.namespace, owner.name)]


def _fetch_args(source: SourceSpec) -> list[str] | None:
    if source.type == "Url" and source.url:
        return ["url", source.url, feed_file(source)]
    if source.type == "S3" and source.s3:
        s3 = source.s3
        if s3.get("endpoint"):
            endpoint, secure = s3["endpoint"], str(s3.get("secure", True)).lower()
        else:  # the index's own object store
            endpoint, secure = "$(VISUALSEARCH_S3_ENDPOINT)", "$(VISUALSEARCH_S3_SECURE)"
        return ["s3", endpoint, secure, s3["bucket"], s3["key"], feed_file(source)]
    return None


def _s3_credentials(source: SourceSpec) -> list[dict[str, Any]]:
    creds = (source.s3 or {}).get("credentialsSecretRef")
    if not creds:
        return [
            {"name": "S3_ACCESS_KEY", "value": "$(VISUALSEARCH_S3_ACCESS_KEY)"},
            {"name": "S3_SECRET_KEY", "value": "$(VISUALSEARCH_S3_SECRET_KEY)"},
        ]
    keys = (
        ("S3_ACCESS_KEY", "accessKeyKey", "access-key"),
        ("S3_SECRET_KEY", "secretKeyKey", "secret-key"),
    )
    return [
        {
            "name": env,
            "valueFrom": {
                "secretKeyRef": {"name": creds["name"], "key": creds.get(field, default)}
            },
        }
        for env, field, default in keys
    ]


def _fetch_container(source: SourceSpec, index: IndexSpec, env: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "fetch-feed",
        "image": index.image,
        "imagePullPolicy": index.image_pull_policy,
        "command": ["python", "-c", source_of("fetch_feed")],
        "args": _fetch_args(source),
        "envFrom": env["envFrom"],
        "env": [*env["env"], *_s3_credentials(source)],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        "securityContext": container_security_context(),
        "volumeMounts": [{"name": "feed", "mountPath": FEED_DIR}],
    }


def build_sync_job(
    owner: Owner,
    source: SourceSpec,
    index: IndexSpec,
    digest: str,
    slot: datetime | None = None,
) -> Manifest:
    """The indexing Job, with the index's ``VISUALSEARCH_*`` settings."""
    name = sync_job_name(owner.name, digest, slot)
    labels = {
        **index_labels(source.index_name, "indexer"),
        c.LABEL_SOURCE: owner.name,
        c.LABEL_SPEC_HASH: digest,
    }
    annotations = {c.ANNOTATION_SCHEDULED_FOR: slot.isoformat()} if slot else None
    env = build_platform_env(source.index_name, index)
    api = f"http://{component_name(source.index_name, 'api')}:{c.API_PORT}"
    seed_env = [
        *env["env"],
        {"name": "VS_TRACK_SCRIPT", "value": source_of("track")},
        {"name": "VS_API_URL", "value": api},
    ]
    volumes: list[dict[str, Any]] = [
        {"name": "tmp", "emptyDir": {}},
        {"name": "models", "emptyDir": {}},
    ]
    mounts: list[dict[str, Any]] = [
        {"name": "tmp", "mountPath": TMP_DIR},
        {"name": "models", "mountPath": "/models"},
    ]
    init: list[dict[str, Any]] = []
    if source.type == "ConfigMap" and source.config_map:
        cm = source.config_map
        item = {"key": cm["key"], "path": posixpath.basename(feed_file(source))}
        volumes.append({"name": "feed", "configMap": {"name": cm["name"], "items": [item]}})
        mounts.append({"name": "feed", "mountPath": FEED_DIR, "readOnly": True})
    elif source.type in ("Url", "S3"):
        volumes.append({"name": "feed", "emptyDir": {}})
        mounts.append({"name": "feed", "mountPath": FEED_DIR})
        init.append(_fetch_container(source, index, env))
    container = {
        "name": "seed",
        "image": index.image,
        "imagePullPolicy": index.image_pull_policy,
        "command": ["sh", "-c", SYNC_SH, "sync"],
        "args": build_sync_args(owner, source),
        "envFrom": env["envFrom"],
        "env": seed_env,
        "resources": source.resources
        or {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "2Gi"}},
        "securityContext": container_security_context(),
        "terminationMessagePath": REPORT_PATH,
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "volumeMounts": mounts,
    }
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "securityContext": pod_security_context(),
        "automountServiceAccountToken": False,
        "containers": [container],
        "volumes": volumes,
    }
    if init:
        pod_spec["initContainers"] = init
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata(name, owner, labels, annotations),
        "spec": {
            "backoffLimit": source.backoff_limit,
            "activeDeadlineSeconds": source.active_deadline_seconds,
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    }
