"""Helpers shared by the kopf handlers: plain bodies, error reporting, phase-change events."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import kopf

from visualsearch_operator.context import OperatorContext
from visualsearch_operator.exceptions import DependencyNotReadyError, OperatorError
from visualsearch_operator.services.status import StatusUpdate

T = TypeVar("T")


def plain(body: Mapping[str, Any]) -> dict[str, Any]:
    """kopf's Body as a plain dict (its values are already plain)."""
    return dict(body)


def context(memo: kopf.Memo) -> OperatorContext:
    """The process context built by the startup handler."""
    ctx = memo.get("context")
    if not isinstance(ctx, OperatorContext):
        raise kopf.TemporaryError("operator context not ready yet", delay=2)
    return ctx


def reporting(
    ctx: OperatorContext,
    body: dict[str, Any],
    action: Callable[[], T],
    fail: Callable[[OperatorError], None],
) -> T:
    """Run ``action``; a permanent error goes to status (``fail``) and into a Warning event."""
    try:
        return action()
    except DependencyNotReadyError as exc:
        if (body.get("status") or {}).get("message") != str(exc):
            ctx.events.normal(body, exc.reason, str(exc))
        raise
    except kopf.PermanentError as exc:
        if isinstance(exc, OperatorError):
            fail(exc)
            ctx.events.warning(body, exc.reason, str(exc))
        raise


def phase_event(ctx: OperatorContext, body: Mapping[str, Any], update: StatusUpdate | None) -> None:
    """Post an event when a status write moved the phase (a Warning for Degraded and Failed)."""
    if update is None or not update.moved or not update.phase:
        return
    message = str(update.status.get("message", ""))
    if update.phase in ("Degraded", "Failed"):
        ctx.events.warning(body, update.phase, message)
    else:
        ctx.events.normal(body, update.phase, message)
