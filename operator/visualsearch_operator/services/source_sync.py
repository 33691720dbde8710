"""Reconcile a CatalogSource: one indexing Job per distinct spec (and schedule slot)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, NoReturn

from visualsearch_operator import constants as c
from visualsearch_operator.builders.common import Owner
from visualsearch_operator.builders.jobs import build_sync_job, spec_hash, sync_job_name
from visualsearch_operator.exceptions import DependencyNotReadyError, OperatorError
from visualsearch_operator.kube import KubeClient, Obj
from visualsearch_operator.schedule import next_fire
from visualsearch_operator.services import status as st
from visualsearch_operator.services.jobs import JobOutcome, job_outcome
from visualsearch_operator.spec import parse_index_spec, parse_source_spec

SERVING = (c.PHASE_READY, c.PHASE_DEGRADED)


def due_slot(schedule: str, last_sync: datetime | None, now: datetime) -> datetime | None:
    """The latest passed schedule slot after ``last_sync``, if any (missed slots collapse)."""
    if last_sync is None:
        return None
    slot = next_fire(schedule, last_sync)
    if slot > now:
        return None
    while (following := next_fire(schedule, slot)) <= now:
        slot = following
    return slot


@dataclass
class SyncDecision:
    """What a reconcile did: the Job it wants, and whether it launched it now."""

    job_name: str
    digest: str
    launched: bool
    slot: datetime | None = None


@dataclass
class CatalogSourceService:
    """Drives a CatalogSource; a rerun with the same spec launches nothing."""

    kube: KubeClient
    retry_delay: float = 15.0
    job_history: int = 3

    def reconcile(self, body: Obj, now: datetime | None = None) -> SyncDecision | None:
        """Launch the sync the spec (or the schedule) calls for, then report its state."""
        now = now or datetime.now(UTC)
        meta = body["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        generation = int(meta.get("generation", 1))
        source = parse_source_spec(body.get("spec") or {})
        old = body.get("status") or {}
        if source.suspend:
            self.write_status(
                namespace,
                name,
                {
                    "phase": c.SOURCE_PHASE_SUSPENDED,
                    "message": "spec.suspend is true",
                    "observedGeneration": generation,
                },
            )
            return None
        index = self.kube.get(c.API_VERSION, c.INDEX_KIND, namespace, source.index_name)
        if index is None:
            self._wait(body, f"VisualSearchIndex {source.index_name} not found")
        phase = (index.get("status") or {}).get("phase")
        if phase not in SERVING:
            self._wait(body, f"VisualSearchIndex {source.index_name} is {phase or 'Pending'}")
        index_spec = parse_index_spec(index.get("spec") or {})
        active = (index.get("status") or {}).get("activeModel")
        if active:  # the model the index's pods serve with (not yet spec.model mid-switch)
            index_spec = replace(index_spec, model=active)
        digest = spec_hash(source)
        slot = None
        if old.get("specHash") == digest and old.get("jobName"):
            if source.schedule:
                slot = due_slot(source.schedule, st.parse_time(old.get("lastSyncTime")), now)
            if slot is None:
                self.refresh_status(body, observed=generation)
                return SyncDecision(old["jobName"], digest, launched=False)
        owner = Owner(c.SOURCE_KIND, name, namespace, meta["uid"])
        job = build_sync_job(owner, source, index_spec, digest, slot)
        created = self.kube.create(job)
        job_name = job["metadata"]["name"]
        self.write_status(
            namespace,
            name,
            {
                "phase": c.SOURCE_PHASE_SYNCING,
                "message": f"Job {job_name} launched",
                "specHash": digest,
                "jobName": job_name,
                "lastSyncTime": st.now_iso(now),
                "observedGeneration": generation,
                "productsIndexed": None,
                "productsFailed": None,
                "productsPruned": None,
            },
        )
        self._trim_history(namespace, name, keep=job_name)
        self.refresh_status(body, observed=generation)
        return SyncDecision(job_name, digest, launched=created is not None, slot=slot)

    def _wait(self, body: Obj, message: str) -> NoReturn:
        meta = body["metadata"]
        self.write_status(
            meta["namespace"],
            meta["name"],
            {
                "phase": c.SOURCE_PHASE_PENDING,
                "message": message,
                "conditions": st.merge_conditions(
                    (body.get("status") or {}).get("conditions"),
                    [
                        st.condition(
                            "IndexReady",
                            False,
                            "IndexNotReady",
                            message,
                            int(meta.get("generation", 1)),
                        )
                    ],
                ),
            },
        )
        raise DependencyNotReadyError(message, delay=self.retry_delay)

    def refresh_status(self, body: Obj, observed: int | None = None) -> st.StatusUpdate | None:
        """Copy the current Job's progress and outcome into the source's status.

        The source is re-read and written with its ``resourceVersion`` (see
        :meth:`KubeClient.update_status`), so a Job event and a reconcile cannot interleave into
        a stale status. ``observed`` is the generation a reconcile just handled.
        """
        meta = body["metadata"]
        namespace = meta["namespace"]

        def compute(fresh: Obj) -> dict[str, Any] | None:
            old = fresh.get("status") or {}
            job_name = str(old.get("jobName") or "")
            job = self.kube.get("batch/v1", "Job", namespace, job_name) if job_name else None
            if job is None:
                # Not launched yet, pruned from history, or deleted by hand: the status stands.
                return {"observedGeneration": observed} if observed else None
            pods = self.kube.list("v1", "Pod", namespace, f"job-name={job_name}")
            return self._status(fresh, job_name, job_outcome(job, pods), observed)

        return st.updated(
            self.kube.update_status(c.API_VERSION, c.SOURCE_KIND, namespace, meta["name"], compute)
        )

    def _status(
        self, source: Obj, job_name: str, outcome: JobOutcome, observed: int | None
    ) -> dict[str, Any]:
        old = source.get("status") or {}
        generation = int(source["metadata"].get("generation", 1))
        synced = outcome.phase == c.SOURCE_PHASE_SYNCED
        conditions = [
            st.condition("IndexReady", True, "IndexServing", "the index is serving", generation),
            st.condition(
                "Synced",
                synced if outcome.phase != c.SOURCE_PHASE_SYNCING else None,
                outcome.phase,
                outcome.message,
                generation,
            ),
        ]
        status: dict[str, Any] = {
            "phase": outcome.phase,
            "message": f"Job {job_name}: {outcome.message}",
            "conditions": st.merge_conditions(old.get("conditions"), conditions),
        }
        if observed:
            status["observedGeneration"] = observed
        for key, value in (
            ("productsIndexed", outcome.indexed),
            ("productsFailed", outcome.failed),
            ("productsPruned", outcome.pruned),
        ):
            if value is not None:
                status[key] = value
        if synced and outcome.finished_at:
            status["lastSuccessfulSyncTime"] = outcome.finished_at
        schedule = (source.get("spec") or {}).get("schedule")
        last = st.parse_time(old.get("lastSyncTime"))
        if schedule and last:
            status["nextSyncTime"] = st.now_iso(next_fire(schedule, last))
        return status

    def refresh_by_name(self, namespace: str, name: str) -> st.StatusUpdate | None:
        """Re-read a source and refresh its status (its Job changed); ``None`` if it is gone."""
        body = self.kube.get(c.API_VERSION, c.SOURCE_KIND, namespace, name)
        if body is None or body["metadata"].get("deletionTimestamp"):
            return None
        return self.refresh_status(body)

    def _trim_history(self, namespace: str, name: str, keep: str) -> None:
        """Keep the newest ``job_history`` sync Jobs of a source (and always ``keep``)."""
        jobs = self.kube.list("batch/v1", "Job", namespace, f"{c.LABEL_SOURCE}={name}")
        jobs.sort(key=lambda j: j["metadata"].get("creationTimestamp") or "", reverse=True)
        for old in jobs[self.job_history :]:
            if old["metadata"]["name"] != keep:
                self.kube.delete("batch/v1", "Job", namespace, old["metadata"]["name"])

    def fail(self, body: Obj, error: OperatorError) -> None:
        """Report a spec that can never work."""
        meta = body["metadata"]
        generation = int(meta.get("generation", 1))
        self.write_status(
            meta["namespace"],
            meta["name"],
            {
                "phase": c.SOURCE_PHASE_FAILED,
                "message": str(error),
                "observedGeneration": generation,
                "conditions": st.merge_conditions(
                    (body.get("status") or {}).get("conditions"),
                    [st.condition("Synced", False, error.reason, str(error), generation)],
                ),
            },
        )

    def write_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        """Merge ``status`` into the source's status subresource (``None`` removes a field)."""
        self.kube.merge_patch(
            c.API_VERSION, c.SOURCE_KIND, namespace, name, {"status": status}, subresource="status"
        )

    def cleanup(self, body: Obj) -> list[str]:
        """Delete the source's Jobs (their pods follow); indexed products stay in the index."""
        meta = body["metadata"]
        removed = []
        for job in self.kube.list(
            "batch/v1", "Job", meta["namespace"], f"{c.LABEL_SOURCE}={meta['name']}"
        ):
            if self.kube.delete("batch/v1", "Job", meta["namespace"], job["metadata"]["name"]):
                removed.append(f"Job/{job['metadata']['name']}")
        return removed


__all__ = ["CatalogSourceService", "SyncDecision", "due_slot", "sync_job_name"]
