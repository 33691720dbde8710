"""The CRDs as files: structural schemas, subresources, columns, names, self-consistent defaults."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.operator.helpers import INDEX_CRD, SOURCE_CRD, load_yaml, openapi_schema

CRDS = [INDEX_CRD, SOURCE_CRD]


def nodes(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema node with its path."""
    yield path, schema
    for key, sub in (schema.get("properties") or {}).items():
        yield from nodes(sub, f"{path}.{key}")
    if isinstance(schema.get("items"), dict):
        yield from nodes(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from nodes(schema["additionalProperties"], f"{path}{{}}")


@pytest.mark.parametrize("crd_path", CRDS, ids=lambda p: p.name)
def test_schema_is_structural(crd_path) -> None:
    for path, node in nodes(openapi_schema(crd_path)):
        typed = (
            "type" in node
            or node.get("x-kubernetes-int-or-string")
            or node.get("x-kubernetes-preserve-unknown-fields")
        )
        assert typed, f"{path} has no type"
        for branch in node.get("anyOf", []):
            # Structural: anyOf may only restate types, never add fields.
            assert set(branch) <= {"type"}, path
        if "enum" in node and "default" in node:
            assert node["default"] in node["enum"], path
        if "default" in node and node.get("type") == "integer":
            assert (
                node.get("minimum", node["default"])
                <= node["default"]
                <= node.get("maximum", node["default"])
            ), path


@pytest.mark.parametrize("crd_path", CRDS, ids=lambda p: p.name)
def test_served_version_has_status_columns_and_names(crd_path) -> None:
    crd = load_yaml(crd_path)
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["spec"]["group"] == "visualsearch.dev" and crd["spec"]["scope"] == "Namespaced"
    (version,) = crd["spec"]["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
    assert version["subresources"] == {"status": {}}
    columns = {c["name"]: c["jsonPath"] for c in version["additionalPrinterColumns"]}
    assert columns["Phase"] == ".status.phase" and columns["Age"] == ".metadata.creationTimestamp"
    names = crd["spec"]["names"]
    assert names["shortNames"] and "cs" not in names["shortNames"]  # cs is componentstatuses
    assert crd["metadata"]["name"] == f"{names['plural']}.visualsearch.dev"
    schema = version["schema"]["openAPIV3Schema"]
    assert schema["required"] == ["spec"]
    phases = schema["properties"]["status"]["properties"]["phase"]["enum"]
    assert "Failed" in phases and "Pending" in phases


def test_index_schema_bounds() -> None:
    spec = openapi_schema(INDEX_CRD)["properties"]["spec"]["properties"]
    embedding = spec["embedding"]["properties"]
    assert (embedding["minReplicas"]["minimum"], embedding["maxReplicas"]["maximum"]) == (1, 100)
    assert spec["ingress"]["properties"]["controller"]["enum"] == ["nginx", "traefik"]
    assert spec["ingress"]["properties"]["rateLimitPerMinute"]["default"] == 60
    assert spec["vectorStore"]["properties"]["quantization"]["enum"] == [
        "none",
        "scalar",
        "product",
        "binary",
    ]
    assert spec["database"]["properties"]["external"]["required"] == ["urlSecretRef"]


def test_source_schema_requires_an_index_and_a_type() -> None:
    schema = openapi_schema(SOURCE_CRD)["properties"]["spec"]
    assert schema["required"] == ["indexRef", "type"]
    assert schema["properties"]["type"]["enum"] == ["Demo", "Url", "S3", "ConfigMap"]
    assert schema["properties"]["url"]["pattern"].startswith("^https?://")
