"""The indexing Job of a CatalogSource, named after a hash of what it would do.

An unchanged spec hashes to the same name, so a Job that exists (or ran) is not launched again;
a changed spec gets a new name and so a new run. Scheduled re-syncs add the slot's time.
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
    container_security_context,
    index_labels,
    metadata,
    pod_security_context,
)
from visualsearch_operator.builders.platform import build_platform_env
from visualsearch_operator.spec import IndexSpec, SourceSpec

MAX_NAME = 63
"""Job names become the ``job-name`` label of their pods: label values stop at 63 characters."""

FEED_DIR = "/feed"
REPORT_PATH = "/dev/termination-log"

_S3_FETCH = """\
import os, sys
from minio import Minio
endpoint, secure, bucket, key, target = sys.argv[1:6]
client = Minio(endpoint, access_key=os.environ["S3_ACCESS_KEY"],
               secret_key=os.environ["S3_SECRET_KEY"], secure=secure == "true")
client.fget_object(bucket, key, target)
print(f"fetched s3://{bucket}/{key} to {target}")
"""


def spec_hash(source: SourceSpec, index: IndexSpec) -> str:
    """A stable digest of the source's identity and the index model it is embedded with."""
    payload = {**source.identity(), "model": index.model}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def sync_job_name(source: str, digest: str, slot: datetime | None = None) -> str:
    """``<source>-<hash>`` (``-<yyyymmddhhmm>`` for a scheduled run), at most 63 characters."""
    suffix = f"-{digest}" + (f"-{slot:%Y%m%d%H%M}" if slot else "")
    return f"{source[: MAX_NAME - len(suffix)].rstrip('-')}{suffix}"


def _feed_name(source: SourceSpec) -> str:
    if source.type == "ConfigMap" and source.config_map:
        return posixpath.basename(source.config_map["key"]) or "feed"
    if source.type == "S3" and source.s3:
        return posixpath.basename(source.s3["key"]) or "feed"
    return "feed"


def build_seed_args(source: SourceSpec) -> list[str]:
    """Arguments of ``visualsearch`` for this source (the bulk ingestion path)."""
    if source.type == "Demo":
        args = ["seed", "--demo"]
    elif source.type == "Url" and source.url:
        args = ["seed", "--file", source.url]
        path = urlparse(source.url).path
        if source.format != "auto" and not path.endswith(f".{source.format}"):
            args += ["--format", source.format]
    else:
        args = ["seed", "--file", f"{FEED_DIR}/{_feed_name(source)}"]
        if source.format != "auto":
            args += ["--format", source.format]
    if source.prune:
        args.append("--prune")
    return args


def _s3_fetch_container(index_name: str, index: IndexSpec, source: SourceSpec) -> dict[str, Any]:
    s3 = source.s3 or {}
    env = build_platform_env(index_name, index, use_embedder=False)
    if s3.get("endpoint"):
        endpoint, secure = s3["endpoint"], str(s3.get("secure", True)).lower()
    else:
        endpoint, secure = "$(VISUALSEARCH_S3_ENDPOINT)", "$(VISUALSEARCH_S3_SECURE)"
    creds = s3.get("credentialsSecretRef")
    if creds:
        keys = [
            {
                "name": "S3_ACCESS_KEY",
                "valueFrom": {
                    "secretKeyRef": {
                        "name": creds["name"],
                        "key": creds.get("accessKeyKey", "access-key"),
                    }
                },
            },
            {
                "name": "S3_SECRET_KEY",
                "valueFrom": {
                    "secretKeyRef": {
                        "name": creds["name"],
                        "key": creds.get("secretKeyKey", "secret-key"),
                    }
                },
            },
        ]
    else:
        keys = [
            {"name": "S3_ACCESS_KEY", "value": "$(VISUALSEARCH_S3_ACCESS_KEY)"},
            {"name": "S3_SECRET_KEY", "value": "$(VISUALSEARCH_S3_SECRET_KEY)"},
        ]
    return {
        "name": "fetch-feed",
        "image": index.image,
        "imagePullPolicy": index.image_pull_policy,
        "command": ["python", "-c", _S3_FETCH],
        "args": [
            endpoint,
            secure,
            s3.get("bucket", ""),
            s3.get("key", ""),
            f"{FEED_DIR}/{_feed_name(source)}",
        ],
        "envFrom": env["envFrom"],
        "env": [*env["env"], *keys],
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
    """The indexing Job: ``visualsearch seed`` with the index's ``VISUALSEARCH_*`` settings."""
    name = sync_job_name(owner.name, digest, slot)
    labels = {
        **index_labels(source.index_name, "indexer"),
        c.LABEL_SOURCE: owner.name,
        c.LABEL_SPEC_HASH: digest,
    }
    annotations = {c.ANNOTATION_SCHEDULED_FOR: slot.isoformat()} if slot else None
    env = build_platform_env(source.index_name, index)
    env["env"] = [*env["env"], {"name": "VISUALSEARCH_SEED_REPORT", "value": REPORT_PATH}]
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
        volumes.append(
            {
                "name": "feed",
                "configMap": {
                    "name": cm["name"],
                    "items": [{"key": cm["key"], "path": _feed_name(source)}],
                },
            }
        )
        mounts.append({"name": "feed", "mountPath": FEED_DIR, "readOnly": True})
    elif source.type == "S3":
        volumes.append({"name": "feed", "emptyDir": {}})
        mounts.append({"name": "feed", "mountPath": FEED_DIR})
        init.append(_s3_fetch_container(source.index_name, index, source))
    container = {
        "name": "seed",
        "image": index.image,
        "imagePullPolicy": index.image_pull_policy,
        "command": ["visualsearch"],
        "args": build_seed_args(source),
        **env,
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
