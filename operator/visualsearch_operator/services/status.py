"""Pure status arithmetic: component readiness, phases and Kubernetes-style conditions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from visualsearch_operator import constants as c


@dataclass(frozen=True)
class StatusUpdate:
    """A status written, and the phase it replaced (to post an event only on a real move)."""

    previous: str | None
    status: dict[str, Any]

    @property
    def phase(self) -> str | None:
        """The phase now."""
        return self.status.get("phase")

    @property
    def moved(self) -> bool:
        """Whether the phase changed with this write."""
        return bool(self.phase) and self.phase != self.previous


def updated(result: tuple[dict[str, Any], dict[str, Any]] | None) -> StatusUpdate | None:
    """A :class:`StatusUpdate` from ``KubeClient.update_status``'s answer."""
    if result is None:
        return None
    before, status = result
    return StatusUpdate((before.get("status") or {}).get("phase"), status)


def now_iso(moment: datetime | None = None) -> str:
    """RFC 3339 UTC timestamp with seconds, as Kubernetes writes them."""
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str | None) -> datetime | None:
    """Parse a timestamp written by :func:`now_iso` (or by Kubernetes)."""
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class Readiness:
    """How much of one workload is serving."""

    component: str
    desired: int
    ready: int
    exists: bool = True

    @property
    def full(self) -> bool:
        """All desired replicas are ready (a component scaled to 0 counts as ready)."""
        return self.exists and self.ready >= self.desired

    @property
    def summary(self) -> str:
        """``ready/desired``, or ``missing`` when the workload does not exist."""
        return f"{self.ready}/{self.desired}" if self.exists else "missing"


def workload_readiness(component: str, obj: dict[str, Any] | None) -> Readiness:
    """Readiness of a Deployment or StatefulSet from its status (what the kubelet reports)."""
    if obj is None:
        return Readiness(component, desired=1, ready=0, exists=False)
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    desired = int(spec.get("replicas", 1))
    ready = int(status.get("readyReplicas") or 0)
    if obj.get("kind") == "Deployment":
        ready = min(ready, int(status.get("availableReplicas") or 0))
    stale = int(status.get("observedGeneration") or 0) < int(obj["metadata"].get("generation", 0))
    if stale:
        ready = min(ready, int(status.get("updatedReplicas") or 0))
    return Readiness(component, desired=desired, ready=ready)


def index_phase(previous: str | None, parts: list[Readiness]) -> str:
    """Ready when all is; Provisioning until it first was; Degraded when it was and no longer is."""
    if all(p.full for p in parts):
        return c.PHASE_READY
    if previous in (c.PHASE_READY, c.PHASE_DEGRADED):
        return c.PHASE_DEGRADED
    return c.PHASE_PROVISIONING


def condition(
    kind: str, ok: bool | None, reason: str, message: str, generation: int
) -> dict[str, Any]:
    """One condition (``ok=None``: Unknown); :func:`merge_conditions` sets its time."""
    status = "Unknown" if ok is None else ("True" if ok else "False")
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
    }


def merge_conditions(
    old: list[dict[str, Any]] | None, new: list[dict[str, Any]], moment: datetime | None = None
) -> list[dict[str, Any]]:
    """New conditions replace old ones of their type; the time moves only on a change."""
    previous = {cond["type"]: cond for cond in old or []}
    stamp = now_iso(moment)
    merged = {cond["type"]: dict(cond) for cond in old or []}
    for cond in new:
        before = previous.get(cond["type"])
        same = before is not None and before.get("status") == cond["status"]
        kept = before.get("lastTransitionTime") if same and before else None
        merged[cond["type"]] = {**cond, "lastTransitionTime": kept or stamp}
    return list(merged.values())
