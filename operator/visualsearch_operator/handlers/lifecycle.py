"""Operator start and stop: kopf settings and the per-process context in ``memo``."""

from __future__ import annotations

import logging
from typing import Any

import kopf

from visualsearch_operator import constants as c
from visualsearch_operator.context import OperatorContext


@kopf.on.startup()
def operator_startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    """Name our finalizer and annotations after our group, and build the context once."""
    settings.persistence.finalizer = f"{c.GROUP}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=c.GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=c.GROUP, key="last-handled-configuration"
    )
    settings.posting.level = logging.WARNING  # events are posted on purpose, not per log line
    settings.execution.max_workers = 4
    settings.watching.server_timeout = 300
    memo.context = OperatorContext.create()


@kopf.on.cleanup()
def operator_cleanup(memo: kopf.Memo, **_: Any) -> None:
    """Close the API client."""
    context = memo.get("context")
    if context is not None:
        context.close()


@kopf.on.probe(id="api")
def operator_probe(memo: kopf.Memo, **_: Any) -> str:
    """Liveness detail: the context exists (the startup handler finished)."""
    return "ready" if memo.get("context") is not None else "starting"
