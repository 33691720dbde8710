"""The re-index Job of a model change: re-embed every product with the new model.

It runs ``visualsearch reindex``, which builds a new vector generation beside the live one and
switches the collection alias to it when it is full; the serving pods keep the old model (and
generation) until the Job has succeeded, then roll to the new model with no unavailable replica.
"""

from __future__ import annotations

import hashlib

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
from visualsearch_operator.spec import IndexSpec


def model_slot(model: str) -> str:
    """A short stable digest naming everything that belongs to one model."""
    return hashlib.sha256(model.encode()).hexdigest()[:8]


def reindex_job_name(index: str, model: str) -> str:
    """``<index>-reindex-<slot>``, at most 63 characters."""
    suffix = f"-reindex-{model_slot(model)}"
    return bounded_name(index, suffix)


def build_reindex_job(owner: Owner, spec: IndexSpec) -> Manifest:
    """The Job re-embedding the catalogue with ``spec.model`` (the target model)."""
    labels = {
        **index_labels(owner.name, "reindex"),
        c.LABEL_MODEL_SLOT: model_slot(spec.model),
    }
    # Embeds in the Job itself: the embedding Service still serves the old model.
    env = build_platform_env(owner.name, spec, use_embedder=False)
    env["env"] = [*env["env"], {"name": "VISUALSEARCH_MODEL", "value": spec.model}]
    container = {
        "name": "reindex",
        "image": spec.image,
        "imagePullPolicy": spec.image_pull_policy,
        "command": ["visualsearch"],
        "args": ["reindex", "--yes"],
        **env,
        "resources": spec.embedding_resources,
        "securityContext": container_security_context(),
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "volumeMounts": [
            {"name": "tmp", "mountPath": TMP_DIR},
            {"name": "models", "mountPath": "/models"},
        ],
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata(reindex_job_name(owner.name, spec.model), owner, labels),
        "spec": {
            "backoffLimit": 2,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "securityContext": pod_security_context(),
                    "automountServiceAccountToken": False,
                    "containers": [container],
                    "volumes": [
                        {"name": "tmp", "emptyDir": {}},
                        {"name": "models", "emptyDir": {}},
                    ],
                },
            },
        },
    }
