"""The Jobs of a model change: re-embed every product with the new model, then retire the old.

The re-index Job runs ``visualsearch reindex`` with the new model: its vectors fill a collection
of their own (``VISUALSEARCH_COLLECTION_PER_MODEL``) beside the live one, which the serving pods
keep reading until the Job has succeeded; they then roll to the new model with no unavailable
replica, each pod reading only its own model's collection. Once no pod of the old model is
left, the retire Job (``visualsearch drop-model``) removes the old model's collection.
"""

from __future__ import annotations

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
from visualsearch_operator.builders.values import model_slot
from visualsearch_operator.spec import IndexSpec


def reindex_job_name(index: str, model: str) -> str:
    """``<index>-reindex-<slot>``, at most 63 characters."""
    suffix = f"-reindex-{model_slot(model)}"
    return bounded_name(index, suffix)


def retire_job_name(index: str, model: str) -> str:
    """``<index>-retire-<slot>``: the Job dropping ``model``'s vectors after a switch."""
    return bounded_name(index, f"-retire-{model_slot(model)}")


def build_reindex_job(owner: Owner, spec: IndexSpec) -> Manifest:
    """The Job re-embedding the catalogue with ``spec.model`` (the target model) into that
    model's own collection, beside the live one (``VISUALSEARCH_COLLECTION_PER_MODEL``)."""
    # Embeds in the Job itself: the embedding Service still serves the old model.
    return _platform_job(
        owner, spec, reindex_job_name(owner.name, spec.model), spec.model, ["reindex", "--yes"]
    )


def build_retire_job(owner: Owner, spec: IndexSpec, model: str) -> Manifest:
    """The Job removing ``model``'s collection once no pod serves it (``drop-model``)."""
    name = retire_job_name(owner.name, model)
    return _platform_job(owner, spec, name, spec.model, ["drop-model", model, "--yes"])


def _platform_job(
    owner: Owner, spec: IndexSpec, name: str, model: str, args: list[str]
) -> Manifest:
    """A one-pod Job of the platform image with the index's settings, ``model`` as its model.

    Labelled ``component=reindex``: the operator watches these Jobs to move a switch on.
    """
    labels = {
        **index_labels(owner.name, "reindex"),
        c.LABEL_MODEL_SLOT: model_slot(model),
    }
    env = build_platform_env(owner.name, spec, use_embedder=False)
    # the target model's own collection, whatever the serving pods' ConfigMap says
    per_model = str(model != "auto").lower()
    env["env"] = [
        *env["env"],
        {"name": "VISUALSEARCH_MODEL", "value": model},
        {"name": "VISUALSEARCH_COLLECTION_PER_MODEL", "value": per_model},
    ]
    container = {
        "name": args[0],
        "image": spec.image,
        "imagePullPolicy": spec.image_pull_policy,
        "command": ["visualsearch"],
        "args": args,
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
        "metadata": metadata(name, owner, labels),
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
