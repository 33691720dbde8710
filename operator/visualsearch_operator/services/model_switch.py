"""A model change on an index: re-index in a Job first, switch the serving pods after.

Search keeps the old model (and vector generation) while ``visualsearch reindex`` fills the new
one; only when that Job has succeeded does ``status.activeModel`` move, and with it the pods.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from visualsearch_operator import constants as c
from visualsearch_operator.builders.common import Owner
from visualsearch_operator.builders.reindex import build_reindex_job, reindex_job_name
from visualsearch_operator.kube import KubeClient
from visualsearch_operator.services import status as st
from visualsearch_operator.services.jobs import job_outcome
from visualsearch_operator.spec import IndexSpec


@dataclass(frozen=True)
class ModelSwitch:
    """A model change in progress (or just done): from, to, the re-index Job and its state."""

    current: str
    target: str
    job: str
    state: str  # Reindexing | ReindexFailed | Switched
    message: str
    launched: bool = False

    def condition(self, generation: int) -> dict[str, Any]:
        """The ``ModelSwitch`` condition: Unknown while re-indexing, then True or False."""
        ok = {"Reindexing": None, "Switched": True}.get(self.state, False)
        text = f"{self.current} -> {self.target}: Job {self.job}: {self.message}"
        return st.condition("ModelSwitch", ok, self.state, text, generation)


def _record(kube: KubeClient, owner: Owner, model: str) -> None:
    """Write the model the pods serve with (``status.activeModel``)."""
    status = {"status": {"activeModel": model}}
    kube.merge_patch(
        c.API_VERSION, c.INDEX_KIND, owner.namespace, owner.name, status, subresource="status"
    )


def model_switch(
    kube: KubeClient, owner: Owner, spec: IndexSpec, active: str | None
) -> tuple[IndexSpec, ModelSwitch | None]:
    """The spec the pods serve with, and where a model change stands.

    A new index serves ``spec.model`` at once. A changed model first re-indexes in a Job
    (search stays on the old model and generation meanwhile); when it has succeeded, the
    active model moves and the pods roll to it.
    """
    if active is None or active == spec.model:
        if active is None:
            _record(kube, owner, spec.model)
        return spec, None
    name = reindex_job_name(owner.name, spec.model)
    job = kube.get("batch/v1", "Job", owner.namespace, name)
    created = job is None
    if job is None:
        kube.create(build_reindex_job(owner, spec))
        job = kube.get("batch/v1", "Job", owner.namespace, name) or {}
    pods = kube.list("v1", "Pod", owner.namespace, f"job-name={name}")
    outcome = job_outcome(job, pods)
    if outcome.phase == c.SOURCE_PHASE_SYNCED:
        _record(kube, owner, spec.model)
        return spec, ModelSwitch(active, spec.model, name, "Switched", outcome.message)
    serving = replace(spec, model=active)
    kind = "ReindexFailed" if outcome.phase == c.SOURCE_PHASE_FAILED else "Reindexing"
    return serving, ModelSwitch(active, spec.model, name, kind, outcome.message, created)
