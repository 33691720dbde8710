"""Settings contract: every ``VISUALSEARCH_*`` variable that the charts or the operator hand to a
container is a field of the settings class that reads it.

Why: both settings classes ignore unknown variables (``extra="ignore"``), so a misspelt name in a
template or a builder is silently dropped and the service runs on its default. This test renders
the platform chart (defaults, and values files that turn on every optional part), the operator's
chart, and the operator's own objects for full-featured specs, and checks each name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from tests.charts.helm import CHARTS, of_kind, pod_spec, render
from tests.support.kube import find_binary
from visualsearch.config import Settings
from visualsearch_operator.builders.common import Capabilities, Owner
from visualsearch_operator.builders.jobs import build_sync_job
from visualsearch_operator.builders.reindex import build_reindex_job
from visualsearch_operator.charts import ChartRenderer
from visualsearch_operator.services.index_reconcile import render_children
from visualsearch_operator.settings import OperatorSettings
from visualsearch_operator.spec import parse_index_spec, parse_source_spec

Obj = dict[str, Any]
VALUES = Path(__file__).with_name("values")
OPERATOR_CHART = CHARTS / "visual-search-operator"
PREFIX = "VISUALSEARCH_"
OPERATOR_PREFIX = "VISUALSEARCH_OPERATOR_"
REFERENCE = re.compile(r"\$\((VISUALSEARCH_[A-Z0-9_]+)\)")
POD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "Pod")
# A cluster that serves every optional API the chart can render for.
EVERY_API = [
    f"--api-versions={api}"
    for api in ("monitoring.coreos.com/v1", "traefik.io/v1alpha1", "gateway.networking.k8s.io/v1")
]

OWNER = Owner("VisualSearchIndex", "shop", "store-ns", "uid-1")
EVERY_CAPABILITY = Capabilities(
    hpa_api_version="autoscaling/v2", traefik_middleware=True, gateway_api=True
)
IN_CLUSTER_INDEX = {
    "model": "openai/clip-vit-base-patch32",
    "vectorStore": {"replicas": 3, "shards": 2, "quantization": "scalar", "onDisk": True},
    "storefront": {"enabled": True},
    "ingress": {"host": "shop.example", "tlsSecretName": "shop-tls", "controller": "traefik"},
    "gateway": {"enabled": True, "parentRefs": [{"name": "gw"}]},
    "apiKeySecretRef": {"name": "shop-api-key"},
}
EXTERNAL_INDEX = {
    "vectorStore": {
        "external": {
            "url": "https://qdrant.example:6333",
            "apiKeySecretRef": {"name": "qd", "key": "api-key"},
        }
    },
    "database": {"external": {"urlSecretRef": {"name": "db", "key": "url"}}},
    "objectStore": {
        "bucket": "shop",
        "external": {
            "endpoint": "s3.example.com",
            "secure": True,
            "credentialsSecretRef": {"name": "s3"},
        },
    },
    "redis": {"external": {"urlSecretRef": {"name": "rd", "key": "url"}}},
}
PGVECTOR_INDEX = {"vectorStore": {"type": "pgvector"}}
SOURCES = [
    {"type": "Demo", "prune": True},
    {"type": "Url", "url": "https://feeds.example/items.csv"},
    {"type": "ConfigMap", "configMap": {"name": "items", "key": "items.csv"}},
    {"type": "S3", "s3": {"bucket": "feeds", "key": "items.jsonl"}},
    {
        "type": "S3",
        "s3": {
            "bucket": "feeds",
            "key": "items.csv",
            "endpoint": "s3.example.com",
            "credentialsSecretRef": {"name": "feed-s3"},
        },
    },
]


def accepted_names(settings: type[BaseSettings]) -> set[str]:
    """The environment variables a settings class reads (its prefix, or a field's aliases)."""
    prefix = str(settings.model_config.get("env_prefix", ""))
    names = set()
    for name, info in settings.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {choice.upper() for choice in alias.choices if isinstance(choice, str)}
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def containers(obj: Obj) -> Iterator[Obj]:
    """Every container and init container of a workload."""
    pod = pod_spec(obj)
    yield from pod.get("initContainers") or []
    yield from pod.get("containers") or []


def strings(value: Any) -> Iterator[str]:
    """Every string inside a manifest fragment."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def variables(objs: Iterable[Obj]) -> dict[str, set[str]]:
    """``VISUALSEARCH_*`` name → where it was found, over every container of ``objs``.

    A name counts when it is an ``env`` entry, a key of a ConfigMap or Secret that ``envFrom``
    loads (when that object is among ``objs``), or a ``$(NAME)`` reference in the container.
    """
    objs = list(objs)
    sources = {
        (o["kind"], o["metadata"]["name"]): {**(o.get("data") or {}), **(o.get("stringData") or {})}
        for o in objs
        if o["kind"] in ("ConfigMap", "Secret")
    }
    found: dict[str, set[str]] = {}
    for obj in objs:
        if obj["kind"] not in POD_KINDS:
            continue
        for container in containers(obj):
            where = f"{obj['kind']}/{obj['metadata']['name']} container {container['name']}"
            names = {e["name"] for e in container.get("env") or []}
            for ref in container.get("envFrom") or []:
                for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                    if key in ref:
                        data = sources.get((kind, ref[key]["name"]), {})
                        names |= {ref.get("prefix", "") + k for k in data}
            names |= {m for text in strings(container) for m in REFERENCE.findall(text)}
            for name in names:
                if name.startswith(PREFIX):
                    found.setdefault(name, set()).add(where)
    return found


def unknown(found: dict[str, set[str]]) -> list[str]:
    """Names no settings class reads: ``VISUALSEARCH_OPERATOR_*`` by the operator's, the rest by
    the service's."""
    service, operator = accepted_names(Settings), accepted_names(OperatorSettings)
    wrong = []
    for name, where in sorted(found.items()):
        known = operator if name.startswith(OPERATOR_PREFIX) else service
        if name not in known:
            wrong.append(f"{name} (in {', '.join(sorted(where))})")
    return wrong


def operator_objects(raw: dict[str, Any]) -> list[Obj]:
    """What the operator builds for one index: its children, re-index and sync Jobs."""
    spec = parse_index_spec(raw)
    renderer = ChartRenderer(helm=str(find_binary("helm")))
    objs = render_children(renderer, OWNER, spec, EVERY_CAPABILITY)
    objs.append(build_reindex_job(OWNER, spec))
    for n, source in enumerate(SOURCES):
        owner = Owner("CatalogSource", f"source-{n}", OWNER.namespace, f"uid-src-{n}")
        parsed = parse_source_spec({"indexRef": {"name": OWNER.name}, **source})
        objs.append(build_sync_job(owner, parsed, spec, "0123456789"))
    return objs


@pytest.mark.parametrize(
    "values",
    [None, "everything-in-cluster.yaml", "everything-external.yaml", "pgvector-by-url.yaml"],
)
def test_platform_chart_sets_only_settings_fields(values: str | None) -> None:
    objs = render(*EVERY_API, *(["--values", str(VALUES / values)] if values else []))
    found = variables(objs)
    assert "VISUALSEARCH_MODEL" in found and "VISUALSEARCH_DATABASE_URL" in found
    assert unknown(found) == []


def test_every_optional_part_is_rendered() -> None:
    # The values files must keep turning on what they say (a part renamed would drop out).
    full = render(*EVERY_API, "--values", str(VALUES / "everything-in-cluster.yaml"))
    kinds = {o["kind"] for o in full}
    assert {"ServiceMonitor", "NetworkPolicy", "HTTPRoute", "PodDisruptionBudget"} <= kinds
    jobs = {o["metadata"]["name"] for o in of_kind(full, "Job")}
    assert any("seed" in job for job in jobs) and any("migrate" in job for job in jobs)


def test_operator_chart_sets_only_operator_settings_fields() -> None:
    for extra in ([], ["--set", "settings.verbose=true", "--set", "watchNamespaces={a,b}"]):
        found = variables(render(*extra, chart=OPERATOR_CHART))
        assert set(found) >= {f"{OPERATOR_PREFIX}RETRY_DELAY", f"{OPERATOR_PREFIX}JOB_HISTORY"}
        assert unknown(found) == []


@pytest.mark.parametrize("index", [IN_CLUSTER_INDEX, EXTERNAL_INDEX, PGVECTOR_INDEX])
def test_operator_objects_set_only_settings_fields(index: dict[str, Any]) -> None:
    objs = operator_objects(index)
    assert {o["kind"] for o in objs} >= {"Deployment", "Job", "ConfigMap"}
    found = variables(objs)
    assert {"VISUALSEARCH_MODEL", "VISUALSEARCH_S3_ENDPOINT", "VISUALSEARCH_API_KEY"} <= set(found)
    assert unknown(found) == []


def test_a_misspelt_name_is_caught() -> None:
    job = build_reindex_job(OWNER, parse_index_spec({}))
    job["spec"]["template"]["spec"]["containers"][0]["env"].append(
        {"name": "VISUALSEARCH_MODLE", "value": "auto"}
    )
    (wrong,) = unknown(variables([job]))
    assert wrong.startswith("VISUALSEARCH_MODLE (in Job/")
