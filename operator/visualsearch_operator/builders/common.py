"""Metadata, labels, owner references and security defaults shared by every builder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from visualsearch_operator import constants as c

Manifest = dict[str, Any]

TMP_DIR = "/tmp"  # noqa: S108  (an emptyDir mount point inside the pod, not a host path)


@dataclass(frozen=True)
class Owner:
    """The custom resource that owns what is built: children carry its owner reference."""

    kind: str
    name: str
    namespace: str
    uid: str

    def reference(self) -> dict[str, Any]:
        """An ownerReference that makes the garbage collector remove the child with its owner."""
        return {
            "apiVersion": c.API_VERSION,
            "kind": self.kind,
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }


@dataclass(frozen=True)
class Capabilities:
    """What the target cluster serves; builders pick API versions from it (Helm's .Capabilities)."""

    hpa_api_version: str = "autoscaling/v2"
    pdb_api_version: str = "policy/v1"
    traefik_middleware: bool = False
    gateway_api: bool = False


def index_labels(index: str, component: str) -> dict[str, str]:
    """Labels of every object built for ``index``; ``selector_labels`` is the stable subset."""
    return {
        **selector_labels(index, component),
        c.LABEL_PART_OF: c.PART_OF,
        c.LABEL_MANAGED_BY: c.MANAGED_BY,
        c.LABEL_INDEX: index,
    }


def selector_labels(index: str, component: str) -> dict[str, str]:
    """Pod selector labels: never change them on a live Deployment (selectors are immutable)."""
    return {
        c.LABEL_NAME: "visual-search",
        c.LABEL_INSTANCE: index,
        c.LABEL_COMPONENT: component,
    }


def metadata(
    name: str, owner: Owner, labels: dict[str, str], annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    """Object metadata with the owner reference set."""
    meta: dict[str, Any] = {
        "name": name,
        "namespace": owner.namespace,
        "labels": dict(labels),
        "ownerReferences": [owner.reference()],
    }
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def container_security_context(read_only_root: bool = True) -> dict[str, Any]:
    """Non-root, no privilege escalation, every capability dropped."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": read_only_root,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_security_context(uid: int = 10001) -> dict[str, Any]:
    """Pod-level identity: a fixed non-root user whose group owns mounted volumes."""
    return {"runAsNonRoot": True, "runAsUser": uid, "runAsGroup": uid, "fsGroup": uid}


MAX_NAME = 63
"""Names that become label values (a Job's ``job-name`` on its pods) stop at 63 characters."""


def bounded_name(prefix: str, suffix: str) -> str:
    """``<prefix><suffix>``, the prefix cut so the whole fits in :data:`MAX_NAME`."""
    return f"{prefix[: MAX_NAME - len(suffix)].rstrip('-')}{suffix}"
