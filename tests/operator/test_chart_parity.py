"""The operator's children and Helm's own render of the chart, for the same settings, are the
same objects: one description of the workloads, not two kept alike by hand.

Helm here is the user's path: ``helm dependency build`` (the store charts packaged into
``charts/visual-search/charts``) and ``helm template`` with the values the operator computes for
a spec, written to a file. The only differences allowed are the ones the operator adds on
purpose (:mod:`visualsearch_operator.builders.index`): namespace, owner reference and its two
labels (``managed-by`` says the operator instead of Helm).
"""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.operator.helpers import ROOT
from tests.operator.test_rendering import EXTERNAL, OWNER, RENDERER
from tests.support.kube import find_binary
from visualsearch_operator.builders.common import Capabilities
from visualsearch_operator.builders.index import OPERATOR_LABELS
from visualsearch_operator.builders.values import index_values
from visualsearch_operator.services.index_reconcile import render_children
from visualsearch_operator.spec import parse_index_spec

PLATFORM = ROOT / "charts" / "visual-search"
EVERYTHING = Capabilities(
    hpa_api_version="autoscaling/v2beta2", traefik_middleware=True, gateway_api=True
)
SPECS = {
    "defaults": {},
    "external-stores": EXTERNAL,
    "traefik-gateway-no-storefront": {
        "ingress": {"controller": "traefik", "host": "shop.example", "tlsSecretName": "tls"},
        "gateway": {"enabled": True, "parentRefs": [{"name": "gw"}]},
        "storefront": {"enabled": False},
        "vectorStore": {"replicas": 3, "storage": "2Gi"},
        "storageClassName": "fast",
        "apiKeySecretRef": {"name": "mine"},
    },
    "pgvector": {"vectorStore": {"type": "pgvector"}, "embedding": {"maxReplicas": 9}},
    "synonyms": {"synonyms": "couch, sofa\ntee => t shirt\n"},
}


def helm(*args: str) -> str:
    done = subprocess.run(
        [str(find_binary("helm")), *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module", autouse=True)
def packaged_dependencies() -> None:
    helm("dependency", "build", str(PLATFORM))


def strip_operator_additions(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` without what the operator adds to a rendered object (and Helm's managed-by)."""
    out = copy.deepcopy(obj)
    metas = [out["metadata"]]
    spec = out.get("spec") or {}
    if isinstance(spec.get("template"), dict):
        metas.append(spec["template"].get("metadata") or {})
    metas += [claim.get("metadata") or {} for claim in spec.get("volumeClaimTemplates") or []]
    for meta in metas:
        for label in OPERATOR_LABELS:
            (meta.get("labels") or {}).pop(label, None)
    out["metadata"].pop("namespace", None)
    out["metadata"].pop("ownerReferences", None)
    return out


def by_name(objs: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(o["apiVersion"], o["kind"], o["metadata"]["name"]): o for o in objs}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_operator_children_are_the_charts_objects(name: str, tmp_path: Path) -> None:
    spec = parse_index_spec(SPECS[name])
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump(json.loads(json.dumps(index_values(OWNER, spec, EVERYTHING)))))
    out = helm(
        "template",
        OWNER.name,
        str(PLATFORM),
        "-n",
        OWNER.namespace,
        "--skip-tests",
        "-f",
        str(values),
    )
    helms = by_name([d for d in yaml.safe_load_all(out) if d])
    ours = by_name(render_children(RENDERER, OWNER, spec, EVERYTHING))

    assert sorted(ours) == sorted(helms)
    for key, obj in ours.items():
        assert obj["metadata"]["namespace"] == OWNER.namespace, key
        assert obj["metadata"]["ownerReferences"][0]["uid"] == OWNER.uid, key
        assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "visualsearch-operator"
        assert helms[key]["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
        assert strip_operator_additions(obj) == strip_operator_additions(helms[key]), key
