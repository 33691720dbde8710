"""Pure reading of an indexing Job's outcome: phase, timing and the seeder's report."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from visualsearch_operator import constants as c

_PAIR = re.compile(r"\b(indexed|failed|pruned)[=:]\s*(\d+)")
_SUMMARY = re.compile(r"(\d+) rows: (\d+) added, (\d+) updated, (\d+) unchanged, (\d+) rejected")
"""The seeder's summary line (``visualsearch seed``)."""


@dataclass(frozen=True)
class JobOutcome:
    """Where one sync Job stands."""

    phase: str
    message: str
    finished_at: str | None = None
    indexed: int | None = None
    failed: int | None = None
    pruned: int | None = None


def parse_report(text: str | None) -> dict[str, int]:
    """Counts in the sync's termination message: the seeder's summary and ``pruned=N``.

    JSON (``{"indexed": N, ...}``) and ``key=N`` pairs are read too.
    """
    if not text:
        return {}
    try:
        data = json.loads(text.strip().splitlines()[-1])
    except (ValueError, IndexError):
        data = None
    if isinstance(data, dict):
        return {
            k: int(v)
            for k, v in data.items()
            if k in ("indexed", "failed", "pruned") and isinstance(v, int | float)
        }
    counts = {key: int(value) for key, value in _PAIR.findall(text)}
    summary = _SUMMARY.search(text)
    if summary:
        _, added, updated, unchanged, rejected = (int(g) for g in summary.groups())
        counts["indexed"] = added + updated + unchanged
        counts["failed"] = rejected
    return counts


def _condition(job: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind and cond.get("status") == "True":
            return dict(cond)
    return None


def job_outcome(job: dict[str, Any], pods: list[dict[str, Any]]) -> JobOutcome:
    """Phase of a sync from its Job's status and, once a pod ended, the counts it reported."""
    status = job.get("status") or {}
    report: dict[str, int] = {}
    for pod in sorted(pods, key=lambda p: p["metadata"].get("creationTimestamp") or ""):
        for cs in (pod.get("status") or {}).get("containerStatuses") or []:
            terminated = (cs.get("state") or {}).get("terminated") or {}
            if cs.get("name") == "seed" and terminated.get("message"):
                report = parse_report(terminated["message"]) or report
    counts = {
        "indexed": report.get("indexed"),
        "failed": report.get("failed"),
        "pruned": report.get("pruned"),
    }
    complete = _condition(job, "Complete")
    if complete:
        return JobOutcome(
            c.SOURCE_PHASE_SYNCED,
            "sync finished",
            status.get("completionTime") or complete.get("lastTransitionTime"),
            **counts,
        )
    failed = _condition(job, "Failed")
    if failed:
        why = failed.get("message") or failed.get("reason") or "the indexing Job failed"
        return JobOutcome(c.SOURCE_PHASE_FAILED, why, failed.get("lastTransitionTime"), **counts)
    active = int(status.get("active") or 0)
    retries = int(status.get("failed") or 0)
    message = "indexing" if active else "waiting for the indexing pod"
    if retries:
        message += f" (attempt {retries + 1})"
    return JobOutcome(c.SOURCE_PHASE_SYNCING, message, None, **counts)
