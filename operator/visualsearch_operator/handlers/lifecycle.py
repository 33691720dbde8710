"""Operator start and stop: kopf settings and the per-process context in ``memo``."""

from __future__ import annotations

import logging
from typing import Any

import kopf

from visualsearch_operator import constants as c
from visualsearch_operator.context import OperatorContext
from visualsearch_operator.kube import load_configuration


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


@kopf.on.login()
def operator_login(**_: Any) -> kopf.ConnectionInfo:
    """kopf's own connection: the same service account or ``$KUBECONFIG`` as our client."""
    cfg = load_configuration()
    header = cfg.get_api_key_with_prefix("BearerToken") or cfg.get_api_key_with_prefix(
        "authorization"
    )
    scheme, _space, token = (header or "").rpartition(" ")
    return kopf.ConnectionInfo(
        server=cfg.host,
        ca_path=cfg.ssl_ca_cert,
        insecure=not cfg.verify_ssl,
        scheme=scheme or None,
        token=token or None,
        certificate_path=cfg.cert_file,
        private_key_path=cfg.key_file,
    )


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
