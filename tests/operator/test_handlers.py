"""The kopf handlers' ids: kopf keys its progress annotations (``visualsearch.dev/<id>``) by them."""

from __future__ import annotations

import kopf

import visualsearch_operator.handlers  # noqa: F401  (importing it registers every handler)


def registered(kind: str) -> set[tuple[str, str]]:
    """(handler id, function name) of one of the default registry's handler kinds."""
    # kopf has no public listing of its registry; these attributes are stable since 1.30.
    registry = getattr(kopf.get_default_registry(), kind)
    return {(h.id, h.fn.__name__) for h in registry.get_all_handlers()}


def test_create_update_and_resume_share_one_function_and_keep_their_ids() -> None:
    # An operator upgraded while a handler retries must find its progress under the same id.
    assert registered("_changing") == {
        ("index_create", "index_reconcile"),
        ("index_update/spec", "index_reconcile"),
        ("index_resume", "index_reconcile"),
        ("index_delete", "index_delete"),
        ("source_create", "source_reconcile"),
        ("source_update/spec", "source_reconcile"),
        ("source_resume", "source_reconcile"),
        ("source_delete", "source_delete"),
    }
    assert registered("_spawning") == {
        ("index_drift", "index_drift"),
        ("source_schedule", "source_reconcile"),
    }
