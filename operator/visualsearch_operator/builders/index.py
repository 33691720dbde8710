"""The rendered charts made into an index's children: namespace, owner, the operator's labels.

``helm template`` output is what a Helm user's release holds; the operator changes only what
says who owns and manages the objects, so that the garbage collector removes them with their
index and the operator finds them again by label:

- ``metadata.namespace`` (``helm template`` leaves it out) and the owner reference;
- ``visualsearch.dev/index=<index>`` and ``app.kubernetes.io/managed-by=visualsearch-operator``
  on the object, on its pod template and on its volume claim templates (so the volumes can be
  found, and kept or deleted, with the index).

Everything else is the chart's, field for field (a test compares them with Helm's own render).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from visualsearch_operator import constants as c
from visualsearch_operator.builders.common import Manifest, Owner

OPERATOR_LABELS = (c.LABEL_INDEX, c.LABEL_MANAGED_BY)
"""The labels the operator sets on rendered objects (the chart says ``managed-by: Helm``)."""


def operator_labels(index: str) -> dict[str, str]:
    """Labels that mark an object as a child of ``index`` managed by the operator."""
    return {c.LABEL_INDEX: index, c.LABEL_MANAGED_BY: c.MANAGED_BY}


def _label(meta: Manifest, labels: dict[str, str]) -> None:
    meta["labels"] = {**(meta.get("labels") or {}), **labels}


def own(rendered: Iterable[Manifest], owner: Owner, served: set[tuple[str, str]]) -> list[Manifest]:
    """Children of ``owner`` from rendered chart objects; kinds the cluster lacks are left out.

    ``served`` holds the (apiVersion, kind) pairs the operator manages on this cluster: a
    Middleware without Traefik's CRD could never be applied (the status says so instead).
    """
    labels = operator_labels(owner.name)
    children: list[Manifest] = []
    for obj in rendered:
        if (obj["apiVersion"], obj["kind"]) not in served:
            continue
        child = copy.deepcopy(obj)
        meta = child["metadata"]
        meta["namespace"] = owner.namespace
        meta["ownerReferences"] = [owner.reference()]
        _label(meta, labels)
        spec = child.get("spec") or {}
        template = spec.get("template")
        if isinstance(template, dict):
            _label(template.setdefault("metadata", {}), labels)
        for claim in spec.get("volumeClaimTemplates") or []:
            _label(claim.setdefault("metadata", {}), labels)
        children.append(child)
    return children
