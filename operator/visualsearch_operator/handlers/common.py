"""Helpers shared by the kopf handlers: plain bodies, error reporting, phase-change events."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import kopf

from visualsearch_operator.context import OperatorContext
from visualsearch_operator.exceptions import DependencyNotReadyError, OperatorError

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


def phase_event(
    ctx: OperatorContext, body: Mapping[str, Any], old: str | None, new: str | None, message: str
) -> None:
    """Post an event when the phase moves (a Warning when it moves to Degraded or Failed)."""
    if new and new != old:
        if new in ("Degraded", "Failed"):
            ctx.events.warning(body, new, message)
        else:
            ctx.events.normal(body, new, message)
