"""Kubernetes Events about our custom resources (storage layer), posted on purpose.

kopf can turn log lines into events, but then every "handler succeeded" becomes one; the
operator posts only what an administrator wants in ``kubectl describe``: phase changes, objects
applied or pruned, Jobs launched, specs rejected.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from visualsearch_operator import constants as c
from visualsearch_operator.exceptions import OperatorError
from visualsearch_operator.kube import KubeClient

logger = logging.getLogger(__name__)


def build_event(
    involved: Mapping[str, Any], kind: str, reason: str, message: str
) -> dict[str, Any]:
    """A ``v1`` Event about ``involved`` (``kind`` is Normal or Warning)."""
    meta = involved["metadata"]
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
        "involvedObject": {
            "apiVersion": involved.get("apiVersion", c.API_VERSION),
            "kind": involved.get("kind"),
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta.get("uid"),
        },
        "type": kind,
        "reason": reason,
        "message": message[:1024],
        "source": {"component": c.MANAGED_BY},
        "reportingComponent": c.MANAGED_BY,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


@dataclass(frozen=True)
class EventRecorder:
    """Posts events; a failure to post is logged, never raised (events are best effort)."""

    kube: KubeClient

    def post(self, involved: Mapping[str, Any], kind: str, reason: str, message: str) -> None:
        """Post one event."""
        try:
            self.kube.create(build_event(involved, kind, reason, message))
        except OperatorError as exc:
            logger.warning("could not post event %s: %s", reason, exc)

    def normal(self, involved: Mapping[str, Any], reason: str, message: str) -> None:
        """An informational event."""
        self.post(involved, "Normal", reason, message)

    def warning(self, involved: Mapping[str, Any], reason: str, message: str) -> None:
        """Something an administrator should look at."""
        self.post(involved, "Warning", reason, message)
