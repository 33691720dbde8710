"""Spec parsing: defaults agree with the CRDs', and impossible specs are permanent errors."""

from __future__ import annotations

import kopf
import pytest

from tests.operator.helpers import INDEX_CRD, SOURCE_CRD, apply_defaults, openapi_schema
from visualsearch_operator.exceptions import InvalidSpecError
from visualsearch_operator.spec import parse_index_spec, parse_source_spec


def test_index_parser_defaults_match_the_crd_defaults() -> None:
    defaulted = apply_defaults(openapi_schema(INDEX_CRD)["properties"]["spec"], {})
    assert defaulted["embedding"]["maxReplicas"] == 4  # the CRD really defaulted something
    assert parse_index_spec({}) == parse_index_spec(defaulted)


def test_source_parser_defaults_match_the_crd_defaults() -> None:
    given = {"indexRef": {"name": "demo"}, "type": "Demo"}
    defaulted = apply_defaults(openapi_schema(SOURCE_CRD)["properties"]["spec"], given)
    assert defaulted["backoffLimit"] == 2
    assert parse_source_spec(given) == parse_source_spec(defaulted)


def test_index_defaults_are_what_the_docs_promise() -> None:
    spec = parse_index_spec({})
    assert spec.model == "openai/clip-vit-base-patch32"
    assert (spec.autoscaling.min_replicas, spec.autoscaling.max_replicas) == (1, 4)
    assert spec.ingress.rate_limit_per_minute == 60
    assert spec.ingress.controller == "nginx"
    assert spec.vector_store.in_cluster and spec.database.in_cluster
    assert spec.retain_data is False


def test_min_replicas_above_max_is_a_permanent_error() -> None:
    with pytest.raises(
        InvalidSpecError, match=r"minReplicas \(5\) is larger than maxReplicas \(2\)"
    ):
        parse_index_spec({"embedding": {"minReplicas": 5, "maxReplicas": 2}})
    assert issubclass(InvalidSpecError, kopf.PermanentError)


def test_gateway_without_parents_is_rejected() -> None:
    with pytest.raises(InvalidSpecError, match="parentRefs"):
        parse_index_spec({"gateway": {"enabled": True}})


def test_external_store_switches_off_the_in_cluster_one() -> None:
    spec = parse_index_spec(
        {"database": {"external": {"urlSecretRef": {"name": "db", "key": "u"}}}}
    )
    assert not spec.database.in_cluster
    assert spec.redis.in_cluster


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"type": "Url"}, "needs spec.url"),
        ({"type": "S3"}, "needs spec.s3"),
        ({"type": "ConfigMap"}, "needs spec.configMap"),
        ({"type": "Ftp"}, "not one of"),
        ({"type": "Demo", "schedule": "61 * * * *"}, "minute field"),
        ({"type": "Demo", "schedule": "* * *"}, "five fields"),
    ],
)
def test_impossible_sources_are_rejected(spec: dict, message: str) -> None:
    with pytest.raises(InvalidSpecError, match=message):
        parse_source_spec({"indexRef": {"name": "demo"}, **spec})


def test_source_identity_ignores_scheduling_fields() -> None:
    base = {"indexRef": {"name": "demo"}, "type": "Url", "url": "https://x.example/a.csv"}
    plain = parse_source_spec(base)
    scheduled = parse_source_spec(
        {**base, "schedule": "@daily", "suspend": True, "backoffLimit": 5}
    )
    pruning = parse_source_spec({**base, "prune": True})
    assert plain.identity() == scheduled.identity()
    assert plain.identity() != pruning.identity()
