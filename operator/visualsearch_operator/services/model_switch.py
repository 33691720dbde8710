"""A model change on an index: re-index in a Job, roll the pods, then retire the old model.

1. ``Reindexing``: ``visualsearch reindex`` fills the new model's collection beside the live
   one; the pods keep serving the old model (``status.activeModel``) from its own collection.
2. ``Rolling``: the Job has succeeded, ``activeModel`` moves and the pods roll to the new model
   with no unavailable replica; until the roll is over, pods of both models serve, each from
   its own model's collection (never the other's vectors). ``status.retiredModel`` is the old.
3. ``Retiring``: no pod of the old model is left; ``visualsearch drop-model`` removes its
   collection in a second Job, and ``retiredModel`` goes. ``Switched`` when that has succeeded.

An index served by ``auto`` shares one collection between models (``auto`` names none): its
switch away from ``auto`` keeps that collection, to be dropped by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from visualsearch_operator import constants as c
from visualsearch_operator.builders.common import Manifest, Owner
from visualsearch_operator.builders.reindex import (
    build_reindex_job,
    build_retire_job,
    reindex_job_name,
    retire_job_name,
)
from visualsearch_operator.kube import KubeClient
from visualsearch_operator.services import status as st
from visualsearch_operator.services.jobs import JobOutcome, job_outcome
from visualsearch_operator.spec import IndexSpec

IN_PROGRESS = ("Reindexing", "Rolling", "Retiring")


@dataclass(frozen=True)
class ModelSwitch:
    """A model change in progress (or just done): from, to, the Job of its step and its state."""

    current: str
    target: str
    job: str
    state: str  # Reindexing | ReindexFailed | Rolling | Retiring | RetireFailed | Switched
    message: str
    launched: bool = False

    def condition(self, generation: int) -> dict[str, Any]:
        """The ``ModelSwitch`` condition: Unknown while in progress, then True or False."""
        ok = None if self.state in IN_PROGRESS else self.state == "Switched"
        text = f"{self.current} -> {self.target}: Job {self.job}: {self.message}"
        return st.condition("ModelSwitch", ok, self.state, text, generation)


def _record(kube: KubeClient, owner: Owner, fields: dict[str, str | None]) -> None:
    """Write ``activeModel`` (the model the pods serve with) and/or ``retiredModel`` (None
    removes it)."""
    kube.merge_patch(
        c.API_VERSION,
        c.INDEX_KIND,
        owner.namespace,
        owner.name,
        {"status": fields},
        subresource="status",
    )


def _run_job(
    kube: KubeClient, owner: Owner, name: str, manifest: Callable[[], Manifest]
) -> tuple[JobOutcome, bool]:
    """The Job ``name``'s outcome, creating it from ``manifest()`` first if it does not exist."""
    job = kube.get("batch/v1", "Job", owner.namespace, name)
    created = job is None
    if job is None:
        kube.create(manifest())
        job = kube.get("batch/v1", "Job", owner.namespace, name) or {}
    pods = kube.list("v1", "Pod", owner.namespace, f"job-name={name}")
    return job_outcome(job, pods), created


def rolled_out(kube: KubeClient, owner: Owner) -> bool:
    """Every Deployment of the index runs its current template on all its replicas, available,
    and no pod of an earlier template is left."""
    selector = f"{c.LABEL_INDEX}={owner.name},{c.LABEL_MANAGED_BY}={c.MANAGED_BY}"
    for deployment in kube.list("apps/v1", "Deployment", owner.namespace, selector):
        want = int((deployment.get("spec") or {}).get("replicas", 1))
        status = deployment.get("status") or {}
        current = int(status.get("observedGeneration", 0)) >= int(
            deployment["metadata"].get("generation", 1)
        )
        counts = (status.get(k, 0) for k in ("updatedReplicas", "replicas", "availableReplicas"))
        if not current or any(int(n) != want for n in counts):
            return False
    return True


def _retiring(kube: KubeClient, owner: Owner, spec: IndexSpec, retired: str) -> ModelSwitch:
    """After the switch to ``spec.model``: Rolling until the retire Job exists, then its step."""
    name = retire_job_name(owner.name, retired)
    job = kube.get("batch/v1", "Job", owner.namespace, name)
    if job is None:  # launched by ``retire_when_rolled`` once the roll is over
        return ModelSwitch(retired, spec.model, name, "Rolling", "the pods roll to the new model")
    pods = kube.list("v1", "Pod", owner.namespace, f"job-name={name}")
    outcome = job_outcome(job, pods)
    if outcome.phase == c.SOURCE_PHASE_SYNCED:
        _record(kube, owner, {"retiredModel": None})
        return ModelSwitch(retired, spec.model, name, "Switched", f"{retired}'s vectors dropped")
    state = "RetireFailed" if outcome.phase == c.SOURCE_PHASE_FAILED else "Retiring"
    return ModelSwitch(retired, spec.model, name, state, outcome.message)


def retire_when_rolled(
    kube: KubeClient, owner: Owner, spec: IndexSpec, switch: ModelSwitch
) -> ModelSwitch:
    """A ``Rolling`` switch whose pods have all rolled: launch the retire Job (``Retiring``).

    Called by a reconcile that has just applied the new model's objects and found no
    Deployment to change, so the Deployments it looks at carry the new templates (a reconcile
    running beside the one that moved ``activeModel`` could otherwise see the old ones, all
    rolled out).
    """
    if not rolled_out(kube, owner):
        return switch
    outcome, created = _run_job(
        kube, owner, switch.job, lambda: build_retire_job(owner, spec, switch.current)
    )
    return replace(switch, state="Retiring", message=outcome.message, launched=created)


def model_switch(
    kube: KubeClient, owner: Owner, spec: IndexSpec, status: dict[str, Any]
) -> tuple[IndexSpec, ModelSwitch | None]:
    """The spec the pods serve with, and where a model change stands.

    A new index serves ``spec.model`` at once. A changed model first re-indexes in a Job
    (search stays on the old model and its collection meanwhile); when it has succeeded, the
    active model moves and the pods roll to it; once they have, the old model is retired.
    """
    active = status.get("activeModel")
    if active is None:
        _record(kube, owner, {"activeModel": spec.model})
        return spec, None
    if active == spec.model:
        retired = status.get("retiredModel")
        return spec, (_retiring(kube, owner, spec, retired) if retired else None)
    name = reindex_job_name(owner.name, spec.model)
    outcome, created = _run_job(kube, owner, name, lambda: build_reindex_job(owner, spec))
    if outcome.phase == c.SOURCE_PHASE_SYNCED:
        if active == "auto":  # one shared collection: nothing of its own to retire
            _record(kube, owner, {"activeModel": spec.model})
            return spec, ModelSwitch(active, spec.model, name, "Switched", outcome.message)
        _record(kube, owner, {"activeModel": spec.model, "retiredModel": active})
        retire = retire_job_name(owner.name, active)
        return spec, ModelSwitch(active, spec.model, retire, "Rolling", "re-indexed; the pods roll")
    serving = replace(spec, model=active)
    kind = "ReindexFailed" if outcome.phase == c.SOURCE_PHASE_FAILED else "Reindexing"
    return serving, ModelSwitch(active, spec.model, name, kind, outcome.message, created)
