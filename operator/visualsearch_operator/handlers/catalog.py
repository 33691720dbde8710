"""kopf handlers of CatalogSource: translate events into CatalogSourceService calls."""

from __future__ import annotations

from typing import Any

import kopf

from visualsearch_operator import constants as c
from visualsearch_operator.handlers.common import context, phase_event, plain, reporting


# The ids are the names these handlers had as separate functions: kopf keys its progress
# annotations (visualsearch.dev/<id>) by handler id, and an upgrade during a retry must find
# them (it would otherwise restart the retries and leave the old annotations behind for good).
@kopf.on.create(c.GROUP, c.VERSION, c.SOURCE_PLURAL, id="source_create")
@kopf.on.update(c.GROUP, c.VERSION, c.SOURCE_PLURAL, field="spec", id="source_update")
@kopf.on.resume(c.GROUP, c.VERSION, c.SOURCE_PLURAL, id="source_resume")
@kopf.timer(
    c.GROUP,
    c.VERSION,
    c.SOURCE_PLURAL,
    interval=30,
    initial_delay=30,
    idle=15,
    id="source_schedule",
)
def source_reconcile(body: kopf.Body, memo: kopf.Memo, logger: Any, **_: Any) -> None:
    """Launch the sync the source calls for: a new source (once its index serves), a changed
    spec (a new spec hash, so a new Job; an unchanged hash launches nothing), an operator restart
    (adopt the Job a previous run launched, or launch the missing one), and every 30 s a
    scheduled re-sync when a slot has passed, catching up on status."""
    ctx = context(memo)
    raw = plain(body)
    decision = reporting(
        ctx, raw, lambda: ctx.sources.reconcile(raw), lambda exc: ctx.sources.fail(raw, exc)
    )
    if decision is not None and decision.launched:
        why = f"schedule slot {decision.slot:%Y-%m-%d %H:%M}" if decision.slot else "spec changed"
        ctx.events.normal(raw, "SyncStarted", f"launched Job {decision.job_name} ({why})")
        logger.info("launched %s", decision.job_name)


@kopf.on.delete(c.GROUP, c.VERSION, c.SOURCE_PLURAL)
def source_delete(body: kopf.Body, memo: kopf.Memo, logger: Any, **_: Any) -> None:
    """Remove the source's Jobs; the products it indexed stay (delete them through the API)."""
    removed = context(memo).sources.cleanup(plain(body))
    logger.info("deleted %s", ", ".join(removed) or "nothing")


@kopf.on.event(
    "batch", "v1", "jobs", labels={c.LABEL_SOURCE: kopf.PRESENT, c.LABEL_MANAGED_BY: c.MANAGED_BY}
)
def source_job_event(labels: kopf.Labels, namespace: str | None, memo: kopf.Memo, **_: Any) -> None:
    """A sync Job moved (pod started, finished, failed): copy its progress into the source."""
    if not namespace:
        return
    ctx = context(memo)
    before = ctx.kube.get(c.API_VERSION, c.SOURCE_KIND, namespace, labels[c.LABEL_SOURCE])
    if before is None or before["metadata"].get("deletionTimestamp"):
        return
    update = ctx.sources.refresh_status(before)
    phase_event(ctx, before, update)
    if update is not None and update.moved and update.phase == "Synced":
        # The index counts the products its sources indexed.
        index = ((before.get("spec") or {}).get("indexRef") or {}).get("name")
        if index:
            ctx.index_status.refresh_by_name(namespace, index)
