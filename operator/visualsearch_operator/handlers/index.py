"""kopf handlers of VisualSearchIndex: translate events into IndexService (reconcile, cleanup)
and IndexStatusService (status) calls."""

from __future__ import annotations

from typing import Any

import kopf

from visualsearch_operator import constants as c
from visualsearch_operator.handlers.common import context, phase_event, plain, reporting
from visualsearch_operator.services.model_switch import ModelSwitch

CHILD_LABELS: dict[str, Any] = {
    c.LABEL_INDEX: kopf.PRESENT,
    c.LABEL_MANAGED_BY: c.MANAGED_BY,
}


def _reconcile(body: kopf.Body, memo: kopf.Memo, logger: Any) -> None:
    ctx = context(memo)
    raw = plain(body)
    result = reporting(
        ctx, raw, lambda: ctx.indexes.reconcile(raw), lambda exc: ctx.index_status.fail(raw, exc)
    )
    if result.applied:
        ctx.events.normal(
            raw,
            "Applied",
            f"applied {len(result.applied)} object(s): {', '.join(result.applied[:8])}",
        )
    if result.switch is not None:
        switch_event(ctx, raw, result.switch)
    if result.pruned:
        ctx.events.normal(raw, "Pruned", f"removed {', '.join(result.pruned)}")
    phase_event(ctx, raw, result.update)
    logger.info(
        "reconciled: %d applied, %d pruned, phase %s",
        len(result.applied),
        len(result.pruned),
        result.update.phase if result.update else None,
    )


# The ids are the names these handlers had as three functions: kopf keys its progress
# annotations (visualsearch.dev/<id>) by handler id, and an upgrade during a retry must find
# them (it would otherwise restart the retries and leave the old annotations behind for good).
@kopf.on.create(c.GROUP, c.VERSION, c.INDEX_PLURAL, id="index_create")
@kopf.on.update(c.GROUP, c.VERSION, c.INDEX_PLURAL, field="spec", id="index_update")
@kopf.on.resume(c.GROUP, c.VERSION, c.INDEX_PLURAL, id="index_resume")
def index_reconcile(body: kopf.Body, memo: kopf.Memo, logger: Any, **_: Any) -> None:
    """A new index, a changed spec, or an operator restart (whatever a previous run left
    half-done): converge the children to the spec."""
    _reconcile(body, memo, logger)


@kopf.timer(c.GROUP, c.VERSION, c.INDEX_PLURAL, interval=60, initial_delay=60, idle=30)
def index_drift(body: kopf.Body, memo: kopf.Memo, logger: Any, **_: Any) -> None:
    """Every minute: put back what someone changed or deleted by hand."""
    status = body.get("status") or {}
    generation = body.get("metadata", {}).get("generation")
    if status.get("phase") == c.PHASE_FAILED and status.get("observedGeneration") == generation:
        return  # the spec was rejected; only a new generation can change that
    _reconcile(body, memo, logger)


@kopf.on.delete(c.GROUP, c.VERSION, c.INDEX_PLURAL)
def index_delete(body: kopf.Body, memo: kopf.Memo, logger: Any, **_: Any) -> None:
    """Remove what the index created; keep volumes and credentials when ``retainData`` is set."""
    removed = context(memo).indexes.cleanup(plain(body))
    logger.info("deleted %d object(s): %s", len(removed), ", ".join(removed))


def _child_changed(
    event: kopf.RawEvent, labels: kopf.Labels, namespace: str | None, memo: kopf.Memo
) -> None:
    if not namespace:
        return
    ctx = context(memo)
    index = labels[c.LABEL_INDEX]
    if event.get("type") == "DELETED":
        # Someone deleted a child by hand: put it back now rather than at the next drift check.
        result = ctx.indexes.reconcile_by_name(namespace, index)
        if result is not None and result.applied:
            body = ctx.kube.get(c.API_VERSION, c.INDEX_KIND, namespace, index)
            if body is not None:
                ctx.events.normal(body, "DriftRepaired", f"re-created {', '.join(result.applied)}")
        return
    body = ctx.kube.get(c.API_VERSION, c.INDEX_KIND, namespace, index)
    if body is None:
        return
    if (body.get("status") or {}).get("retiredModel"):
        _advance_switch(ctx, namespace, index)  # a model switch waits for this roll
        return
    refreshed = ctx.index_status.refresh(body)
    if refreshed is not None:
        phase_event(ctx, *refreshed)


@kopf.on.event("apps", "v1", "deployments", labels=CHILD_LABELS)
def index_deployment_event(
    event: kopf.RawEvent, labels: kopf.Labels, namespace: str | None, memo: kopf.Memo, **_: Any
) -> None:
    """A Deployment of an index changed (replicas became ready or not): refresh its status."""
    _child_changed(event, labels, namespace, memo)


@kopf.on.event("apps", "v1", "statefulsets", labels=CHILD_LABELS)
def index_statefulset_event(
    event: kopf.RawEvent, labels: kopf.Labels, namespace: str | None, memo: kopf.Memo, **_: Any
) -> None:
    """A store's StatefulSet changed: refresh the index's status."""
    _child_changed(event, labels, namespace, memo)


REINDEX_LABELS: dict[str, Any] = {
    c.LABEL_COMPONENT: "reindex",
    c.LABEL_MANAGED_BY: c.MANAGED_BY,
    c.LABEL_INDEX: kopf.PRESENT,
}


@kopf.on.event("batch", "v1", "jobs", labels=REINDEX_LABELS)
def index_reindex_job_event(
    labels: kopf.Labels, namespace: str | None, memo: kopf.Memo, **_: Any
) -> None:
    """A model change's Job moved: once the re-index has succeeded, roll the pods to the model;
    once the retire Job has, the switch is done."""
    if namespace:
        _advance_switch(context(memo), namespace, labels[c.LABEL_INDEX])


def _advance_switch(ctx: Any, namespace: str, index: str) -> None:
    """Reconcile an index whose model switch may move on, and say where it went."""
    result = ctx.indexes.reconcile_by_name(namespace, index)
    switch = result.switch if result is not None else None
    if switch is not None:
        body = ctx.kube.get(c.API_VERSION, c.INDEX_KIND, namespace, index)
        if body is not None:
            switch_event(ctx, body, switch)


def switch_event(ctx: Any, body: dict[str, Any], switch: ModelSwitch) -> None:
    """The event of a switch's step: a Job launched, or the switch done."""
    if switch.launched and switch.state == "Retiring":
        message = f"{switch.current}'s vectors: launched Job {switch.job} to drop them"
        ctx.events.normal(body, "RetiringModel", message)
    elif switch.launched:
        ctx.events.normal(body, "Reindexing", f"model {switch.target}: launched Job {switch.job}")
    elif switch.state == "Switched":
        ctx.events.normal(body, "ModelSwitched", f"serving {switch.target} (was {switch.current})")
